import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import {
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  type Informer,
  type ObjectCache,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, it } from 'vitest';
import WebSocket from 'ws';
import {
  FINALIZER,
  GROUP,
  PLURAL,
  VERSION,
  type StreamPush,
  type StreamPushStatus,
} from '../src/operator/api.js';
import { setCondition } from '../src/operator/conditions.js';
import { Kube } from '../src/operator/kube.js';
import { packageRoot } from '../src/paths.js';
import { startKubeCluster, type KubeCluster } from '../test/support/kube-cluster.js';
import { kubectl } from '../test/support/kubectl.js';
import { spawnOperator, type OperatorProcess } from '../test/support/media-process.js';
import { waitFor } from '../test/support/media-server.js';
import { scrapeMetrics } from '../test/support/metrics.js';
import { ms, record, stats, type Stats } from './report.js';
import { cpuSeconds, rssBytes } from './support/proc.js';
import { StandInMedia, diffCalls, sumCalls } from './support/stand-in-media.js';

const N = Number(process.env['BENCH_STREAMPUSHES'] ?? 1000);
/** Source media servers the objects are spread over. */
const SOURCES = Number(process.env['BENCH_SOURCES'] ?? 4);
/** The operator's own defaults: 4 workers, a full resync every 30 s. */
const WORKERS = Number(process.env['BENCH_OPERATOR_WORKERS'] ?? 4);
const RESYNC_SECONDS = Number(process.env['BENCH_OPERATOR_RESYNC_SECONDS'] ?? 30);
/** Creates and deletes in flight at once, for ours and for the baseline alike. */
const IN_FLIGHT = 20;
const PHASE_TIMEOUT_MS = Number(process.env['BENCH_PHASE_TIMEOUT_MS'] ?? 900_000);

/**
 * 0 (default): a stand-in push is PUBLISHING as soon as it is created. Above 0: it answers PENDING and turns
 * PUBLISHING this much later, as a real push does once the remote publishes (then the operator writes
 * Pending, looks again after its pending recheck, and writes Active).
 */
const PUBLISH_AFTER_MS = Number(process.env['BENCH_PUBLISH_AFTER_MS'] ?? 0);

const BENCH_NS = 'bench';
const MEDIA_SERVER =
  'in-bench HTTP stand-in answering the media servers /rest-api/pull/{push,find_all,terminate} from memory, ' +
  'with the real response shapes (PushDescription; 404 for an empty find_all or an unknown push; 409 for a ' +
  'live duplicate); ' +
  (PUBLISH_AFTER_MS > 0
    ? `a push answers PENDING and is PUBLISHING ${PUBLISH_AFTER_MS} ms later. `
    : 'a push is PUBLISHING as soon as it is created. ') +
  '1,000 real WebRTC pushes would need 1,000 werift peers and mediasoup consumers on a 2-core machine, so ' +
  'this measures the operator and the API server, not WebRTC setup (bench/push-setup.bench.ts measures that).';

/**
 * The operator: time for N StreamPush objects to converge (all Ready=True) against a real kube-apiserver with
 * media servers that answer, reconcile throughput, controller memory, and the time to delete them all
 * (finalizers off, objects gone). Beside each figure, a baseline from the same run:
 * - time: the API work the controller cannot avoid, done straight with client-node and no controller logic
 *   (the same creates; one finalizer patch and one status patch per object, with the operator's own calls and
 *   as many at once as it has workers; on delete one finalizer patch per object), measured before and after
 *   ours so drift hits both;
 * - one periodic resync pass over the N converged objects: the N find_all calls it makes, made straight;
 * - memory: a bare client-node informer process caching the same objects over the same time.
 * kube-apiserver requests by verb and resource (its own apiserver_request_total) are recorded for every phase.
 */
let cluster: KubeCluster | undefined;
let operator: OperatorProcess | undefined;
let informerOnly: ChildProcess | undefined;
const sources: StandInMedia[] = [];
const watchers: Convergence[] = [];

