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
const STEPS_1M = (process.env['BENCH_CAPACITY_STEPS'] ?? '5,10,20,40,60,80,100,130,160,200,250')
  .split(',')
  .map(Number);
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

/** What server 2's producers of `names` received, read all at once (a sequential read would skew the window). */
async function received(names: string[]): Promise<{ packets: number; lost: number }> {
  const all = await Promise.all(
    names.map(
      async (name) => (await s2.server.streams.publisher(name)?.producers.get('video')?.getStats()) ?? [],
    ),
  );
  let packets = 0;
  let lost = 0;
  for (const s of all.flat()) {
    packets += s.packetCount;
    lost += s.packetsLost;
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

/** A window's loss: end to end (packets that never arrived) or as server 2's receivers count it. */
const lossOf = (w: Window): number => Math.max(w.loss, w.mediasoupLoss);
const ok = (w: Window): boolean => lossOf(w) <= LOSS_LIMIT;

/**
 * Measures each of `modes` at N streams, one after the other (so each has the machine to itself). A mode
 * that lost more than the limit at a step is not measured at the steps after it (its row says so).
 */
async function step(
  source: NodePeer,
  n: number,
  modes: readonly Mode[],
): Promise<Partial<Record<Mode, Window>>> {
  const windows: Partial<Record<Mode, Window>> = {};
  for (const mode of modes) {
    const names = Array.from({ length: n }, (_, i) => `${mode}-${source.name}-${n}-${i}`);
    const close = await open(mode, source.name, names);
    try {
      const first = await measure(source, names);
      // a loss must show twice before it ends the mode's stepping (one window can catch a burst of the host's)
      const second = lossOf(first) > LOSS_LIMIT ? await measure(source, names) : undefined;
      windows[mode] = second && lossOf(second) < lossOf(first) ? second : first;
    } finally {
      await close();
    }
  }
  return windows;
}

it('concurrent pushes (WCS and WHIP) per core at 1 and 2.5 Mbps vs mediasoup-only forwarding', async () => {
  const results: Record<string, unknown>[] = [];
  const summary: string[] = [];
  const core = (w: Window): string => `${(w.server1CorePerStream * 100).toFixed(2)} %`;
  const us = (w: Window): string => `${w.server1UsPerPacket.toFixed(1)} µs`;
  for (const bitrate of [1_000_000, 2_500_000]) {
    const steps = [...new Set(STEPS_1M.map((n) => Math.max(1, Math.round((n * 1_000_000) / bitrate))))];
    const rows: ({ streams: number } & Partial<Record<Mode, Window>>)[] = [];
    const source = await NodePeer.publish(host.wsUrl, `src-${bitrate}`, { videoBitrate: bitrate });
    await source.waitStatus('PUBLISHING');
    let live: Mode[] = [...MODES];
    for (const n of steps) {
      const r = await step(source, n, live);
      rows.push({ streams: n, ...r });
      console.log(
        `${bitrate / 1e6} Mbps × ${n}: ` +
          live
            .map((m) => {
              const w = r[m]!;
              return `${m} loss ${pct(w.loss)} (server 2 counts ${pct(w.mediasoupLoss)}) core ${w.server1Core.toFixed(2)}, ${us(w)}/packet, CPU 1: bench ${w.benchNodeCore.toFixed(2)} + server-2 worker ${w.server2WorkerCore.toFixed(2)}`;
            })
            .join('; '),
      );
      live = live.filter((m) => ok(r[m]!));
      if (!live.some((m) => PUSHES.includes(m))) break;
    }
    await source.stop();
    const clean = (w: Window | undefined): w is Window => w !== undefined && ok(w);
    const max = (m: Mode): number => Math.max(0, ...rows.filter((r) => clean(r[m])).map((r) => r.streams));
    /** Did the mode lose at some step (so its max is a measured limit, not the most tested)? */
    const limited = (m: Mode): boolean => rows.some((r) => r[m] !== undefined && !ok(r[m]));
    const most = (m: Mode): string => `${max(m)}${limited(m) ? '' : '+ (the most tested, no loss)'}`;
    const maxStreams = Object.fromEntries(MODES.map((m) => [m, max(m)])) as Record<Mode, number>;
    // per-stream and per-packet costs where every mode was still clean: the same N side by side
    const last = rows.filter((r) => MODES.every((m) => clean(r[m]))).at(-1) as
      ({ streams: number } & Record<Mode, Window>) | undefined;
    // the pipe push beside the PipeTransport at the most streams both carried cleanly (the least noisy ratio)
    const pipes = rows.filter((r) => clean(r['pipe-push']) && clean(r.pipe)).at(-1);
    const pipeRatio = pipes
      ? pipes['pipe-push']!.server1CorePerStream / pipes.pipe!.server1CorePerStream
      : null;
    results.push({
      bitrate,
      maxPushesUnder1PctLoss: maxStreams.push,
      maxWhipPushesUnder1PctLoss: maxStreams.whip,
      maxPipePushesUnder1PctLoss: maxStreams['pipe-push'],
      maxPipesUnder1PctLossTested: maxStreams.pipe,
      limitReached: Object.fromEntries(MODES.map((m) => [m, limited(m)])),
      pipePushesPerWeriftPush: maxStreams['pipe-push'] / Math.max(1, maxStreams.push),
      pipePushCpuPerPipeTransportCpu: pipeRatio,
      pipeRatioAtStreams: pipes?.streams ?? null,
      steps: rows,
    });
    summary.push(
      `${bitrate / 1e6} Mbps, on one core with < 1 % loss: ${most('push')} concurrent WCS pushes over werift, ${most('pipe-push')} over a pipe (${(maxStreams['pipe-push'] / Math.max(1, maxStreams.push)).toFixed(1)}×), ${most('whip')} WHIP pushes, ${most('pipe')} mediasoup PipeTransports` +
        (last
          ? `; at ${last.streams}, server 1 per stream: WCS push ${core(last.push)} (${us(last.push)}/packet), WCS push over a pipe ${core(last['pipe-push'])} (${us(last['pipe-push'])}/packet), WHIP push ${core(last.whip)} (${us(last.whip)}/packet), mediasoup PipeTransport ${core(last.pipe)} (${us(last.pipe)}/packet)`
          : '') +
        (pipes
          ? `; at ${pipes.streams}, pipe push ${core(pipes['pipe-push']!)} per stream vs PipeTransport ${core(pipes.pipe!)} (${pipeRatio!.toFixed(2)}×)`
          : ''),
    );
  }
  record('push-capacity', { windowSeconds: WINDOW_S, lossLimit: LOSS_LIMIT, modes: MODES, results }, summary);
});
