import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PushFailureCode } from '../../contracts/pull-api.js';
import type { ChainHop } from '../../contracts/wcs-protocol.js';
import { isLoopbackIp, isWildcardIp, plainAddress } from '../addresses.js';

import { RelayError } from './relay-error.js';

/**
 * Loops, decided here and only here, refused with one code (`PUSH_ERR_LOOP`, 409) whichever check finds
 * them: before connecting, a push to this server itself or into its own fleet (LoopGuard); once connected,
 * a push chain that already passed through the target's fleet under the same name (loopProblem, 1 → 2 → 1).
 */
export const loopRefusal = (why: string): RelayError => new RelayError(PushFailureCode.LOOP, why);

/** The longest fleet id on the wire (wcs-protocol.ts FleetId); a longer member list is hashed. */
const MAX_FLEET_ID = 256;

/**
 * The id this server announces as its fleet's (getUserData's `streamfedFleetId`): the configured
 * `--fleet-id`, else the sorted ids of this member and the members that answer, comma-separated (either
 * hashed, `sha256:<hex>`, when too long), so every member of a settled fleet announces the same id and a
 * server alone announces its own member id.
 */
export function fleetIdOf(
  configured: string | undefined,
  memberId: string,
  members: { memberId?: string | undefined; up: boolean }[],
): string {
  const ids = new Set([memberId]);
  for (const m of members) if (m.up && m.memberId) ids.add(m.memberId);
  const id = configured || [...ids].sort().join(',');
  return id.length <= MAX_FLEET_ID ? id : `sha256:${createHash('sha256').update(id).digest('hex')}`;
}

/** The chain a push of this stream sends: the hops it came by, then this fleet under its local name. */
export const chainOf = (came: readonly ChainHop[] | undefined, fleetId: string, name: string): ChainHop[] => [
  ...(came ?? []),
  { fleet: fleetId, name },
];

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
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return new Set([plainAddress(bare)]);
  const found = await lookup(bare, { all: true }).catch(() => []);
  return new Set(found.map((a) => plainAddress(a.address)));
}

/**
 * Whether an address reaches a server listening on `listenIp`: that address itself, or, on the wildcard
 * address, any address of the host (loopback's whole 127.0.0.0/8 included).
 */
function reachesListener(listenIp: string): (address: string) => boolean {
  if (!isWildcardIp(listenIp)) {
    const own = plainAddress(listenIp);
    return (a) => a === own;
  }
  const host = new Set(
    Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => plainAddress(i.address))),
  );
  return (a) => host.has(a) || isLoopbackIp(a);
}

/**
 * The loop check before connecting (push-manager calls it, the fleet provides the view): a push to this
 * server itself, and a push into a member of this fleet of a name the fleet already has (every member plays
 * it already). Members fetch only from origins, so relays cannot loop among themselves.
 */
export class LoopGuard {
  readonly #fleet: FleetView;
  readonly #isOwn: (address: string) => boolean;

  /**
   * `listenIp`: the address this server listens on; "this server" is that address (any of the host's on
   * `0.0.0.0`/`::`), or one of the addresses it announces, with its ports.
   */
  constructor(fleet: FleetView, listenIp: string, announcedIps: readonly string[] = []) {
    this.#fleet = fleet;
    const listener = reachesListener(listenIp);
    const announced = new Set(announcedIps.map(plainAddress));
    this.#isOwn = (a) => listener(a) || announced.has(a);
  }

  async check(push: PushIntent): Promise<void> {
    const port = defaultPort(push.url);
    const target = await addressesOf(push.url.hostname);
    const own = [...target].some(this.#isOwn);
    if (own && this.#fleet.ownWsPorts().includes(port)) {
      throw loopRefusal(`${push.url.href} is this server: a push to itself would loop`);
    }
    for (const member of this.#fleet.memberEndpoints()) {
      if (!member.wsPorts.includes(port)) continue;
      const memberAddresses = await addressesOf(new URL(member.restUrl).hostname);
      if (![...target].some((a) => memberAddresses.has(a))) continue;
      const sameName = push.remoteStreamName === push.localStreamName;
      if (sameName || (await this.#fleet.hasName(push.remoteStreamName))) {
        throw loopRefusal(
          `${push.url.href} is member ${member.memberId} of this server's fleet, which already has stream ${push.remoteStreamName}`,
        );
      }
    }
  }
}
