import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, it } from 'vitest';
import { spawnMedia, type MediaProcess } from '../test/support/media-process.js';
import { rest, waitFor } from '../test/support/media-server.js';
import { metric } from '../test/support/metrics.js';
import { listPushes } from '../test/support/pushes.js';
import { NodePeer } from '../test/support/node-peer.js';
import { analyse, table } from './cpuprofile.js';
import { record, resultsDir } from './report.js';
import { childPids, cpuSeconds, cpuTimes } from './support/proc.js';

/**
 * The push path under load: K streams of ~1 Mbps video (+ Opus-sized audio) published on server 1 and
 * pushed to server 2. Server 1 runs with --cpu-prof; over a steady window this measures its CPU (Node
 * process + mediasoup worker) per forwarded packet, then reads the profile for where the time goes.
 * The pushes go over werift (server 1 runs with `--push-pipe off`), the path a push to a foreign server
 * takes; BENCH_PUSH_PIPE=on profiles pushes over a PipeTransport pair instead (streamfed to streamfed).
 *
 *   npm run build && npx vitest run --config bench/vitest.config.ts bench/push-profile.bench.ts
 *   env: BENCH_STREAMS (15), BENCH_SECONDS (20), BENCH_VIDEO_BITRATE (1000000), BENCH_LABEL, BENCH_PUSH_PIPE (off)
 *
 * CPU per packet moves with the machine's load (a process woken less often handles more packets per
 * wake-up), so builds are best compared side by side: BENCH_COMPARE=<root> runs a second server 1 from
 * the build in <root>/dist at the same time (its own K publishers, the same server 2). <root> needs
 * package.json and node_modules, e.g. a copy of dist with symlinks to this checkout's.
 *
 * The V8 profile samples wall time: on a loaded machine a thread waiting for a core is charged to wherever
 * it stopped (often a syscall). BENCH_PERF=1 also runs `perf record` on server 1 over the window (on-CPU
 * samples, kernel included; JS names from --perf-basic-prof): `perf report -i <file> --no-children`.
 */
const K = Number(process.env['BENCH_STREAMS'] ?? 15);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const BITRATE = Number(process.env['BENCH_VIDEO_BITRATE'] ?? 1_000_000);
const LABEL = process.env['BENCH_LABEL'] ?? 'run';
const COMPARE = process.env['BENCH_COMPARE'];
const PERF = process.env['BENCH_PERF'] === '1';
const PUSH_PIPE = process.env['BENCH_PUSH_PIPE'] ?? 'off';

const procs: MediaProcess[] = [];
const peers: NodePeer[] = [];
afterAll(async () => {
  await Promise.all(peers.map((p) => p.stop().catch(() => undefined)));
  await Promise.all(procs.map((p) => p.kill()));
});

/** User and system CPU time of a process, in µs. */
function cpuTimesUs(pid: number): { user: number; sys: number } {
  const t = cpuTimes(pid);
  return { user: t.user * 1e6, sys: t.sys * 1e6 };
}
const cpuUs = (pid: number): number => cpuSeconds(pid) * 1e6;

/** Busy and total jiffies of the whole machine, to see what else ran meanwhile. */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total };
}

/** One server 1 under test: a build, its profile, its K pushes. */
interface Subject {
  label: string;
  s1: MediaProcess;
  profDir: string;
  worker: number[];
}

