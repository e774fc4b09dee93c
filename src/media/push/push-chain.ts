import { createHash } from 'node:crypto';
import type { ChainHop } from '../../contracts/wcs-protocol.js';

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

/**
 * Why publishing `name` into the fleet `targetFleetId` would loop: the chain already passed through that
 * fleet under that name (1 → 2 → 1). Undefined when it would not, or when the target announces no fleet
 * (a foreign WCS: pushed as any target).
 */
export function loopProblem(
  chain: readonly ChainHop[],
  targetFleetId: string | undefined,
  name: string,
): string | undefined {
  if (targetFleetId === undefined) return undefined;
  const hop = chain.find((h) => h.fleet === targetFleetId && h.name === name);
  return hop
    ? `stream ${name} came from fleet ${targetFleetId} by a push chain: pushing it back would loop`
    : undefined;
}
