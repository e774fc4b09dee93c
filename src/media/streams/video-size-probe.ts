import type * as ms from 'mediasoup/types';
import { rtpPayload } from '../rtc/rtp-payload.js';
import { frameSizeOf, type FrameSize } from '../rtc/video-size.js';

/** At most one key frame asked for per this many ms, only after the publisher sent one itself. */
const RESAMPLE_MS = 5000;
/** Packets read without finding a size before the probe gives up until the next try. */
const MAX_PACKETS_PER_READING = 1000;

/**
 * Reads a video producer's frame size from the video itself. A reading is a DirectTransport and its
 * consumer (made unpaused, so mediasoup asks the publisher for a key frame) that bring RTP into this
 * process until a key frame (VP8) or sequence parameter set (H264) tells the size; then both are closed,
 * so between readings the stream costs nothing here. The next key frame the publisher sends on its own (a resolution
 * change starts with one) at least RESAMPLE_MS later starts another reading. The producer's key-frame
 * trace is on only while waiting for that key frame. Closes with the producer.
 */
export class VideoSizeProbe {
  #size: FrameSize | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading: ms.DirectTransport | undefined;
  #packets = 0;
  #closed = false;

  private constructor(
    private readonly router: ms.Router,
    private readonly producer: ms.Producer,
  ) {
    producer.observer.once('close', () => this.close());
    producer.on('trace', (trace) => {
      if (trace.type !== 'keyframe' || this.#reading || this.#timer) return;
      void this.trace(false);
      this.read().catch(() => undefined);
    });
  }

  /** A probe on the producer's router, reading at once; undefined for audio. */
  static async open(router: ms.Router, producer: ms.Producer): Promise<VideoSizeProbe | undefined> {
    if (producer.kind !== 'video') return undefined;
    const probe = new VideoSizeProbe(router, producer);
    try {
      await probe.read();
    } catch (error) {
      probe.close();
      throw error;
    }
    return probe;
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
    this.#reading?.close();
  }

  private async read(): Promise<void> {
    if (this.#closed || this.#reading) return;
    const transport = await this.router.createDirectTransport();
    if (this.#closed || this.#reading) return transport.close();
    this.#reading = transport;
    this.#packets = 0;
    const done = (): void => {
      if (this.#reading === transport) this.#reading = undefined;
      transport.close();
    };
    try {
      const consumer = await transport.consume({
        producerId: this.producer.id,
        rtpCapabilities: this.router.rtpCapabilities,
        enableRtx: false,
      });
      const mimeType = this.producer.rtpParameters.codecs[0]?.mimeType ?? '';
      consumer.on('rtp', (packet) => {
        if (this.#reading !== transport) return;
        const size = frameSizeOf(mimeType, rtpPayload(packet) ?? Buffer.alloc(0));
        // a bitstream we cannot read costs a bounded number of packets per reading, never a stream's worth
        if (!size && ++this.#packets < MAX_PACKETS_PER_READING) return;
        if (size) this.#size = size;
        done();
        if (this.#closed) return;
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          void this.trace(true);
        }, RESAMPLE_MS).unref();
      });
    } catch (error) {
      done();
      throw error;
    }
  }

  private async trace(on: boolean): Promise<void> {
    if (this.#closed) return;
    await this.producer.enableTraceEvent(on ? ['keyframe'] : []).catch(() => undefined);
  }
}
