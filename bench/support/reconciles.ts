import { setTimeout as sleep } from 'node:timers/promises';
import { scrapeMetrics } from '../../test/support/metrics.js';
import { apiRequests, diffCounts, type Counts } from './kube-requests.js';
import { N, PHASE_TIMEOUT_MS, RESYNC_SECONDS, type OperatorStand } from './operator-stand.js';
import { cpuSeconds } from './proc.js';
import { diffCalls, sumCalls } from './stand-in-media.js';

/** The operator's /metrics as name{labels} → value. */
export const scrape = async (url: string): Promise<Map<string, number>> =>
  (await scrapeMetrics(url)).series();

const RECONCILES = 'streamfed_operator_reconciles_total';
const DURATION = 'streamfed_operator_reconcile_duration_seconds';

/** Reconciles between two scrapes: count, rate over the phase, mean and approximate quantiles (from buckets). */
export function reconcileFigures(
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

/**
 * Times the next periodic resync from its first to its N-th reconcile, by polling /metrics: after a quiet
 * second (so a pass already under way is not caught in the middle), from the last poll before the reconcile
 * counter moves (the start is early by at most one poll) until it has moved by N.
 */
export async function resyncPass(stand: OperatorStand): Promise<{
  durationMs: number;
  reconciles: number;
  operatorCpuSeconds: number;
  findAllCalls: number;
  findAllBytes: number;
  /** kube-apiserver requests from the quiet second before the pass to its end (any client). */
  apiRequests: Counts;
}> {
  const operator = stand.operator;
  if (!operator) throw new Error('no operator running');
  const pid = operator.child.pid!;
  const poll = async () => {
    const m = await scrape(operator.metricsUrl);
    const total = ['success', 'error', 'requeue']
      .map((r) => m.get(`${RECONCILES}{result="${r}"}`) ?? 0)
      .reduce((x, y) => x + y, 0);
    return { at: performance.now(), total, cpu: cpuSeconds(pid), calls: sumCalls(stand.sources) };
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
  const api = await apiRequests(stand.cluster);
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
    apiRequests: diffCounts(api, await apiRequests(stand.cluster)),
  };
}
