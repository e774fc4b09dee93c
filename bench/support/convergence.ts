import {
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  type Informer,
  type ObjectCache,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type StreamPush } from '../../src/operator/api.js';

/** The StreamPush collection of a namespace, as CustomObjectsApi's calls name it. */
export const streamPushes = (namespace: string) => ({
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  namespace,
});

/** Watches one namespace's StreamPushes (list+watch informer) and tells when a condition on them holds. */
export class Convergence {
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
