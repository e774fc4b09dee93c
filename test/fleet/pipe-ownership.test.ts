import type * as ms from 'mediasoup/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

/**
 * Two in-process members with two workers each: every relay's fleet pipe lands on a router that also holds an
 * end of the engine's own pipe pair. The engine's idle-pipe cleanup is triggered exactly while a fleet pipe is
 * being set up (made, not yet connected or used), on each side of the hop: it must reap only the engine's pair.
 */
describe('one owner per pipe transport: the engine reaps its own pipes, never a fleet relay setting up', () => {
  let origin: RunningMedia;
  let member: RunningMedia;
  const peers: NodePeer[] = [];

  beforeAll(async () => {
    const [originRest, memberRest] = [await freePort(), await freePort()];
    const fleet = (memberId: string, peer: number): Parameters<typeof startMedia>[0] => ({
      rest: { port: memberId === 'origin' ? originRest : memberRest },
      fleet: {
        memberId,
        peers: [`http://127.0.0.1:${peer}`],
        relayIdleMs: 2000, // a relay is idle while its first player is still being made: no tighter
        probeIntervalMs: 200,
      },
    });
    origin = await startMedia(fleet('origin', memberRest));
    member = await startMedia(fleet('member', originRest));
    for (const m of [origin, member]) {
      await waitFor(() => m.server.fleet.members().every((x) => x.up), 'the members see each other up');
      watchPipes(m);
    }
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await Promise.all([member?.stop(), origin?.stop()]);
  });

  /** Who hears of each pipe transport made on a server's routers (one listener per router, set up once). */
  const onPipe = new Map<RunningMedia, (t: ms.PipeTransport) => void>();
  const watchPipes = (media: RunningMedia): void => {
    for (const router of media.server.engine.routers())
      router.observer.on('newtransport', (t) => {
        if (t.type === 'pipe') onPipe.get(media)?.(t as ms.PipeTransport);
      });
  };
  const isFleetPipe = (t: ms.PipeTransport): boolean => t.srtpParameters !== undefined;

  /**
   * A local stream piped between the server's two routers: the engine's pair. Returns the pair's transports and
   * a trigger that ends the stream server-side: the pipe's producer and consumer close, the pair goes idle and
   * the engine's cleanup runs.
   */
  async function enginePair(
    media: RunningMedia,
    name: string,
  ): Promise<{ pair: ms.Transport[]; idle(): void; peers: NodePeer[] }> {
    const pair: ms.Transport[] = [];
    onPipe.set(media, (t) => pair.push(t));
    const publisher = await NodePeer.publish(media.wsUrl, name);
    await publisher.waitStatus('PUBLISHING');
    // least loaded first: the publisher on one router, its player on the other, the pipe between them
    const player = await NodePeer.play(media.wsUrl, name);
    await player.waitStatus('PLAYING');
    onPipe.delete(media);
    expect(pair).toHaveLength(2);
    return { pair, idle: () => media.server.streams.publisher(name)?.end(), peers: [publisher, player] };
  }

  it('keeps each relay live when the engine cleans up idle pipes while the relay is set up, 12 times over', async () => {
    const publisher = await NodePeer.publish(origin.wsUrl, 'raced');
    peers.push(publisher);
    await publisher.waitStatus('PUBLISHING');

    for (let i = 0; i < 12; i++) {
      // the member's side on even rounds, the origin's on odd ones
      const side = i % 2 === 0 ? member : origin;
      const local = await enginePair(side, `local ${i}`);
      peers.push(...local.peers);
      let relayPipe: ms.PipeTransport | undefined;
      let openWhenReaped: boolean | undefined;
      local.pair[0]!.observer.once('close', () => (openWhenReaped = relayPipe && !relayPipe.closed));
      onPipe.set(side, (t) => {
        if (!isFleetPipe(t)) return;
        onPipe.delete(side);
        relayPipe = t;
        local.idle(); // the fleet pipe is made, not yet connected nor used: the engine's cleanup runs now
      });

      const player = await NodePeer.play(member.wsUrl, 'raced', { kinds: ['video'] });
      peers.push(player);
      await player.waitStatus('PLAYING');
      const before = player.received;
      await waitFor(() => player.received > before + 10, `RTP through the relay, round ${i}`);
      expect(relayPipe?.closed).toBe(false);
      // the cleanup did run meanwhile: the engine's own pair is gone, the relay's pipe was open as it went
      await waitFor(() => local.pair.every((t) => t.closed), `the engine's idle pair reaped, round ${i}`);
      expect(openWhenReaped).toBe(true);
      await expect(member.server.fleet.relays()).resolves.toMatchObject({ fetched: [{ state: 'live' }] });

      await player.stop();
      await waitFor(async () => {
        const [fetched, served] = [await member.server.fleet.relays(), await origin.server.fleet.relays()];
        return fetched.fetched.length === 0 && served.served.length === 0;
      }, `the relay closed once idle, round ${i}`);
      for (const m of [origin, member])
        await waitFor(() => m.server.engine.objectCounts().pipe_transport === 0, 'no pipes left');
      await Promise.all(local.peers.map((p) => p.close()));
    }
    await publisher.stop();
  }, 240_000);
});
