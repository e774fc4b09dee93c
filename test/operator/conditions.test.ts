import { describe, expect, it } from 'vitest';
import type { Condition, StreamPushStatus } from '../../src/operator/api.js';
import { sameStatus, setCondition } from '../../src/operator/conditions.js';

/** What the API server sends back: Go encodes map keys sorted, at every depth. */
const roundTrip = (status: StreamPushStatus): StreamPushStatus =>
  JSON.parse(
    JSON.stringify(status, (_key, value: unknown) =>
      value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : 1)))
        : value,
    ),
  ) as StreamPushStatus;

describe('conditions', () => {
  const ready: Omit<Condition, 'lastTransitionTime'> = {
    type: 'Ready',
    status: 'True',
    reason: 'Publishing',
    message: 'pushing',
    observedGeneration: 1,
  };
  const status = (conditions: StreamPushStatus['conditions']): StreamPushStatus => ({
    phase: 'Active',
    pushStatus: 'PUBLISHING',
    localMediaSessionId: 'a',
    observedGeneration: 1,
    conditions,
  });

  it('keeps lastTransitionTime while the status does not flip', () => {
    const first = setCondition(undefined, ready, new Date('2030-01-01T00:00:00.123Z'));
    expect(first[0]?.lastTransitionTime).toBe('2030-01-01T00:00:00Z');
    const again = setCondition(first, { ...ready, message: 'still' }, new Date('2030-01-02T00:00:00Z'));
    expect(again[0]).toMatchObject({ message: 'still', lastTransitionTime: '2030-01-01T00:00:00Z' });
    const flipped = setCondition(again, { ...ready, status: 'False' }, new Date('2030-01-03T00:00:00Z'));
    expect(flipped[0]?.lastTransitionTime).toBe('2030-01-03T00:00:00Z');
  });

  it('sees a status read back from the API server as the same one rebuilt (no write on every resync)', () => {
    const written = status(setCondition(undefined, ready, new Date()));
    const stored = roundTrip(written);
    expect(JSON.stringify(stored.conditions)).not.toBe(JSON.stringify(written.conditions)); // keys reordered
    const rebuilt = status(setCondition(stored.conditions, ready, new Date(Date.now() + 60_000)));
    expect(sameStatus(stored, rebuilt)).toBe(true);
    expect(sameStatus(stored, { ...rebuilt, lastError: undefined })).toBe(true);
  });

  it('sees a changed field at any depth', () => {
    const stored = roundTrip(status(setCondition(undefined, ready, new Date())));
    expect(sameStatus(stored, { ...stored, pushStatus: 'PENDING' })).toBe(false);
    const moved = setCondition(stored.conditions, { ...ready, reason: 'Other' }, new Date());
    expect(sameStatus(stored, { ...stored, conditions: moved })).toBe(false);
    expect(sameStatus(undefined, stored)).toBe(false);
  });
});
