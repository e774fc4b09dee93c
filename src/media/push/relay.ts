import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { RTCPeerConnection } from 'werift';
import {
  PipeFallbackCode,
  PushFailureCode,
  type PipeFallback,
  type PushDescription,
  type PushProtocol,
  type PushStatus,
  type PushTransport,
} from '../../contracts/pull-api.js';
import type { ChainHop, PipeRemote, PipeStats, StreamStatusEvent } from '../../contracts/wcs-protocol.js';
import { DeliveryTracker } from './delivery.js';
import type { MediaLeg } from './media-leg.js';
import { loopProblem } from '../../contracts/loop-rule.js';
import { loopRefusal } from './push-chain.js';
import { RelayError, codeOf, withDeadline } from './relay-error.js';
import { connectSignalling } from './connect-signalling.js';
import type { SignallingClient } from './signalling.js';
import type { PeerNetwork } from './rtc-peer.js';
import type { PipeContext, PipeLeg, PipeSent } from './pipe-leg.js';
import { PipeRefusedError } from './pipe-peers.js';

export type { PushDescription, PushStatus } from '../../contracts/pull-api.js';
import type { RelayDeadlines } from '../media-options.js';

export interface RelayEvents {
  status: [status: PushStatus, info: string | undefined, code: PushFailureCode | undefined];
  /** A pipe was tried and the push goes on over WebRTC. */
  fallback: [fallback: PipeFallback];
}

/** What anyone may watch (mediasoup's `observer`): every status, and the one close. */
export interface RelayObserverEvents {
  status: [status: PushStatus, info: string | undefined, code: PushFailureCode | undefined];
  close: [];
}

export interface PushTarget {
  /** Where our peer opens its sockets and which ICE servers it uses (this server's, rtc-peer.ts). */
  network: PeerNetwork;
  /** The URI as the caller gave it (what we connect to and list). */
  uri: string;
  /** How we speak to it (signalling.ts connectSignalling picks the client by it). */
  protocol: PushProtocol;
  /** The target's identity (pushTargetKey): spellings of one target share it. */
  key: string;
  url: URL;
  localStreamName: string;
  remoteStreamName: string;
  insecureTls: boolean;
  custom?: Record<string, unknown> | undefined;
  /** Who asked for it (PushRequestBody.owner): listed, never sent to the remote. */
  owner?: string | undefined;
  /** WHIP/WHEP: sent as `Authorization: Bearer`; never listed or logged. */
  authToken?: string | undefined;
  /** WHIP/WHEP: where a redirect or a session URL on another origin may lead (the allow-list). */
  allow?: ((url: URL) => Promise<URL>) | undefined;
  deadlines: RelayDeadlines;
}

/**
 * A push or pull that may go over a mediasoup PipeTransport pair (pipe-leg.ts: push-pipe.ts, pull-pipe.ts)
 * when its remote is a streamfed server of another fleet that offers pipes in that direction (wcs-protocol.ts
 * `streamfedPipe`).
 */
