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
import { startWcsProxyHiding, type WcsProxy } from '../test/support/pipe-blocker.js';

const WINDOW_S = Number(process.env['BENCH_CAPACITY_SECONDS'] ?? 10);
const STEPS_1M = (process.env['BENCH_CAPACITY_STEPS'] ?? '5,10,20,30,40,50,60,80').split(',').map(Number);
const LOSS_LIMIT = 0.01;

/**
 * Capacity of one server process on one core: server 1 (Node + its mediasoup worker) is pinned to CPU 0;
 * this process (the synthetic VP8 source, and server 2 with its worker) to CPU 1. One source publishes on
 * server 1 and is sent to server 2 N times over, in four modes one after the other at each step: by N WCS
 * pushes (`push`: each its own consumer, socket, werift peer and SRTP session: mediasoup → Node → werift →
 * SRTP; server 2 is reached through a signalling proxy that hides its pipe extension, as a foreign WCS
 * would), by N WCS pushes to server 2 as it is (`pipe-push`: each a PipeTransport pair negotiated in the WCS
 * session, media in mediasoup only, push/push-pipe.ts), by N pushes over WHIP (`whip`: `uri: <server 2>/whip/<name>`, the same werift path behind a WHIP
 * POST), then by N mediasoup PipeTransports (`pipe`, the baseline). One source, fanned out, because N werift
 * senders would load CPU 1 as much as the pushes load CPU 0 and the generator, not the server, would be
 * measured. Loss is counted end to end: N × the packets the source wrote against the packets server 2's N
 * producers received (and mediasoup's own lost count). CPU per packet: server 1's core-seconds over the
 * packets server 2 received in the window (server 1's cost of taking in the source is in every mode alike).
 */
let host: MediaHost;
let s2: RunningMedia;
/** Server 2 without its pipe extension (getUserData's streamfedPipe removed): WCS pushes go over werift. */
let foreign: WcsProxy;

beforeAll(async () => {
  // before server 2 starts, so its worker inherits the CPU too
  execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)]);
  host = await MediaHost.start({ cpu: 0 });
  s2 = await startMedia({ listen: { workers: 1 } });
  foreign = await startWcsProxyHiding(s2.wsUrl, ['streamfedPipe']);
});
afterAll(async () => {
  await foreign?.close();
  await s2?.stop();
  await host?.stop();
});

const MODES = ['push', 'pipe-push', 'whip', 'pipe'] as const;
type Mode = (typeof MODES)[number];
/** The modes that are pushes (the ones whose loss ends the stepping). */
const PUSHES: Mode[] = ['push', 'pipe-push', 'whip'];
/** Where each push mode sends to. */
const uriOf = (mode: Mode, name: string): string =>
  mode === 'push' ? foreign.url : mode === 'pipe-push' ? s2.wsUrl : `${s2.restUrl}/whip/${name}`;

interface Window {
  loss: number;
  mediasoupLoss: number;
  server1Core: number;
  server1CorePerStream: number;
  /** Microseconds of server 1's CPU per packet forwarded (received by server 2). */
  server1UsPerPacket: number;
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
    server1UsPerPacket: (rate.server1 / rate.received) * 1e6,
    benchNodeCore: rate.bench,
    server2WorkerCore: rate.worker,
    sentPps: rate.sent,
  };
}

/** Sends the source to server 2 as `names` by `mode`; returns what ends them. */
async function open(mode: Mode, source: string, names: string[]): Promise<() => Promise<unknown>> {
  if (mode === 'pipe') {
    const pipes = await inBatches(names.length, (i) => pipeStream(host, source, s2.server, names[i]!));
    return () => Promise.all(pipes.map((p) => p.close()));
  }
  const ids = await inBatches(names.length, (i) =>
    pushUntilPublishing(host.restUrl, {
      // server 2's WHIP endpoint binds a name to its first publish: every step uses fresh names
      uri: uriOf(mode, names[i]!),
      localStreamName: source,
      remoteStreamName: names[i]!,
    }),
  );
  return () => Promise.all(ids.map((id) => terminatePush(host.restUrl, id)));
}

