import { makeInformer, type Informer, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { GROUP, PLURAL, VERSION, keyOf, type StreamPush } from './api.js';
import { desiredPush, type DesiredPush } from './desired.js';
import type { Kube } from './kube.js';
import { sameIdentity, type MediaApi } from './media-api.js';
import type { OperatorMetrics } from './operator-metrics.js';
import { ReconcileError, type Reconciler } from './reconciler.js';
import { WorkQueue } from './work-queue.js';

export interface ControllerOptions {
  /** Watch one namespace, or all when undefined. */
  namespace?: string | undefined;
  /** Every object is reconciled again this often, and media servers are checked for drift and orphans. */
  resyncMs: number;
  workers: number;
  clusterDomain: string;
  /** Backoff bounds when an object sets none. */
  defaultRetry: { initialMs: number; maxMs: number };
}

/**
 * The StreamPush controller: a list+watch informer feeds a work queue; workers reconcile one key at a time;
 * a periodic resync re-checks every object against the media servers and terminates pushes no StreamPush owns.
 */
export class StreamPushController {
  private informer: (Informer<StreamPush> & ObjectCache<StreamPush>) | undefined;
  private queue = new WorkQueue();
  private resyncTimer: NodeJS.Timeout | undefined;
  private workers: Promise<void>[] = [];
  private running = false;
  private readonly active = new Set<string>();
  /** What of each object last caused a reconcile (generation, deletion, finalizers). */
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly kube: Kube,
    private readonly media: MediaApi,
    private readonly reconciler: Reconciler,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
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
      this.active.delete(keyOf(o));
      this.queue.forget(keyOf(o));
      this.updateGauges();
    });
    informer.on('error', (error: unknown) => {
      // the informer stops on any error but 410 Gone: start it again unless we are stopping
      if (!this.running || (error as { name?: string }).name === 'AbortError') return;
      this.log.warn({ err: error }, 'informer error, restarting');
      setTimeout(() => {
        if (this.running && this.informer === informer) void informer.start().catch(() => undefined);
      }, 1000);
    });
    try {
      await informer.start();
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
    await this.informer?.stop().catch(() => undefined);
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
      if (result.active) this.active.add(key);
      else this.active.delete(key);
      if (result.requeueAfterMs !== undefined) {
        this.metrics.reconciles.inc({ result: 'requeue' });
        if (result.requeueAfterMs > 0) queue.addAfter(key, result.requeueAfterMs);
      } else {
        this.metrics.reconciles.inc({ result: 'success' });
      }
    } catch (error) {
      this.active.delete(key);
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

  /** Everything again, plus orphan clean-up on every media server a StreamPush names. */
  private async resync(): Promise<void> {
    const objects = this.informer?.list() ?? [];
    for (const o of objects) this.enqueue(keyOf(o));
    const owned = new Map<string, { identities: DesiredPush[]; ids: Set<string> }>();
    for (const o of objects) {
      let desired: DesiredPush;
      try {
        desired = desiredPush(o, this.options.clusterDomain);
      } catch {
        continue;
      }
      const entry = owned.get(desired.sourceUrl) ?? { identities: [], ids: new Set<string>() };
      entry.identities.push(desired);
      if (o.status?.localMediaSessionId) entry.ids.add(o.status.localMediaSessionId);
      owned.set(desired.sourceUrl, entry);
    }
    for (const [sourceUrl, { identities, ids }] of owned) {
      try {
        for (const push of await this.media.findAll(sourceUrl)) {
          if (ids.has(push.localMediaSessionId) || identities.some((d) => sameIdentity(d, push))) continue;
          await this.media.terminate(sourceUrl, { localMediaSessionId: push.localMediaSessionId });
          this.metrics.orphansTerminated.inc();
          this.log.info(
            { sourceUrl, push: push.localMediaSessionId, uri: push.uri },
            'terminated a push no StreamPush owns',
          );
        }
      } catch (error) {
        this.log.debug({ err: error, sourceUrl }, 'orphan check skipped');
      }
    }
  }

  private updateGauges(): void {
    const objects = this.informer?.list() ?? [];
    this.metrics.pushesDesired.set(objects.filter((o) => !o.metadata?.deletionTimestamp).length);
    this.metrics.pushesActive.set(this.active.size);
    this.metrics.queueDepth.set(this.queue.depth);
  }
}
