import { randomBytes, randomInt } from 'node:crypto';
import { MediaStreamTrack, RtpHeader, RtpPacket, type PeerConfig, type RTCPeerConnection } from 'werift';
import { createPeer } from '../../src/media/push/rtc-peer.js';
import { weriftCodec } from '../../src/media/rtc/codec-params.js';
import { WcsClient, type StreamStatusEvent } from '../../src/media/push/wcs-client.js';
import { mediaCodecs } from '../../src/media/rtc/codecs.js';

/** A test client's ICE options: one host candidate on `bindIp` (an OS-chosen port), no STUN server. */
export function clientIce(bindIp = '127.0.0.1'): Partial<PeerConfig> {
  return {
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [bindIp],
    iceInterfaceAddresses: { udp4: bindIp },
  };
}

/** What a test client asks for: congestion feedback, as a browser does. */
export const BROWSER_LIKE = { congestionFeedback: true };

const opus = mediaCodecs.find((c) => c.mimeType === 'audio/opus');
const vp8 = mediaCodecs.find((c) => c.mimeType === 'video/VP8');
/** The size our synthetic VP8 key frames declare. */
export const SYNTHETIC_VIDEO_SIZE = { width: 320, height: 240 };
// VP8 payload descriptor (S bit, partition 0), then a key frame's header: frame tag, start code, size
const KEY_FRAME_START = Buffer.from([
  0x10,
  0x00,
  0x00,
  0x00,
  0x9d,
  0x01,
  0x2a,
  SYNTHETIC_VIDEO_SIZE.width & 0xff,
  SYNTHETIC_VIDEO_SIZE.width >> 8,
  SYNTHETIC_VIDEO_SIZE.height & 0xff,
  SYNTHETIC_VIDEO_SIZE.height >> 8,
]);
const CONTINUATION = Buffer.alloc(KEY_FRAME_START.length);
/** Where a synthetic video packet carries its tag (a per-sender packet counter). */
export const TAG_OFFSET = KEY_FRAME_START.length;
const filler = randomBytes(1500);

export interface PublishOptions {
  /** The address the peer's socket binds (default 127.0.0.1). */
  bindIp?: string;
  /** Video-only, at about this many bits per second (30 frames/s of ~1,100-byte packets). */
  videoBitrate?: number;
  /** Called with each video packet's tag just before it is written. */
  onSend?: (tag: number) => void;
}

export interface PlayOptions {
  /** The address the peer's socket binds (default 127.0.0.1). */
  bindIp?: string;
  /** Called with every RTP packet received. */
  onRtp?: (packet: RtpPacket) => void;
  /** The kinds to ask for (default both); werift cannot take an answer that rejects one. */
  kinds?: ('audio' | 'video')[];
}

/** Packets per frame and bytes per packet for a bitrate at 30 frames/s. */
function frameShape(bitrate: number): { packets: number; size: number } {
  const frameBytes = bitrate / 8 / 30;
  const packets = Math.max(1, Math.ceil(frameBytes / 1100));
  return { packets, size: Math.max(TAG_OFFSET + 4, Math.round(frameBytes / packets)) };
}

/**
 * Writes synthetic media on the tracks: by default 50 small VP8-shaped packets/s plus opus-sized audio (when
 * the audio track is negotiated); with `videoBitrate`, video only at that rate. `self` gives the key frames' size
 * and counts what was sent. Returns the timer (clear it to stop).
 */
export function sendSynthetic(
  audio: MediaStreamTrack,
  video: MediaStreamTrack,
  options: PublishOptions,
  self: { videoSize: { width: number; height: number }; sentPackets: number },
): NodeJS.Timeout {
  const frame = options.videoBitrate === undefined ? undefined : frameShape(options.videoBitrate);
  const ssrc = randomInt(1, 2 ** 31);
  let seq = 0;
  let ts = 0;
  let tag = 0;
  const sendVideo = (first: boolean, last: boolean, size: number): void => {
    seq = (seq + 1) & 0xffff;
    tag = (tag + 1) >>> 0;
    const header = new RtpHeader({
      payloadType: 96,
      sequenceNumber: seq,
      timestamp: ts,
      marker: last,
      ssrc,
    });
    const payload = Buffer.allocUnsafe(size);
    filler.copy(payload, 0, 0, size);
    // VP8 payload descriptor (S bit on a frame's first packet), then our tag where a decoder would not look
    (first ? KEY_FRAME_START : CONTINUATION).copy(payload, 0);
    if (first) {
      payload.writeUInt16LE(self.videoSize.width, 7);
      payload.writeUInt16LE(self.videoSize.height, 9);
    }
    payload.writeUInt32BE(tag, TAG_OFFSET);
    options.onSend?.(tag);
    video.writeRtp(new RtpPacket(header, payload));
    self.sentPackets++;
  };
  return setInterval(
    () => {
      if (!frame) {
        ts = (ts + 1800) >>> 0;
        sendVideo(true, true, 206);
        const aheader = new RtpHeader({
          payloadType: 111,
          sequenceNumber: seq,
          timestamp: ts,
          marker: false,
          ssrc: ssrc + 1,
        });
        audio.writeRtp(new RtpPacket(aheader, filler.subarray(0, 60)));
        return;
      }
      ts = (ts + 3000) >>> 0;
      for (let i = 0; i < frame.packets; i++) sendVideo(i === 0, i === frame.packets - 1, frame.size);
    },
    frame ? 1000 / 30 : 20,
  );
}

