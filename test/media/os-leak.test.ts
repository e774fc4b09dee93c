import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushDescription } from '../../src/contracts/pull-api.js';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import { NodePeer } from '../support/node-peer.js';
import { childPids, osResources } from '../support/os-resources.js';

/**
 * Leak checks as the OS sees them, over hundreds of cycles: file descriptors (and among them UDP and TCP
 * sockets) of each media server process and of its mediasoup worker, the server's active handles
 * (process.getActiveResourcesInfo() through the test-only resource probe) and its heap after GC, the
 * worker's resident memory. Each loop warms up, takes a baseline, runs its cycles, and waits for every
 * figure to come back to the baseline within a small tolerance.
 */
const CYCLES = Number(process.env['LEAK_CYCLES'] ?? 300);
const WARMUP = 5;
const TOLERANCE = {
  fds: 3,
  handles: 3,
  heapBytes: 8 * 1024 * 1024,
  workerFds: 2,
  workerRssKiB: 32 * 1024,
};

interface ProcessFigures {
  fds: number;
  udp: number;
  tcp: number;
  handles: number;
  udpHandles: number;
  heapBytes: number;
  workers: { fds: number; rssKiB: number }[];
}

async function figures(media: MediaProcess): Promise<ProcessFigures> {
  const pid = media.child.pid!;
  // connections the test's own HTTP client keeps alive to the REST port are not the server's doing
  const restPort = Number(new URL(media.restUrl).port);
  const os = osResources(pid, [restPort]);
  const probe = await media.probe();
  // the probe's own IPC pipe is one handle; a keep-alive REST connection is another: leave both out
  const handles = probe.resources.filter((r) => r !== 'PipeWrap' && r !== 'TCPSocketWrap');
  return {
    fds: os.fds,
    udp: (os.sockets['udp'] ?? 0) + (os.sockets['udp6'] ?? 0),
    tcp: (os.sockets['tcp'] ?? 0) + (os.sockets['tcp6'] ?? 0),
    handles: handles.length,
    udpHandles: handles.filter((r) => r === 'UDPWrap').length,
    heapBytes: probe.heapUsed,
    workers: childPids(pid).map((w) => {
      const r = osResources(w);
      return { fds: r.fds, rssKiB: r.rssKiB };
    }),
  };
}

/** Every figure of `now` within tolerance of `base`; the list of what is not. */
function excess(base: ProcessFigures, now: ProcessFigures): string[] {
  const out: string[] = [];
  const check = (what: string, b: number, n: number, tolerance: number): void => {
    if (n > b + tolerance) out.push(`${what} ${b} → ${n}`);
  };
  check('fds', base.fds, now.fds, TOLERANCE.fds);
  check('udp sockets', base.udp, now.udp, 0);
  check('tcp sockets', base.tcp, now.tcp, 0);
  check('active handles', base.handles, now.handles, TOLERANCE.handles);
  check('UDP handles', base.udpHandles, now.udpHandles, 0);
  check('heap after GC', base.heapBytes, now.heapBytes, TOLERANCE.heapBytes);
  if (base.workers.length !== now.workers.length)
    out.push(`workers ${base.workers.length} → ${now.workers.length}`);
  base.workers.forEach((w, i) => {
    const n = now.workers[i];
    if (!n) return;
    check(`worker ${i} fds`, w.fds, n.fds, TOLERANCE.workerFds);
    check(`worker ${i} rss KiB`, w.rssKiB, n.rssKiB, TOLERANCE.workerRssKiB);
  });
  return out;
}

const objects = async (url: string): Promise<string> =>
  (
    await Promise.all(
      ['transport', 'pipe_transport', 'producer', 'consumer'].map((t) =>
        metric(url, 'streamfed_mediasoup_objects', { type: t }),
      ),
    )
  ).join('/');

