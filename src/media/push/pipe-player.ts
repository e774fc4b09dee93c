import type { MediaSessionInit } from '../streams/media-session.js';
import { Player } from '../streams/player.js';
import type { Publisher } from '../streams/publisher.js';
import type { PipeEgress } from './push-pipe.js';

/**
 * A pull of one of this server's streams by another streamfed server over a PipeTransport pair: the source's
 * half (push-pipe.ts PipeEgress, one pipe consumer per producer) connected to the puller's. To the REST API,
 * the hooks and the stream's rules an ordinary player: listed, counted as a user of its stream, ended with it
 * (STOPPED, as WCS ends a publisher's players). Playing once connected: the puller measures what arrives.
 */
export class PipePlayer extends Player {
  readonly #egress: PipeEgress;

  constructor(init: MediaSessionInit, egress: PipeEgress, source: Publisher) {
    super(init, egress.transport, source);
    this.#egress = egress;
    for (const consumer of egress.consumers) this.adopt(consumer);
  }

  protected override release(): void {
    this.#egress.close();
  }
}
