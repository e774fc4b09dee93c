import type { PipeTuple } from '../../contracts/pipe-media.js';
import type { PipeOffer, PipeRemote } from '../../contracts/wcs-protocol.js';
import { FleetPipe, type PipeListen } from '../rtc/pipe-half.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { MediaSessionInit } from '../streams/media-session.js';
import { Publisher } from '../streams/publisher.js';
import type { StreamStatus } from '../streams/status.js';
import type { PipePeerPolicy } from './pipe-peers.js';
import { PipePlayer } from './pipe-player.js';
import { PipeEgress } from './push-pipe.js';

/** How often a pipe publisher reads its producers' stats (and tells its pushing server). */
const STATS_INTERVAL_MS = 1000;

/** What a pipe publisher's producers received so far, and lost; the bytes its pipe received. */
export type PipeReceived = Awaited<ReturnType<FleetPipe['stats']>>;

/** A receiving half of a pipe on one of our routers, before the sending half is known. */
export interface PipeReceiver {
  pipe: FleetPipe;
  router: Publisher['router'];
}

/**
 * A stream that came to this server from another streamfed server over a PipeTransport pair (the receiving
 * half of push-pipe.ts PipeEgress): pushed here, or pulled here (pull-pipe.ts). To players, pushes and the
 * REST API an ordinary publisher, whose producers are the pipe's. It is PUBLISHING once media arrives over
 * the pipe, and reports what its producers received (`onStats`, about once a second): a pushed stream tells
 * its pushing server, a pulled one is the pull's delivery. Ending it closes the pipe, and with it the
 * producers.
 */
export class PipePublisher extends Publisher {
  readonly #pipe: FleetPipe;
  readonly #timer: NodeJS.Timeout;

  constructor(
    init: MediaSessionInit,
    { pipe, router }: PipeReceiver,
    onStats: (received: PipeReceived) => void,
  ) {
    super(init, { transport: pipe.transport, router, producers: pipe.producers });
    this.#pipe = pipe;
    // the first packets move a producer's score from 0: PUBLISHING without waiting for the next sample
    for (const producer of pipe.producers.values())
      producer.on('score', (scores) => {
        if (scores.some((s) => s.score > 0)) this.connected();
      });
    this.#timer = setInterval(() => {
      void pipe.stats().then((received) => {
        if (this.ended) return;
        if (received.packets > 0) this.connected();
        onStats(received);
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
 * This server's end of pipes with other streamfed servers, both directions: a push into it (its receiving
 * half on the least loaded router, connected to the pushing server's half, producing what it sends) and a
 * pull from it (its sending half of the stream, connected to the puller's). Admission (hooks, names, loops)
 * is the caller's; where a pipe may send (`peers`) is checked here, by `admit`, before anything is made.
 */
export class PipeTargets {
  constructor(
    private readonly engine: MediaEngine,
    private readonly listen: PipeListen,
    private readonly peers: PipePeerPolicy,
  ) {}

  /**
   * Throws PipeRefusedError unless a pipe request from a signalling peer at `peer` may have our half send to
   * `offered` (its tuple): the peer's own address, or one of --pipe-peers (pipe-peers.ts).
   */
  admit(offered: PipeTuple, peer: string | undefined): void {
    this.peers.check(offered.ip, peer);
  }

  /** A receiving half on the least loaded router, before the sending half is known (a pull offers it first). */
  async receiver(): Promise<PipeReceiver> {
    const router = this.engine.pickRouter();
    return { pipe: await FleetPipe.open(router, this.listen), router };
  }

  /** A push into this server: the publisher of what the pushing server's half sends, and our tuple. */
  async open(
    init: MediaSessionInit,
    offer: PipeOffer,
    onStats: (received: PipeReceived) => void,
  ): Promise<{ session: PipePublisher; answer: PipeTuple }> {
    const receiver = await this.receiver();
    try {
      await receiver.pipe.connect(offer);
      return { session: new PipePublisher(init, receiver, onStats), answer: receiver.pipe.endpoint() };
    } catch (error) {
      receiver.pipe.close();
      throw error;
    }
  }

  /**
   * A pull from this server: our sending half of `source` connected to the puller's `tuple`, as a player of
   * it (PLAYING at once), and the answer: our tuple and what our pipe consumers send.
   */
  async play(
    init: MediaSessionInit,
    source: Publisher,
    tuple: PipeTuple,
  ): Promise<{ session: PipePlayer; answer: PipeRemote }> {
    const egress = await PipeEgress.open(source, this.listen);
    try {
      await egress.connect(tuple);
      const session = new PipePlayer(init, egress, source);
      session.connected();
      return { session, answer: egress.offer() };
    } catch (error) {
      egress.close();
      throw error;
    }
  }
}