describe('nothing leaks that the OS can see, over hundreds of cycles', () => {
  let s1: MediaProcess;
  let s2: MediaProcess;
  let source: NodePeer;
  let remote: NodePeer;

  beforeAll(async () => {
    // server 1 pushes and pulls over WebRTC (werift), server 2 over a pipe (both serve pipes to others)
    [s1, s2] = await Promise.all([
      spawnMedia(['--push-pipe', 'off'], {}, { probe: true }),
      spawnMedia([], {}, { probe: true }),
    ]);
    source = await NodePeer.publish(s1.wsUrl, 'src');
    remote = await NodePeer.publish(s2.wsUrl, 'cam');
    await Promise.all([source.waitStatus('PUBLISHING'), remote.waitStatus('PUBLISHING')]);
  });

  afterAll(async () => {
    await source?.stop();
    await remote?.stop();
    await Promise.all([s1?.kill(), s2?.kill()]);
  });

  /** Warm-up, baseline, `CYCLES` cycles, then every figure of both servers back to its baseline. */
  async function loop(cycle: (i: number) => Promise<void>): Promise<void> {
    for (let i = 0; i < WARMUP; i++) await cycle(-1 - i);
    const settled = async (): Promise<void> => {
      await waitFor(
        async () => (await rest(s1.restUrl, '/rest-api/pull/find_all')).status === 404,
        's1 relays gone',
      );
      await waitFor(
        async () => (await rest(s2.restUrl, '/rest-api/pull/find_all')).status === 404,
        's2 relays gone',
      );
    };
    await settled();
    const objectsBefore = [await objects(s1.restUrl), await objects(s2.restUrl)];
    const base = [await figures(s1), await figures(s2)];
    for (let i = 0; i < CYCLES; i++) await cycle(i);
    await settled();
    await waitFor(
      async () =>
        (await objects(s1.restUrl)) === objectsBefore[0] && (await objects(s2.restUrl)) === objectsBefore[1],
      'mediasoup transports/producers/consumers back to the baseline',
    );
    let last: string[] = [];
    await waitFor(
      async () => {
        last = [
          ...excess(base[0]!, await figures(s1)).map((e) => `server 1: ${e}`),
          ...excess(base[1]!, await figures(s2)).map((e) => `server 2: ${e}`),
        ];
        return last.length === 0;
      },
      'OS resources back to the baseline',
      30_000,
      1000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${last.join('; ')}`);
    });
  }

  const push = async (
    body: Record<string, unknown>,
    path = '/rest-api/pull/push',
    from = s1,
  ): Promise<PushDescription> => {
    const r = await rest(from.restUrl, path, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as PushDescription;
  };
  const terminate = async (p: PushDescription, from = s1): Promise<void> => {
    const r = await rest(from.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: p.localMediaSessionId,
    });
    expect(r.status).toBe(200);
  };

  it(`push + terminate, ${CYCLES} cycles`, async () => {
    await loop(async (i) => {
      await terminate(await push({ uri: s2.wsUrl, localStreamName: 'src', remoteStreamName: `p${i}` }));
    });
  }, 1_200_000);

  it(`push over a pipe (server 2 to server 1, two fleets) + terminate, ${CYCLES} cycles`, async () => {
    await loop(async (i) => {
      const p = await push(
        { uri: s1.wsUrl, localStreamName: 'cam', remoteStreamName: `q${i}` },
        '/rest-api/pull/push',
        s2,
      );
      expect(p.transport).toBe('pipe');
      await terminate(p, s2);
    });
  }, 1_200_000);

  it(`push + unpublish of the local stream, ${CYCLES} cycles`, async () => {
    await loop(async (i) => {
      const publisher = await NodePeer.publish(s1.wsUrl, `u${i}`);
      try {
        await publisher.waitStatus('PUBLISHING');
        await push({ uri: s2.wsUrl, localStreamName: `u${i}` });
      } finally {
        await publisher.stop();
      }
    });
  }, 1_200_000);

  it(`pull + terminate, ${CYCLES} cycles`, async () => {
    await loop(async (i) => {
      await terminate(
        await push(
          { uri: s2.wsUrl, localStreamName: `l${i}`, remoteStreamName: 'cam' },
          '/rest-api/pull/pull',
        ),
      );
    });
  }, 1_200_000);

  it(`pull over a pipe (server 2 from server 1, two fleets) + terminate, ${CYCLES} cycles`, async () => {
    await loop(async (i) => {
      const p = await push(
        { uri: s1.wsUrl, localStreamName: `m${i}`, remoteStreamName: 'src' },
        '/rest-api/pull/pull',
        s2,
      );
      expect(p.transport).toBe('pipe');
      await terminate(p, s2);
    });
  }, 1_200_000);

  it(`push over WHIP + terminate (DELETE of its session), ${CYCLES} cycles`, async () => {
    await loop(async (i) => {
      await terminate(await push({ uri: `${s2.restUrl}/whip/w${i}`, localStreamName: 'src' }));
    });
  }, 1_200_000);

  it(`pull over WHEP + terminate (DELETE of its session), ${CYCLES} cycles`, async () => {
    await loop(async (i) => {
      await terminate(
        await push({ uri: `${s2.restUrl}/whep/cam`, localStreamName: `h${i}` }, '/rest-api/pull/pull'),
      );
    });
  }, 1_200_000);

  it(`play + stop through a Node WebRTC receiver, ${CYCLES} cycles`, async () => {
    await loop(async () => {
      const player = await NodePeer.play(s1.wsUrl, 'src');
      try {
        await player.waitStatus('PLAYING');
      } finally {
        await player.stop();
      }
    });
  }, 1_200_000);
});
