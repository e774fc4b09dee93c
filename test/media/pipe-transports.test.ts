import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMedia, waitFor, waitMediaReleased, type RunningMedia } from '../support/media-server.js';
import { scrapeMetrics } from '../support/metrics.js';
import { NodePeer } from '../support/node-peer.js';

describe('pipe transports between workers', () => {
  let media: RunningMedia;
  beforeAll(async () => {
    media = await startMedia({ listen: { workers: 2 } });
  });
  afterAll(async () => media?.stop());

  const pipes = (): number => media.server.engine.objectCounts().pipe_transport;

  it('are closed once nothing is piped through them, whoever leaves first, over 30 cycles', async () => {
    expect(pipes()).toBe(0);
    for (let i = 0; i < 30; i++) {
      const publisher = await NodePeer.publish(media.wsUrl, `pipe ${i}`);
      await publisher.waitStatus('PUBLISHING');
      // least loaded first: the players land on the other router, the publisher's, the other one again
      const players = [
        await NodePeer.play(media.wsUrl, `pipe ${i}`),
        await NodePeer.play(media.wsUrl, `pipe ${i}`),
        await NodePeer.play(media.wsUrl, `pipe ${i}`),
      ];
      for (const player of players) await player.waitStatus('PLAYING');
      expect(pipes()).toBe(2); // one PipeTransport pair between the two routers, shared
      if (i % 3 === 0) {
        await waitFor(() => players.every((p) => p.received > 0), 'RTP at every player');
      }
      if (i % 2 === 0) {
        for (const player of players) await player.stop();
        // the piped producer lives with its publisher, ready for the next player over there
        expect(pipes()).toBe(2);
        await publisher.stop();
      } else {
        await publisher.stop();
        for (const player of players) await player.waitStatus('STOPPED');
        for (const player of players) await player.stop();
      }
      await waitFor(() => pipes() === 0, 'pipe transports closed');
    }
    await waitMediaReleased(media);
    const metrics = await scrapeMetrics(media.restUrl);
    expect(metrics.value('streamfed_mediasoup_objects', { type: 'pipe_transport' })).toBe(0);
    expect(metrics.value('streamfed_mediasoup_objects', { type: 'direct_transport' })).toBe(0);
  }, 300_000);
});
