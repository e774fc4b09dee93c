import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, it } from 'vitest';
import { spawnFleet, type FleetMember } from '../test/support/media-fleet.js';
import { spawnMedia, type MediaProcess } from '../test/support/media-process.js';
import { NodePeer } from '../test/support/node-peer.js';
import { pct, record } from './report.js';
import { inBatches } from './support/batches.js';
import { cpuSeconds, perSecond, serverCpu } from './support/proc.js';

const STEPS = (process.env['BENCH_FANOUT_STEPS'] ?? '2,4,8,16').split(',').map(Number);
const WINDOW_S = Number(process.env['BENCH_FANOUT_SECONDS'] ?? 5);
const BITRATE = Number(process.env['BENCH_FANOUT_BITRATE'] ?? 1_000_000);
const LOSS_LIMIT = 0.01;

/**
 * Fan-out on our 2 cores: one stream of BITRATE published on an origin, N Node WebRTC players (werift, video
 * only, in this process) on each of 2 members, N stepping up until packets are lost. Beside it, in the same
 * run and step by step, the baseline: mediasoup alone serving the same 2N consumers — one `streamfed media`
 * process with 3 workers, where the stream reaches the players' workers by pipeToRouter, with no fleet (our
 * Node layer only signals; no Node on the media path). Loss counts every player's packets against what the
 * source sent (retransmissions received count as packets, so it reads slightly low). The players live in
 * this process: the `bench` core figure tells whether they, not the servers, ran out of CPU first.
 */
let fleet: FleetMember[] = [];
let alone: MediaProcess | undefined;
let fleetSource: NodePeer | undefined;
let aloneSource: NodePeer | undefined;

beforeAll(async () => {
  fleet = await spawnFleet(3, ['--relay-idle-seconds', '3600']);
  alone = await spawnMedia(['--workers', '3']);
  fleetSource = await NodePeer.publish(fleet[0]!.wsUrl, 'fan', { videoBitrate: BITRATE });
  aloneSource = await NodePeer.publish(alone.wsUrl, 'fan', { videoBitrate: BITRATE });
  await Promise.all([fleetSource.waitStatus('PUBLISHING'), aloneSource.waitStatus('PUBLISHING')]);
});
afterAll(async () => {
  await Promise.all([fleetSource?.stop(), aloneSource?.stop()]);
  await Promise.all([...fleet.map((m) => m.process.kill()), alone?.kill()]);
});

interface Window {
  players: number;
  /** Players that never reached PLAYING (counted as receiving nothing). */
  failedPlays: number;
  loss: number;
  /** Cores used by all the servers of the setup (Node processes and mediasoup workers). */
  serverCores: number;
  serverNodeCores: number;
  serverWorkerCores: number;
  serverCorePerPlayer: number;
  /** This process: the source and every player. */
  benchCores: number;
}

/** Plays `n` players on each of `wsUrls`, measures one window, stops them. */
async function step(source: NodePeer, wsUrls: string[], pids: number[], n: number): Promise<Window> {
  // past saturation some plays never reach PLAYING: they count as players that received nothing
  const requested = wsUrls.length * n;
  const started = (
    await Promise.all(
      wsUrls.map((url) =>
        inBatches(n, () => NodePeer.play(url, 'fan', { kinds: ['video'] }).catch(() => undefined)),
      ),
    )
  ).flat();
  const players = started.filter((p): p is NodePeer => p !== undefined);
  try {
    const playing = await Promise.all(
      players.map((p) =>
        p.waitStatus('PLAYING', 30_000).then(
          () => true,
          () => false,
        ),
      ),
    );
    const failedPlays = requested - playing.filter(Boolean).length;
    await sleep(2000);
    const rate = await perSecond(WINDOW_S, () => {
      const cpu = pids.map(serverCpu);
      return {
        sent: source.sentPackets,
        received: players.reduce((sum, p) => sum + p.received, 0),
        node: cpu.reduce((sum, c) => sum + c.node, 0),
        workers: cpu.reduce((sum, c) => sum + c.workers, 0),
        bench: cpuSeconds(process.pid),
      };
    });
    return {
      players: requested,
      failedPlays,
      loss: Math.max(0, 1 - rate.received / (rate.sent * requested)),
      serverCores: rate.node + rate.workers,
      serverNodeCores: rate.node,
      serverWorkerCores: rate.workers,
      serverCorePerPlayer: (rate.node + rate.workers) / requested,
      benchCores: rate.bench,
    };
  } finally {
    await inBatches(players.length, (i) => players[i]!.stop());
  }
}

const line = (w: Window): string =>
  `loss ${pct(w.loss)}${w.failedPlays ? ` (${w.failedPlays} plays failed)` : ''}, servers ${w.serverCores.toFixed(2)} cores (Node ${w.serverNodeCores.toFixed(2)}, workers ${w.serverWorkerCores.toFixed(2)}; ${pct(w.serverCorePerPlayer)} of a core per player), bench ${w.benchCores.toFixed(2)}`;

it('fan-out: origin + 2 members × N players vs mediasoup alone serving the same consumers', async () => {
  const [origin, m2, m3] = fleet as [FleetMember, FleetMember, FleetMember];
  const fleetPids = fleet.map((m) => m.process.child.pid!);
  const rows: { perMember: number; fleet: Window; mediasoupAlone: Window }[] = [];
  for (const n of STEPS) {
    const f = await step(fleetSource!, [m2.wsUrl, m3.wsUrl], fleetPids, n);
    const a = await step(aloneSource!, [alone!.wsUrl, alone!.wsUrl], [alone!.child.pid!], n);
    rows.push({ perMember: n, fleet: f, mediasoupAlone: a });
    console.log(`${n} per member (${2 * n} players): fleet ${line(f)}; mediasoup alone ${line(a)}`);
    if (f.loss > LOSS_LIMIT && a.loss > LOSS_LIMIT) break;
  }
  const clean = (w: (r: (typeof rows)[number]) => Window): number =>
    Math.max(0, ...rows.filter((r) => w(r).loss <= LOSS_LIMIT).map((r) => w(r).players));
  const fleetMax = clean((r) => r.fleet);
  const aloneMax = clean((r) => r.mediasoupAlone);
  const last = rows.at(-1)!;
  record(
    'fleet-fanout',
    {
      bitrate: BITRATE,
      windowSeconds: WINDOW_S,
      lossLimit: LOSS_LIMIT,
      origin: origin.memberId,
      maxPlayersUnder1PctLoss: { fleet: fleetMax, mediasoupAlone: aloneMax },
      steps: rows,
    },
    [
      `${BITRATE / 1e6} Mbps, one origin + 2 members; players with < 1 % loss: fleet ${fleetMax}, mediasoup alone (one process, 3 workers, pipeToRouter) ${aloneMax}; steps ${rows.map((r) => 2 * r.perMember).join(', ')} players`,
      `at ${2 * last.perMember} players: fleet ${line(last.fleet)}`,
      `at ${2 * last.perMember} players: mediasoup alone ${line(last.mediasoupAlone)}`,
    ],
  );
});
