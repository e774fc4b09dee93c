import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AddressRanges } from '../addresses.js';
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

async function resolve(host: string): Promise<{ address: string; family: number }[]> {
  try {
    return await lookup(host, { all: true });
  } catch {
    throw new ForbiddenError(`push target ${host} does not resolve`);
  }
}
