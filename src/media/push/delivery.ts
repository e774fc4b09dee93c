import type { PushDelivery } from '../../contracts/pull-api.js';

/**
 * What a relay actually delivers, measured at the far end where we can: a push counts the packets its
 * remote's RTCP receiver reports acknowledge, a pull the RTP it receives. Delivery that has not moved for
 * `stallMs` while `expecting()` (a push kept sending; a pull always expects) is `stalled`.
 */
export class DeliveryTracker {
  #packets = 0;
  #lost = 0;
  #lastDeliveredAt: number | undefined;
  #mark = 0;

  constructor(
    private readonly stallMs: number,
    /**
     * What the sending side has done so far (a push: packets sent), compared with its value at the last
     * delivery; undefined when delivery is always expected (a pull).
     */
    private readonly progress: () => number | undefined,
  ) {}

  get packets(): number {
    return this.#packets;
  }

  /** New totals from the far end (totals, not increments). */
  update(packets: number, lost: number, now = Date.now()): void {
    if (packets > this.#packets) {
      this.#lastDeliveredAt = now;
      this.#mark = this.progress() ?? 0;
    }
    this.#packets = Math.max(this.#packets, packets);
    this.#lost = lost;
  }

  view(now = Date.now()): PushDelivery {
    const base = { packets: this.#packets, lost: this.#lost };
    if (this.#lastDeliveredAt === undefined) return { status: 'waiting', ...base };
    const sent = this.progress();
    const stalled = now - this.#lastDeliveredAt > this.stallMs && (sent === undefined || sent > this.#mark);
    return { status: stalled ? 'stalled' : 'delivering', ...base, lastDeliveredAt: this.#lastDeliveredAt };
  }
}
