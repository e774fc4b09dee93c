import type { PushFailureCode } from '../../contracts/pull-api.js';
import type { PipeRemote } from '../../contracts/wcs-protocol.js';
import type { OfferOptions, PipeSignalling } from './signalling.js';

/** What a pipe half has moved so far: RTP packets and bytes (sent for a push, received for a pull). */
export interface PipeSent {
  packets: number;
  bytes: number;
}

/** What our half of a pipe tells its relay as it goes. */
export interface PipeLegSink {
  /** Delivery measured at our end (a pull: what our producers received), with what our half moved. */
  delivered(moved: PipeSent, packets: number, lost: number): void;
  /** Our end broke by itself (a pull: its local stream ended): the relay fails with this code. */
  failed(code: PushFailureCode, reason: string): void;
}

/** What a relay tells the half it makes (relay.ts PipePlan.open), once the remote is known. */
export interface PipeContext {
  /** The fleet the remote announced. */
  remoteFleetId: string;
  /** The relay's own media session id (a pull's local stream is published under it). */
  localMediaSessionId: string;
  sink: PipeLegSink;
}

/**
 * Our half of a relay's PipeTransport pair with a streamfed server (wcs-protocol.ts `streamfedPipe`), as the
 * relay (relay.ts) drives it, the pipe's counterpart of media-leg.ts: push-pipe.ts PipeEgress (a push: our
 * producers to the remote) and pull-pipe.ts PipeIngress (a pull: the remote's stream published here).
 * close() frees everything the half made and is idempotent.
 */
export interface PipeLeg {
  /**
   * Asks the remote for the stream over its pipe extension with what our half offers (a push: publishStream
   * with our tuple and producers; a pull: playStream with our tuple); resolves with the remote's half.
   */
  request(
    signalling: PipeSignalling,
    name: string,
    mediaSessionId: string,
    options: OfferOptions,
  ): Promise<PipeRemote>;
  /** Connects our half to the remote's: media flows from now on (a pull: its local stream is published). */
  connect(remote: PipeRemote): Promise<void>;
  /** Resolves once media arrives at our end (a pull); undefined where only the remote can tell (a push). */
  readonly arriving: Promise<void> | undefined;
  /** Reads what our half has moved so far. */
  sample(): Promise<PipeSent>;
  /** RTP packets our half has put on the wire (a push); undefined for a pull, which always expects media. */
  sentSoFar(): number | undefined;
  close(): void;
}
