import { describe, expect, it } from 'vitest';
import type { Publisher } from '../../src/media/streams/publisher.js';
import { StreamUsers } from '../../src/media/streams/stream-users.js';
import { StreamRegistry } from '../../src/media/streams/stream-registry.js';
import { MediaMetrics } from '../../src/media/metrics.js';
import { createLogger } from '../../src/log.js';

// StreamUsers only keys on the publisher's identity: a plain object stands in for one.
const publisher = (): Publisher => ({}) as Publisher;

describe('StreamUsers: who uses a publisher', () => {
  it('counts each use until released, once however often it is released, per publisher', () => {
    const users = new StreamUsers();
    const relayed = publisher();
    const other = publisher();
    expect(users.count(relayed)).toBe(0);
    const player = users.acquire(relayed, 'player');
    const push = users.acquire(relayed, 'push');
    users.acquire(other, 'relay');
    expect(users.count(relayed)).toBe(2);
    expect(users.count(relayed, 'push')).toBe(1);
    expect(users.count(other)).toBe(1);
    player.release();
    player.release();
    // a relay with a push of it is still in use after its last player left
    expect(users.count(relayed)).toBe(1);
    expect(users.count(relayed, 'player')).toBe(0);
    push.release();
    expect(users.count(relayed)).toBe(0);
    expect(users.count(other)).toBe(1);
  });
});

describe('StreamRegistry: a player uses its source from the start', () => {
  it('counts the player while its transport is being made, and lets go when it cannot be made', async () => {
    const registry = new StreamRegistry({ metrics: new MediaMetrics(), log: createLogger('silent', 'test') });
    const source = { ended: false } as Publisher;
    let fail!: (error: Error) => void;
    const making = registry.admitPlayer(
      { appKey: 'defaultApp', sessionId: 's', mediaSessionId: 'player-1', name: 'relayed' },
      source,
      () => new Promise<never>((_, reject) => (fail = reject)),
    );
    // what a fleet relay's idle sweep asks: the source is in use before the player exists
    expect(registry.users.count(source, 'player')).toBe(1);
    fail(new Error('no transport'));
    await expect(making).rejects.toThrow();
    expect(registry.users.count(source)).toBe(0);
  });
});
