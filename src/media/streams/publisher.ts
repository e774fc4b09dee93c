import type * as ms from 'mediasoup/types';
import type { MediaEngine } from '../rtc/media-engine.js';
import { producerParameters } from '../rtc/negotiate.js';
import { writeAnswer, type AnswerSection } from '../rtc/sdp-answer.js';
import { SdpError, type MediaKind, type ParsedOffer } from '../rtc/sdp-offer.js';
import { MediaSession, codecName, type MediaSessionInit, type VideoSize } from './media-session.js';
import { StreamInfo, StreamStatus } from './status.js';
import { VideoSizeProbe } from './video-size-probe.js';
import { FrameRateMeter } from './frame-rate-meter.js';

/** What a publisher is made of: its producers, one per media kind, on a transport of the router. */
export interface PublisherMedia {
  transport: ms.Transport;
  router: ms.Router;
  producers: ReadonlyMap<MediaKind, ms.Producer>;
}

/**
 * A stream published into this server: one producer per media kind, all made before the publisher and given
 * to it whole. Made from a browser's offer (create), from a pull's loopback transport (ingress-leg.ts) or from
 * a fleet pipe (RelayedPublisher).
 */
export class Publisher extends MediaSession {
  readonly published = true;
  readonly stoppedStatus = StreamStatus.UNPUBLISHED;
  readonly router: ms.Router;
  readonly producers: ReadonlyMap<MediaKind, ms.Producer>;
  private probe: VideoSizeProbe | undefined;
  private frameRateMeter: FrameRateMeter | undefined;

  constructor(init: MediaSessionInit, media: PublisherMedia) {
    super(init, media.transport);
    this.router = media.router;
    this.producers = new Map(media.producers);
  }

  /** Creates the transport and producers for an offer; returns the publisher and our SDP answer. */
  static async create(
    engine: MediaEngine,
    init: MediaSessionInit,
    offer: ParsedOffer,
  ): Promise<{ publisher: Publisher; answer: string }> {
    const transport = await engine.createWebRtcTransport();
    const router = engine.routerOf(transport);
    try {
      const producers = new Map<MediaKind, ms.Producer>();
      const sections: AnswerSection[] = [];
      for (const offered of offer.sections) {
        const { kind } = offered;
        const sends = offered.direction === 'sendonly' || offered.direction === 'sendrecv';
        if (!kind || !sends || producers.has(kind)) {
          sections.push({ offered, accepted: false });
          continue;
        }
        const rtpParameters = producerParameters(offered, router.rtpCapabilities);
        producers.set(kind, await transport.produce({ kind, rtpParameters }));
        sections.push({ offered, accepted: true, direction: 'recvonly', rtpParameters });
      }
      if (producers.size === 0) throw new SdpError(StreamInfo.NO_COMMON_CODECS);
      const publisher = new Publisher(init, { transport, router, producers });
      await transport.connect({ dtlsParameters: { role: 'client', fingerprints: [offer.fingerprint] } });
      return { publisher, answer: writeAnswer(transport, sections) };
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  protected onConnected(): void {
    this.setStatus(StreamStatus.PUBLISHING);
  }

  /**
   * Starts reading the video size from the video (see VideoSizeProbe). Until it has, and for audio-only
   * streams, the size is what the publisher's client declared, or 0.
   */
  async probeVideoSize(): Promise<void> {
    const video = this.producers.get('video');
    if (!video || this.probe || this.ended) return;
    const probe = await VideoSizeProbe.open(this.router, video);
    if (this.ended) probe?.close();
    else this.probe = probe;
  }

  /** The video's frames per second, read from the video on demand (see FrameRateMeter); 0 without video. */
  frameRate(): Promise<number> {
    const video = this.producers.get('video');
    if (!video || this.ended) return Promise.resolve(0);
    this.frameRateMeter ??= new FrameRateMeter(this.router, video);
    return this.frameRateMeter.frameRate();
  }

  videoSize(): VideoSize {
    return this.probe?.size ?? this.init.declaredSize ?? { width: 0, height: 0 };
  }

  /**
   * How a player of this stream ends when the stream's producers close: STOPPED, "Stopped by publisher stop",
   * as WCS ends the players of a publisher that went, whatever ended it.
   */
  playerEnd(): [StreamStatus, string] {
    return [StreamStatus.STOPPED, StreamInfo.STOPPED_BY_PUBLISHER_STOP];
  }

  override end(status?: StreamStatus, info?: string): void {
    this.probe?.close();
    super.end(status, info);
  }

  protected mediaObjects(): ReturnType<MediaSession['mediaObjects']> {
    return [...this.producers];
  }

  protected codecs(): ReturnType<MediaSession['codecs']> {
    const audio = this.producers.get('audio');
    const video = this.producers.get('video');
    return {
      hasAudio: audio !== undefined,
      hasVideo: video !== undefined,
      ...(audio ? { audioCodec: codecName(audio) } : {}),
      ...(video ? { videoCodec: codecName(video) } : {}),
    };
  }
}
