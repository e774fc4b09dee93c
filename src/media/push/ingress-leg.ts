import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import type { MediaStreamTrack, PeerConfig, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import { PushFailureCode } from '../../contracts/pull-api.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { MediaKind } from '../rtc/sdp-offer.js';
import { isRtx, mediasoupCodec, weriftCodec } from '../rtc/codec-params.js';
import type { MediaSessionInit } from '../streams/media-session.js';
import { Publisher } from '../streams/publisher.js';
import { StreamInfo, StreamStatus } from '../streams/status.js';
import type { StreamService } from '../streams/stream-service.js';
import type { MediaLeg, MediaLegEvents } from './media-leg.js';
import type { PushTarget } from './relay.js';
import { createPeer } from './rtc-peer.js';
import type { OfferOptions } from './signalling.js';

/** A pull receives: it asks for congestion feedback as a browser would (see PeerOptions). */
const WITH_FEEDBACK = { congestionFeedback: true };

/** One receiving track per media kind. */
interface Track {
  kind: MediaKind;
  transceiver: RTCRtpTransceiver;
  /** What we announce to mediasoup: the negotiated codec under our payload type and SSRC. */
  payloadType: number;
  ssrc: number;
  remoteSsrc?: number;
  /** The negotiated codec's payload type on the remote's packets (set with the producer; others are dropped). */
  remotePayloadType?: number;
}

/**
 * The local publisher a pull makes, over WebRTC or a pipe (pull-pipe.ts). A stream pulled from a streamfed
 * server remembers where it came from, as one that arrived by a push does (push-chain.ts): pushing it back
 * there under its name is a loop.
 */
export function pulledStream(
  target: PushTarget,
  localMediaSessionId: string,
  remoteFleetId: string | undefined,
): MediaSessionInit {
  const { localStreamName, remoteStreamName, uri } = target;
  return {
    appKey: 'pull',
    sessionId: `pull:${uri}`,
    mediaSessionId: localMediaSessionId,
    name: localStreamName,
    ...(remoteFleetId ? { chain: [{ fleet: remoteFleetId, name: remoteStreamName }] } : {}),
  };
}

/**
 * The media leg of a pull, the mirror of a push (WCS's /pull/pull): a recvonly werift peer plays the remote
 * stream, and its RTP is published here under the local name, handed to mediasoup through a loopback plain
 * transport.
 */
export class IngressLeg extends EventEmitter<MediaLegEvents> implements MediaLeg {
  readonly type = 'pull';
  readonly remoteUp = StreamStatus.PLAYING;
  readonly remoteEnds = [StreamStatus.FAILED, StreamStatus.STOPPED];
  readonly #target: PushTarget;
  readonly #localMediaSessionId: string;
  readonly #streams: StreamService;
  readonly #engine: MediaEngine;
  #socket: dgram.Socket | undefined;
  #publisher: Publisher | undefined;
  readonly #tracks: Track[] = [];
  #closed = false;
  #received = 0;

  constructor(target: PushTarget, localMediaSessionId: string, streams: StreamService, engine: MediaEngine) {
    super();
    this.#target = target;
    this.#localMediaSessionId = localMediaSessionId;
    this.#streams = streams;
    this.#engine = engine;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async prepare(): Promise<void> {
    // the local publisher is made once the remote answered: its codecs are what was negotiated
  }

  createPeer(ice: Partial<PeerConfig>): { peer: RTCPeerConnection; offer: OfferOptions } {
    const caps = this.#engine.rtpCapabilities.codecs ?? [];
    const codecs = (kind: MediaKind): ReturnType<typeof weriftCodec>[] =>
      caps.filter((c) => c.kind === kind && !isRtx(c)).map((c) => weriftCodec(c, kind));
    const peer = createPeer({ audio: codecs('audio'), video: codecs('video') }, WITH_FEEDBACK, ice);
    for (const kind of ['audio', 'video'] as const) {
      const transceiver = peer.addTransceiver(kind, { direction: 'recvonly' });
      this.#tracks.push({
        kind,
        transceiver,
        payloadType: kind === 'audio' ? 100 : 101,
        ssrc: randomInt(1, 2 ** 31),
      });
    }
    peer.onTrack.subscribe((track) => this.#onTrack(track));
    return { peer, offer: { hasAudio: true, hasVideo: true } };
  }

  /** Publishes what we play here (pulledStream). */
  async answered(remoteFleetId: string | undefined): Promise<void> {
    const init = pulledStream(this.#target, this.#localMediaSessionId, remoteFleetId);
    const { session } = await this.#streams.publishWith(init, async () => ({
      session: await this.#createPublisher(this.#engine, init),
    }));
    if (this.#closed) {
      session.end(StreamStatus.UNPUBLISHED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
      return;
    }
    this.#publisher = session;
    session.on('status', (status) => {
      if (session.ended && !this.#closed)
        this.emit('failed', PushFailureCode.LOCAL_ENDED, `local stream ${status}`);
    });
  }

  publishing(): void {
    this.#publisher?.connected();
    this.#requestKeyFrame();
  }

  sentSoFar(): undefined {
    return undefined;
  }

  /** The local publisher: one producer per negotiated kind on a loopback plain transport we send into. */
  async #createPublisher(engine: MediaEngine, init: MediaSessionInit): Promise<Publisher> {
    const transport = await engine.createLoopbackIngress();
    try {
      const producers = new Map<MediaKind, ms.Producer>();
      for (const track of this.#tracks) {
        const codec = track.transceiver.codecs.find((c) => !isRtx(c));
        if (!codec) continue;
        track.remotePayloadType = codec.payloadType;
        const rtpParameters: ms.RtpParameters = {
          codecs: [
            mediasoupCodec(codec, {
              payloadType: track.payloadType,
              // mediasoup asks us for key frames (PLI), which we ask of the remote
              rtcpFeedback: track.kind === 'video' ? [{ type: 'nack', parameter: 'pli' }] : [],
            }),
          ],
          encodings: [{ ssrc: track.ssrc }],
          rtcp: { cname: `pull-${this.#localMediaSessionId}`, reducedSize: true },
        };
        producers.set(track.kind, await transport.produce({ kind: track.kind, rtpParameters }));
      }
      if (producers.size === 0) throw new Error(StreamInfo.NO_COMMON_CODECS);
      this.#socket = await this.#openSocket(transport.tuple.localPort);
      return new Publisher(init, { transport, router: engine.routerOf(transport), producers });
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  async #openSocket(port: number): Promise<dgram.Socket> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    socket.connect(port, '127.0.0.1');
    // mediasoup's RTCP back to us: a picture-loss or FIR request means a viewer needs a key frame.
    socket.on('message', (packet) => {
      // walk the compound RTCP packet: PSFB (206) carries PLI and FIR
      for (let offset = 0; offset + 4 <= packet.length; offset += (packet.readUInt16BE(offset + 2) + 1) * 4) {
        if (packet[offset + 1] === 206) return this.#requestKeyFrame();
      }
    });
    return socket;
  }

  #onTrack(track: MediaStreamTrack): void {
    const ours = this.#tracks.find((l) => l.kind === track.kind);
    if (!ours) return;
    track.onReceiveRtp.subscribe((rtp) => {
      if (!this.#socket || !this.#publisher) return;
      if (rtp.header.payloadType !== ours.remotePayloadType) return;
      ours.remoteSsrc = rtp.header.ssrc;
      const packet = rtp.serialize();
      packet[1] = (packet[1]! & 0x80) | ours.payloadType;
      packet.writeUInt32BE(ours.ssrc, 8);
      this.#received++;
      this.emit('forwarded', packet.length);
      this.emit('delivered', this.#received, 0);
      this.#socket.send(packet);
    });
  }

  #requestKeyFrame(): void {
    const video = this.#tracks.find((l) => l.kind === 'video');
    if (video?.remoteSsrc !== undefined)
      void video.transceiver.receiver.sendRtcpPLI(video.remoteSsrc).catch(() => undefined);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.close();
    this.#socket = undefined;
    const publisher = this.#publisher;
    this.#publisher = undefined;
    publisher?.end(StreamStatus.UNPUBLISHED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
    this.removeAllListeners();
  }
}
