import type { Informer, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../log.js';

export interface SupervisedInformerOptions {
  /** What the informer watches, for the log. */
  what: string;
  log: Logger;
  /** How long after an error the informer is started again (default 1 s). */
  restartDelayMs?: number;
}

/**
 * Keeps a client-node informer running. The informer lists again by itself after 410 Gone (a compacted
 * resourceVersion), but stops for good on any other error: this starts it again after a delay, and again
 * when that restart fails, until stop(). One instance per informer; the informer's own events are the
 * caller's.
 */
export class SupervisedInformer<T extends KubernetesObject> {
  readonly #informer: Informer<T>;
  readonly #options: SupervisedInformerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(informer: Informer<T>, options: SupervisedInformerOptions) {
    this.#informer = informer;
    this.#options = options;
    informer.on('error', this.#restartLater);
  }

  /**
   * Starts the informer. When the first start fails: with `retry`, it is retried like any later error and
   * this resolves; without, nothing keeps running and this rejects (the caller decides).
   */
  async start({ retry = false }: { retry?: boolean } = {}): Promise<void> {
    this.#running = true;
    try {
      await this.#informer.start();
    } catch (error) {
      if (retry) return this.#restartLater(error);
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#informer.stop().catch(() => undefined);
  }

  readonly #restartLater = (error: unknown): void => {
    // an aborted request is our own stop()
    if (!this.#running || (error as { name?: string }).name === 'AbortError') return;
    const delayMs = this.#options.restartDelayMs ?? 1000;
    this.#options.log.warn({ err: error, delayMs }, `${this.#options.what} failed; restarting`);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#running) this.#informer.start().catch(this.#restartLater);
    }, delayMs);
  };
}
