import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, it } from 'vitest';
import { startMedia, type RunningMedia } from '../test/support/media-server.js';
import { NodePeer } from '../test/support/node-peer.js';
import { pct, record } from './report.js';
import { inBatches } from './support/batches.js';
import { MediaHost } from './support/media-host-process.js';
import { childPids, cpuSeconds, perSecond } from './support/proc.js';
import { pipeStream } from './support/pipe-baseline.js';
import { pushUntilPublishing, terminatePush } from './support/pushes.js';

const WINDOW_S = Number(process.env['BENCH_CAPACITY_SECONDS'] ?? 10);
const STEPS_1M = (process.env['BENCH_CAPACITY_STEPS'] ?? '5,10,20,30,40,50,60,80').split(',').map(Number);
const LOSS_LIMIT = 0.01;

/**
 * Capacity of one server process on one core: server 1 (Node + its mediasoup worker) is pinned to CPU 0;
 * this process (the synthetic VP8 source, and server 2 with its worker) to CPU 1. One source publishes on
 * server 1 and is sent to server 2 N times over: by N pushes (each its own consumer, socket, werift peer
 * and SRTP session: mediasoup → Node → werift → SRTP), then by N mediasoup PipeTransports (the baseline).
 * One source, fanned out, because N werift senders would load CPU 1 as much as the pushes load CPU 0 and
 * the generator, not the server, would be measured. Loss is counted end to end: N × the packets the source
 * wrote against the packets server 2's N producers received (and mediasoup's own lost count).
 */
let host: MediaHost;
let s2: RunningMedia;

beforeAll(async () => {
  // before server 2 starts, so its worker inherits the CPU too
  execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)]);
  host = await MediaHost.start({ cpu: 0 });
  s2 = await startMedia({ listen: { workers: 1 } });
});
afterAll(async () => {
  await s2?.stop();
  await host?.stop();
});

interface Window {
  loss: number;
  mediasoupLoss: number;
  server1Core: number;
  server1CorePerStream: number;
  /** This process (the source, and server 2's Node side) and server 2's worker, on CPU 1. */
  benchNodeCore: number;
  server2WorkerCore: number;
  sentPps: number;
}

// server 2's worker: our child that is not the host (whose own worker is its child, not ours)
const workerCpu = (): number =>
  childPids(process.pid)
    .filter((pid) => pid !== host.pid)
    .reduce((sum, pid) => sum + cpuSeconds(pid), 0);

async function received(names: string[]): Promise<{ packets: number; lost: number }> {
  let packets = 0;
  let lost = 0;
  for (const name of names) {
    const producer = s2.server.streams.publisher(name)?.producers.get('video');
    for (const s of (await producer?.getStats()) ?? []) {
      packets += s.packetCount;
      lost += s.packetsLost;
    }
  }
  return { packets, lost };
}

/** Settles, then measures one window over the streams arriving on server 2 as `names`. */
async function measure(source: NodePeer, names: string[]): Promise<Window> {
  await sleep(3000);
  const rate = await perSecond(WINDOW_S, async () => {
    const { packets, lost } = await received(names);
    return {
      sent: source.sentPackets * names.length,
      received: packets,
      lost,
      server1: host.cpuSeconds(),
      bench: cpuSeconds(process.pid),
      worker: workerCpu(),
    };
  });
  return {
    loss: Math.max(0, 1 - rate.received / rate.sent),
    mediasoupLoss: rate.lost / rate.sent,
    server1Core: rate.server1,
    server1CorePerStream: rate.server1 / names.length,
    benchNodeCore: rate.bench,
    server2WorkerCore: rate.worker,
    sentPps: rate.sent,
  };
}

async function step(source: NodePeer, n: number): Promise<{ push: Window; pipe: Window }> {
  const names = (kind: string): string[] =>
    Array.from({ length: n }, (_, i) => `${kind}-${source.name}-${n}-${i}`);
  const ids = await inBatches(n, (i) =>
    pushUntilPublishing(host.restUrl, {
      uri: s2.wsUrl,
      localStreamName: source.name,
      remoteStreamName: names('push')[i]!,
    }),
  );
  const push = await measure(source, names('push'));
  await Promise.all(ids.map((id) => terminatePush(host.restUrl, id)));

  const pipes = await inBatches(n, (i) => pipeStream(host, source.name, s2.server, names('pipe')[i]!));
  const pipe = await measure(source, names('pipe'));
  await Promise.all(pipes.map((p) => p.close()));
  return { push, pipe };
}

it('concurrent pushes per core at 1 and 2.5 Mbps vs mediasoup-only forwarding', async () => {
  const results: Record<string, unknown>[] = [];
  const summary: string[] = [];
  for (const bitrate of [1_000_000, 2_500_000]) {
    const steps = [...new Set(STEPS_1M.map((n) => Math.max(1, Math.round((n * 1_000_000) / bitrate))))];
    const rows: ({ streams: number } & { push: Window; pipe: Window })[] = [];
    const source = await NodePeer.publish(host.wsUrl, `src-${bitrate}`, { videoBitrate: bitrate });
    await source.waitStatus('PUBLISHING');
    for (const n of steps) {
      const r = await step(source, n);
      rows.push({ streams: n, ...r });
      console.log(
        `${bitrate / 1e6} Mbps × ${n}: push loss ${pct(r.push.loss)} (server 2 counts ${pct(r.push.mediasoupLoss)}) core ${r.push.server1Core.toFixed(2)}; pipe loss ${pct(r.pipe.loss)} core ${r.pipe.server1Core.toFixed(2)}; CPU 1: bench ${r.push.benchNodeCore.toFixed(2)} + server-2 worker ${r.push.server2WorkerCore.toFixed(2)} (pipe: ${r.pipe.benchNodeCore.toFixed(2)} + ${r.pipe.server2WorkerCore.toFixed(2)})`,
      );
      if (Math.max(r.push.loss, r.push.mediasoupLoss) > LOSS_LIMIT) break;
    }
    await source.stop();
    const ok = (w: Window): boolean => Math.max(w.loss, w.mediasoupLoss) <= LOSS_LIMIT;
    const maxPush = Math.max(0, ...rows.filter((r) => ok(r.push)).map((r) => r.streams));
    const maxPipe = Math.max(0, ...rows.filter((r) => ok(r.pipe)).map((r) => r.streams));
    const last = rows.filter((r) => ok(r.push)).at(-1);
    results.push({
      bitrate,
      maxPushesUnder1PctLoss: maxPush,
      maxPipesUnder1PctLossTested: maxPipe,
      steps: rows,
    });
    summary.push(
      `${bitrate / 1e6} Mbps: ${maxPush} concurrent pushes on one core with < 1 % loss` +
        (last
          ? `; at ${last.streams}: ${(last.push.server1CorePerStream * 100).toFixed(2)} % of a core per push vs ${(last.pipe.server1CorePerStream * 100).toFixed(2)} % per stream forwarded by a mediasoup PipeTransport (${(last.push.server1CorePerStream / last.pipe.server1CorePerStream).toFixed(1)}×)`
          : '') +
        `; pipe baseline clean up to ${maxPipe} (the most tested)`,
    );
  }
  record('push-capacity', { windowSeconds: WINDOW_S, lossLimit: LOSS_LIMIT, results }, summary);
});