export interface PipePlan {
  /** This server's fleet id: a remote in the same fleet is not piped to (that is the fleet's own business). */
  fleetId: string;
  /** The push chain sent in publishStream (push-chain.ts chainOf), checked for loops; a pull's is empty. */
  chain: ChainHop[];
  hasAudio: boolean;
  hasVideo: boolean;
  /** Makes our half of the pipe, once the remote's fleet is known. */
  open: (context: PipeContext) => Promise<PipeLeg>;
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
 * A push or a pull: one signalling client on the remote server (signalling.ts: WCS's WebSocket, or a
 * WHIP/WHEP endpoint over HTTP), one WebRTC peer, and one media leg (egress for a push, ingress for a pull: media-leg.ts), composed. The relay owns all three and
 * its timers: a status that only moves forward (NEW → PENDING → PUBLISHING, or FAILED with a code and the
 * reason), a deadline on every step that waits on the remote, delivery measured at the far end, and one
 * close() that frees everything and may be called any number of times. fail() frees everything too but
 * keeps the relay (FAILED, listed) until it is closed.
 */
export class Relay extends EventEmitter<RelayEvents> {
  readonly localMediaSessionId = randomUUID();
  #remoteMediaSessionId = randomUUID();
  readonly createdAt = Date.now();
  readonly observer = new EventEmitter<RelayObserverEvents>();
  readonly #target: PushTarget;
  readonly #leg: MediaLeg;
  readonly #delivery: DeliveryTracker;
  readonly #pipePlan: PipePlan | undefined;
  #client: SignallingClient | undefined;
  /** Our half of the pipe while the push or pull goes (or tries to go) over one. */
  #pipe: PipeLeg | undefined;
  #transport: PushTransport | undefined;
  #fallback: PipeFallback | undefined;
  #peer: RTCPeerConnection | undefined;
  #status: PushStatus = 'NEW';
  #info: string | undefined;
  #code: PushFailureCode | undefined;
  #packets = 0;
  #bytes = 0;
  #closed = false;
  #released = false;
  readonly #abort = new AbortController();
  /** Rejects when the relay fails or is closed: every step of start() races it. */
  readonly #ended: Promise<never>;
  #end!: (error: RelayError) => void;
  readonly #iceUp = deferred();
  #remoteUp = deferred();
  #mediaTimer: NodeJS.Timeout | undefined;

