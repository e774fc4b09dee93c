import type * as ms from 'mediasoup/types';
import type { MediaEngine } from '../rtc/media-engine.js';
import { receiverCapabilities } from '../rtc/negotiate.js';
import { writeAnswer, type AnswerSection } from '../rtc/sdp-answer.js';
import { SdpError, type ParsedOffer } from '../rtc/sdp-offer.js';
import { randomUUID } from 'node:crypto';
import { MediaSession, codecName, type MediaSessionInit, type VideoSize } from './media-session.js';
import type { Publisher } from './publisher.js';
import { StreamInfo, StreamStatus } from './status.js';

/**
 * A viewer of a published stream: one consumer per media kind the publisher sends and the offer receives (a
 * browser's, on a WebRTC transport), or, for a pull by another streamfed server, one pipe consumer per
 * producer (push/pipe-player.ts).
 */
export class Player extends MediaSession {
  readonly published = false;
  readonly stoppedStatus = StreamStatus.STOPPED;
  readonly consumers: ms.Consumer[] = [];

  protected constructor(
    init: MediaSessionInit,
    transport: ms.Transport,
    private readonly source: Publisher,
  ) {
    super(init, transport);
  }

  /** Takes a consumer of the source: the player ends with its source, as its consumers close with their producers. */
  protected adopt(consumer: ms.Consumer): void {
    consumer.on('producerclose', () => this.end(...this.source.playerEnd()));
    this.consumers.push(consumer);
  }

  static async create(
    engine: MediaEngine,
    init: MediaSessionInit,
    offer: ParsedOffer,
    source: Publisher,
  ): Promise<{ player: Player; answer: string }> {
    const transport = await engine.createWebRtcTransport();
    const router = engine.routerOf(transport);
    const player = new Player(init, transport, source);
    // The SDP stream id is ours: a stream name may hold anything (spaces, newlines) and never enters SDP.
    const streamId = randomUUID();
    try {
      const sections: AnswerSection[] = [];
      for (const offered of offer.sections) {
        const producer = offered.kind ? source.producers.get(offered.kind) : undefined;
        const receives = offered.direction === 'recvonly' || offered.direction === 'sendrecv';
        const taken = player.consumers.some((c) => c.kind === offered.kind);
        const rtpCapabilities = receiverCapabilities(offered);
        if (!producer || !receives || taken) {
          sections.push({ offered, accepted: false });
          continue;
        }
        await engine.ensureProducerOn(producer.id, source.router, router);
        if (!router.canConsume({ producerId: producer.id, rtpCapabilities })) {
          sections.push({ offered, accepted: false });
          continue;
        }
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true });
        player.adopt(consumer);
        const msid = `${streamId} ${consumer.id}`;
        sections.push({
          offered,
          accepted: true,
          direction: 'sendonly',
          rtpParameters: consumer.rtpParameters,
          msid,
        });
      }
      if (player.consumers.length === 0) throw new SdpError(StreamInfo.NO_COMMON_CODECS);
      await transport.connect({ dtlsParameters: { role: 'client', fingerprints: [offer.fingerprint] } });
      return { player, answer: writeAnswer(transport, sections) };
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  /** Media starts once DTLS is up, with a key frame so the viewer can decode at once. */
  protected onConnected(): void {
    for (const consumer of this.consumers) {
      void consumer
        .resume()
        .then(() => (consumer.kind === 'video' ? consumer.requestKeyFrame() : undefined))
        .catch(() => undefined);
    }
    this.setStatus(StreamStatus.PLAYING);
  }

  /** What this player receives: its publisher's frames (we forward, never drop or add). */
  frameRate(): Promise<number> {
    return this.source.frameRate();
  }

  /** What this player receives: its publisher's size (we forward, never scale). */
  videoSize(): VideoSize {
    return this.source.videoSize();
  }

  protected mediaObjects(): ReturnType<MediaSession['mediaObjects']> {
    return this.consumers.map((c) => [c.kind, c]);
  }

  protected codecs(): ReturnType<MediaSession['codecs']> {
    const audio = this.consumers.find((c) => c.kind === 'audio');
    const video = this.consumers.find((c) => c.kind === 'video');
    return {
      hasAudio: audio !== undefined,
      hasVideo: video !== undefined,
      ...(audio ? { audioCodec: codecName(audio) } : {}),
      ...(video ? { videoCodec: codecName(video) } : {}),
    };
  }
}