it('push path: CPU per forwarded packet and where it goes', async () => {
  mkdirSync(resultsDir, { recursive: true });
  const builds = [
    { label: LABEL, cli: undefined },
    ...(COMPARE ? [{ label: `${LABEL}-compare`, cli: path.resolve(COMPARE, 'dist/cli.js') }] : []),
  ];
  const s2 = await spawnMedia();
  procs.push(s2);
  const subjects: Subject[] = [];
  for (const build of builds) {
    const profDir = mkdtempSync(path.join(resultsDir, 'cpuprof-'));
    const s1 = await spawnMedia(
      ['--push-pipe', PUSH_PIPE],
      {},
      {
        nodeArgs: [
          '--cpu-prof',
          `--cpu-prof-dir=${profDir}`,
          ...(PERF ? ['--perf-basic-prof', '--interpreted-frames-native-stack'] : []),
        ],
        ...(build.cli ? { cli: build.cli } : {}),
      },
    );
    procs.push(s1);
    subjects.push({ label: build.label, s1, profDir, worker: [] });
  }
  // streams and pushes interleaved across subjects, so neither gets the quieter start
  for (let i = 0; i < K; i++) {
    for (const [n, { s1 }] of subjects.entries()) {
      const peer = await NodePeer.publish(s1.wsUrl, `cam${i}`, { videoBitrate: BITRATE });
      peers.push(peer);
      await peer.waitStatus('PUBLISHING');
      const r = await rest(s1.restUrl, '/rest-api/pull/push', {
        uri: s2.wsUrl,
        localStreamName: `cam${i}`,
        remoteStreamName: `fed${n}-${i}`,
      });
      if (r.status !== 200) throw new Error(`push failed: ${JSON.stringify(r.body)}`);
    }
  }
  for (const { s1 } of subjects) {
    await waitFor(
      async () => {
        const all = await listPushes(s1.restUrl);
        return all.length === K && all.every((p) => p.status === 'PUBLISHING');
      },
      'all pushes PUBLISHING',
      30_000,
    );
  }
  await sleep(3000); // warm-up
  for (const s of subjects) s.worker = childPids(s.s1.child.pid!);

  const sample = async () => ({
    at: performance.now(),
    subjects: await Promise.all(
      subjects.map(async ({ s1, worker }) => ({
        node: cpuTimesUs(s1.child.pid!),
        worker: worker.reduce((a, w) => a + cpuUs(w), 0),
        forwarded: (await listPushes(s1.restUrl)).reduce((a, p) => a + p.packets, 0),
      })),
    ),
    s2: cpuUs(s2.child.pid!) + childPids(s2.child.pid!).reduce((a, w) => a + cpuUs(w), 0),
    machine: machineTicks(),
    sent: peers.reduce((n, p) => n + p.sentPackets, 0),
    received: await metric(s2.restUrl, 'streamfed_rtp_packets_total', { direction: 'in' }),
    lost: await metric(s2.restUrl, 'streamfed_rtp_packets_lost_total', { direction: 'in' }),
  });
  const perfFiles = subjects.map((s) => path.join(s.profDir, 'perf.data'));
  const perfs = PERF
    ? subjects.map((s, i) =>
        spawn(
          'perf',
          ['record', '-F', '999', '-g', '-p', String(s.s1.child.pid), '-o', perfFiles[i]!, '--'],
          { stdio: 'ignore' },
        ),
      )
    : [];
  const a = await sample();
  await sleep(SECONDS * 1000);
  const b = await sample();
  for (const p of perfs) p.kill('SIGINT');
  await Promise.all(perfs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : null)));
  const failed = (await Promise.all(subjects.map(({ s1 }) => listPushes(s1.restUrl))))
    .flat()
    .filter((p) => p.status !== 'PUBLISHING').length;

  const secs = (b.at - a.at) / 1000;
  const machineBusy = (b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total);
  const offered = (b.sent - a.sent) / secs / subjects.length;
  const common = [
    `${subjects.length} × server 1, each ${K} video streams of ${BITRATE / 1e6} Mbps (${offered.toFixed(0)} pkt/s in all) pushed ${PUSH_PIPE === 'on' ? 'over pipes' : 'over werift'}, ${secs.toFixed(1)} s`,
    `server 2 received ${((b.received - a.received) / secs).toFixed(0)} pkt/s in all, lost ${b.lost - a.lost}, pushes not PUBLISHING ${failed}; server 2 ${(((b.s2 - a.s2) / (secs * 1e6)) * 100).toFixed(1)}% of a core; machine busy ${(machineBusy * 100).toFixed(0)}% of all cores`,
  ];

  for (const [i, subject] of subjects.entries()) {
    const sa = a.subjects[i]!;
    const sb = b.subjects[i]!;
    const stopAt = performance.now();
    await subject.s1.stop();
    const profFile = readdirSync(subject.profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!profFile) throw new Error(`no .cpuprofile in ${subject.profDir}`);
    const file = path.join(subject.profDir, profFile);

    const packets = sb.forwarded - sa.forwarded;
    const nodeUs = sb.node.user + sb.node.sys - sa.node.user - sa.node.sys;
    const workerUs = sb.worker - sa.worker;
    // the profile ends at exit, a little after stopAt: the window is placed by its distance from the end
    const profile = JSON.parse(readFileSync(file, 'utf8')) as { startTime: number; endTime: number };
    const end = profile.endTime - profile.startTime - (performance.now() - stopAt) * 1000;
    const summary = analyse(file, end - (stopAt - a.at) * 1000, end - (stopAt - b.at) * 1000);
    const r = {
      nodeCpuShare: nodeUs / (secs * 1e6),
      nodeSysShareOfNode: (sb.node.sys - sa.node.sys) / nodeUs,
      workerCpuShare: workerUs / (secs * 1e6),
      nodeUsPerPacket: nodeUs / packets,
      workerUsPerPacket: workerUs / packets,
      totalUsPerPacket: (nodeUs + workerUs) / packets,
    };
    const result = {
      label: subject.label,
      streams: K,
      pushPipe: PUSH_PIPE,
      servers1: subjects.length,
      videoBitrate: BITRATE,
      seconds: secs,
      offeredPacketsPerSecond: offered,
      forwardedPacketsPerSecond: packets / secs,
      server2ReceivedPerSecondAll: (b.received - a.received) / secs,
      server2LostAll: b.lost - a.lost,
      pushesNotPublishingAll: failed,
      machineBusyShare: machineBusy,
      server1: r,
      profile: {
        file,
        ...(PERF ? { perf: perfFiles[i] } : {}),
        sampledBusyShareOfWindow: summary.busyUs / summary.totalUs,
        selfByFunction: summary.selfByFunction.slice(0, 40),
        inclusiveByFunction: summary.inclusiveByFunction.slice(0, 80),
        selfByModule: summary.selfByModule.slice(0, 30),
      },
    };
    record(`push-profile-${subject.label}`, result, [
      ...common,
      `${subject.label}: forwarded ${result.forwardedPacketsPerSecond.toFixed(0)} pkt/s (offered ${offered.toFixed(0)})`,
      `server 1 CPU: node ${(r.nodeCpuShare * 100).toFixed(1)}% (${(r.nodeSysShareOfNode * 100).toFixed(0)}% of it in the kernel) + worker ${(r.workerCpuShare * 100).toFixed(1)}% of a core`,
      `server 1 CPU per forwarded packet: node ${r.nodeUsPerPacket.toFixed(1)} µs + worker ${r.workerUsPerPacket.toFixed(1)} µs = ${r.totalUsPerPacket.toFixed(1)} µs`,
      ...(PERF ? [`perf: perf report -i ${perfFiles[i]} --no-children --sort sym`] : []),
      `profile ${file}: busy in ${((summary.busyUs / summary.totalUs) * 100).toFixed(0)}% of the window's samples; µs/pkt below = share × node CPU per packet`,
      'self time by module (natives charged to their JS caller):',
      ...table(summary.selfByModule, 15, r.nodeUsPerPacket),
      'self time by function:',
      ...table(summary.selfByFunction, 25, r.nodeUsPerPacket),
      'inclusive time by function:',
      ...table(summary.inclusiveByFunction, 60, r.nodeUsPerPacket),
    ]);
  }
});
