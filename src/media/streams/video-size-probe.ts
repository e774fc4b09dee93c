import type * as ms from 'mediasoup/types';
import { tapPacket } from '../push/producer-tap.js';
import { frameSizeOf, type FrameSize } from '../rtc/video-size.js';

/** At most one key frame asked for per this many ms, only after the publisher sent one itself. */
const RESAMPLE_MS = 5000;
/** Packets read without finding a size before the probe gives up until the next try. */
const MAX_PACKETS_PER_READING = 1000;

/**
 * Reads a video producer's frame size from the video itself: a DirectTransport consumer brings RTP into
 * this process until a key frame (VP8) or sequence parameter set (H264) tells the size, then pauses. The
 * next key frame the publisher sends on its own (a resolution change starts with one) at least
 * RESAMPLE_MS later wakes it for one more reading (resuming asks the publisher for a key frame). The
 * producer's key-frame trace is on only while waiting for that key frame, so a publisher that sends many
 * costs one trace event per RESAMPLE_MS. Closes with the producer.
 */
export class VideoSizeProbe {
  #size: FrameSize | undefined;
  #timer: NodeJS.Timeout | undefined;
  #packets = 0;
  #closed = false;

  private constructor(
    readonly transport: ms.DirectTransport,
    private readonly consumer: ms.Consumer,
    private readonly producer: ms.Producer,
  ) {
    const mimeType = producer.rtpParameters.codecs[0]?.mimeType ?? '';
    consumer.on('rtp', (packet) => {
      if (consumer.paused || this.#timer) return;
      const size = frameSizeOf(mimeType, tapPacket(packet)?.payload ?? Buffer.alloc(0));
      // a bitstream we cannot read costs a bounded number of packets per try, never a stream's worth
      if (!size && ++this.#packets < MAX_PACKETS_PER_READING) return;
      if (size) this.#size = size;
      this.#packets = 0;
      void consumer.pause().catch(() => undefined);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.trace(true);
      }, RESAMPLE_MS).unref();
    });
    consumer.on('producerclose', () => this.close());
    consumer.on('transportclose', () => this.close());
    producer.on('trace', (trace) => {
      if (trace.type !== 'keyframe' || !consumer.paused || this.#timer) return;
      void this.trace(false);
      void consumer.resume().catch(() => undefined);
    });
  }

  private async trace(on: boolean): Promise<void> {
    if (this.#closed) return;
    await this.producer.enableTraceEvent(on ? ['keyframe'] : []).catch(() => undefined);
  }

  /** A probe on the producer's router; undefined for audio. */
  static async open(router: ms.Router, producer: ms.Producer): Promise<VideoSizeProbe | undefined> {
    if (producer.kind !== 'video') return undefined;
    const transport = await router.createDirectTransport();
    try {
      const consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: router.rtpCapabilities,
        enableRtx: false,
      });
      return new VideoSizeProbe(transport, consumer, producer);
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  /** The last size read from the video, if any yet. */
  get size(): FrameSize | undefined {
    return this.#size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.producer.removeAllListeners('trace');
    this.transport.close();
  }
}
