import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import type * as ms from 'mediasoup/types';
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import { PushFailureCode } from '../../contracts/pull-api.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { MediaKind } from '../rtc/sdp-offer.js';
import { Publisher } from '../streams/publisher.js';
import { StreamInfo, StreamStatus } from '../streams/status.js';
import type { StreamService } from '../streams/stream-service.js';
import { Relay, type PushTarget } from './relay.js';
import { createPeer, weriftCodec } from './rtc-peer.js';
import type { OfferOptions, StreamStatusEvent } from './wcs-client.js';

interface Leg {
  kind: MediaKind;
  transceiver: RTCRtpTransceiver;
  /** What we announce to mediasoup: the negotiated codec under our payload type and SSRC. */
  payloadType: number;
  ssrc: number;
  remoteSsrc?: number;
}

/**
 * The mirror of a push (WCS's /pull/pull): we play a stream from a remote WCS server as its WebRTC client
 * and publish it here under a local name, RTP handed to mediasoup through a loopback plain transport.
 */
export class Pull extends Relay {
  readonly type = 'pull';
  private socket: dgram.Socket | undefined;
  private publisher: Publisher | undefined;
  private readonly legs: Leg[] = [];

  constructor(
    target: PushTarget,
    private readonly streams: StreamService,
    private readonly engine: MediaEngine,
  ) {
    super(target);
  }

  protected async prepare(): Promise<void> {
    // the local publisher is made once the remote answered: its codecs are what was negotiated
  }

  protected createPeer(): { peer: RTCPeerConnection; offer: OfferOptions } {
    const caps = this.engine.rtpCapabilities.codecs ?? [];
    const codecs = (kind: MediaKind): ReturnType<typeof weriftCodec>[] =>
      caps
        .filter((c) => c.kind === kind && !c.mimeType.toLowerCase().endsWith('/rtx'))
        .map((c) => weriftCodec(c, kind));
    const peer = createPeer(this.target.url.hostname.replace(/^\[|\]$/g, ''), {
      audio: codecs('audio'),
      video: codecs('video'),
    });
    for (const kind of ['audio', 'video'] as const) {
      const transceiver = peer.addTransceiver(kind, { direction: 'recvonly' });
      this.legs.push({
        kind,
        transceiver,
        payloadType: kind === 'audio' ? 100 : 101,
        ssrc: randomInt(1, 2 ** 31),
      });
    }
    peer.onTrack.subscribe((track) => this.onTrack(track));
    return { peer, offer: { hasAudio: true, hasVideo: true } };
  }

  protected async onAnswered(): Promise<void> {
    const { session } = await this.streams.publishWith(
      {
        appKey: 'pull',
        sessionId: `pull:${this.target.uri}`,
        mediaSessionId: this.localMediaSessionId,
        name: this.target.localStreamName,
      },
      async () => ({ session: await this.createPublisher(this.engine) }),
    );
    if (this.terminated || this.status === 'FAILED') {
      session.end(StreamStatus.UNPUBLISHED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
      return;
    }
    this.publisher = session;
    session.on('status', (status) => {
      if (session.ended && !this.terminated) this.fail(PushFailureCode.LOCAL_ENDED, `local stream ${status}`);
    });
  }

  protected onPublishing(): void {
    this.publisher?.connected();
    this.requestKeyFrame();
  }

  protected sentSoFar(): undefined {
    return undefined;
  }

  /** The local publisher: one producer per negotiated kind on a loopback plain transport we send into. */
  private async createPublisher(engine: MediaEngine): Promise<Publisher> {
    const transport = await engine.createLoopbackIngress();
    try {
      const router = engine.routerOf(transport);
      const publisher = new Publisher(
        {
          appKey: 'pull',
          sessionId: `pull:${this.target.uri}`,
          mediaSessionId: this.localMediaSessionId,
          name: this.target.localStreamName,
        },
        transport,
        router,
      );
      for (const leg of this.legs) {
        const codec = leg.transceiver.codecs.find((c) => !c.mimeType.toLowerCase().endsWith('/rtx'));
        if (!codec) continue;
        const parameters = Object.fromEntries(
          (codec.parameters ?? '')
            .split(';')
            .filter(Boolean)
            .map((kv) => {
              const [k, v] = kv.split('=');
              return [k!.trim(), /^\d+$/.test(v ?? '') ? Number(v) : (v ?? '')];
            }),
        );
        const rtpParameters: ms.RtpParameters = {
          codecs: [
            {
              mimeType: codec.mimeType as ms.RtpCodecParameters['mimeType'],
              payloadType: leg.payloadType,
              clockRate: codec.clockRate,
              ...(codec.channels ? { channels: codec.channels } : {}),
              parameters,
              rtcpFeedback: leg.kind === 'video' ? [{ type: 'nack', parameter: 'pli' }] : [],
            },
          ],
          encodings: [{ ssrc: leg.ssrc }],
          rtcp: { cname: `pull-${this.localMediaSessionId}`, reducedSize: true },
        };
        publisher.producers.set(leg.kind, await transport.produce({ kind: leg.kind, rtpParameters }));
      }
      if (publisher.producers.size === 0) throw new Error(StreamInfo.NO_COMMON_CODECS);
      this.socket = await this.openSocket(transport.tuple.localPort);
      return publisher;
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  private async openSocket(port: number): Promise<dgram.Socket> {
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
        if (packet[offset + 1] === 206) return this.requestKeyFrame();
      }
    });
    return socket;
  }

  private onTrack(track: MediaStreamTrack): void {
    const leg = this.legs.find((l) => l.kind === track.kind);
    if (!leg) return;
    track.onReceiveRtp.subscribe((rtp) => {
      if (!this.socket || !this.publisher) return;
      const negotiated = leg.transceiver.codecs.find((c) => !c.mimeType.toLowerCase().endsWith('/rtx'));
      if (!negotiated || rtp.header.payloadType !== negotiated.payloadType) return;
      leg.remoteSsrc = rtp.header.ssrc;
      const packet = rtp.serialize();
      packet[1] = (packet[1]! & 0x80) | leg.payloadType;
      packet.writeUInt32BE(leg.ssrc, 8);
      this.counted(packet.length);
      this.delivery.update(this.forwardedPackets, 0);
      this.socket.send(packet);
    });
  }

  private requestKeyFrame(): void {
    const video = this.legs.find((l) => l.kind === 'video');
    if (video?.remoteSsrc !== undefined)
      void video.transceiver.receiver.sendRtcpPLI(video.remoteSsrc).catch(() => undefined);
  }

  protected onRemoteStatus(event: StreamStatusEvent): void {
    if (event.status === StreamStatus.PLAYING) this.remoteUp();
    else if (event.status === StreamStatus.FAILED || event.status === StreamStatus.STOPPED)
      this.fail(
        PushFailureCode.REMOTE_REJECTED,
        `remote stream ${event.status}${event.info ? `: ${event.info}` : ''}`,
      );
  }

  protected releaseMedia(): void {
    this.socket?.close();
    this.socket = undefined;
    const publisher = this.publisher;
    this.publisher = undefined;
    publisher?.end(StreamStatus.UNPUBLISHED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
  }
}
