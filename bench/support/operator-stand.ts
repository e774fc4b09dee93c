import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type StreamPush, type StreamPushStatus } from '../../src/operator/api.js';
import { setCondition } from '../../src/operator/conditions.js';
import { Kube } from '../../src/operator/kube.js';
import { packageRoot } from '../../src/paths.js';
import { startKubeCluster, type KubeCluster } from '../../test/support/kube-cluster.js';
import { kubectl } from '../../test/support/kubectl.js';
import { spawnOperator, type OperatorProcess } from '../../test/support/media-process.js';
import { waitFor } from '../../test/support/media-server.js';
import { Convergence, streamPushes } from './convergence.js';
import { StandInMedia } from './stand-in-media.js';

/** The operator benchmarks' knobs (README, Benchmarks). */
export const N = Number(process.env['BENCH_STREAMPUSHES'] ?? 1000);
/** Source media servers the objects are spread over. */
export const SOURCES = Number(process.env['BENCH_SOURCES'] ?? 4);
/** The operator's own defaults: 4 workers, a full resync every 30 s. */
export const WORKERS = Number(process.env['BENCH_OPERATOR_WORKERS'] ?? 4);
export const RESYNC_SECONDS = Number(process.env['BENCH_OPERATOR_RESYNC_SECONDS'] ?? 30);
/** Creates and deletes in flight at once, for ours and for the baseline alike. */
export const IN_FLIGHT = 20;
export const PHASE_TIMEOUT_MS = Number(process.env['BENCH_PHASE_TIMEOUT_MS'] ?? 900_000);
/**
 * 0 (default): a stand-in push is PUBLISHING as soon as it is created. Above 0: it answers PENDING and turns
 * PUBLISHING this much later, as a real push does once the remote publishes (then the operator writes
 * Pending, looks again after its pending recheck, and writes Active).
 */
export const PUBLISH_AFTER_MS = Number(process.env['BENCH_PUBLISH_AFTER_MS'] ?? 0);

/** The namespace the operator under test watches. */
export const BENCH_NS = 'bench';

export const MEDIA_SERVER =
  'in-bench HTTP stand-in answering the media servers /rest-api/pull/{push,find_all,terminate} from memory, ' +
  'with the real response shapes (PushDescription; 404 for an empty find_all or an unknown push; 409 for a ' +
  'live duplicate); ' +
  (PUBLISH_AFTER_MS > 0
    ? `a push answers PENDING and is PUBLISHING ${PUBLISH_AFTER_MS} ms later. `
    : 'a push is PUBLISHING as soon as it is created. ') +
  '1,000 real WebRTC pushes would need 1,000 werift peers and mediasoup consumers on a 2-core machine, so ' +
  'this measures the operator and the API server, not WebRTC setup (bench/push-setup.bench.ts measures that).';

/** What every operator benchmark records of its set-up, beside its figures. */
export const standSettings = () => ({
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
});

/** The first summary line of an operator benchmark: what ran. */
export const standLine = (): string =>
  `${N} StreamPushes over ${SOURCES} stand-in media servers (REST from memory${PUBLISH_AFTER_MS > 0 ? `, PUBLISHING ${PUBLISH_AFTER_MS} ms after the push` : ''}), operator with ${WORKERS} workers, resync ${RESYNC_SECONDS} s`;

const nameOf = (i: number): string => `sp-${String(i).padStart(5, '0')}`;

/**
 * What the operator benchmarks stand on: a real kube-apiserver with the CRD and `namespaces`, SOURCES stand-in
 * media servers, client-node clients, and the N StreamPush objects they create and delete.
 */
export class OperatorStand {
  readonly kc = new KubeConfig();
  readonly custom: CustomObjectsApi;
  readonly kube: Kube;
  operator: OperatorProcess | undefined;
  readonly #watches: Convergence[] = [];

  private constructor(
    readonly cluster: KubeCluster,
    readonly sources: StandInMedia[],
  ) {
    this.kc.loadFromFile(cluster.kubeconfigPath);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.kube = new Kube(this.kc);
  }

