import { Publisher, type PublisherMedia } from '../streams/publisher.js';
import type { MediaSessionInit } from '../streams/media-session.js';
import { StreamInfo, StreamStatus, type StreamDescription } from '../streams/status.js';

/** What /rest-api/stream/* says about a relayed stream besides what WCS says. */
export interface RelayedDescription extends StreamDescription {
  relayed: true;
  /** The member that publishes the stream. */
  origin: string;
}

/**
 * A stream fetched from its origin member: to local players it is a publisher like any other (its producers
 * are the fleet pipe's), but it is never an origin: other members are never served from it. Its transport is
 * the fleet pipe, which its relay owns: the relay closes the pipe when this ends (FleetRelay).
 */
export class RelayedPublisher extends Publisher {
  constructor(
    init: MediaSessionInit,
    media: PublisherMedia,
    readonly origin: string,
  ) {
    super(init, media);
  }

  override describe(): RelayedDescription {
    return { ...super.describe(), relayed: true, origin: this.origin };
  }

  /** A relay that failed (its origin lost) fails its players; a stream that ended normally stops them. */
  override playerEnd(): [StreamStatus, string] {
    return this.status === StreamStatus.FAILED
      ? [StreamStatus.FAILED, StreamInfo.FAILED_BY_ERROR]
      : super.playerEnd();
  }

  /** The fleet pipe is the relay's to close, not this session's. */
  protected override release(): void {
    // nothing of its own: the relay closes the pipe, and with it the producers
  }
}
