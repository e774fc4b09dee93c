import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, it } from 'vitest';
import { FINALIZER } from '../src/operator/api.js';
import { ms, record, stats, type Stats } from './report.js';
import { apiRequests, diffCounts, perObject, type Counts } from './support/kube-requests.js';
import {
  BENCH_NS,
  N,
  OperatorStand,
  PHASE_TIMEOUT_MS,
  WORKERS,
  activeStatus,
  limiter,
  standLine,
  standSettings,
} from './support/operator-stand.js';
import { inspectorUrl, memory, spawnInformerOnly, type Memory } from './support/process-memory.js';
import { cpuSeconds } from './support/proc.js';
import { reconcileFigures, scrape } from './support/reconciles.js';
import { diffCalls, sumCalls } from './support/stand-in-media.js';

/**
 * The operator at scale: time for N StreamPush objects to converge (all Ready=True) against a real
 * kube-apiserver with media servers that answer, reconcile throughput, controller memory, and the time to
 * delete them all (finalizers off, objects gone). Beside each figure, a baseline from the same run:
 * - time: the API work the controller cannot avoid, done straight with client-node and no controller logic
 *   (the same creates; one finalizer patch and one status patch per object, with the operator's own calls and
 *   as many at once as it has workers; on delete one finalizer patch per object), measured before and after
 *   ours so drift hits both;
 * - memory: a bare client-node informer process caching the same objects over the same time.
 * kube-apiserver requests by verb and resource (its own apiserver_request_total) are recorded for every phase.
 * A periodic resync pass over the converged objects: bench/operator-resync.bench.ts.
 */
let stand: OperatorStand | undefined;
let informerOnly: ChildProcess | undefined;

beforeAll(async () => {
  stand = await OperatorStand.start([BENCH_NS, 'baseline-before', 'baseline-after']);
}, 120_000);

afterAll(async () => {
  if (informerOnly && informerOnly.exitCode === null) {
    const exited = new Promise((r) => informerOnly!.once('exit', r));
    informerOnly.kill('SIGKILL');
    await exited;
  }
  await stand?.stop();
});

interface PhaseTimes {
  createCallsMs: number;
  allReadyMs: number;
  deleteCallsMs: number;
  allGoneMs: number;
}