  static async start(namespaces: string[]): Promise<OperatorStand> {
    const cluster = await startKubeCluster();
    const sources: StandInMedia[] = [];
    const stand = new OperatorStand(cluster, sources);
    try {
      const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, args);
      const ok = async (what: string, r: Promise<{ code: number; stderr: string }>): Promise<void> => {
        const { code, stderr } = await r;
        if (code !== 0) throw new Error(`${what}: ${stderr}`);
      };
      await ok('apply the CRD', k('apply', '-f', path.join(packageRoot, 'crds/streampush.yaml')));
      await ok(
        'CRD established',
        k('wait', '--for=condition=established', '--timeout=30s', `crd/${PLURAL}.${GROUP}`),
      );
      for (const ns of namespaces) await ok(`namespace ${ns}`, k('create', 'namespace', ns));
      for (let i = 0; i < SOURCES; i++) sources.push(await StandInMedia.start(PUBLISH_AFTER_MS));
      return stand;
    } catch (error) {
      await stand.stop();
      throw error;
    }
  }

  /** `streamfed operator` in its own process on BENCH_NS with the benchmark's workers and resync. */
  async startOperator(env: NodeJS.ProcessEnv = {}): Promise<OperatorProcess> {
    this.operator = await spawnOperator(
      this.cluster.kubeconfigPath,
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
      env,
    );
    const operator = this.operator;
    await waitFor(() => operator.output().includes('controller started'), 'controller to start', 30_000);
    return operator;
  }

  /** Watches a namespace's StreamPushes until stop(). */
  async watch(namespace: string): Promise<Convergence> {
    const watch = await Convergence.start(this.kc, this.custom, namespace);
    this.#watches.push(watch);
    return watch;
  }

  manifest(namespace: string, i: number): StreamPush {
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'StreamPush',
      metadata: { name: nameOf(i), namespace },
      spec: {
        source: { restUrl: this.sources[i % SOURCES]!.url },
        localStreamName: `cam-${i % 50}`,
        target: { uri: `ws://edge-${i % 8}.bench.invalid:8080` },
        remoteStreamName: nameOf(i),
      },
    };
  }

  /** Creates the N objects in `namespace`, IN_FLIGHT at once; `then` sees each as created. */
  createAll(namespace: string, then?: (created: StreamPush) => void): Promise<void> {
    return pool(N, IN_FLIGHT, async (i) => {
      const created = (await this.custom.createNamespacedCustomObject({
        ...streamPushes(namespace),
        body: this.manifest(namespace, i),
      })) as StreamPush;
      then?.(created);
    });
  }

  /** Deletes the N objects of `namespace`, IN_FLIGHT at once; `then` sees each as deleted. */
  deleteAll(namespace: string, then?: (deleted: StreamPush) => void): Promise<void> {
    return pool(N, IN_FLIGHT, async (i) => {
      const deleted = (await this.custom.deleteNamespacedCustomObject({
        ...streamPushes(namespace),
        name: nameOf(i),
      })) as StreamPush;
      then?.(deleted);
    });
  }

  /** Pushes on all stand-ins now. */
  pushCount(): number {
    return this.sources.reduce((n, x) => n + x.pushes.size, 0);
  }

  /** N find_all calls spread over the stand-ins, `inFlight` at once, as the operator's MediaApi makes them. */
  async findAllPass(inFlight: number): Promise<number> {
    const t0 = performance.now();
    await pool(N, inFlight, async (i) => {
      const response = await fetch(new URL('/rest-api/pull/find_all', this.sources[i % SOURCES]!.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      JSON.parse(await response.text());
    });
    return performance.now() - t0;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.stop()));
    await this.operator?.kill();
    await Promise.all(this.sources.map((s) => s.stop()));
    await this.cluster.stop();
  }
}

/** What the operator writes for a PUBLISHING push (reconciler.writeStatus), for the baseline's status patch. */
export function activeStatus(o: StreamPush): StreamPushStatus {
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
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
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
