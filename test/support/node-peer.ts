import { randomBytes } from 'node:crypto';
import { MediaStreamTrack, RtpHeader, RtpPacket, type RTCPeerConnection } from 'werift';
import { createPeer, weriftCodec } from '../../src/media/push/rtc-peer.js';
import { WcsClient, type StreamStatusEvent } from '../../src/media/push/wcs-client.js';
import { mediaCodecs } from '../../src/media/rtc/codecs.js';
import { waitFor } from './media-server.js';

const opus = mediaCodecs.find((c) => c.mimeType === 'audio/opus');
const vp8 = mediaCodecs.find((c) => c.mimeType === 'video/VP8');

/** A WCS client in Node (werift for WebRTC): publishes synthetic RTP or plays, as a browser would. */
export class NodePeer {
  private readonly statuses: StreamStatusEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  received = 0;

  private constructor(
    readonly client: WcsClient,
    readonly peer: RTCPeerConnection,
    readonly mediaSessionId: string,
    readonly name: string,
    readonly published: boolean,
  ) {
    client.on('status', (e) => this.statuses.push(e));
  }

  static async publish(wsUrl: string, name: string): Promise<NodePeer> {
    const peer = createPeer('127.0.0.1', {
      audio: [weriftCodec(opus!, 'audio')],
      video: [weriftCodec(vp8!, 'video')],
    });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    const video = new MediaStreamTrack({ kind: 'video' });
    peer.addTransceiver(audio, { direction: 'sendonly' });
    peer.addTransceiver(video, { direction: 'sendonly' });
    const self = await NodePeer.negotiate(wsUrl, name, peer, true);
    let seq = 0;
    let ts = 0;
    // 50 packets/s of VP8-shaped payload: enough for mediasoup to see a live producer.
    self.timer = setInterval(() => {
      seq = (seq + 1) & 0xffff;
      ts = (ts + 1800) >>> 0;
      const header = new RtpHeader({
        payloadType: 96,
        sequenceNumber: seq,
        timestamp: ts,
        marker: true,
        ssrc: 1,
      });
      video.writeRtp(
        new RtpPacket(
          header,
          Buffer.concat([Buffer.from([0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a]), randomBytes(200)]),
        ),
      );
      const aheader = new RtpHeader({
        payloadType: 111,
        sequenceNumber: seq,
        timestamp: ts,
        marker: false,
        ssrc: 2,
      });
      audio.writeRtp(new RtpPacket(aheader, randomBytes(60)));
    }, 20);
    return self;
  }

  static async play(wsUrl: string, name: string): Promise<NodePeer> {
    const peer = createPeer('127.0.0.1', {
      audio: [weriftCodec(opus!, 'audio')],
      video: [weriftCodec(vp8!, 'video')],
    });
    peer.addTransceiver('audio', { direction: 'recvonly' });
    peer.addTransceiver('video', { direction: 'recvonly' });
    // tracks are announced during setRemoteDescription: count from before negotiation
    let received = 0;
    peer.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => received++));
    const self = await NodePeer.negotiate(wsUrl, name, peer, false);
    Object.defineProperty(self, 'received', { get: () => received });
    return self;
  }

  private static async negotiate(
    wsUrl: string,
    name: string,
    peer: RTCPeerConnection,
    publish: boolean,
  ): Promise<NodePeer> {
    const client = await WcsClient.connect(wsUrl);
    try {
      await peer.setLocalDescription(await peer.createOffer());
      const sdp = peer.localDescription?.sdp ?? '';
      const { mediaSessionId, answer } = publish
        ? await client.publish(name, sdp)
        : await client.play(name, sdp);
      const self = new NodePeer(client, peer, mediaSessionId, name, publish);
      await peer.setRemoteDescription({ type: 'answer', sdp: answer });
      return self;
    } catch (error) {
      client.close();
      await peer.close();
      throw error;
    }
  }

  lastStatus(): string | undefined {
    return this.statuses.filter((s) => s.mediaSessionId === this.mediaSessionId).at(-1)?.status;
  }

  async waitStatus(status: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(
      () => this.statuses.some((s) => s.mediaSessionId === this.mediaSessionId && s.status === status),
      `${this.name} ${status}`,
      timeoutMs,
    );
  }

  /** Stops the stream the protocol way (unPublishStream/stopStream) and closes everything. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.client.stop(this.mediaSessionId, this.name, this.published);
    await this.waitStatus(this.published ? 'UNPUBLISHED' : 'STOPPED').catch(() => undefined);
    this.client.close();
    await this.peer.close();
  }
}
