import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import type { ChainHop } from '../../contracts/wcs-protocol.js';
import { StreamInfo, StreamStatus, isFinal, type MediaProvider, type StreamDescription } from './status.js';
import type { FrameSize } from '../rtc/video-size.js';

export interface MediaSessionEvents {
  /** Every status change, final ones included (UNPUBLISHED, STOPPED, FAILED). */
  status: [status: StreamStatus, info: string | undefined];
}

export interface MediaSessionInit {
  appKey: string;
  sessionId: string;
  mediaSessionId: string;
  name: string;
  /** The video size a publisher's client declared (its getUserMedia constraints); 0 when unknown. */
  declaredSize?: VideoSize;
  /** A publisher that arrived by a streamfed push: the push chain it came by (publishStream's streamfedChain). */
  chain?: ChainHop[];
  /** How the stream came: `WebRTC` (a WCS client, the default), or `WHIP`/`WHEP` (src/media/whip/). */
  mediaProvider?: MediaProvider;
}

/** A stream's video size: what its key frames say, or what its publisher asked for. */
export type VideoSize = FrameSize;

/**
 * One published or played stream on one transport. Owns its transport unless told otherwise (release()):
 * ending the session closes it, and with it every producer and consumer mediasoup made on it.
 */
export abstract class MediaSession extends EventEmitter<MediaSessionEvents> {
  abstract readonly published: boolean;
  private statusValue: StreamStatus = StreamStatus.PENDING;
  private infoValue: string | undefined;
  readonly createdAt = Date.now();

  protected constructor(
    readonly init: MediaSessionInit,
    readonly transport: ms.Transport,
  ) {
    super();
    // A WebRTC session is live once DTLS is up and dies with ICE/DTLS; a relayed one (plain transport,
    // fed by a server-to-server pull) is told by its owner through connected().
    if (transport.type !== 'webrtc') return;
    const webrtc = transport as ms.WebRtcTransport;
    webrtc.on('dtlsstatechange', (state) => {
      if (state === 'connected') this.onConnected();
      else if (state === 'failed' || state === 'closed')
        this.end(StreamStatus.FAILED, StreamInfo.FAILED_BY_DTLS_ERROR);
    });
    webrtc.on('icestatechange', (state) => {
      if (state === 'disconnected' || state === 'closed')
        this.end(StreamStatus.FAILED, StreamInfo.FAILED_BY_ICE_ERROR);
    });
  }

  /** For sessions whose media path is not WebRTC: the media is flowing. */
  connected(): void {
    if (!this.ended) this.onConnected();
  }

  get status(): StreamStatus {
    return this.statusValue;
  }
  get info(): string | undefined {
    return this.infoValue;
  }
  get name(): string {
    return this.init.name;
  }
  get mediaSessionId(): string {
    return this.init.mediaSessionId;
  }
  get ended(): boolean {
    return isFinal(this.statusValue);
  }

  /** The status a normal stop ends in: UNPUBLISHED for a publisher, STOPPED for a player. */
  abstract readonly stoppedStatus: StreamStatus;
  protected abstract onConnected(): void;
  /** The size of the video this session carries: measured from the video where possible. */
  abstract videoSize(): VideoSize;
  /** The frame rate of the video this session carries, read from the video; 0 without video. */
  abstract frameRate(): Promise<number>;
  protected abstract codecs(): {
    audioCodec?: string;
    videoCodec?: string;
    hasAudio: boolean;
    hasVideo: boolean;
  };

  /** Ends the session once; later calls are no-ops, so every path out may call it. */
  end(status: StreamStatus = this.stoppedStatus, info?: string): void {
    if (this.ended) return;
    this.setStatus(status, info);
    this.release();
    this.removeAllListeners();
  }

  /** Frees what the session owns once it ended: its transport. */
  protected release(): void {
    this.transport.close();
  }

  protected setStatus(status: StreamStatus, info?: string): void {
    if (this.ended || (status === this.statusValue && info === this.infoValue)) return;
    this.statusValue = status;
    this.infoValue = info;
    this.emit('status', status, info);
  }

  describe(): StreamDescription {
    const { appKey, sessionId, mediaSessionId, name } = this.init;
    return {
      appKey,
      sessionId,
      mediaSessionId,
      name,
      published: this.published,
      ...this.codecs(),
      status: this.statusValue,
      ...(this.infoValue !== undefined ? { info: this.infoValue } : {}),
      record: false,
      ...this.videoSize(),
      bitrate: 0,
      minBitrate: 0,
      maxBitrate: 0,
      quality: 0,
      mediaProvider: this.init.mediaProvider ?? 'WebRTC',
      mediaType: this.published ? 'publish' : 'play',
      history: false,
      transport: 'UDP',
      cvoExtension: false,
      audioState: { muted: false },
      videoState: { muted: false },
      createDate: this.createdAt,
    };
  }

  /**
   * Live counters for /stream/find `display: ["metrics"]`, under WCS's names: per kind the bitrate
   * (`VIDEO_RATE`, `AUDIO_RATE`, bits/s), packets lost, NACKs and PLIs, the video size and frame rate
   * (`VIDEO_FPS`), and `VIDEO_B_FRAMES` (always 0: WebRTC video has no B-frames). From mediasoup's stats of
   * the producers (a publisher) or consumers (a player); the frame rate from the video itself.
   */
  async metrics(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const own = this.published ? 'inbound-rtp' : 'outbound-rtp';
    for (const [kind, object] of this.mediaObjects()) {
      const prefix = kind === 'video' ? 'VIDEO' : 'AUDIO';
      const stats = await object.getStats().catch(() => []);
      let rate = 0;
      let lost = 0;
      let nack = 0;
      let pli = 0;
      for (const s of stats) {
        if (s.type === own) {
          rate += s.bitrate;
          lost += s.packetsLost;
          nack += s.nackCount;
          pli += s.pliCount;
        }
      }
      Object.assign(out, {
        [`${prefix}_RATE`]: rate,
        [`${prefix}_LOST`]: lost,
        [`${prefix}_NACK`]: nack,
        [`${prefix}_PLI`]: pli,
      });
    }
    if (out['VIDEO_RATE'] !== undefined) {
      const { width, height } = this.videoSize();
      Object.assign(out, {
        VIDEO_WIDTH: width,
        VIDEO_HEIGHT: height,
        VIDEO_FPS: await this.frameRate(),
        VIDEO_B_FRAMES: 0,
      });
    }
    return out;
  }

  /** The producers (publisher) or consumers (player) that carry this session's media, by kind. */
  protected abstract mediaObjects(): [
    kind: string,
    object: { getStats(): Promise<(ms.ProducerStat | ms.ConsumerStat)[]> },
  ][];
}

export const codecName = (p: { rtpParameters: ms.RtpParameters } | undefined): string | undefined =>
  p?.rtpParameters.codecs[0]?.mimeType.split('/')[1];
