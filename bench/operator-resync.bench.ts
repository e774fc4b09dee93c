import { afterAll, beforeAll, it } from 'vitest';
import { record } from './report.js';
import {
  BENCH_NS,
  N,
  OperatorStand,
  PHASE_TIMEOUT_MS,
  WORKERS,
  standLine,
  standSettings,
} from './support/operator-stand.js';
import { resyncPass } from './support/reconciles.js';

/**
 * One periodic resync pass of the operator over N converged StreamPush objects (all Ready=True) against a real
 * kube-apiserver and stand-in media servers: how long, how many reconciles, find_all calls and status patches
 * it takes. Baseline from the same run: the N find_all calls a pass makes, made straight, as many at once as
 * the operator has workers. Convergence itself: bench/operator-scale.bench.ts.
 */
let stand: OperatorStand | undefined;

beforeAll(async () => {
  stand = await OperatorStand.start([BENCH_NS]);
}, 120_000);

afterAll(async () => {
  await stand?.stop();
});

it(`one resync pass over ${N} Ready StreamPush objects vs the find_all calls it cannot avoid`, async () => {
  const s = stand!;
  await s.startOperator();
  const watch = await s.watch(BENCH_NS);
  await s.createAll(BENCH_NS);
  await watch.until(() => watch.ready.size === N, 'all Ready', PHASE_TIMEOUT_MS);

  const resync = await resyncPass(s);
  const baselineMs = await s.findAllPass(WORKERS);
  const sec = (x: number): string => `${(x / 1000).toFixed(1)} s`;
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  record(
    'operator-resync',
    {
      ...standSettings(),
      resyncPass: {
        unit: 'ms',
        ...resync,
        baselineFindAllPassMs: baselineMs,
        baselineNote: `${N} find_all calls straight to the stand-ins, ${WORKERS} at once: what a pass cannot avoid with this REST API`,
      },
    },
    [
      standLine(),
      `one resync pass over ${N} Ready objects: ${sec(resync.durationMs)}, ${resync.reconciles} reconciles, operator CPU ${resync.operatorCpuSeconds.toFixed(1)} s, ${resync.findAllCalls} find_all (${mib(resync.findAllBytes)}), ${resync.apiRequests['PATCH streampushes/status'] ?? 0} status patches; baseline ${N} bare find_all calls: ${sec(baselineMs)}`,
    ],
  );
});
