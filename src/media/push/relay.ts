import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { RTCPeerConnection } from 'werift';
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
 * What a push and a pull share: a WCS client session on the remote server, a WebRTC peer, a status that
 * only moves forward (NEW → PENDING → PUBLISHING, or FAILED with the reason), and one way out that frees
 * everything. Subclasses supply the media legs.
 */
export abstract class Relay extends EventEmitter<PushEvents> {
  abstract readonly type: 'push' | 'pull';
  readonly localMediaSessionId = randomUUID();
  readonly remoteMediaSessionId = randomUUID();
  readonly createdAt = Date.now();
  protected client: WcsClient | undefined;
  protected peer: RTCPeerConnection | undefined;
  private statusValue: PushStatus = 'NEW';
  private infoValue: string | undefined;
  private packets = 0;
  private bytes = 0;
  private done = false;

  constructor(readonly target: PushTarget) {
    super();
  }

  get status(): PushStatus {
    return this.statusValue;
  }

  protected get terminated(): boolean {
    return this.done;
  }

  describe(): PushDescription {
    const { uri, localStreamName, remoteStreamName } = this.target;
    return {
      localMediaSessionId: this.localMediaSessionId,
      remoteMediaSessionId: this.remoteMediaSessionId,
      localStreamName,
      remoteStreamName,
      uri,
      type: this.type,
      status: this.statusValue,
      ...(this.infoValue !== undefined ? { info: this.infoValue } : {}),
      createDate: this.createdAt,
      packets: this.packets,
      bytes: this.bytes,
    };
  }

  /** Ends with FAILED and releases everything; the relay stays listed until terminated. */
  fail(reason: string): void {
    if (this.statusValue === 'FAILED' || this.done) return;
    this.setStatus('FAILED', reason);
    this.release(false);
  }

  /** Stops the relay: its remote stream ends and every local resource is freed. */
  terminate(): void {
    if (this.done) return;
    this.done = true;
    this.release(true);
    this.removeAllListeners();
  }

  /**
   * Offers our peer to the remote as a browser would (publishStream for a push, playStream for a pull) and
   * applies its answer; the peer's failure fails the relay.
   */
  protected async negotiate(peer: RTCPeerConnection): Promise<void> {
    this.peer = peer;
    peer.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'closed') this.fail(`WebRTC connection ${state}`);
    });
    await peer.setLocalDescription(await peer.createOffer());
    const sdp = peer.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    const client = await this.connect();
    const { remoteStreamName } = this.target;
    const { answer } =
      this.type === 'push'
        ? await client.publish(remoteStreamName, sdp, this.remoteMediaSessionId)
        : await client.play(remoteStreamName, sdp, this.remoteMediaSessionId);
    await peer.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  /** Opens the WCS session on the remote; its status events and its end drive ours. */
  private async connect(): Promise<WcsClient> {
    const client = await WcsClient.connect(this.target.uri, { insecureTls: this.target.insecureTls });
    this.client = client;
    if (this.done) throw new Error('terminated');
    client.on('status', (event) => {
      if (event.mediaSessionId === this.remoteMediaSessionId) this.onRemoteStatus(event);
    });
    client.on('closed', (reason) => this.fail(`remote session ended: ${reason}`));
    this.setStatus('PENDING');
    return client;
  }

  protected abstract onRemoteStatus(event: StreamStatusEvent): void;
  /** Frees the subclass's media legs. */
  protected abstract releaseMedia(): void;

  protected counted(bytes: number): void {
    this.packets++;
    this.bytes += bytes;
  }

  protected setStatus(status: PushStatus, info?: string): void {
    this.statusValue = status;
    this.infoValue = info;
    this.emit('status', status, info);
  }

  private release(stopRemote: boolean): void {
    if (this.client && !this.client.closed) {
      if (stopRemote)
        this.client.stop(this.remoteMediaSessionId, this.target.remoteStreamName, this.type === 'push');
      this.client.close();
    }
    void this.peer?.close().catch(() => undefined);
    this.releaseMedia();
  }
}
