import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMedia, waitFor, waitMediaReleased, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

describe('resource leaks', () => {
  let media: RunningMedia;
  beforeAll(async () => {
    media = await startMedia();
  });
  afterAll(async () => media?.stop());

  it('returns to zero transports, pipe transports, producers, consumers and sessions after 50 publish/play/stop cycles', async () => {
    const before = media.server.engine.objectCounts();
    expect(before).toMatchObject({ transport: 0, pipe_transport: 0, producer: 0, consumer: 0 });
    let delivered = 0;
    let piped = 0;
    for (let i = 0; i < 50; i++) {
      const publisher = await NodePeer.publish(media.wsUrl, `leak-${i}`);
      await publisher.waitStatus('PUBLISHING');
      const player = await NodePeer.play(media.wsUrl, `leak-${i}`);
      await player.waitStatus('PLAYING');
      // two workers: the player lands on the other router, so the producers are piped to it
      if (media.server.engine.objectCounts().pipe_transport > 0) piped++;
      if (i % 10 === 0) {
        await waitFor(() => player.received > 0, 'RTP at the player');
        delivered++;
      }
      // alternate who leaves first: publisher-first ends the player with STOPPED from the server side
      if (i % 2 === 0) {
        await player.stop();
        await publisher.stop();
      } else {
        await publisher.stop();
        await player.waitStatus('STOPPED');
        await player.stop();
      }
    }
    expect(delivered).toBe(5);
    expect(piped).toBe(50);
    await waitMediaReleased(media);
    await waitFor(() => media.server.signalling.connections().length === 0, 'sessions closed');
    expect(media.server.streams.find()).toEqual([]);
    const metrics = await (await fetch(`${media.restUrl}/metrics`)).text();
    expect(metrics).toMatch(/^streamfed_ws_sessions 0$/m);
    expect(metrics).toMatch(/^streamfed_mediasoup_objects\{type="transport"\} 0$/m);
    expect(metrics).toMatch(/^streamfed_mediasoup_objects\{type="pipe_transport"\} 0$/m);
    expect(metrics).toMatch(/^streamfed_ws_sessions_total 100$/m);
  }, 300_000);
});
