import type { Condition, StreamPushStatus } from './api.js';

/**
 * Sets a condition the way apimachinery's meta.SetStatusCondition does: lastTransitionTime changes only
 * when status flips.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const previous = i >= 0 ? list[i] : undefined;
  const lastTransitionTime =
    previous && previous.status === next.status
      ? previous.lastTransitionTime
      : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const condition: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = condition;
  else list.push(condition);
  return list;
}

/**
 * Status equality for "write only when it changes", at every depth regardless of key order: the API server
 * sends objects back with their keys sorted (Go encodes maps that way), so a status read from the informer
 * and the same status built here list a condition's fields in different orders.
 */
export function sameStatus(a: StreamPushStatus | undefined, b: StreamPushStatus): boolean {
  return JSON.stringify(canonical(a ?? {})) === JSON.stringify(canonical(b));
}

/** Plain data with object keys sorted and undefined fields dropped, at every depth. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => [k, canonical(v)]),
  );
}
