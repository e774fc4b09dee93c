import { isIPv4 } from 'node:net';

/** IP addresses as this server compares them. */

/** Whether an address is the wildcard one (`0.0.0.0`, `::`): a server bound to it listens on all of the host's. */
export const isWildcardIp = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';

/** Whether an address is a loopback one (127.0.0.0/8, `::1`). */
export const isLoopbackIp = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';

/**
 * An address as compared: lower case, an IPv4-mapped IPv6 address as the IPv4 one it maps (`::ffff:127.0.0.1`,
 * and `::ffff:7f00:1` as a URL spells it, are `127.0.0.1`).
 */
export function plainAddress(address: string): string {
  const a = address.toLowerCase();
  if (!a.startsWith('::ffff:')) return a;
  const tail = a.slice('::ffff:'.length);
  if (isIPv4(tail)) return tail;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(tail);
  if (!hex) return a;
  const [high, low] = [parseInt(hex[1] ?? '', 16), parseInt(hex[2] ?? '', 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}