beforeAll(async () => {
  cluster = await startKubeCluster();
  const k = (...args: string[]) => kubectl(cluster!.kubeconfigPath, args);
  const ok = async (what: string, r: Promise<{ code: number; stderr: string }>): Promise<void> => {
    const { code, stderr } = await r;
    if (code !== 0) throw new Error(`${what}: ${stderr}`);
  };
  await ok('apply the CRD', k('apply', '-f', path.join(packageRoot, 'crds/streampush.yaml')));
  await ok(
    'CRD established',
    k('wait', '--for=condition=established', '--timeout=30s', `crd/${PLURAL}.${GROUP}`),
  );
  for (const ns of [BENCH_NS, 'baseline-before', 'baseline-after'])
    await ok(`namespace ${ns}`, k('create', 'namespace', ns));
  for (let i = 0; i < SOURCES; i++) sources.push(await StandInMedia.start(PUBLISH_AFTER_MS));
}, 120_000);

afterAll(async () => {
  await Promise.all(watchers.map((w) => w.stop()));
  if (informerOnly && informerOnly.exitCode === null) {
    const exited = new Promise((r) => informerOnly!.once('exit', r));
    informerOnly.kill('SIGKILL');
    await exited;
  }
  await operator?.kill();
  await Promise.all(sources.map((s) => s.stop()));
  await cluster?.stop();
});

