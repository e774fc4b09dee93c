import type * as ms from 'mediasoup/types';

const LOOPBACK = { protocol: 'udp', ip: '127.0.0.1' } as const;

/**
 * One PipeTransport pair between two routers of this process: mediasoup's pipeToRouter recipe, made here so
 * that the pair has one owner. It carries any number of piped producers, both ways, and closes itself once
 * none is left and none is being piped; closing either end closes the pair.
 */
class PipePair {
  readonly #made: ms.PipeTransport[] = [];
  readonly #ends: Promise<Map<string, ms.PipeTransport>>;
  readonly #onClose: () => void;
  /** Producers piped over the pair plus pipings under way on it. */
  #users = 0;
  #closed = false;

  constructor(a: ms.Router, b: ms.Router, onClose: () => void) {
    this.#onClose = onClose;
    this.#ends = this.#open(a, b);
    this.#ends.catch(() => this.close());
  }

  /** Makes the producer on `from` a producer (same id) on the pair's other router; `onEnd` once it closes. */
  async pipe(producerId: string, from: ms.Router, onEnd: () => void): Promise<void> {
    this.#users++;
    let piped = false;
    try {
      const ends = await this.#ends;
      const out = ends.get(from.id);
      const into = [...ends.values()].find((t) => t !== out);
      if (!out || !into) throw new Error('router is not an end of this pipe');
      const consumer = await out.consume({ producerId });
      const producer = await into
        .produce({
          id: producerId,
          kind: consumer.kind,
          rtpParameters: consumer.rtpParameters,
          paused: consumer.producerPaused,
        })
        .catch((error: unknown) => {
          consumer.close();
          throw error;
        });
      if (consumer.closed) {
        producer.close();
        throw new Error('producer closed while being piped');
      }
      // the two halves live and die together, as pipeToRouter's do
      consumer.observer.once('close', () => producer.close());
      consumer.observer.on('pause', () => void producer.pause().catch(() => undefined));
      consumer.observer.on('resume', () => void producer.resume().catch(() => undefined));
      producer.observer.once('close', () => {
        consumer.close();
        onEnd();
        this.#release();
      });
      piped = true;
    } finally {
      if (!piped) this.#release();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of this.#made) transport.close();
    this.#onClose();
  }

  async #open(a: ms.Router, b: ms.Router): Promise<Map<string, ms.PipeTransport>> {
    const ends = new Map<string, ms.PipeTransport>();
    for (const router of [a, b]) {
      const transport = await router.createPipeTransport({ listenInfo: LOOPBACK, enableSctp: false });
      if (this.#closed) transport.close();
      else this.#made.push(transport);
      transport.observer.once('close', () => this.close());
      ends.set(router.id, transport);
    }
    if (this.#closed) throw new Error('pipe closed while opening');
    const [ta, tb] = [...ends.values()] as [ms.PipeTransport, ms.PipeTransport];
    await Promise.all([
      ta.connect({ ip: tb.tuple.localAddress, port: tb.tuple.localPort }),
      tb.connect({ ip: ta.tuple.localAddress, port: ta.tuple.localPort }),
    ]);
    return ends;
  }

  #release(): void {
    this.#users--;
    // checked once mediasoup's own close cascade is over, and a piping begun meanwhile keeps the pair
    if (this.#users === 0) setImmediate(() => this.#users === 0 && this.close());
  }
}

/**
 * Producers made consumable on other routers of this process: one pipe per producer and router, shared by all
 * its consumers there, over one PipeTransport pair per two routers. The pairs are this module's alone: made
 * here, closed here once idle. Other PipeTransports on the same routers (a fleet hop) belong to whoever made
 * them and are never touched.
 */
export class RouterPipes {
  readonly #pipes = new Map<string, Promise<void>>();
  readonly #pairs = new Map<string, PipePair>();

  /** Makes producer (living on `from`) consumable on `to`. */
  async ensure(producerId: string, from: ms.Router, to: ms.Router): Promise<void> {
    if (from.id === to.id) return;
    const key = `${producerId}:${to.id}`;
    let pending = this.#pipes.get(key);
    if (!pending) {
      pending = this.#pairOf(from, to).pipe(producerId, from, () => this.#pipes.delete(key));
      pending.catch(() => this.#pipes.delete(key));
      this.#pipes.set(key, pending);
    }
    await pending;
  }

  #pairOf(a: ms.Router, b: ms.Router): PipePair {
    const key = [a.id, b.id].sort().join('|');
    let pair = this.#pairs.get(key);
    if (!pair) {
      const made: PipePair = new PipePair(a, b, () => {
        if (this.#pairs.get(key) === made) this.#pairs.delete(key);
      });
      pair = made;
      this.#pairs.set(key, pair);
    }
    return pair;
  }
}
