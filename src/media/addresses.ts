import { BlockList, isIP, isIPv4 } from 'node:net';

/** IP addresses as this server compares them. */

/** Whether an address is the wildcard one (`0.0.0.0`, `::`): a server bound to it listens on all of the host's. */
export const isWildcardIp = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';

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

const familyOf = (ip: string): 'ipv4' | 'ipv6' => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

/** Addresses and CIDRs ("10.0.0.1", "10.0.0.0/8", "::1/128"), IPv4 and IPv6; IPv4-mapped IPv6 reads as IPv4. */
export class AddressRanges {
  private readonly ranges = new BlockList();

  constructor(entries: string[] = []) {
    for (const entry of entries) if (!this.add(entry)) throw new Error(`bad address entry ${entry}`);
  }

  /** Adds an address or a CIDR; false when `entry` is neither (a name); throws on a malformed CIDR. */
  add(raw: string): boolean {
    const entry = raw.trim().toLowerCase();
    if (entry.includes('/')) {
      const [net, bits] = entry.split('/');
      if (!net || !isIP(net) || !/^\d+$/.test(bits ?? '')) throw new Error(`bad allow-list entry ${entry}`);
      this.ranges.addSubnet(net, Number(bits), familyOf(net));
      return true;
    }
    const ip = plainAddress(entry);
    if (!isIP(ip)) return false;
    this.ranges.addAddress(ip, familyOf(ip));
    return true;
  }

  /** Is `ip` (an address; anything else is not) inside one of the ranges? */
  has(ip: string): boolean {
    const plain = plainAddress(ip.trim());
    return isIP(plain) !== 0 && this.ranges.check(plain, familyOf(plain));
  }
}

const LOOPBACK = new AddressRanges(['127.0.0.0/8', '::1/128']);

/** Whether an address is a loopback one (127.0.0.0/8, `::1`, in any spelling; a name is not). */
export const isLoopbackIp = (ip: string): boolean => LOOPBACK.has(ip);
