import type { ChainHop } from './wcs-protocol.js';

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
