import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import { NodePeer } from '../support/node-peer.js';
import { inetSockets, mediasoupWorkers, type InetSocket } from '../support/os-resources.js';
import { freeRtcPorts } from '../support/ports.js';
import { WhipPeer } from '../support/whip-peer.js';

/** Streams; every fifth is published over WHIP and played over WHEP, the others by the WCS protocol. */
const STREAMS = 50;
const overWhip = (i: number): boolean => i % 5 === 4;

interface Client {
  received: number;
  close(): Promise<void>;
}

/** Every inet socket the server's mediasoup workers hold. */
const workerSockets = (): InetSocket[] => mediasoupWorkers(process.pid).flatMap((pid) => inetSockets(pid));

describe('one WebRtcServer per worker: a media server needs a handful of ports', () => {
  let media: RunningMedia;
  let rtcPort: number;
  const peers: Client[] = [];

  beforeAll(async () => {
    rtcPort = await freeRtcPorts(2);
    media = await startMedia({ listen: { workers: 2, rtcPort } });
  });

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await media?.stop();
  });

  it(`carries ${STREAMS} publishers and ${STREAMS} players on UDP and TCP rtc-port + worker index, and no other port`, async () => {
    expect(mediasoupWorkers(process.pid)).toHaveLength(2);
    expect(await media.server.engine.webRtcPorts()).toEqual([
      { udp: [rtcPort], tcp: [rtcPort] },
      { udp: [rtcPort + 1], tcp: [rtcPort + 1] },
    ]);

    // a few at a time: 100 werift peers negotiating at once would only measure the test's own CPU
    const batches = async (open: (i: number) => Promise<Client>): Promise<Client[]> => {
      const opened: Client[] = [];
      for (let i = 0; i < STREAMS; i += 10) {
        const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => open(i + j)));
        opened.push(...batch);
        peers.push(...batch);
      }
      return opened;
    };
    await batches(async (i) => {
      if (overWhip(i)) return WhipPeer.publish(`${media.restUrl}/whip/few-${i}`);
      const peer = await NodePeer.publish(media.wsUrl, `few-${i}`);
      await peer.waitStatus('PUBLISHING', 30_000);
      return peer;
    });
    await waitFor(
      async () =>
        (await metric(media.restUrl, 'streamfed_mediasoup_objects', { type: 'producer' })) >= 2 * STREAMS,
      'every publisher producing',
      60_000,
    );
    const players = await batches(async (i) => {
      if (overWhip(i)) return WhipPeer.play(`${media.restUrl}/whep/few-${i}`);
      const peer = await NodePeer.play(media.wsUrl, `few-${i}`);
      await peer.waitStatus('PLAYING', 30_000);
      return peer;
    });
    await waitFor(() => players.every((p) => p.received > 20), 'every player receiving media', 60_000);
    expect(await metric(media.restUrl, 'streamfed_mediasoup_objects', { type: 'transport' })).toBe(
      2 * STREAMS,
    );

    // 100 WebRTC transports, and the workers listen on their two ports only: the UDP sockets besides them
    // are the one PipeTransport pair between the two routers (loopback, one end per worker)
    const sockets = workerSockets();
    const tcp = sockets.filter((s) => s.proto.startsWith('tcp'));
    expect(
      tcp
        .filter((s) => s.listening)
        .map((s) => s.localPort)
        .sort(),
    ).toEqual([rtcPort, rtcPort + 1]);
    expect(tcp.filter((s) => !s.listening)).toEqual([]);
    const udp = sockets.filter((s) => s.proto.startsWith('udp'));
    const webRtc = udp.filter((s) => s.localPort === rtcPort || s.localPort === rtcPort + 1);
    expect(webRtc.map((s) => `${s.localIp}:${s.localPort}`).sort()).toEqual([
      `127.0.0.1:${rtcPort}`,
      `127.0.0.1:${rtcPort + 1}`,
    ]);
    const pipes = await metric(media.restUrl, 'streamfed_mediasoup_objects', { type: 'pipe_transport' });
    expect(pipes).toBeLessThanOrEqual(2);
    expect(udp.filter((s) => !webRtc.includes(s))).toHaveLength(pipes);
  }, 240_000);
});
