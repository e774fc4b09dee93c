/**
 * A rate-limited work queue keyed by object, as controller-runtime's: a key is queued at most once, never
 * processed by two workers at once (a key added while it is processed is processed again after), and
 * failed keys come back after a per-key exponential backoff that a success resets.
 */
export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private readonly order: string[] = [];
  /** Workers parked in next(), each woken by one add (all of them by stop). */
  private readonly waiting: (() => void)[] = [];
  private stopped = false;

  /** Queues a key now (a pending delayed add is superseded). */
  add(key: string): void {
    if (this.stopped) return;
    const timer = this.delayed.get(key);
    if (timer) {
      clearTimeout(timer);
      this.delayed.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.waiting.shift()?.();
  }

  /** Queues a key after a delay, unless it is queued sooner. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped || this.delayed.has(key)) return;
    this.delayed.set(
      key,
      setTimeout(() => {
        this.delayed.delete(key);
        this.add(key);
      }, delayMs),
    );
  }

  /** Backoff for a key that failed: initial × 2^(failures), capped. */
  addRateLimited(key: string, initialMs: number, maxMs: number): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(maxMs, initialMs * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get depth(): number {
    return this.queued.size;
  }

  /** The next key to process; undefined once the queue is stopped. Call done(key) after. */
  async next(): Promise<string | undefined> {
    while (!this.stopped) {
      const key = this.order.shift();
      if (key !== undefined) {
        this.queued.delete(key);
        this.processing.add(key);
        return key;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return undefined;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const wake of this.waiting.splice(0)) wake();
  }
}
