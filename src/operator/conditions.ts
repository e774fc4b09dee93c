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

/** Status equality for "write only when it changes". */
export function sameStatus(a: StreamPushStatus | undefined, b: StreamPushStatus): boolean {
  return JSON.stringify(normalise(a ?? {})) === JSON.stringify(normalise(b));
}

function normalise(s: StreamPushStatus): unknown {
  return Object.fromEntries(
    Object.entries(s)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => x.localeCompare(y)),
  );
}
