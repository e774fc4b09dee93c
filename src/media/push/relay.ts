import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { RTCPeerConnection } from 'werift';
import { PushFailureCode, type PushDescription, type PushStatus } from '../../contracts/pull-api.js';
import { loopProblem } from './push-chain.js';
import { DeliveryTracker } from './delivery.js';
import { RelayError, codeOf, withDeadline } from './relay-error.js';
import { WcsClient, type OfferOptions, type StreamStatusEvent } from './wcs-client.js';

export type { PushDescription, PushStatus } from '../../contracts/pull-api.js';

export interface PushEvents {
  status: [status: PushStatus, info: string | undefined, code: PushFailureCode | undefined];
}

/** How long each step that waits on the remote may take (see the --push-*-timeout-ms options). */
export interface RelayDeadlines {
  /** TCP/TLS connect and WebSocket upgrade. */
  connectMs: number;
  /** `connection` → `getUserData`. */
  handshakeMs: number;
  /** publishStream/playStream → `setRemoteSDP`. */
  answerMs: number;
  /** Answer applied → ICE and DTLS connected. */
  iceMs: number;
  /** Answer applied → the remote's PUBLISHING (push) / PLAYING (pull); then PUBLISHING → first media delivered. */
  mediaMs: number;
}

export interface PushTarget {
  /** The URI as the caller gave it (what we connect to and list). */
  uri: string;
  /** The target's identity (pushTargetKey): spellings of one target share it. */
  key: string;
  url: URL;
  localStreamName: string;
  remoteStreamName: string;
  insecureTls: boolean;
  custom?: Record<string, unknown> | undefined;
  deadlines: RelayDeadlines;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * What a push and a pull share: a WCS client session on the remote server, a WebRTC peer, a status that
 * only moves forward (NEW → PENDING → PUBLISHING, or FAILED with a code and the reason), a deadline on every
 * step that waits on the remote, delivery measured at the far end, and one way out that frees everything.
 * Subclasses supply the media legs.
 */
export abstract class Relay extends EventEmitter<PushEvents> {
  abstract readonly type: 'push' | 'pull';
  readonly localMediaSessionId = randomUUID();
  readonly remoteMediaSessionId = randomUUID();
  readonly createdAt = Date.now();
  protected client: WcsClient | undefined;
  protected peer: RTCPeerConnection | undefined;
  protected readonly delivery: DeliveryTracker;
  #status: PushStatus = 'NEW';
  #info: string | undefined;
  #code: PushFailureCode | undefined;
  #packets = 0;
  #bytes = 0;
  #done = false;
  readonly #abort = new AbortController();
  /** Rejects when the relay fails or is terminated: every step of start() races it. */
  readonly #ended: Promise<never>;
  #end!: (error: RelayError) => void;
  readonly #iceUp = deferred();
  readonly #remoteUp = deferred();
  #mediaTimer: NodeJS.Timeout | undefined;

  constructor(readonly target: PushTarget) {
    super();
    this.#ended = new Promise<never>((_, reject) => (this.#end = reject));
    this.#ended.catch(() => undefined);
    this.delivery = new DeliveryTracker(target.deadlines.mediaMs, () => this.sentSoFar());
  }

  get status(): PushStatus {
    return this.#status;
  }

  protected get terminated(): boolean {
    return this.#done;
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
      status: this.#status,
      ...(this.#info !== undefined ? { info: this.#info } : {}),
      ...(this.#code !== undefined ? { code: this.#code } : {}),
      createDate: this.createdAt,
      packets: this.#packets,
      bytes: this.#bytes,
      delivery: this.delivery.view(),
    };
  }

  /**
   * Sets the relay up: resolves once it is PUBLISHING (remote status and ICE/DTLS both up), rejects with a
   * RelayError naming the step that failed or timed out; the relay is then FAILED and holds nothing.
   */
  async start(): Promise<void> {
    try {
      await this.step(this.prepare());
      await this.negotiate();
      await this.step(this.onAnswered());
      const { iceMs, mediaMs } = this.target.deadlines;
      const remoteStatus = this.type === 'push' ? 'PUBLISHING' : 'PLAYING';
      await Promise.all([
        this.step(
          withDeadline(
            this.#iceUp.promise,
            iceMs,
            PushFailureCode.ICE_TIMEOUT,
            `ICE/DTLS with ${this.target.uri} did not connect`,
          ),
        ),
        this.step(
          withDeadline(
            this.#remoteUp.promise,
            mediaMs,
            PushFailureCode.STATUS_TIMEOUT,
            `${this.target.uri} did not report ${remoteStatus}`,
          ),
        ),
      ]);
      this.setStatus('PUBLISHING');
      this.onPublishing();
      this.#mediaTimer = setTimeout(() => {
        if (this.delivery.packets === 0)
          this.fail(
            PushFailureCode.NO_MEDIA,
            this.type === 'push'
              ? `no media delivered to ${this.target.uri} within ${mediaMs} ms: its receiver reports acknowledge none of the ${this.sentSoFar() ?? 0} packets sent`
              : `no media received from ${this.target.uri} within ${mediaMs} ms`,
          );
      }, mediaMs);
    } catch (error) {
      const relayError =
        error instanceof RelayError ? error : new RelayError(codeOf(error), (error as Error).message);
      this.fail(relayError.code, relayError.message);
      throw relayError;
    }
  }

