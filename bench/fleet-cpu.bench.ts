import type * as ms from 'mediasoup/types';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, it } from 'vitest';
import { spawnFleet, type FleetMember } from '../test/support/media-fleet.js';
import { metric } from '../test/support/metrics.js';
import { startMedia, waitFor, type RunningMedia } from '../test/support/media-server.js';
import { NodePeer } from '../test/support/node-peer.js';
import { record } from './report.js';
import { childPids, cpuSeconds, perSecond, serverCpu } from './support/proc.js';

const STREAMS = Number(process.env['BENCH_FLEET_CPU_STREAMS'] ?? 4);
const WINDOW_S = Number(process.env['BENCH_FLEET_CPU_SECONDS'] ?? 10);
const BITRATE = Number(process.env['BENCH_FLEET_CPU_BITRATE'] ?? 1_000_000);

/**
 * CPU per relayed stream. STREAMS Node sources here publish BITRATE each; every figure is the CPU a window of
 * relaying costs minus a window of the same streams published and not relayed, divided by STREAMS.
 * - fleet: two `streamfed media` processes joined by `--peers`; sources publish on the origin; one play per
 *   stream on the member sets up its relay, and the player leaves at once (`--relay-idle-seconds 3600` keeps
 *   the relay live, so the window measures the hop alone, no WebRTC player): origin and member, each split
 *   into its Node process and its mediasoup worker.
 * - baseline: one media server in this process with two workers; the same sources publish on it and each
 *   producer is `pipeToRouter`ed to the other worker's router, with SRTP and RTX like a fleet pipe: the two
 *   workers' CPU (their Node side is this process; pipeToRouter puts no Node on the media path).
 */
let fleet: FleetMember[] = [];
let baseline: RunningMedia | undefined;
let sources: NodePeer[] = [];

afterAll(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await Promise.all(fleet.map((m) => m.process.kill()));
  await baseline?.stop();
});

async function publishAll(wsUrl: string): Promise<NodePeer[]> {
  const peers = await Promise.all(
    Array.from({ length: STREAMS }, (_, i) => NodePeer.publish(wsUrl, `cpu${i}`, { videoBitrate: BITRATE })),
  );
  await Promise.all(peers.map((p) => p.waitStatus('PUBLISHING')));
  return peers;
}

async function stopAll(): Promise<void> {
  await Promise.all(sources.map((s) => s.stop()));
  sources = [];
}

/** Cores (CPU seconds per second) over one window, after the streams settle. */
async function window<K extends string>(
  snapshot: () => Record<K, number> | Promise<Record<K, number>>,
): Promise<Record<K, number>> {
  await sleep(3000);
  return perSecond(WINDOW_S, snapshot);
}

const perStream = <K extends string>(relayed: Record<K, number>, published: Record<K, number>) =>
  Object.fromEntries(
    Object.keys(relayed).map((k) => [k, (relayed[k as K] - published[k as K]) / STREAMS]),
  ) as Record<K, number>;

async function measureFleet() {
  fleet = await spawnFleet(2, ['--relay-idle-seconds', '3600']);
  const [origin, member] = fleet as [FleetMember, FleetMember];
  sources = await publishAll(origin.wsUrl);
  const snapshot = async () => {
    const o = serverCpu(origin.process.child.pid!);
    const m = serverCpu(member.process.child.pid!);
    return {
      originNode: o.node,
      originWorker: o.workers,
      memberNode: m.node,
      memberWorker: m.workers,
      relayedBytes: await metric(member.restUrl, 'streamfed_fleet_relayed_bytes_total', { direction: 'in' }),
    };
  };
  const published = await window(snapshot);
  for (const s of sources) {
    const player = await NodePeer.play(member.wsUrl, s.name, { kinds: ['video'] });
    await player.waitStatus('PLAYING');
    await player.stop();
  }
  await waitFor(
    async () => (await metric(member.restUrl, 'streamfed_fleet_relays', { state: 'live' })) === STREAMS,
    `${STREAMS} live relays on the member`,
  );
  const relayed = await window(snapshot);
  await stopAll();
  await Promise.all(fleet.map((m) => m.process.kill()));
  fleet = [];
  return { published, relayed, perStream: perStream(relayed, published) };
}

async function measurePipeToRouter() {
  const before = new Set(childPids(process.pid));
  baseline = await startMedia({ listen: { workers: 2 } });
  const workers = childPids(process.pid).filter((pid) => !before.has(pid));
  const server = baseline.server;
  sources = await publishAll(baseline.wsUrl);
  const piped: ms.Producer[] = [];
  const snapshot = async () => {
    let pipedBytes = 0;
    for (const p of piped) for (const s of await p.getStats()) pipedBytes += s.byteCount;
    return { workers: workers.reduce((sum, pid) => sum + cpuSeconds(pid), 0), pipedBytes };
  };
  const published = await window(snapshot);
  for (const s of sources) {
    const publisher = server.streams.publisher(s.name)!;
    const to = server.engine.routers().find((r) => r.id !== publisher.router.id)!;
    for (const producer of publisher.producers.values()) {
      const { pipeProducer } = await publisher.router.pipeToRouter({
        producerId: producer.id,
        router: to,
        enableSrtp: true,
        enableRtx: true,
      });
      if (pipeProducer) piped.push(pipeProducer);
    }
  }
  const relayed = await window(snapshot);
  await stopAll();
  await baseline.stop();
  baseline = undefined;
  return { workerCount: workers.length, published, relayed, perStream: perStream(relayed, published) };
}

const pc = (cores: number): string => `${(cores * 100).toFixed(2)} %`;

it('CPU per relayed stream, origin and member, vs pipeToRouter between two workers', async () => {
  const f = await measureFleet();
  const b = await measurePipeToRouter();
  const fleetTotal =
    f.perStream.originNode + f.perStream.originWorker + f.perStream.memberNode + f.perStream.memberWorker;
  record(
    'fleet-cpu',
    {
      unit: 'cores (CPU seconds per second); perStream: relayed minus published, per stream',
      streams: STREAMS,
      bitrate: BITRATE,
      windowSeconds: WINDOW_S,
      fleet: { ...f, perStreamTotal: fleetTotal },
      baselinePipeToRouter: b,
      ratio: fleetTotal / b.perStream.workers,
    },
    [
      `${STREAMS} streams of ${BITRATE / 1e6} Mbps, ${WINDOW_S} s windows; % of one core per relayed stream`,
      `fleet origin: Node ${pc(f.perStream.originNode)}, worker ${pc(f.perStream.originWorker)}; member: Node ${pc(f.perStream.memberNode)}, worker ${pc(f.perStream.memberWorker)}; total ${pc(fleetTotal)} (relayed ${((f.relayed.relayedBytes * 8) / 1e6).toFixed(2)} Mbps into the member)`,
      `baseline, pipeToRouter (SRTP + RTX) between two workers of one process: ${pc(b.perStream.workers)} for both workers (piped ${((b.relayed.pipedBytes * 8) / 1e6).toFixed(2)} Mbps)`,
      `fleet / pipeToRouter: ${(fleetTotal / b.perStream.workers).toFixed(1)}×`,
    ],
  );
});
