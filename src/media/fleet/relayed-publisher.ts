import type * as ms from 'mediasoup/types';
import { Publisher } from '../streams/publisher.js';
import type { MediaSessionInit } from '../streams/media-session.js';
import type { StreamDescription } from '../streams/status.js';

/** What /rest-api/stream/* says about a relayed stream besides what WCS says. */
export interface RelayedDescription extends StreamDescription {
  relayed: true;
  /** The member that publishes the stream. */
  origin: string;
}

/**
 * A stream fetched from its origin member: to local players it is a publisher like any other (its producers
 * are the fleet pipe's), but it is never an origin: other members are never served from it.
 */
export class RelayedPublisher extends Publisher {
  constructor(
    init: MediaSessionInit,
    transport: ms.PipeTransport,
    router: ms.Router,
    producers: Map<'audio' | 'video', ms.Producer>,
    readonly origin: string,
  ) {
    super(init, transport, router);
    for (const [kind, producer] of producers) this.producers.set(kind, producer);
  }

  override describe(): RelayedDescription {
    return { ...super.describe(), relayed: true, origin: this.origin };
  }
}
