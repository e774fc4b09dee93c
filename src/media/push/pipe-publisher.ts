import type { PipeTuple } from '../../contracts/pipe-media.js';
import type { PipeOffer } from '../../contracts/wcs-protocol.js';
import { FleetPipe, type PipeListen } from '../rtc/pipe-half.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { MediaSessionInit } from '../streams/media-session.js';
import { Publisher } from '../streams/publisher.js';
import type { StreamStatus } from '../streams/status.js';

/** How often a pipe publisher reads its producers' stats (and tells its pushing server). */
const STATS_INTERVAL_MS = 1000;

/**
 * A stream pushed to this server by another streamfed server over a PipeTransport pair (the pushed half of
 * push-pipe.ts PipeEgress): to players, pushes and the REST API an ordinary publisher, whose producers are
 * the pipe's. It is PUBLISHING once media arrives over the pipe, and reports what its producers received
 * (`onStats`, about once a second) so the pushing server measures delivery at this end. Ending it closes
 * the pipe, and with it the producers.
 */
export class PipePublisher extends Publisher {
  readonly #pipe: FleetPipe;
  readonly #timer: NodeJS.Timeout;

  constructor(
    init: MediaSessionInit,
    pipe: FleetPipe,
    router: Publisher['router'],
    onStats: (packets: number, lost: number) => void,
  ) {
    super(init, { transport: pipe.transport, router, producers: pipe.producers });
    this.#pipe = pipe;
    // the first packets move a producer's score from 0: PUBLISHING without waiting for the next sample
    for (const producer of pipe.producers.values())
      producer.on('score', (scores) => {
        if (scores.some((s) => s.score > 0)) this.connected();
      });
    this.#timer = setInterval(() => {
      void pipe.stats().then(({ packets, lost }) => {
        if (this.ended) return;
        if (packets > 0) this.connected();
        onStats(packets, lost);
      });
    }, STATS_INTERVAL_MS);
  }

  override end(status?: StreamStatus, info?: string): void {
    clearInterval(this.#timer);
    super.end(status, info);
  }

  protected override release(): void {
    this.#pipe.close();
  }
}

/**
 * This server's end of pushes over a pipe: makes the pipe on the least loaded router, connects it to the
 * pushing server's half and produces what it sends. Admission (hooks, names, loops) is the caller's.
 */
export class PipeTargets {
  constructor(
    private readonly engine: MediaEngine,
    private readonly listen: PipeListen,
  ) {}

  async open(
    init: MediaSessionInit,
    offer: PipeOffer,
    onStats: (packets: number, lost: number) => void,
  ): Promise<{ session: PipePublisher; answer: PipeTuple }> {
    const router = this.engine.pickRouter();
    const pipe = await FleetPipe.open(router, this.listen);
    try {
      await pipe.connect(offer);
      return { session: new PipePublisher(init, pipe, router, onStats), answer: pipe.endpoint() };
    } catch (error) {
      pipe.close();
      throw error;
    }
  }
}