  /**
   * `makeLeg` builds the media leg (the WebRTC one); it is given the relay's local media session id. `pipe`:
   * a push or pull that may go over a pipe (tried first, the leg being the fallback).
   */
  constructor(target: PushTarget, makeLeg: (localMediaSessionId: string) => MediaLeg, pipe?: PipePlan) {
    super();
    this.#target = target;
    this.#pipePlan = pipe;
    this.#ended = new Promise<never>((_, reject) => (this.#end = reject));
    this.#ended.catch(() => undefined);
    this.#leg = makeLeg(this.localMediaSessionId);
    this.#delivery = new DeliveryTracker(target.deadlines.mediaMs, () => this.#sentSoFar());
    this.#leg.on('forwarded', (bytes) => {
      this.#packets++;
      this.#bytes += bytes;
    });
    this.#leg.on('delivered', (packets, lost) => this.#delivery.update(packets, lost));
    this.#leg.on('failed', (code, reason) => this.fail(code, reason));
  }

  /** Our stream's id on the remote (a new one when a push falls back from a pipe to WebRTC). */
  get remoteMediaSessionId(): string {
    return this.#remoteMediaSessionId;
  }

  get type(): 'push' | 'pull' {
    return this.#leg.type;
  }

  get target(): PushTarget {
    return this.#target;
  }

  get status(): PushStatus {
    return this.#status;
  }

  get closed(): boolean {
    return this.#closed;
  }

  describe(): PushDescription {
    const { uri, localStreamName, remoteStreamName } = this.#target;
    return {
      localMediaSessionId: this.localMediaSessionId,
      remoteMediaSessionId: this.remoteMediaSessionId,
      localStreamName,
      remoteStreamName,
      uri,
      protocol: this.#target.protocol,
      type: this.type,
      status: this.#status,
      ...(this.#info !== undefined ? { info: this.#info } : {}),
      ...(this.#code !== undefined ? { code: this.#code } : {}),
      createDate: this.createdAt,
      packets: this.#packets,
      bytes: this.#bytes,
      delivery: this.#delivery.view(),
      ...(this.#transport !== undefined ? { transport: this.#transport } : {}),
      ...(this.#fallback !== undefined ? { fallback: this.#fallback } : {}),
      ...(this.#target.owner !== undefined ? { owner: this.#target.owner } : {}),
    };
  }

  /**
   * Sets the relay up: resolves once it is PUBLISHING (remote status and ICE/DTLS both up), rejects with a
   * RelayError naming the step that failed or timed out; the relay is then FAILED and holds nothing.
   */
  async start(): Promise<void> {
    const leg = this.#leg;
    try {
      const client = await this.#step(this.#connect());
      const { iceMs, mediaMs } = this.#target.deadlines;
      const piped = await this.#pipeUp(client);
      if (!piped) {
        this.#transport = 'webrtc';
        await this.#step(leg.prepare());
        await this.#negotiate(client);
        await this.#step(leg.answered(client.fleetId));
        await Promise.all([
          this.#step(
            withDeadline(
              this.#iceUp.promise,
              iceMs,
              PushFailureCode.ICE_TIMEOUT,
              `ICE/DTLS with ${this.#target.uri} did not connect`,
            ),
          ),
          this.#step(
            withDeadline(
              this.#remoteUp.promise,
              mediaMs,
              PushFailureCode.STATUS_TIMEOUT,
              `${this.#target.uri} did not report ${leg.remoteUp}`,
            ),
          ),
        ]);
      }
      this.#setStatus('PUBLISHING');
      if (!piped) leg.publishing();
      this.#mediaTimer = setTimeout(() => {
        if (this.#delivery.packets === 0)
          this.fail(
            PushFailureCode.NO_MEDIA,
            leg.type === 'push'
              ? `no media delivered to ${this.#target.uri} within ${mediaMs} ms: ${piped ? 'its pipe producers report' : 'its receiver reports acknowledge'} none of the ${this.#sentSoFar() ?? 0} packets sent`
              : `no media received from ${this.#target.uri} within ${mediaMs} ms`,
          );
      }, mediaMs);
    } catch (error) {
      const relayError =
        error instanceof RelayError ? error : new RelayError(codeOf(error), (error as Error).message);
      this.fail(relayError.code, relayError.message);
      throw relayError;
    }
  }

  /** Ends with FAILED and releases everything; the relay stays (listed) until closed. */
  fail(code: PushFailureCode, reason: string): void {
    if (this.#status === 'FAILED' || this.#closed) return;
    this.#end(new RelayError(code, reason));
    this.#setStatus('FAILED', reason, code);
    this.#release(false);
  }

  /** Stops the relay: its remote stream ends and everything it owns is freed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end(new RelayError(PushFailureCode.LOCAL_ENDED, 'terminated'));
    this.#release(true);
    this.observer.emit('close');
    this.removeAllListeners();
    this.observer.removeAllListeners();
  }

  /** A step of start(): settles when `promise` does, or rejects as soon as the relay fails or ends. */
  #step<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.#ended]);
  }

  /**
   * Tries the pipe when the plan and the remote allow it: asks for the stream over it (publishStream for a
   * push, playStream for a pull) and waits, within the ICE deadline, for media: the remote reports it
   * arriving (a push's PUBLISHING), or it arrives here (a pull; after the remote's PLAYING). True once it does;
   * false when no pipe applies, the remote refused the pipe by code (streamfedPipeRefused: nothing made there,
   * our half freed), or the pipe carried nothing (the piped stream is ended there, our half freed), the reason
   * kept: the caller goes on over WebRTC. A remote's refusal of the stream, a loop, a deadline of the
   * signalling fail the relay as they would over WebRTC.
   */
  async #pipeUp(client: SignallingClient): Promise<boolean> {
    const plan = this.#pipePlan;
    const push = this.type === 'push';
    const signalling = client.pipe(this.type);
    const remoteFleet = client.fleetId;
    if (!plan || !signalling || remoteFleet === undefined || remoteFleet === plan.fleetId) return false;
    const { remoteStreamName, uri, deadlines } = this.#target;
    const loop = loopProblem(plan.chain, remoteFleet, remoteStreamName);
    if (loop !== undefined) throw loopRefusal(`${uri}: ${loop}`);
    const opening = plan.open({
      remoteFleetId: remoteFleet,
      localMediaSessionId: this.localMediaSessionId,
      sink: {
        delivered: (moved, packets, lost) => this.#pipeDelivered(moved, packets, lost),
        failed: (code, reason) => this.fail(code, reason),
      },
    });
    // a half made after the relay ended is freed as soon as it exists
    opening.then(
      (made) => this.#released && made.close(),
      () => undefined,
    );
    let pipe: PipeLeg;
    try {
      pipe = await this.#step(opening);
    } catch (error) {
      if (error instanceof RelayError) throw error;
      return this.#fellBack(PipeFallbackCode.UNAVAILABLE, `no pipe here: ${(error as Error).message}`);
    }
    this.#pipe = pipe;
    this.#transport = 'pipe';
    const id = this.remoteMediaSessionId;
    const { hasAudio, hasVideo, chain } = plan;
    let answer: PipeRemote;
    try {
      answer = await this.#step(
        withDeadline(
          pipe.request(signalling, remoteStreamName, id, {
            hasAudio,
            hasVideo,
            chain,
            custom: this.#target.custom,
          }),
          deadlines.answerMs,
          PushFailureCode.ANSWER_TIMEOUT,
          `no pipe answer from ${uri} to ${client.requestName(push)}`,
          () => client.cancel(id),
        ),
      );
    } catch (error) {
      if (!(error instanceof PipeRefusedError) || this.#released) throw error;
      // refused before anything was made there (our pipe's address is not one it lets a pipe send to)
      pipe.close();
      this.#pipe = undefined;
      return this.#fellBack(
        PipeFallbackCode.REFUSED,
        `${uri} refused the pipe (${error.code}): ${error.message}`,
      );
    }
    await this.#step(
      pipe.connect(answer).catch((error: unknown) => {
        if (error instanceof RelayError) throw error;
        throw new RelayError(
          PushFailureCode.PROTOCOL,
          `cannot use the pipe answer of ${uri}: ${(error as Error).message}`,
        );
      }),
    );
    const arrived = Promise.all([this.#remoteUp.promise, pipe.arriving]);
    try {
      await this.#step(
        withDeadline(
          arrived,
          deadlines.iceMs,
          PushFailureCode.STATUS_TIMEOUT,
          push ? `${uri} did not report media over the pipe` : `no media arrived from ${uri} over the pipe`,
        ),
      );
      return true;
    } catch (error) {
      if (codeOf(error) !== PushFailureCode.STATUS_TIMEOUT || this.#released) throw error;
    }
    // the pipe carries nothing (a firewall, a NAT): end the piped stream there and go on over WebRTC
    this.#remoteMediaSessionId = randomUUID();
    this.#remoteUp = deferred();
    client.stop(id, remoteStreamName, push);
    pipe.close();
    this.#pipe = undefined;
    const to = `${answer.ip}:${answer.port}`;
    return this.#fellBack(
      PipeFallbackCode.NO_MEDIA,
      push
        ? `${uri} reported no media over the pipe to ${to} within ${deadlines.iceMs} ms`
        : `no media over the pipe from ${uri} (${to}) arrived within ${deadlines.iceMs} ms`,
    );
  }

  #fellBack(code: PipeFallbackCode, info: string): false {
    this.#fallback = { code, info };
    this.emit('fallback', this.#fallback);
    return false;
  }

  /** What the remote says its pipe producers received (a push): delivery, beside what our half sent by then. */
  #onPipeStats(stats: PipeStats): void {
    const pipe = this.#pipe;
    if (!pipe) return;
    void pipe.sample().then((sent) => this.#pipeDelivered(sent, stats.packets, stats.lost));
  }

  /** Delivery over the pipe (measured by the remote for a push, here for a pull), and what our half moved. */
  #pipeDelivered(moved: PipeSent, packets: number, lost: number): void {
    if (this.#released) return;
    this.#packets = moved.packets;
    this.#bytes = moved.bytes;
    this.#delivery.update(packets, lost);
  }

  /** RTP packets our side has put on the wire: the pipe's, or the leg's. */
  #sentSoFar(): number | undefined {
    return this.#pipe ? this.#pipe.sentSoFar() : this.#leg.sentSoFar();
  }

  /**
   * Offers our peer to the remote as a browser would (publish for a push, play for a pull) and applies its
   * answer; the peer's failure fails the relay. A push whose chain already passed through the target's fleet
   * under this name is refused before it publishes (push-chain.ts).
   */
  async #negotiate(client: SignallingClient): Promise<void> {
    const host = this.#target.url.hostname.replace(/^\[|\]$/g, '');
    const { peer, offer } = this.#leg.createPeer(this.#target.network.iceConfig(host, client.iceServers));
    this.#peer = peer;
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
            `ICE/DTLS with ${this.#target.uri} ${state} before connecting`,
          );
      }
    });
    await this.#step(peer.setLocalDescription(await this.#step(peer.createOffer())));
    const sdp = peer.localDescription?.sdp;
    if (!sdp) throw new RelayError(PushFailureCode.INTERNAL, 'no local description');
    const { remoteStreamName, uri } = this.#target;
    const loop = loopProblem(offer.chain ?? [], client.fleetId, remoteStreamName);
    if (loop !== undefined) throw loopRefusal(`${uri}: ${loop}`);
    const id = this.remoteMediaSessionId;
    const options = { ...offer, custom: this.#target.custom };
    const push = this.type === 'push';
    const { answer } = await this.#step(
      withDeadline(
        push
          ? client.publish(remoteStreamName, sdp, id, options)
          : client.play(remoteStreamName, sdp, id, options),
        this.#target.deadlines.answerMs,
        PushFailureCode.ANSWER_TIMEOUT,
        `no answer SDP from ${uri} to ${client.requestName(push)}`,
        () => client.cancel(id),
      ),
    );
    try {
      await this.#step(peer.setRemoteDescription({ type: 'answer', sdp: answer }));
    } catch (error) {
      if (error instanceof RelayError) throw error;
      throw new RelayError(
        PushFailureCode.WEBRTC,
        `cannot use the answer SDP of ${uri}: ${(error as Error).message}`,
      );
    }
  }

  /** Opens the signalling session on the remote; its status events and its end drive ours. */
  async #connect(): Promise<SignallingClient> {
    const client = await connectSignalling(this.#target, this.#abort.signal);
    this.#client = client;
    if (this.#released) {
      client.close();
      throw new RelayError(PushFailureCode.LOCAL_ENDED, 'terminated');
    }
    client.on('status', (event) => {
      if (event.mediaSessionId === this.remoteMediaSessionId) this.#onRemoteStatus(event);
    });
    client.on('pipeStats', (stats) => {
      if (stats.mediaSessionId === this.remoteMediaSessionId) this.#onPipeStats(stats);
    });
    client.on('closed', (reason) =>
      this.fail(PushFailureCode.REMOTE_DISCONNECTED, `remote session ended: ${reason}`),
    );
    this.#setStatus('PENDING');
    return client;
  }

  /** A status event of our stream on the remote: up, or ended (the leg says which statuses are which). */
  #onRemoteStatus(event: StreamStatusEvent): void {
    if (event.status === this.#leg.remoteUp) this.#remoteUp.resolve();
    else if ((this.#leg.remoteEnds as readonly string[]).includes(event.status))
      this.fail(
        PushFailureCode.REMOTE_REJECTED,
        `remote stream ${event.status}${event.info ? `: ${event.info}` : ''}`,
      );
  }

  #setStatus(status: PushStatus, info?: string, code?: PushFailureCode): void {
    this.#status = status;
    this.#info = info;
    this.#code = code;
    this.emit('status', status, info, code);
    this.observer.emit('status', status, info, code);
  }

  /** Frees what the relay owns, the timers, the signalling client (ending our stream on the remote
   * when asked), the peer, the leg. */
  #release(stopRemote: boolean): void {
    if (this.#released) return;
    this.#released = true;
    this.#abort.abort();
    clearTimeout(this.#mediaTimer);
    const client = this.#client;
    if (client && !client.closed) {
      if (stopRemote)
        client.stop(this.remoteMediaSessionId, this.#target.remoteStreamName, this.type === 'push');
      client.close();
    }
    void this.#peer?.close().catch(() => undefined);
    this.#pipe?.close();
    this.#leg.close();
  }
}
