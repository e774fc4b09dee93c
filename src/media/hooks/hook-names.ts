/**
 * The REST hooks' names (the paths under `--hooks-url`, WCS's names) and the bounded label values of
 * `streamfed_hook_requests_total`: a leaf both the hooks (rest-hooks.ts) and the metrics read.
 */

/** The hooks that decide: a non-2xx answer, a timeout or an unreachable backend refuses. */
export const authorizingHooks = ['connect', 'publishStream', 'playStream'] as const;
export type AuthorizingHook = (typeof authorizingHooks)[number];
/** The hooks that only tell: their answer is logged, never acted on. */
export const eventHooks = ['ConnectionStatusEvent', 'StreamStatusEvent'] as const;
export type EventHook = (typeof eventHooks)[number];

/** The bounded `result` labels of streamfed_hook_requests_total. */
export const hookResults = ['allowed', 'refused', 'timeout', 'unreachable'] as const;
export type HookResult = (typeof hookResults)[number];
