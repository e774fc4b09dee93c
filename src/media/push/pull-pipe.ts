import { PushFailureCode } from '../../contracts/pull-api.js';
import type { PipeRemote } from '../../contracts/wcs-protocol.js';
import type { MediaSessionInit } from '../streams/media-session.js';
import { StreamInfo, StreamStatus } from '../streams/status.js';
import type { StreamService } from '../streams/stream-service.js';
import type { PipeLeg, PipeLegSink, PipeSent } from './pipe-leg.js';
import { PipePublisher, type PipeReceiver, type PipeTargets } from './pipe-publisher.js';
import { RelayError } from './relay-error.js';
import type { OfferOptions, PipeSignalling } from './signalling.js';

/**
 * Our half of a pull over a pipe (the mirror of push-pipe.ts PipeEgress): a receiving PipeTransport on our
 * least loaded router (the fleet's recipe) whose tuple goes to the source in playStream. The source's answer
 * (its tuple and its pipe consumers' parameters) connects it; its producers are the pulled stream, an ordinary
 * local publisher (pipe-publisher.ts PipePublisher) admitted as a WebRTC pull's is. Delivery is what those
 * producers received. close() ends the local stream and frees the pipe; idempotent.
 */
export class PipeIngress implements PipeLeg {
  readonly #receiver: PipeReceiver;
  readonly #init: MediaSessionInit;
  readonly #streams: StreamService;
  readonly #sink: PipeLegSink;
  #publisher: PipePublisher | undefined;
  #received: PipeSent = { packets: 0, bytes: 0 };
  #closed = false;
  #arrived!: () => void;
  readonly arriving = new Promise<void>((resolve) => (this.#arrived = resolve));

  private constructor(
    receiver: PipeReceiver,
    init: MediaSessionInit,
    streams: StreamService,
    sink: PipeLegSink,
  ) {
    this.#receiver = receiver;
    this.#init = init;
    this.#streams = streams;
    this.#sink = sink;
  }

  /** Makes our half; the local stream `init` is published once the source answered. */
  static async open(
    targets: PipeTargets,
    init: MediaSessionInit,
    streams: StreamService,
    sink: PipeLegSink,
  ): Promise<PipeIngress> {
    return new PipeIngress(await targets.receiver(), init, streams, sink);
  }

  /** playStream over the source's pipe extension with our tuple. */
  request(
    signalling: PipeSignalling,
    name: string,
    mediaSessionId: string,
    options: OfferOptions,
  ): Promise<PipeRemote> {
    return signalling.play(name, mediaSessionId, this.#receiver.pipe.endpoint(), options);
  }

  /** Connects to the source's half, produces what it sends and publishes it here. */
  async connect(remote: PipeRemote): Promise<void> {
    const { producers } = remote;
    if (!producers) throw new RelayError(PushFailureCode.PROTOCOL, 'the pipe answer names no producers');
    await this.#receiver.pipe.connect({ ...remote, producers }).catch((error: unknown) => {
      throw new RelayError(
        PushFailureCode.PROTOCOL,
        `cannot use the pipe answer: ${(error as Error).message}`,
      );
    });
    const { session } = await this.#streams
      .publishWith(this.#init, async () => ({
        session: new PipePublisher(this.#init, this.#receiver, (received) => {
          this.#received = { packets: received.packets, bytes: received.bytes };
          this.#sink.delivered(this.#received, received.packets, received.lost);
        }),
      }))
      .catch((error: unknown) => {
        throw new RelayError(PushFailureCode.INTERNAL, (error as Error).message);
      });
    if (this.#closed) {
      session.end(StreamStatus.UNPUBLISHED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
      return;
    }
    this.#publisher = session;
    session.on('status', (status) => {
      if (status === StreamStatus.PUBLISHING) this.#arrived();
      if (session.ended && !this.#closed)
        this.#sink.failed(PushFailureCode.LOCAL_ENDED, `local stream ${status}`);
    });
    if (session.status === StreamStatus.PUBLISHING) this.#arrived();
  }

  async sample(): Promise<PipeSent> {
    return this.#received;
  }

  sentSoFar(): undefined {
    return undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const publisher = this.#publisher;
    this.#publisher = undefined;
    publisher?.end(StreamStatus.UNPUBLISHED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
    this.#receiver.pipe.close();
  }
}
