import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { FleetError, FleetErrorCode } from './fleet-errors.js';

/** A push as the loop guard sees it. */
export interface PushIntent {
  url: URL;
  localStreamName: string;
  remoteStreamName: string;
}

/** What the guard needs to know about the fleet. */
export interface FleetView {
  /** Our own signalling ports. */
  ownWsPorts(): number[];
  /** Every member that answers: its REST URL and its signalling ports. */
  memberEndpoints(): { memberId: string; restUrl: string; wsPorts: number[] }[];
  /** Whether the name is published anywhere in the fleet (here or on a member). */
  hasName(name: string): Promise<boolean>;
}

const defaultPort = (url: URL): number => Number(url.port || (url.protocol === 'wss:' ? 443 : 80));

async function addressesOf(host: string): Promise<Set<string>> {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(bare)) return new Set([bare]);
  const found = await lookup(bare, { all: true }).catch(() => []);
  return new Set(found.map((a) => a.address));
}

const isLoopback = (a: string): boolean => a.startsWith('127.') || a === '::1';

/**
 * Refuses the pushes that would loop (the seam push-manager calls before it connects): a push to this server
 * itself, and a push into a member of this fleet of a name the fleet already has (every member plays it
 * already). Members fetch only from origins, so relays cannot loop among themselves.
 */
export class LoopGuard {
  readonly #fleet: FleetView;
  readonly #ownAddresses: Set<string>;

  constructor(fleet: FleetView, listenIp: string, announcedIp: string | undefined) {
    this.#fleet = fleet;
    const local = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
    this.#ownAddresses = new Set([listenIp, ...(announcedIp ? [announcedIp] : []), ...local]);
  }

  async check(push: PushIntent): Promise<void> {
    const port = defaultPort(push.url);
    const target = await addressesOf(push.url.hostname);
    const own = [...target].some((a) => isLoopback(a) || this.#ownAddresses.has(a));
    if (own && this.#fleet.ownWsPorts().includes(port)) {
      throw new FleetError(
        FleetErrorCode.LOOP,
        `${push.url.href} is this server: a push to itself would loop`,
      );
    }
    for (const member of this.#fleet.memberEndpoints()) {
      if (!member.wsPorts.includes(port)) continue;
      const memberAddresses = await addressesOf(new URL(member.restUrl).hostname);
      if (![...target].some((a) => memberAddresses.has(a))) continue;
      const sameName = push.remoteStreamName === push.localStreamName;
      if (sameName || (await this.#fleet.hasName(push.remoteStreamName))) {
        throw new FleetError(
          FleetErrorCode.LOOP,
          `${push.url.href} is member ${member.memberId} of this server's fleet, which already has stream ${push.remoteStreamName}`,
        );
      }
    }
  }
}