async function step(source: NodePeer, n: number): Promise<Record<Mode, Window>> {
  const windows: Partial<Record<Mode, Window>> = {};
  for (const mode of MODES) {
    const names = Array.from({ length: n }, (_, i) => `${mode}-${source.name}-${n}-${i}`);
    const close = await open(mode, source.name, names);
    try {
      windows[mode] = await measure(source, names);
    } finally {
      await close();
    }
  }
  return windows as Record<Mode, Window>;
}

it('concurrent pushes (WCS and WHIP) per core at 1 and 2.5 Mbps vs mediasoup-only forwarding', async () => {
  const results: Record<string, unknown>[] = [];
  const summary: string[] = [];
  const ok = (w: Window): boolean => Math.max(w.loss, w.mediasoupLoss) <= LOSS_LIMIT;
  const core = (w: Window): string => `${(w.server1CorePerStream * 100).toFixed(2)} %`;
  const us = (w: Window): string => `${w.server1UsPerPacket.toFixed(1)} µs`;
  for (const bitrate of [1_000_000, 2_500_000]) {
    const steps = [...new Set(STEPS_1M.map((n) => Math.max(1, Math.round((n * 1_000_000) / bitrate))))];
    const rows: ({ streams: number } & Record<Mode, Window>)[] = [];
    const source = await NodePeer.publish(host.wsUrl, `src-${bitrate}`, { videoBitrate: bitrate });
    await source.waitStatus('PUBLISHING');
    for (const n of steps) {
      const r = await step(source, n);
      rows.push({ streams: n, ...r });
      console.log(
        `${bitrate / 1e6} Mbps × ${n}: ` +
          MODES.map(
            (m) =>
              `${m} loss ${pct(r[m].loss)} (server 2 counts ${pct(r[m].mediasoupLoss)}) core ${r[m].server1Core.toFixed(2)}, ${us(r[m])}/packet, CPU 1: bench ${r[m].benchNodeCore.toFixed(2)} + server-2 worker ${r[m].server2WorkerCore.toFixed(2)}`,
          ).join('; '),
      );
      if (PUSHES.every((m) => !ok(r[m]))) break;
    }
    await source.stop();
    const max = (m: Mode): number => Math.max(0, ...rows.filter((r) => ok(r[m])).map((r) => r.streams));
    const maxStreams = Object.fromEntries(MODES.map((m) => [m, max(m)])) as Record<Mode, number>;
    results.push({
      bitrate,
      maxPushesUnder1PctLoss: maxStreams.push,
      maxWhipPushesUnder1PctLoss: maxStreams.whip,
      maxPipePushesUnder1PctLoss: maxStreams['pipe-push'],
      maxPipesUnder1PctLossTested: maxStreams.pipe,
      steps: rows,
    });
    // per-stream and per-packet costs where every mode was still clean: the same N side by side
    const last = rows.filter((r) => MODES.every((m) => ok(r[m]))).at(-1);
    summary.push(
      `${bitrate / 1e6} Mbps: ${maxStreams.push} concurrent WCS pushes over werift, ${maxStreams['pipe-push']} over a pipe, ${maxStreams.whip} WHIP pushes on one core with < 1 % loss` +
        (last
          ? `; at ${last.streams}, server 1 per stream: WCS push ${core(last.push)} (${us(last.push)}/packet), WCS push over a pipe ${core(last['pipe-push'])} (${us(last['pipe-push'])}/packet), WHIP push ${core(last.whip)} (${us(last.whip)}/packet), mediasoup PipeTransport ${core(last.pipe)} (${us(last.pipe)}/packet)`
          : '') +
        `; pipe baseline clean up to ${maxStreams.pipe} (the most tested)`,
    );
  }
  record('push-capacity', { windowSeconds: WINDOW_S, lossLimit: LOSS_LIMIT, modes: MODES, results }, summary);
});