/** A WCS client in Node (werift for WebRTC): publishes synthetic RTP or plays, as a browser would. */
export class NodePeer {
  private readonly statuses: StreamStatusEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  received = 0;
  /** Video packets written by a publisher. */
  sentPackets = 0;
  /** The size a publisher's key frames declare; change it to change resolution mid-stream. */
  videoSize = { ...SYNTHETIC_VIDEO_SIZE };

  private constructor(
    readonly client: WcsClient,
    readonly peer: RTCPeerConnection,
    readonly mediaSessionId: string,
    readonly name: string,
    readonly published: boolean,
  ) {
    client.on('status', (e) => this.statuses.push(e));
  }

  /**
   * Publishes synthetic media. By default 50 small VP8-shaped packets/s plus opus-sized audio: enough for
   * mediasoup to see a live producer. With `videoBitrate`, video only, 30 frames/s of ~1,100-byte packets
   * at that rate (a realistic source for benchmarks); `onSend` sees each video packet's tag as it leaves.
   */
  static async publish(wsUrl: string, name: string, options: PublishOptions = {}): Promise<NodePeer> {
    const audioOn = options.videoBitrate === undefined;
    const peer = createPeer(
      {
        audio: audioOn ? [weriftCodec(opus!, 'audio')] : [],
        video: [weriftCodec(vp8!, 'video')],
      },
      BROWSER_LIKE,
      clientIce(options.bindIp),
    );
    const audio = new MediaStreamTrack({ kind: 'audio' });
    const video = new MediaStreamTrack({ kind: 'video' });
    if (audioOn) peer.addTransceiver(audio, { direction: 'sendonly' });
    peer.addTransceiver(video, { direction: 'sendonly' });
    const self = await NodePeer.negotiate(wsUrl, name, peer, true);
    self.timer = sendSynthetic(audio, video, options, self);
    return self;
  }

  static async play(wsUrl: string, name: string, options: PlayOptions = {}): Promise<NodePeer> {
    const peer = createPeer(
      {
        audio: [weriftCodec(opus!, 'audio')],
        video: [weriftCodec(vp8!, 'video')],
      },
      BROWSER_LIKE,
      clientIce(options.bindIp),
    );
    for (const kind of options.kinds ?? ['audio', 'video'])
      peer.addTransceiver(kind, { direction: 'recvonly' });
    // tracks are announced during setRemoteDescription: count from before negotiation
    let received = 0;
    peer.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) => {
        received++;
        options.onRtp?.(rtp);
      }),
    );
    const self = await NodePeer.negotiate(wsUrl, name, peer, false);
    Object.defineProperty(self, 'received', { get: () => received });
    return self;
  }

  /**
   * A publisher of `name` on one server PUBLISHING and a player of it on another PLAYING (relayed between
   * them); each is handed to `keep` as soon as it exists, so a test's teardown closes it even on failure.
   */
  static async relayed(
    publishWsUrl: string,
    playWsUrl: string,
    name: string,
    keep: (peer: NodePeer) => void,
  ): Promise<{ publisher: NodePeer; player: NodePeer }> {
    const publisher = await NodePeer.publish(publishWsUrl, name);
    keep(publisher);
    await publisher.waitStatus('PUBLISHING');
    const player = await NodePeer.play(playWsUrl, name);
    keep(player);
    await player.waitStatus('PLAYING', 20_000);
    return { publisher, player };
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

  /** Resolves as the status event arrives (no polling: benchmarks time it). */
  async waitStatus(status: string, timeoutMs = 10_000): Promise<void> {
    const seen = (e: StreamStatusEvent): boolean =>
      e.mediaSessionId === this.mediaSessionId && e.status === status;
    if (this.statuses.some(seen)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('status', listener);
        reject(new Error(`timed out waiting for ${this.name} ${status}`));
      }, timeoutMs);
      const listener = (e: StreamStatusEvent): void => {
        if (!seen(e)) return;
        clearTimeout(timer);
        this.client.off('status', listener);
        resolve();
      };
      this.client.on('status', listener);
    });
  }

  /** Stops the stream the protocol way (unPublishStream/stopStream) and closes everything. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    // A server that went away answers nothing: only a live connection is worth waiting on.
    if (!this.client.closed) {
      this.client.stop(this.mediaSessionId, this.name, this.published);
      await this.waitStatus(this.published ? 'UNPUBLISHED' : 'STOPPED').catch(() => undefined);
    }
    await this.close();
  }

  /** Closes everything without telling the server (for a stream the server already ended). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.client.close();
    await this.peer.close();
  }
}
