import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { BadRequestError, ForbiddenError } from '../errors.js';

/**
 * Which remote servers a push or pull may connect to. `uri` is chosen by whoever calls the REST API, so
 * without this the API would open connections anywhere. Entries: exact host names ("wcs.example"),
 * suffixes ("*.svc.cluster.local"), addresses and CIDRs ("10.0.0.0/8", "::1/128"). A host passes when its
 * name matches, or when every address it resolves to is inside an allowed range.
 */
export class TargetPolicy {
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly ranges = new AddressRanges();

  constructor(entries: string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else if (!this.ranges.add(entry)) this.names.add(entry);
    }
  }

  /** Parses and checks a WCS WebSocket URL or a WHIP/WHEP endpoint URL; returns it normalised. */
  async check(uri: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new BadRequestError(`uri is not a URL: ${JSON.stringify(uri)}`);
    }
    if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) {
      throw new BadRequestError(
        `uri must be ws:// or wss:// (WCS), or http:// or https:// (WHIP/WHEP), got ${url.protocol}//`,
      );
    }
    if (url.username || url.password) throw new BadRequestError('uri must not carry credentials');
    if (uri.includes('#'))
      throw new BadRequestError('uri must not have a #fragment (a push target URL has none)');
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (this.names.has(host) || this.suffixes.some((s) => host.endsWith(s))) return url;
    const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
    const allowed = addresses.every((a) => this.ranges.has(a.address));
    if (!allowed) throw new ForbiddenError(`push target ${host} is not in the allow-list`);
    return url;
  }
}

/** An IPv4-mapped IPv6 address ("::ffff:10.0.0.1", as a dual-stack socket reports a v4 peer) as plain IPv4. */
export const plainIp = (ip: string): string => {
  const lower = ip.trim().toLowerCase();
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  return v4 !== undefined && isIP(v4) === 4 ? v4 : lower;
};

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
    const ip = plainIp(entry);
    if (!isIP(ip)) return false;
    this.ranges.addAddress(ip, familyOf(ip));
    return true;
  }

  /** Is `ip` (an address; anything else is not) inside one of the ranges? */
  has(ip: string): boolean {
    const plain = plainIp(ip);
    return isIP(plain) !== 0 && this.ranges.check(plain, familyOf(plain));
  }
}

async function resolve(host: string): Promise<{ address: string; family: number }[]> {
  try {
    return await lookup(host, { all: true });
  } catch {
    throw new ForbiddenError(`push target ${host} does not resolve`);
  }
}
