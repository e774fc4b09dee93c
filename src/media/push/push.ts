import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { MediaStreamTrack, type RTCPeerConnection } from 'werift';
import type { Publisher } from '../streams/publisher.js';
import { StreamStatus } from '../streams/status.js';
import { ProducerTap } from './producer-tap.js';
import { createPeer, weriftCodec } from './rtc-peer.js';
import { WcsClient, type StreamStatusEvent } from './wcs-client.js';

export type PushStatus = 'NEW' | 'PENDING' | 'PUBLISHING' | 'FAILED';

/** A push or pull as /rest-api/pull/find_all shows it. */
export interface PushDescription {
  localMediaSessionId: string;
  remoteMediaSessionId: string;
  localStreamName: string;
  remoteStreamName: string;
  uri: string;
  type: 'push' | 'pull';
  status: PushStatus;
  info?: string;
  createDate: number;
  /** RTP packets and bytes forwarded so far. */
  packets: number;
  bytes: number;
}

export interface PushEvents {
  status: [status: PushStatus, info: string | undefined];
}

export interface PushTarget {
  uri: string;
  url: URL;
  localStreamName: string;
  remoteStreamName: string;
  insecureTls: boolean;
}

/**
 * Republishes a local stream to a remote WCS server over WebRTC: we are the remote's client, exactly as a
 * browser would be (publishStream with our offer), fed with the local producers' RTP through ProducerTaps.
 */
export class Push extends EventEmitter<PushEvents> {
  readonly localMediaSessionId = randomUUID();
  readonly remoteMediaSessionId = randomUUID();
  readonly createdAt = Date.now();
  private statusValue: PushStatus = 'NEW';
  private infoValue: string | undefined;
  private client: WcsClient | undefined;
  private peer: RTCPeerConnection | undefined;
  /** One leg per media kind: mediasoup producer → tap → werift track. */
  private readonly legs: { tap: ProducerTap; track: MediaStreamTrack }[] = [];
  private packets = 0;
  private bytes = 0;
  private done = false;

  constructor(readonly target: PushTarget) {
    super();
  }

  get status(): PushStatus {
    return this.statusValue;
  }

  get terminated(): boolean {
    return this.done;
  }

  /** Sets the push up; resolves once the remote answered (status PENDING), rejects and cleans up on failure. */
  async start(source: Publisher): Promise<void> {
    try {
      for (const producer of source.producers.values()) {
        const track = new MediaStreamTrack({ kind: producer.kind });
        const tap = await ProducerTap.open(source.router, producer, (packet) => {
          this.packets++;
          this.bytes += packet.length;
          track.writeRtp(packet);
        });
        this.legs.push({ tap, track });
        if (this.done) throw new Error('terminated');
      }
      const codecs = { audio: this.codecsOf('audio'), video: this.codecsOf('video') };
      this.peer = createPeer(this.target.url.hostname.replace(/^\[|\]$/g, ''), codecs);
      for (const { tap, track } of this.legs) {
        const transceiver = this.peer.addTransceiver(track, { direction: 'sendonly' });
        transceiver.sender.onPictureLossIndication.subscribe(
          () => void tap.consumer.requestKeyFrame().catch(() => undefined),
        );
      }
      this.peer.connectionStateChange.subscribe((state) => {
        if (state === 'failed' || state === 'closed') this.fail(`WebRTC connection ${state}`);
      });
      const offer = await this.peer.createOffer();
      await this.peer.setLocalDescription(offer);
      const sdp = this.peer.localDescription?.sdp;
      if (!sdp) throw new Error('no local description');

      this.client = await WcsClient.connect(this.target.uri, { insecureTls: this.target.insecureTls });
      if (this.done) throw new Error('terminated');
      this.client.on('status', (event) => this.onRemoteStatus(event));
      this.client.on('closed', (reason) => this.fail(`remote session ended: ${reason}`));
      this.setStatus('PENDING');
      const { answer } = await this.client.publish(
        this.target.remoteStreamName,
        sdp,
        this.remoteMediaSessionId,
      );
      await this.peer.setRemoteDescription({ type: 'answer', sdp: answer });
      for (const { tap } of this.legs) await tap.consumer.resume();
    } catch (error) {
      this.fail((error as Error).message);
      throw error;
    }
  }

  describe(): PushDescription {
    const { uri, localStreamName, remoteStreamName } = this.target;
    return {
      localMediaSessionId: this.localMediaSessionId,
      remoteMediaSessionId: this.remoteMediaSessionId,
      localStreamName,
      remoteStreamName,
      uri,
      type: 'push',
      status: this.statusValue,
      ...(this.infoValue !== undefined ? { info: this.infoValue } : {}),
      createDate: this.createdAt,
      packets: this.packets,
      bytes: this.bytes,
    };
  }

  /** Ends with FAILED and releases everything; the push stays listed until terminated. */
  fail(reason: string): void {
    if (this.statusValue === 'FAILED' || this.done) return;
    this.setStatus('FAILED', reason);
    this.release(false);
  }

  /** Stops the push: the remote stream is unpublished and every local resource freed. */
  terminate(): void {
    if (this.done) return;
    this.done = true;
    this.release(true);
    this.removeAllListeners();
  }

  private onRemoteStatus(event: StreamStatusEvent): void {
    if (event.mediaSessionId !== this.remoteMediaSessionId) return;
    if (event.status === StreamStatus.PUBLISHING) {
      this.setStatus('PUBLISHING');
      for (const { tap } of this.legs) {
        if (tap.consumer.kind === 'video') void tap.consumer.requestKeyFrame().catch(() => undefined);
      }
    } else if (event.status === StreamStatus.FAILED || event.status === StreamStatus.UNPUBLISHED) {
      this.fail(`remote stream ${event.status}${event.info ? `: ${event.info}` : ''}`);
    }
  }

  private release(unpublishRemote: boolean): void {
    if (this.client && !this.client.closed) {
      if (unpublishRemote) this.client.stop(this.remoteMediaSessionId, this.target.remoteStreamName, true);
      this.client.close();
    }
    void this.peer?.close().catch(() => undefined);
    for (const { tap, track } of this.legs.splice(0)) {
      tap.close();
      track.stop();
    }
  }

  private codecsOf(kind: 'audio' | 'video'): ReturnType<typeof weriftCodec>[] {
    return this.legs.filter((l) => l.tap.consumer.kind === kind).map((l) => weriftCodec(l.tap.codec, kind));
  }

  private setStatus(status: PushStatus, info?: string): void {
    this.statusValue = status;
    this.infoValue = info;
    this.emit('status', status, info);
  }
}
