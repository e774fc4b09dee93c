import type * as ms from 'mediasoup/types';

/** How long one reading listens to the video. */
const WINDOW_MS = 500;
/** A reading this recent answers again instead of starting another. */
const FRESH_MS = 2000;
/** The RTP clock of every video codec we carry (RFC 7741, RFC 6184). */
const VIDEO_CLOCK_HZ = 90_000;

/**
 * A video producer's frame rate, read from the video on demand: a reading is a DirectTransport and its
 * consumer that bring WINDOW_MS of RTP into this process, where each distinct RTP timestamp is a frame; then
 * both are closed, so between readings the stream costs nothing here. Concurrent askers share one reading,
 * and a reading stays the answer for FRESH_MS (the WCS monitoring view asks for every stream at once).
 */
export class FrameRateMeter {
  #reading: Promise<number> | undefined;
  #readAt = 0;

  constructor(
    private readonly router: ms.Router,
    private readonly producer: ms.Producer,
  ) {}

  /** Frames per second over the last reading; 0 when no video came in its window. */
  frameRate(): Promise<number> {
    if (this.#reading && Date.now() - this.#readAt < FRESH_MS) return this.#reading;
    this.#readAt = Date.now();
    this.#reading = this.#read().catch(() => 0);
    return this.#reading;
  }

  async #read(): Promise<number> {
    if (this.producer.closed) return 0;
    const transport = await this.router.createDirectTransport();
    try {
      const consumer = await transport.consume({
        producerId: this.producer.id,
        rtpCapabilities: this.router.rtpCapabilities,
        enableRtx: false,
      });
      const stamps = new Set<number>();
      let first: number | undefined;
      let last = 0;
      consumer.on('rtp', (packet) => {
        if (packet.length < 12) return;
        const stamp = packet.readUInt32BE(4);
        if (stamps.has(stamp)) return;
        stamps.add(stamp);
        first ??= stamp;
        last = stamp;
      });
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
      // frames between the first and the last one seen, over the RTP time they span (wraps included)
      const span = ((last - (first ?? last)) >>> 0) / VIDEO_CLOCK_HZ;
      return stamps.size < 2 || span <= 0 ? 0 : Math.round((stamps.size - 1) / span);
    } finally {
      transport.close();
    }
  }
}