it(`${N} StreamPush objects: convergence, reconcile throughput, memory, deletion vs baseline`, async () => {
  const s = stand!;
  /** The same API writes as the operator's, with as many at once as it has workers, and nothing else. */
  const baseline = async (
    namespace: string,
  ): Promise<PhaseTimes & { writeMs: Stats; api: { converge: Counts; delete: Counts } }> => {
    const watch = await s.watch(namespace);
    const writes = limiter(WORKERS);
    const writeMs: number[] = [];
    const pending: Promise<void>[] = [];
    const timed = async (write: () => Promise<void>): Promise<void> => {
      const t = performance.now();
      await write();
      writeMs.push(performance.now() - t);
    };
    const a0 = await apiRequests(s.cluster);
    const t0 = performance.now();
    await s.createAll(namespace, (created) =>
      pending.push(
        writes(async () => {
          await timed(() => s.kube.setFinalizers(created, [FINALIZER]));
          await timed(() => s.kube.patchStatus(created, activeStatus(created)));
        }),
      ),
    );
    const created = performance.now();
    await Promise.all(pending.splice(0));
    const ready = await watch.until(() => watch.ready.size === N, 'baseline all Ready', PHASE_TIMEOUT_MS);
    const a1 = await apiRequests(s.cluster);
    const t1 = performance.now();
    await s.deleteAll(namespace, (deleted) =>
      pending.push(
        writes(() =>
          timed(() =>
            s.kube.setFinalizers(
              { ...deleted, metadata: { name: deleted.metadata?.name ?? '', namespace } },
              [],
            ),
          ),
        ),
      ),
    );
    const deleteCalls = performance.now();
    await Promise.all(pending);
    const gone = await watch.until(() => watch.present.size === 0, 'baseline all gone', PHASE_TIMEOUT_MS);
    const a2 = await apiRequests(s.cluster);
    await watch.stop();
    return {
      createCallsMs: created - t0,
      allReadyMs: ready - t0,
      deleteCallsMs: deleteCalls - t1,
      allGoneMs: gone - t1,
      writeMs: stats(writeMs),
      api: { converge: diffCounts(a0, a1), delete: diffCounts(a1, a2) },
    };
  };

  // --- the operator, alone in its namespace, and the memory baseline watching the same namespace; both
  // with an inspector port, only to force a full GC and read the live heap when memory is sampled
  const inspect = { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --inspect=127.0.0.1:0`.trim() };
  const operator = await s.startOperator(inspect);
  const informer = await spawnInformerOnly(s.cluster.kubeconfigPath, BENCH_NS, inspect);
  informerOnly = informer.child;
  const op = { pid: operator.child.pid!, inspector: inspectorUrl(operator.output()) };
  const inf = { pid: informer.child.pid!, inspector: inspectorUrl(informer.output()) };
  const sample = async (): Promise<{ operator: Memory; informerOnly: Memory }> => ({
    operator: await memory(op),
    informerOnly: await memory(inf),
  });

  // --- baseline before
  const before = await baseline('baseline-before');

  // --- ours: create, converge
  await sleep(2000);
  const idle = await sample();
  const watch = await s.watch(BENCH_NS);
  const m0 = await scrape(operator.metricsUrl);
  const cpu0 = cpuSeconds(op.pid);
  const a0 = await apiRequests(s.cluster);
  const callsStart = sumCalls(s.sources);
  const t0 = performance.now();
  await s.createAll(BENCH_NS);
  const createCallsMs = performance.now() - t0;
  const readyAt = await watch.until(() => watch.ready.size === N, 'all Ready', PHASE_TIMEOUT_MS);
  const cpu1 = cpuSeconds(op.pid);
  const m1 = await scrape(operator.metricsUrl);
  const a1 = await apiRequests(s.cluster);
  const callsReady = diffCalls(sumCalls(s.sources), callsStart);
  const pushesAtReady = s.pushCount();
  const ready = await sample();

  // --- ours: delete, finalizers off, gone
  const calls0 = sumCalls(s.sources);
  const m2 = await scrape(operator.metricsUrl);
  const cpu2 = cpuSeconds(op.pid);
  const a3 = await apiRequests(s.cluster);
  const t1 = performance.now();
  await s.deleteAll(BENCH_NS);
  const deleteCallsMs = performance.now() - t1;
  const goneAt = await watch.until(() => watch.present.size === 0, 'all gone', PHASE_TIMEOUT_MS);
  const cpu3 = cpuSeconds(op.pid);
  const m3 = await scrape(operator.metricsUrl);
  const a4 = await apiRequests(s.cluster);
  const pushesAfterDelete = s.pushCount();
  const gone = await sample();
  await watch.stop();
  const ours: PhaseTimes = {
    createCallsMs,
    allReadyMs: readyAt - t0,
    deleteCallsMs,
    allGoneMs: goneAt - t1,
  };

  // --- baseline after
  const after = await baseline('baseline-after');

  const mean = (f: (p: PhaseTimes) => number): number => (f(before) + f(after)) / 2;
  const converge = reconcileFigures(m0, m1, ours.allReadyMs);
  const deletion = reconcileFigures(m2, m3, ours.allGoneMs);
  const callsDeletion = diffCalls(sumCalls(s.sources), calls0);
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const sec = (x: number): string => `${(x / 1000).toFixed(1)} s`;
  const points = [idle, ready, gone];

  /** One phase (converge or delete) beside the same phase of the two baseline runs. */
  const phaseFigures = (
    done: 'allReadyMs' | 'allGoneMs',
    calls: 'createCallsMs' | 'deleteCallsMs',
    operatorCpuSeconds: number,
    apiRequests: Counts,
    phase: 'converge' | 'delete',
  ) => {
    const baseMs = mean((p) => p[done]);
    return {
      unit: 'ms',
      ours: ours[done],
      oursCalls: ours[calls],
      baselineBefore: before[done],
      baselineAfter: after[done],
      baselineCalls: [before[calls], after[calls]],
      ratioToBaseline: ours[done] / baseMs,
      objectsPerSecond: N / (ours[done] / 1000),
      baselineObjectsPerSecond: N / (baseMs / 1000),
      operatorCpuSeconds,
      apiRequests: { ours: apiRequests, baselineBefore: before.api[phase], baselineAfter: after.api[phase] },
    };
  };

  const convergeFigures = phaseFigures(
    'allReadyMs',
    'createCallsMs',
    cpu1 - cpu0,
    diffCounts(a0, a1),
    'converge',
  );
  const deleteFigures = phaseFigures('allGoneMs', 'deleteCallsMs', cpu3 - cpu2, diffCounts(a3, a4), 'delete');

  record(
    'operator-scale',
    {
      ...standSettings(),
      converge: convergeFigures,
      reconcile: {
        duringConvergence: converge,
        duringDeletion: deletion,
        baselineApiWriteMs: { before: before.writeMs, after: after.writeMs },
        baselineNote:
          'baseline writes: one finalizer patch and one status patch per object on create, one finalizer ' +
          'patch on delete, each timed alone, as many at once as the operator has workers; a reconcile does ' +
          'these plus its media-server calls, and records Events (two per object on create, one on delete) ' +
          'that the baseline does not',
      },
      delete: deleteFigures,
      memory: {
        unit: 'bytes',
        operator: { idle: idle.operator, allReady: ready.operator, allGone: gone.operator },
        baselineInformerOnly: {
          idle: idle.informerOnly,
          allReady: ready.informerOnly,
          allGone: gone.informerOnly,
        },
        note:
          'rss and peak (VmHWM) from /proc, sampled first; liveHeap after a full GC forced through the ' +
          'inspector. Baseline: a bare client-node informer process (list+watch) caching the same namespace.',
      },
      mediaServerCalls: {
        duringConvergence: callsReady,
        duringDeletion: callsDeletion,
        pushesAtReady,
        pushesAfterDelete,
      },
      operatorEventLoopLagP99Seconds: m1.get('nodejs_eventloop_lag_p99_seconds'),
    },
    [
      standLine(),
      `converge (first create → all Ready=True): ${sec(ours.allReadyMs)} vs baseline ${sec(before.allReadyMs)} / ${sec(after.allReadyMs)} (before / after), ×${convergeFigures.ratioToBaseline.toFixed(2)}; ${convergeFigures.objectsPerSecond.toFixed(1)} vs ${convergeFigures.baselineObjectsPerSecond.toFixed(1)} objects/s; operator CPU ${(cpu1 - cpu0).toFixed(1)} s`,
      `reconciles while converging: ${converge.total} (${converge.perObject.toFixed(2)} per object, ${converge.errors} errors), ${converge.perSecond.toFixed(1)}/s, mean ${ms(converge.meanMs)}, p95 ≈ ${ms(converge.p95Ms)}; baseline API write mean ${ms(before.writeMs.mean)} / ${ms(after.writeMs.mean)}`,
      `kube-apiserver requests per object (all clients), converge: ${perObject(diffCounts(a0, a1), N)} vs baseline ${perObject(before.api.converge, N)} / ${perObject(after.api.converge, N)}; delete: ${perObject(diffCounts(a3, a4), N)} vs ${perObject(before.api.delete, N)} / ${perObject(after.api.delete, N)}`,
      `delete (first delete → all gone): ${sec(ours.allGoneMs)} vs baseline ${sec(before.allGoneMs)} / ${sec(after.allGoneMs)}, ×${deleteFigures.ratioToBaseline.toFixed(2)}; ${deletion.total} reconciles, ${deletion.perSecond.toFixed(1)}/s, mean ${ms(deletion.meanMs)}; operator CPU ${(cpu3 - cpu2).toFixed(1)} s`,
      `RSS, operator / bare informer (idle, all Ready, all gone): ${points.map((x) => `${mib(x.operator.rss)} / ${mib(x.informerOnly.rss)}`).join(', ')}; peak ${mib(gone.operator.peak)} / ${mib(gone.informerOnly.peak)}`,
      `live heap after GC, operator / bare informer: ${points.map((x) => `${mib(x.operator.liveHeap)} / ${mib(x.informerOnly.liveHeap)}`).join(', ')}`,
      ...(
        [
          ['converge', callsReady],
          ['delete', callsDeletion],
        ] as const
      ).map(
        ([phase, c]) =>
          `media REST calls by the operator, ${phase}: ${c.push} push, ${c.findAll} find_all (${mib(c.findAllBytes)} of JSON), ${c.terminate} terminate`,
      ),
    ],
  );
});
