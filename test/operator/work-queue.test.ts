import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/operator/work-queue.js';

describe('WorkQueue', () => {
  it('wakes every parked worker on stop', async () => {
    const q = new WorkQueue();
    const workers = [q.next(), q.next(), q.next()];
    q.stop();
    expect(await Promise.all(workers)).toEqual([undefined, undefined, undefined]);
  });

  it('hands each key to one worker, never the same key to two at once', async () => {
    const q = new WorkQueue();
    const a = q.next();
    const b = q.next();
    q.add('x');
    q.add('y');
    q.add('x'); // already queued: no duplicate
    expect([await a, await b]).toEqual(['x', 'y']);
    q.add('x'); // x is being processed: it comes back after done()
    expect(q.depth).toBe(0);
    q.done('x');
    expect(await q.next()).toBe('x');
    q.stop();
  });

  it('backs off exponentially per key up to the cap, and forget resets it', () => {
    const q = new WorkQueue();
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('k', 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
    q.forget('k');
    expect(q.addRateLimited('k', 100, 1000)).toBe(100);
    q.stop();
  });
});
