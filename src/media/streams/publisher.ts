import type * as ms from 'mediasoup/types';
import type { MediaEngine } from '../rtc/media-engine.js';
import { producerParameters } from '../rtc/negotiate.js';
import { writeAnswer, type AnswerSection } from '../rtc/sdp-answer.js';
import { SdpError, type MediaKind, type ParsedOffer } from '../rtc/sdp-offer.js';
import { MediaSession, codecName, type MediaSessionInit } from './media-session.js';
import { StreamStatus } from './status.js';

/** A stream published into this server: one producer per media kind on a WebRTC transport. */
export class Publisher extends MediaSession {
  readonly published = true;
  readonly stoppedStatus = StreamStatus.UNPUBLISHED;
  readonly producers = new Map<MediaKind, ms.Producer>();

  constructor(
    init: MediaSessionInit,
    transport: ms.Transport,
    readonly router: ms.Router,
  ) {
    super(init, transport);
  }

  /** Creates the transport and producers for an offer; returns the publisher and our SDP answer. */
  static async create(
    engine: MediaEngine,
    init: MediaSessionInit,
    offer: ParsedOffer,
  ): Promise<{ publisher: Publisher; answer: string }> {
    const transport = await engine.createWebRtcTransport();
    const router = engine.routerOf(transport);
    const publisher = new Publisher(init, transport, router);
    try {
      const sections: AnswerSection[] = [];
      for (const offered of offer.sections) {
        const { kind } = offered;
        const sends = offered.direction === 'sendonly' || offered.direction === 'sendrecv';
        if (!kind || !sends || publisher.producers.has(kind)) {
          sections.push({ offered, accepted: false });
          continue;
        }
        const rtpParameters = producerParameters(offered, router.rtpCapabilities);
        const producer = await transport.produce({ kind, rtpParameters });
        publisher.producers.set(kind, producer);
        sections.push({ offered, accepted: true, direction: 'recvonly', rtpParameters });
      }
      if (publisher.producers.size === 0) throw new SdpError('No common codecs');
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
