import type * as ms from 'mediasoup/types';
import type { PipeTuple } from '../../contracts/pipe-media.js';
import type { PipeOffer, PipeRemote } from '../../contracts/wcs-protocol.js';
import { createPipeHalf, pipeEndpoint, type PipeListen } from '../rtc/pipe-half.js';
import type { Publisher } from '../streams/publisher.js';
import type { PipeLeg, PipeSent } from './pipe-leg.js';
import type { OfferOptions, PipeSignalling } from './signalling.js';

/**
 * The sending half of a pipe: a PipeTransport (SRTP, RTX/NACK: the fleet's recipe) on the source's router
 * with one pipe consumer per producer of the source. In a push it is our half (its offer goes to the target
 * in publishStream, the target's answer connects it); in a pull from this server it is the source's half
 * (pipe-player.ts: connected to the puller's tuple, its offer answers the playStream). mediasoup forwards
 * from then on (key-frame requests and NACKs come back over the pipe to the source's producers by
 * themselves). close() closes the transport and with it the consumers; idempotent.
 */
export class PipeEgress implements PipeLeg {
  readonly #transport: ms.PipeTransport;
  readonly #consumers: ms.Consumer[] = [];
  #sent: PipeSent = { packets: 0, bytes: 0 };
  #closed = false;

  private constructor(transport: ms.PipeTransport) {
    this.#transport = transport;
  }

  /** Makes the half for `source`'s producers; throws (holding nothing) when it cannot. */
  static async open(source: Publisher, listen: PipeListen): Promise<PipeEgress> {
    const egress = new PipeEgress(await createPipeHalf(source.router, listen));
    try {
      for (const producer of source.producers.values())
        egress.#consumers.push(await egress.#transport.consume({ producerId: producer.id }));
      return egress;
    } catch (error) {
      egress.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed || this.#transport.closed;
  }

  get transport(): ms.PipeTransport {
    return this.#transport;
  }

  /** The pipe consumers, one per producer of the source. */
  get consumers(): readonly ms.Consumer[] {
    return this.#consumers;
  }

  /** A push: media arriving is the target's to tell (its PUBLISHING). */
  readonly arriving = undefined;

  /** A push: publishStream over the target's pipe extension with our offer. */
  request(
    signalling: PipeSignalling,
    name: string,
    mediaSessionId: string,
    options: OfferOptions,
  ): Promise<PipeRemote> {
    return signalling.publish(name, mediaSessionId, this.offer(), options);
  }

  /** Our tuple and what we send, for publishStream's `streamfedPipe`. */
  offer(): PipeOffer {
    return {
      ...pipeEndpoint(this.#transport),
      producers: this.#consumers.map((c) => ({
        kind: c.kind,
        rtpParameters: c.rtpParameters,
        paused: c.producerPaused,
      })),
    };
  }

  /** Connects to the far half (the target's, or the puller's): media flows from now on. */
  async connect(answer: PipeTuple): Promise<void> {
    await this.#transport.connect({
      ip: answer.ip,
      port: answer.port,
      srtpParameters: answer.srtpParameters as ms.SrtpParameters,
    });
  }

  sentSoFar(): number {
    return this.#sent.packets;
  }

  /** Reads what the pipe consumers have sent (RTP packets and bytes, retransmissions included). */
  async sample(): Promise<PipeSent> {
    let packets = 0;
    let bytes = 0;
    for (const consumer of this.#consumers) {
      for (const s of await consumer.getStats().catch(() => [])) {
        if (s.type !== 'outbound-rtp') continue;
        packets += s.packetCount;
        bytes += s.byteCount;
      }
    }
    this.#sent = { packets: Math.max(packets, this.#sent.packets), bytes: Math.max(bytes, this.#sent.bytes) };
    return this.#sent;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
  }
}