it(`${N} StreamPush objects: convergence, reconcile throughput, memory, deletion vs baseline`, async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster!.kubeconfigPath);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const kube = new Kube(kc);
  const manifest = (namespace: string, i: number): StreamPush => ({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'StreamPush',
    metadata: { name: nameOf(i), namespace },
    spec: {
      source: { restUrl: sources[i % SOURCES]!.url },
      localStreamName: `cam-${i % 50}`,
      target: { uri: `ws://edge-${i % 8}.bench.invalid:8080` },
      remoteStreamName: nameOf(i),
    },
  });
  const createAll = (namespace: string, then?: (created: StreamPush) => void): Promise<void> =>
    pool(N, IN_FLIGHT, async (i) => {
      const created = (await custom.createNamespacedCustomObject({
        ...streamPushes(namespace),
        body: manifest(namespace, i),
      })) as StreamPush;
      then?.(created);
    });
  const deleteAll = (namespace: string, then?: (deleted: StreamPush) => void): Promise<void> =>
    pool(N, IN_FLIGHT, async (i) => {
      const deleted = (await custom.deleteNamespacedCustomObject({
        ...streamPushes(namespace),
        name: nameOf(i),
      })) as StreamPush;
      then?.(deleted);
    });

  /** The same API writes as the operator's, with as many at once as it has workers, and nothing else. */
  const baseline = async (
    namespace: string,
  ): Promise<PhaseTimes & { writeMs: Stats; api: { converge: Counts; delete: Counts } }> => {
    const watch = await Convergence.start(kc, custom, namespace);
    const writes = limiter(WORKERS);
    const writeMs: number[] = [];
    const pending: Promise<void>[] = [];
    const timed = async (write: () => Promise<void>): Promise<void> => {
      const t = performance.now();
      await write();
      writeMs.push(performance.now() - t);
    };
    const a0 = await apiRequests(cluster!);
    const t0 = performance.now();
    await createAll(namespace, (created) =>
      pending.push(
        writes(async () => {
          await timed(() => kube.setFinalizers(created, [FINALIZER]));
          await timed(() => kube.patchStatus(created, activeStatus(created)));
        }),
      ),
    );
    const created = performance.now();
    await Promise.all(pending.splice(0));
    const ready = await watch.until(() => watch.ready.size === N, 'baseline all Ready', PHASE_TIMEOUT_MS);
    const a1 = await apiRequests(cluster!);
    const t1 = performance.now();
    await deleteAll(namespace, (deleted) =>
      pending.push(
        writes(() =>
          timed(() =>
            kube.setFinalizers(
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
    const a2 = await apiRequests(cluster!);
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
  operator = await spawnOperator(
    cluster!.kubeconfigPath,
    'bench',
    'streamfed-operator-bench',
    [
      '--namespace',
      BENCH_NS,
      '--workers',
      String(WORKERS),
      '--resync-seconds',
      String(RESYNC_SECONDS),
      '--lease-duration-seconds',
      '15',
    ],
    inspect,
  );
  await waitFor(() => operator!.output().includes('controller started'), 'controller to start', 30_000);
  const informer = await spawnInformerOnly(cluster!.kubeconfigPath, BENCH_NS, inspect);
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
  const watch = await Convergence.start(kc, custom, BENCH_NS);
  const m0 = await scrape(operator.metricsUrl);
  const cpu0 = cpuSeconds(op.pid);
  const a0 = await apiRequests(cluster!);
  const callsStart = sumCalls(sources);
  const t0 = performance.now();
  await createAll(BENCH_NS);
  const createCallsMs = performance.now() - t0;
  const readyAt = await watch.until(() => watch.ready.size === N, 'all Ready', PHASE_TIMEOUT_MS);
  const cpu1 = cpuSeconds(op.pid);
  const m1 = await scrape(operator.metricsUrl);
  const a1 = await apiRequests(cluster!);
  const callsReady = diffCalls(sumCalls(sources), callsStart);
  const pushesAtReady = sources.reduce((n, x) => n + x.pushes.size, 0);
  const ready = await sample();

  // --- ours: one periodic resync pass over N converged objects, beside the media calls it cannot avoid
  const resync = await resyncPass(operator.metricsUrl, op.pid);
  const resyncBaselineMs = await findAllPass(N, WORKERS);

  // --- ours: delete, finalizers off, gone
  const calls0 = sumCalls(sources);
  const m2 = await scrape(operator.metricsUrl);
  const cpu2 = cpuSeconds(op.pid);
  const a3 = await apiRequests(cluster!);
  const t1 = performance.now();
  await deleteAll(BENCH_NS);
  const deleteCallsMs = performance.now() - t1;
  const goneAt = await watch.until(() => watch.present.size === 0, 'all gone', PHASE_TIMEOUT_MS);
  const cpu3 = cpuSeconds(op.pid);
  const m3 = await scrape(operator.metricsUrl);
  const a4 = await apiRequests(cluster!);
  const pushesAfterDelete = sources.reduce((n, x) => n + x.pushes.size, 0);
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
  const callsDeletion = diffCalls(sumCalls(sources), calls0);
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
    'operator',
    {
      n: N,
      mediaServer: MEDIA_SERVER,
      sources: SOURCES,
      publishAfterMs: PUBLISH_AFTER_MS,
      createInFlight: IN_FLIGHT,
      operatorOptions: {
        workers: WORKERS,
        resyncSeconds: RESYNC_SECONDS,
        leaderElection: true,
        namespace: BENCH_NS,
        process: 'dist/cli.js operator, its own process',
      },
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
      resyncPass: {
        unit: 'ms',
        ...resync,
        baselineFindAllPassMs: resyncBaselineMs,
        baselineNote: `${N} find_all calls straight to the stand-ins, ${WORKERS} at once: what a pass cannot avoid with this REST API`,
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
      `${N} StreamPushes over ${SOURCES} stand-in media servers (REST from memory${PUBLISH_AFTER_MS > 0 ? `, PUBLISHING ${PUBLISH_AFTER_MS} ms after the push` : ''}), operator with ${WORKERS} workers, resync ${RESYNC_SECONDS} s`,
      `converge (first create → all Ready=True): ${sec(ours.allReadyMs)} vs baseline ${sec(before.allReadyMs)} / ${sec(after.allReadyMs)} (before / after), ×${convergeFigures.ratioToBaseline.toFixed(2)}; ${convergeFigures.objectsPerSecond.toFixed(1)} vs ${convergeFigures.baselineObjectsPerSecond.toFixed(1)} objects/s; operator CPU ${(cpu1 - cpu0).toFixed(1)} s`,
      `reconciles while converging: ${converge.total} (${converge.perObject.toFixed(2)} per object, ${converge.errors} errors), ${converge.perSecond.toFixed(1)}/s, mean ${ms(converge.meanMs)}, p95 ≈ ${ms(converge.p95Ms)}; baseline API write mean ${ms(before.writeMs.mean)} / ${ms(after.writeMs.mean)}`,
      `kube-apiserver requests per object (all clients), converge: ${perObject(diffCounts(a0, a1))} vs baseline ${perObject(before.api.converge)} / ${perObject(after.api.converge)}; delete: ${perObject(diffCounts(a3, a4))} vs ${perObject(before.api.delete)} / ${perObject(after.api.delete)}`,
      `one resync pass over ${N} Ready objects: ${sec(resync.durationMs)}, ${resync.reconciles} reconciles, operator CPU ${resync.operatorCpuSeconds.toFixed(1)} s, ${resync.findAllCalls} find_all (${mib(resync.findAllBytes)}), ${resync.apiRequests['PATCH streampushes/status'] ?? 0} status patches; baseline ${N} bare find_all calls: ${sec(resyncBaselineMs)}`,
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

/**
 * Times the next periodic resync from its first to its N-th reconcile, by polling /metrics: after a quiet
 * second (so a pass already under way is not caught in the middle), from the last poll before the reconcile
 * counter moves (the start is early by at most one poll) until it has moved by N.
 */
async function resyncPass(
  metricsUrl: string,
  pid: number,
): Promise<{
  durationMs: number;
  reconciles: number;
  operatorCpuSeconds: number;
  findAllCalls: number;
  findAllBytes: number;
  /** kube-apiserver requests from the quiet second before the pass to its end (any client). */
  apiRequests: Counts;
}> {
  const poll = async () => {
    const m = await scrape(metricsUrl);
    const total = ['success', 'error', 'requeue']
      .map((r) => m.get(`${RECONCILES}{result="${r}"}`) ?? 0)
      .reduce((x, y) => x + y, 0);
    return { at: performance.now(), total, cpu: cpuSeconds(pid), calls: sumCalls(sources) };
  };
  const deadline = performance.now() + 3 * RESYNC_SECONDS * 1000 + PHASE_TIMEOUT_MS;
  const next = async (what: string) => {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
    return poll();
  };
  let last = await poll();
  for (let quietSince = last.at; last.at - quietSince < 1000;) {
    const now = await next('a quiet second between resyncs');
    if (now.total !== last.total) quietSince = now.at;
    last = now;
  }
  const api = await apiRequests(cluster!);
  // media calls are counted from the quiet second: a reconcile calls find_all when it starts, and the
  // counter moves when it ends, so the poll before the counter moves may already include them
  const quiet = last;
  for (let now = await next('a resync'); now.total === last.total; now = await next('a resync')) last = now;
  const start = last;
  let end = start;
  while (end.total < start.total + N) end = await next('a resync to end');
  const calls = diffCalls(end.calls, quiet.calls);
  return {
    durationMs: end.at - start.at,
    reconciles: end.total - start.total,
    operatorCpuSeconds: end.cpu - start.cpu,
    findAllCalls: calls.findAll,
    findAllBytes: calls.findAllBytes,
    apiRequests: diffCounts(api, await apiRequests(cluster!)),
  };
}

/** N find_all calls spread over the stand-ins, `inFlight` at once, as the operator's MediaApi makes them. */
async function findAllPass(n: number, inFlight: number): Promise<number> {
  const t0 = performance.now();
  await pool(n, inFlight, async (i) => {
    const response = await fetch(new URL('/rest-api/pull/find_all', sources[i % SOURCES]!.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    JSON.parse(await response.text());
  });
  return performance.now() - t0;
}

interface PhaseTimes {
  createCallsMs: number;
  allReadyMs: number;
  deleteCallsMs: number;
  allGoneMs: number;
}

/** The StreamPush collection of a namespace, as CustomObjectsApi's calls name it. */
const streamPushes = (namespace: string) => ({ group: GROUP, version: VERSION, plural: PLURAL, namespace });
const nameOf = (i: number): string => `sp-${String(i).padStart(5, '0')}`;

/** What the operator writes for a PUBLISHING push (reconciler.writeStatus), for the baseline's status patch. */
function activeStatus(o: StreamPush): StreamPushStatus {
  const generation = o.metadata?.generation ?? 1;
  return {
    attempts: 1,
    sourceUrl: o.spec.source.restUrl,
    targetUri: o.spec.target.uri,
    localMediaSessionId: randomUUID(),
    remoteMediaSessionId: randomUUID(),
    pushStatus: 'PUBLISHING',
    phase: 'Active',
    observedGeneration: generation,
    conditions: setCondition(
      undefined,
      {
        type: 'Ready',
        status: 'True',
        reason: 'Publishing',
        message: `pushing to ${o.spec.target.uri} as ${o.spec.remoteStreamName}`,
        observedGeneration: generation,
      },
      new Date(),
    ),
  };
}

/** Runs fn(0..n-1) with at most `inFlight` running at once. */
async function pool(n: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** A semaphore: at most n of the functions given run at once. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const parked: (() => void)[] = [];
  return async (fn) => {
    while (active >= n) await new Promise<void>((r) => parked.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      parked.shift()?.();
    }
  };
}

/** Watches one namespace's StreamPushes (list+watch informer) and tells when a condition on them holds. */
class Convergence {
  readonly ready = new Set<string>();
  readonly present = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private stopped = false;

  private constructor(private readonly informer: Informer<StreamPush> & ObjectCache<StreamPush>) {
    const seen = (o: StreamPush): void => {
      const name = o.metadata?.name ?? '';
      this.present.add(name);
      const ready = o.status?.conditions?.some(
        (c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === o.metadata?.generation,
      );
      if (ready) this.ready.add(name);
      else this.ready.delete(name);
      this.wake();
    };
    informer.on('add', seen);
    informer.on('update', seen);
    informer.on('delete', (o) => {
      this.present.delete(o.metadata?.name ?? '');
      this.ready.delete(o.metadata?.name ?? '');
      this.wake();
    });
    informer.on('error', () => {
      if (!this.stopped) setTimeout(() => void informer.start().catch(() => undefined), 500);
    });
  }

  static async start(kc: KubeConfig, custom: CustomObjectsApi, namespace: string): Promise<Convergence> {
    const informer = makeInformer<StreamPush>(
      kc,
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      async () =>
        (await custom.listNamespacedCustomObject(streamPushes(namespace))) as { items: StreamPush[] },
    );
    const watch = new Convergence(informer);
    watchers.push(watch);
    await informer.start();
    return watch;
  }

  /** performance.now() at the first event after which check() holds. */
  until(check: () => boolean, what: string, timeoutMs: number): Promise<number> {
    if (check()) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(`timed out waiting for ${what}: ${this.ready.size} ready, ${this.present.size} present`),
        );
      }, timeoutMs);
      const waiter = (): void => {
        if (!check()) return;
        const at = performance.now();
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(at);
      };
      this.waiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.informer.stop().catch(() => undefined);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

interface Memory {
  rss: number;
  /** VmHWM: the highest RSS so far. */
  peak: number;
  /** V8 heap in use after a full GC. */
  liveHeap: number;
}

/** RSS and peak from /proc, then the live heap after a GC forced through the process's inspector. */
async function memory(p: { pid: number; inspector: string }): Promise<Memory> {
  const rss = rssBytes(p.pid);
  const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
  const peak = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
  const ws = new WebSocket(p.inspector);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const call = (method: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data: Buffer): void => {
        const m = JSON.parse(String(data)) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: unknown;
        };
        if (m.id !== mine) return;
        ws.off('message', onMessage);
        if (m.error) reject(new Error(`${method}: ${JSON.stringify(m.error)}`));
        else resolve(m.result ?? {});
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: mine, method }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    const { usedSize } = (await call('Runtime.getHeapUsage')) as { usedSize: number };
    return { rss, peak, liveHeap: usedSize };
  } finally {
    ws.close();
  }
}

/** The inspector's WebSocket URL from a process's output (it runs with --inspect=127.0.0.1:0). */
function inspectorUrl(output: string): string {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
  if (!url) throw new Error(`no inspector URL in: ${output.slice(0, 500)}`);
  return url;
}

/** A process that only caches the namespace's StreamPushes with client-node's informer: the memory baseline. */
async function spawnInformerOnly(
  kubeconfig: string,
  namespace: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; output(): string }> {
  const clientNode = pathToFileURL(
    path.join(packageRoot, 'node_modules/@kubernetes/client-node/dist/index.js'),
  );
  const script = `
    const { KubeConfig, CustomObjectsApi, makeInformer } = await import(${JSON.stringify(clientNode.href)});
    const kc = new KubeConfig();
    kc.loadFromFile(process.env.BENCH_KUBECONFIG);
    const api = kc.makeApiClient(CustomObjectsApi);
    const ns = process.env.BENCH_NAMESPACE;
    const informer = makeInformer(kc, '/apis/${GROUP}/${VERSION}/namespaces/' + ns + '/${PLURAL}', () =>
      api.listNamespacedCustomObject({ group: '${GROUP}', version: '${VERSION}', plural: '${PLURAL}', namespace: ns }));
    informer.on('error', () => setTimeout(() => informer.start().catch(() => {}), 500));
    await informer.start();
    console.log('informer up');
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env, BENCH_KUBECONFIG: kubeconfig, BENCH_NAMESPACE: namespace },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  process.once('exit', () => child.kill('SIGKILL'));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`informer-only process exited: ${out}`);
      return out.includes('informer up');
    },
    'the informer-only process',
    30_000,
  );
  return { child, output: () => out };
}

type Counts = Record<string, number>;

/** kube-apiserver requests so far by "VERB resource[/subresource]" (apiserver_request_total, all clients). */
async function apiRequests(c: KubeCluster): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) =>
    https
      .get(
        `${c.server}/metrics`,
        { headers: { authorization: `Bearer ${c.token}` }, ca: readFileSync(c.caFile) },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve(body));
        },
      )
      .on('error', reject),
  );
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const key = `${labels['verb']} ${labels['resource']}${labels['subresource'] ? `/${labels['subresource']}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

/** What was added between two apiRequests() reads, by key (only keys that moved). */
function diffCounts(a: Map<string, number>, b: Map<string, number>): Counts {
  return Object.fromEntries(
    [...b]
      .map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort(([x], [y]) => (x < y ? -1 : 1)),
  );
}

/** Requests per object, with the three biggest kinds. */
function perObject(c: Counts): string {
  const total = Object.values(c).reduce((x, y) => x + y, 0);
  const top = Object.entries(c)
    .sort(([, x], [, y]) => y - x)
    .slice(0, 3)
    .map(([k, v]) => `${k} ${(v / N).toFixed(2)}`)
    .join(', ');
  return `${(total / N).toFixed(2)} (${top})`;
}

/** The operator's /metrics as name{labels} → value. */
const scrape = async (url: string): Promise<Map<string, number>> => (await scrapeMetrics(url)).series();

const RECONCILES = 'streamfed_operator_reconciles_total';
const DURATION = 'streamfed_operator_reconcile_duration_seconds';

/** Reconciles between two scrapes: count, rate over the phase, mean and approximate quantiles (from buckets). */
function reconcileFigures(
  a: Map<string, number>,
  b: Map<string, number>,
  phaseMs: number,
): {
  total: number;
  errors: number;
  requeues: number;
  perObject: number;
  perSecond: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
} {
  const d = (key: string): number => (b.get(key) ?? 0) - (a.get(key) ?? 0);
  const by = (result: string): number => d(`${RECONCILES}{result="${result}"}`);
  const total = by('success') + by('error') + by('requeue');
  const count = d(`${DURATION}_count`);
  const buckets = [...b.keys()]
    .filter((k) => k.startsWith(`${DURATION}_bucket{`))
    .map((k) => ({ le: Number(/le="([^"]+)"/.exec(k)?.[1]), n: d(k) }))
    .sort((x, y) => x.le - y.le);
  // histogram_quantile: linear inside the bucket the rank falls in
  const quantile = (q: number): number => {
    const rank = q * count;
    let lower = 0;
    let below = 0;
    for (const { le, n } of buckets) {
      if (n >= rank) {
        if (!Number.isFinite(le)) return lower * 1000;
        return (lower + (le - lower) * ((rank - below) / Math.max(1, n - below))) * 1000;
      }
      lower = le;
      below = n;
    }
    return NaN;
  };
  return {
    total,
    errors: by('error'),
    requeues: by('requeue'),
    perObject: total / N,
    perSecond: total / (phaseMs / 1000),
    meanMs: count > 0 ? (d(`${DURATION}_sum`) / count) * 1000 : NaN,
    p50Ms: quantile(0.5),
    p95Ms: quantile(0.95),
  };
}