  /** Ends with FAILED and releases everything; the relay stays listed until terminated. */
  fail(code: PushFailureCode, reason: string): void {
    if (this.#status === 'FAILED' || this.#done) return;
    this.#end(new RelayError(code, reason));
    this.setStatus('FAILED', reason, code);
    this.release(false);
  }

  /** Stops the relay: its remote stream ends and every local resource is freed. */
  terminate(): void {
    if (this.#done) return;
    this.#done = true;
    this.#end(new RelayError(PushFailureCode.LOCAL_ENDED, 'terminated'));
    this.release(true);
    this.removeAllListeners();
  }

  /** Builds the local media legs (before any remote step). */
  protected abstract prepare(): Promise<void>;
  /** The WebRTC peer to offer, with its transceivers, and what the offer says about itself. */
  protected abstract createPeer(): { peer: RTCPeerConnection; offer: OfferOptions };
  /** The answer is applied: start feeding media. */
  protected abstract onAnswered(): Promise<void>;
  /** The relay is PUBLISHING. */
  protected abstract onPublishing(): void;
  /** RTP packets our side has put on the wire (push); undefined for a pull, which always expects media. */
  protected abstract sentSoFar(): number | undefined;
  /** Frees the subclass's media legs. */
  protected abstract releaseMedia(): void;
  /** A status event of our stream on the remote. */
  protected abstract onRemoteStatus(event: StreamStatusEvent): void;

  /** The remote reported the stream up (PUBLISHING for a push, PLAYING for a pull). */
  protected remoteUp(): void {
    this.#remoteUp.resolve();
  }

  /** A step of start(): settles when `promise` does, or rejects as soon as the relay fails or ends. */
  private step<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.#ended]);
  }

  /**
   * Offers our peer to the remote as a browser would (publishStream for a push, playStream for a pull) and
   * applies its answer; the peer's failure fails the relay.
   */
  private async negotiate(): Promise<void> {
    const { peer, offer } = this.createPeer();
    this.peer = peer;
    let connected = false;
    peer.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        connected = true;
        this.#iceUp.resolve();
      } else if (state === 'failed' || state === 'closed') {
        if (connected) this.fail(PushFailureCode.WEBRTC, `WebRTC connection ${state}`);
        else
          this.fail(
            PushFailureCode.ICE_FAILED,
            `ICE/DTLS with ${this.target.uri} ${state} before connecting`,
          );
      }
    });
    await this.step(peer.setLocalDescription(await this.step(peer.createOffer())));
    const sdp = peer.localDescription?.sdp;
    if (!sdp) throw new RelayError(PushFailureCode.INTERNAL, 'no local description');
    const client = await this.step(this.connect());
    const { remoteStreamName, uri } = this.target;
    const loop = loopProblem(offer.chain ?? [], client.fleetId, remoteStreamName);
    if (loop !== undefined) throw new RelayError(PushFailureCode.LOOP, `${uri}: ${loop}`);
    const id = this.remoteMediaSessionId;
    const options = { ...offer, custom: this.target.custom };
    const { answer } = await this.step(
      withDeadline(
        this.type === 'push'
          ? client.publish(remoteStreamName, sdp, id, options)
          : client.play(remoteStreamName, sdp, id, options),
        this.target.deadlines.answerMs,
        PushFailureCode.ANSWER_TIMEOUT,
        `no answer SDP from ${uri} to ${this.type === 'push' ? 'publishStream' : 'playStream'}`,
        () => client.cancel(id),
      ),
    );
    try {
      await this.step(peer.setRemoteDescription({ type: 'answer', sdp: answer }));
    } catch (error) {
      if (error instanceof RelayError) throw error;
      throw new RelayError(
        PushFailureCode.WEBRTC,
        `cannot use the answer SDP of ${uri}: ${(error as Error).message}`,
      );
    }
  }

  /** Opens the WCS session on the remote; its status events and its end drive ours. */
  private async connect(): Promise<WcsClient> {
    const { connectMs, handshakeMs } = this.target.deadlines;
    const client = await WcsClient.connect(this.target.uri, {
      insecureTls: this.target.insecureTls,
      connectTimeoutMs: connectMs,
      handshakeTimeoutMs: handshakeMs,
      custom: this.target.custom,
      signal: this.#abort.signal,
    });
    this.client = client;
    if (this.#done || this.#status === 'FAILED') {
      client.close();
      throw new RelayError(PushFailureCode.LOCAL_ENDED, 'terminated');
    }
    client.on('status', (event) => {
      if (event.mediaSessionId === this.remoteMediaSessionId) this.onRemoteStatus(event);
    });
    client.on('closed', (reason) =>
      this.fail(PushFailureCode.REMOTE_DISCONNECTED, `remote session ended: ${reason}`),
    );
    this.setStatus('PENDING');
    return client;
  }

  protected counted(bytes: number): void {
    this.#packets++;
    this.#bytes += bytes;
  }

  protected get forwardedPackets(): number {
    return this.#packets;
  }

  protected setStatus(status: PushStatus, info?: string, code?: PushFailureCode): void {
    this.#status = status;
    this.#info = info;
    this.#code = code;
    this.emit('status', status, info, code);
  }

  private release(stopRemote: boolean): void {
    this.#abort.abort();
    clearTimeout(this.#mediaTimer);
    if (this.client && !this.client.closed) {
      if (stopRemote)
        this.client.stop(this.remoteMediaSessionId, this.target.remoteStreamName, this.type === 'push');
      this.client.close();
    }
    void this.peer?.close().catch(() => undefined);
    this.releaseMedia();
  }
}
