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
  private readonly ranges = new BlockList();

  constructor(entries: string[]) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else if (entry.includes('/')) this.addRange(entry);
      else if (isIP(entry)) this.ranges.addAddress(entry, isIP(entry) === 6 ? 'ipv6' : 'ipv4');
      else this.names.add(entry);
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
    const allowed = addresses.every((a) => this.ranges.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4'));
    if (!allowed) throw new ForbiddenError(`push target ${host} is not in the allow-list`);
    return url;
  }

  private addRange(entry: string): void {
    const [net, bits] = entry.split('/');
    const family = isIP(net ?? '');
    if (!net || !family || !/^\d+$/.test(bits ?? '')) throw new Error(`bad allow-list entry ${entry}`);
    this.ranges.addSubnet(net, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
  }
}

async function resolve(host: string): Promise<{ address: string; family: number }[]> {
  try {
    return await lookup(host, { all: true });
  } catch {
    throw new ForbiddenError(`push target ${host} does not resolve`);
  }
}
