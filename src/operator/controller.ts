import { makeInformer, type Informer, type ObjectCache } from '@kubernetes/client-node';
import { SupervisedInformer } from '../kube/informer.js';
import type { Logger } from '../log.js';
import { GROUP, PLURAL, VERSION, keyOf, type StreamPush } from './api.js';
import type { Kube } from './kube.js';
import type { OperatorMetrics } from './operator-metrics.js';
import { ReconcileError, type ObjectReconciler } from './reconcile.js';
import { WorkQueue } from './work-queue.js';

export interface ControllerOptions {
  /** Watch one namespace, or all when undefined. */
  namespace?: string | undefined;
  /** Every object is reconciled again this often (and the resync hook runs). */
  resyncMs: number;
  workers: number;
  /** Backoff bounds when an object sets none. */
  defaultRetry: { initialMs: number; maxMs: number };
}

/** Runs after each periodic resync with every object the informer holds (e.g. the operator's orphan sweep). */
export type ResyncHook = (objects: readonly StreamPush[]) => Promise<void>;

/**
 * The StreamPush controller: a list+watch informer feeds a work queue; workers reconcile one key at a time,
 * with per-object backoff on errors and the requeues a reconcile asks for; a periodic resync enqueues every
 * object again and hands them to the resync hook. What a push means is the reconciler's business.
 */
export class StreamPushController {
  private informer: (Informer<StreamPush> & ObjectCache<StreamPush>) | undefined;
  private supervised: SupervisedInformer<StreamPush> | undefined;
  private queue = new WorkQueue();
  private resyncTimer: NodeJS.Timeout | undefined;
  private workers: Promise<void>[] = [];
  private running = false;
  /** What of each object last caused a reconcile (generation, deletion, finalizers). */
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly kube: Kube,
    private readonly reconciler: ObjectReconciler<StreamPush>,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
    private readonly onResync: ResyncHook = async () => undefined,
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.queue = new WorkQueue();
    this.seen.clear();
    const ns = this.options.namespace;
    const path = ns
      ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
    const informer = makeInformer<StreamPush>(this.kube.config, path, () => this.kube.listStreamPushes(ns));
    this.informer = informer;
    informer.on('add', (o) => this.enqueueIfChanged(o));
    // Our own status writes come back as updates: only spec (generation) and metadata that matter to us
    // (deletion, finalizers) trigger a reconcile, so retries keep their backoff. Resync covers the rest.
    informer.on('update', (o) => this.enqueueIfChanged(o));
    informer.on('delete', (o) => {
      this.seen.delete(keyOf(o));
      this.reconciler.deleted(o);
      this.queue.forget(keyOf(o));
      this.updateGauges();
    });
    const supervised = new SupervisedInformer(informer, { what: 'StreamPush watch', log: this.log });
    this.supervised = supervised;
    try {
      await supervised.start();
    } catch (error) {
      await this.stop(); // not running: the operator may start it again
      throw error;
    }
    const queue = this.queue;
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.work(queue));
    this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs);
    this.log.info({ namespace: ns ?? '(all)' }, 'controller started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.resyncTimer);
    this.queue.stop();
    const workers = this.workers;
    this.workers = [];
    await this.supervised?.stop();
    // a reconcile in flight finishes on its own queue, even if leadership came back and start() made another
    await Promise.all(workers);
    this.log.info('controller stopped');
  }

  private enqueueIfChanged(o: StreamPush): void {
    const key = keyOf(o);
    const m = o.metadata;
    const fingerprint = `${m?.generation ?? 0}|${m?.deletionTimestamp ? 'deleting' : ''}|${(m?.finalizers ?? []).join(',')}`;
    if (this.seen.get(key) === fingerprint) return;
    this.seen.set(key, fingerprint);
    this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.queue.add(key);
    this.metrics.queueDepth.set(this.queue.depth);
  }

  private async work(queue: WorkQueue): Promise<void> {
    for (;;) {
      const key = await queue.next();
      if (key === undefined) return;
      this.metrics.queueDepth.set(queue.depth);
      try {
        await this.process(key, queue);
      } finally {
        queue.done(key);
      }
    }
  }

  private async process(key: string, queue: WorkQueue): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const o = this.informer?.get(name, namespace);
    if (!o) return;
    const timer = this.metrics.reconcileSeconds.startTimer();
    try {
      // work on a copy: the cache's object is shared
      const result = await this.reconciler.reconcile(structuredClone(o));
      queue.forget(key);
      if (result.requeueAfterMs !== undefined) {
        this.metrics.reconciles.inc({ result: 'requeue' });
        if (result.requeueAfterMs > 0) queue.addAfter(key, result.requeueAfterMs);
      } else {
        this.metrics.reconciles.inc({ result: 'success' });
      }
    } catch (error) {
      this.metrics.reconciles.inc({ result: 'error' });
      const retry = !(error instanceof ReconcileError) || error.retry;
      const { initialMs, maxMs } = this.retryOf(o);
      const delay = retry ? queue.addRateLimited(key, initialMs, maxMs) : undefined;
      this.log.warn({ key, err: (error as Error).message, retryInMs: delay }, 'reconcile failed');
    } finally {
      timer();
      this.updateGauges();
    }
  }

  private retryOf(o: StreamPush): { initialMs: number; maxMs: number } {
    const r = o.spec?.retry;
    return {
      initialMs:
        r?.initialDelaySeconds !== undefined
          ? r.initialDelaySeconds * 1000
          : this.options.defaultRetry.initialMs,
      maxMs: r?.maxDelaySeconds !== undefined ? r.maxDelaySeconds * 1000 : this.options.defaultRetry.maxMs,
    };
  }

  /** Everything again, then the resync hook. */
  private async resync(): Promise<void> {
    const objects = this.informer?.list() ?? [];
    for (const o of objects) this.enqueue(keyOf(o));
    try {
      await this.onResync(objects);
    } catch (error) {
      this.log.warn({ err: error }, 'resync hook failed');
    }
  }

  private updateGauges(): void {
    const objects = this.informer?.list() ?? [];
    this.metrics.pushesDesired.set(objects.filter((o) => !o.metadata?.deletionTimestamp).length);
    this.metrics.queueDepth.set(this.queue.depth);
  }
}
