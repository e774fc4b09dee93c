import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { PushFailureCode } from '../../contracts/pull-api.js';
import {
  decodeServerFrame,
  encodeClientFrame,
  pipeServes,
  type ClientMessages,
  type PipeOffer,
  type PipeRemote,
  type UserData,
} from '../../contracts/wcs-protocol.js';
import type { PipeTuple } from '../../contracts/pipe-media.js';
import type { IceServer } from '../../contracts/whip-http.js';
import { StreamStatus, isFinal } from '../streams/status.js';
import { PipeRefusedError } from './pipe-peers.js';
import { RelayError, withDeadline } from './relay-error.js';
import type {
  OfferOptions,
  PipeSignalling,
  SignallingClient,
  SignallingClientEvents,
  StreamAnswer,
} from './signalling.js';

export interface WcsClientOptions {
  /** Accept any TLS certificate on wss:// (testing only). */
  insecureTls?: boolean;
  /** Deadline for the TCP/TLS connection and the WebSocket upgrade. */
  connectTimeoutMs?: number;
  /** Deadline for the server's getUserData answer to our `connection`. */
  handshakeTimeoutMs?: number;
  /** The SDK's `custom` object, sent in `connection` (the remote's REST hooks see it). */
  custom?: Record<string, unknown> | undefined;
  /** Aborts the connect (the socket is dropped, the promise rejects). */
  signal?: AbortSignal;
}

export type { StreamStatusEvent } from '../../contracts/wcs-protocol.js';
export type { OfferOptions, StreamAnswer } from './signalling.js';

/**
 * A client of a WCS server's WebSocket protocol, speaking it as the Web SDK does: the connection handshake,
 * publishStream/playStream with our offer, setRemoteSDP answers, status events, pong for ping. Used by
 * server-to-server push and pull, so a real WCS can be either end.
 */
export class WcsClient extends EventEmitter<SignallingClientEvents> implements SignallingClient {
  /**
   * Requests waiting for their answer: an SDP (setRemoteSDP), or a pipe's far half (streamfedPipeAnswer; a
   * streamfedPipeRefused rejects with PipeRefusedError).
   */
  private readonly answers = new Map<
    string,
    { resolve: (answer: string | PipeRemote) => void; reject: (e: Error) => void }
  >();
  private closedReason: string | undefined;

  private constructor(private readonly socket: WebSocket) {
    super();
    socket.on('message', (raw) => this.onFrame(raw.toString()));
    socket.on('close', (code, reason) =>
      this.onClosed(`connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`),
    );
    socket.on('error', (error) => this.onClosed(`connection error: ${error.message}`));
  }

  /**
   * Connects and completes WCS's handshake, each step within its deadline; rejects with a RelayError whose
   * code names the step (UNREACHABLE, CONNECT_TIMEOUT, HANDSHAKE_TIMEOUT) and frees the socket.
   */
  static async connect(url: string, options: WcsClientOptions = {}): Promise<WcsClient> {
    const connectMs = options.connectTimeoutMs ?? 5000;
    const socket = new WebSocket(url, { rejectUnauthorized: !options.insecureTls, maxPayload: 1024 * 1024 });
    const abort = (): void => socket.terminate();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      const opened = new Promise<WcsClient>((resolve, reject) => {
        const fail = (error: Error): void =>
          reject(new RelayError(PushFailureCode.UNREACHABLE, `cannot connect to ${url}: ${error.message}`));
        socket.once('error', fail);
        socket.once('close', () =>
          fail(new Error(options.signal?.aborted ? 'aborted' : 'connection closed')),
        );
        socket.once('open', () => {
          socket.removeAllListeners('error').removeAllListeners('close');
          resolve(new WcsClient(socket));
        });
      });
      // a connection that fails after the deadline must not surface as an unhandled rejection
      opened.catch(() => undefined);
      const client = await withDeadline(
        opened,
        connectMs,
        PushFailureCode.CONNECT_TIMEOUT,
        `no WebSocket connection to ${url}`,
        () => socket.terminate(),
      );
      await client.handshake(url, options.handshakeTimeoutMs ?? 5000, options.custom);
      return client;
    } catch (error) {
      socket.terminate();
      throw error;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** A WCS server announces no ICE servers: its host candidates are what it reaches. */
  get iceServers(): readonly IceServer[] {
    return [];
  }

  requestName(published: boolean): string {
    return published ? 'publishStream' : 'playStream';
  }

  /** Sends publishStream with our offer; resolves with the server's answer SDP. */
  publish(
    name: string,
    sdp: string,
    mediaSessionId: string = randomUUID(),
    options: OfferOptions = {},
  ): Promise<StreamAnswer> {
    return this.offer(true, name, sdp, mediaSessionId, options);
  }

  /** Sends playStream with our (receive-only) offer; resolves with the server's answer SDP. */
  play(
    name: string,
    sdp: string,
    mediaSessionId: string = randomUUID(),
    options: OfferOptions = {},
  ): Promise<StreamAnswer> {
    return this.offer(false, name, sdp, mediaSessionId, options);
  }

  /**
   * The remote's pipe extension for a push or a pull: a streamfed server that announced a version serving it
   * in getUserData (wcs-protocol.ts pipeServes).
   */
  pipe(type: 'push' | 'pull'): PipeSignalling | undefined {
    if (!pipeServes(this.#userData?.streamfedPipe, type)) return undefined;
    const request = async (
      published: boolean,
      name: string,
      mediaSessionId: string,
      streamfedPipe: PipeOffer | PipeTuple,
      options: OfferOptions,
    ): Promise<PipeRemote> => {
      const body = { ...this.fields(published, name, mediaSessionId, options), streamfedPipe };
      const answer = await this.request(published ? 'publishStream' : 'playStream', body);
      if (typeof answer === 'string')
        throw new RelayError(PushFailureCode.PROTOCOL, 'answered a pipe offer with an SDP');
      return answer;
    };
    return {
      publish: (name, mediaSessionId, offer, options) => request(true, name, mediaSessionId, offer, options),
      play: (name, mediaSessionId, tuple, options) => request(false, name, mediaSessionId, tuple, options),
    };
  }

  private async offer(
    published: boolean,
    name: string,
    sdp: string,
    mediaSessionId: string,
    options: OfferOptions,
  ): Promise<StreamAnswer> {
    const body = { ...this.fields(published, name, mediaSessionId, options), sdp };
    const answer = await this.request(published ? 'publishStream' : 'playStream', body);
    if (typeof answer !== 'string')
      throw new RelayError(PushFailureCode.PROTOCOL, 'answered an SDP offer with a pipe');
    return { mediaSessionId, answer };
  }

  /** The fields the Web SDK sends (flashphoner-core.js publishStream/playStream), with its defaults. */
  private fields(published: boolean, name: string, mediaSessionId: string, options: OfferOptions) {
    const hasAudio = options.hasAudio ?? true;
    const hasVideo = options.hasVideo ?? true;
    return {
      mediaSessionId,
      name,
      published,
      hasVideo,
      hasAudio,
      status: 'PENDING',
      record: false,
      mediaProvider: 'WebRTC',
      ...(options.custom ? { custom: options.custom } : {}),
      bitrate: 0,
      minBitrate: 0,
      maxBitrate: 0,
      constraints: { audio: hasAudio, video: hasVideo },
      cvoExtension: false,
      ...(published ? { rtmpUrl: '' } : { width: 0, height: 0, quality: 0 }),
      ...(published && options.chain ? { streamfedChain: options.chain } : {}),
    };
  }

  stop(mediaSessionId: string, name: string, published: boolean): void {
    this.send(published ? 'unPublishStream' : 'stopStream', { mediaSessionId, name, published });
  }

  close(): void {
    this.onClosed('closed by us');
    this.socket.close(1000);
  }

  private async handshake(
    url: string,
    timeoutMs: number,
    custom: Record<string, unknown> | undefined,
  ): Promise<void> {
    let onClosed: ((reason: string) => void) | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      this.pendingHandshake = (userData) => {
        this.#userData = userData;
        resolve();
      };
      // a remote whose connect hook refuses says why in a `fail` before it drops the socket
      this.refusedHandshake = (info) =>
        reject(new RelayError(PushFailureCode.REMOTE_REJECTED, `${url} refused the connection: ${info}`));
      onClosed = (reason) =>
        reject(new RelayError(PushFailureCode.REMOTE_DISCONNECTED, `${url}: ${reason} during the handshake`));
      this.once('closed', onClosed);
    });
    answered.catch(() => undefined);
    this.send('connection', {
      appKey: 'defaultApp',
      mediaProviders: ['WebRTC'],
      keepAlive: true,
      clientVersion: '2.0',
      clientOSVersion: 'streamfed',
      clientBrowserVersion: 'streamfed',
      msePacketizationVersion: 2,
      ...(custom ? { custom } : {}),
    });
    try {
      await withDeadline(
        answered,
        timeoutMs,
        PushFailureCode.HANDSHAKE_TIMEOUT,
        `no getUserData from ${url}`,
      );
    } finally {
      this.pendingHandshake = undefined;
      this.refusedHandshake = undefined;
      if (onClosed) this.off('closed', onClosed);
    }
  }

  private pendingHandshake: ((userData: UserData) => void) | undefined;
  #userData: UserData | undefined;

  /** The fleet id a streamfed server announces in getUserData; undefined for any other WCS server. */
  get fleetId(): string | undefined {
    return this.#userData?.streamfedFleetId;
  }
  private refusedHandshake: ((info: string) => void) | undefined;

  private request(
    message: 'publishStream' | 'playStream',
    body: ClientMessages['publishStream' | 'playStream'][0],
  ): Promise<string | PipeRemote> {
    if (this.closedReason)
      return Promise.reject(new RelayError(PushFailureCode.REMOTE_DISCONNECTED, this.closedReason));
    return new Promise((resolve, reject) => {
      this.answers.set(body.mediaSessionId, { resolve, reject });
      this.send(message, body);
    });
  }

  /** A server frame, checked by the protocol's one codec; frames we cannot use are ignored (WCS sends many). */
  private onFrame(text: string): void {
    const frame = decodeServerFrame(text);
    if (typeof frame === 'string') return;
    switch (frame.message) {
      case 'getUserData':
        this.pendingHandshake?.(frame.userData);
        this.pendingHandshake = undefined;
        return;
      case 'ping':
        return this.send('pong', null);
      case 'setRemoteSDP': {
        const pending = this.answers.get(frame.mediaSessionId);
        if (pending) {
          this.answers.delete(frame.mediaSessionId);
          pending.resolve(frame.sdp);
        }
        return;
      }
      case 'streamfedPipeAnswer': {
        const { mediaSessionId, ...remote } = frame.answer;
        const pending = this.answers.get(mediaSessionId);
        if (pending) {
          this.answers.delete(mediaSessionId);
          pending.resolve(remote);
        }
        return;
      }
      case 'streamfedPipeStats':
        this.emit('pipeStats', frame.stats);
        return;
      case 'streamfedPipeRefused': {
        // the pipe request's refusal by code (pipe-peers.ts): the relay goes on over WebRTC
        const { mediaSessionId, code, info } = frame.refused;
        this.rejectAnswer(mediaSessionId, new PipeRefusedError(code, info));
        return;
      }
      case 'notifyStreamStatusEvent': {
        const { event } = frame;
        if (isFinal(event.status as StreamStatus))
          this.rejectAnswer(
            event.mediaSessionId,
            new RelayError(
              PushFailureCode.REMOTE_REJECTED,
              `remote stream ${event.status}${event.info ? `: ${event.info}` : ''}`,
            ),
          );
        this.emit('status', event);
        return;
      }
      case 'fail': {
        const { apiMethod, info, id } = frame.fail;
        if (apiMethod === 'connection') this.refusedHandshake?.(info ?? 'refused');
        if (id !== undefined) {
          this.rejectAnswer(
            id,
            new RelayError(PushFailureCode.REMOTE_REJECTED, `remote refused: ${info ?? 'failed'}`),
          );
          this.emit('status', { mediaSessionId: id, status: StreamStatus.FAILED, info: info ?? '' });
        }
        return;
      }
    }
  }

  private rejectAnswer(mediaSessionId: string, error: RelayError | PipeRefusedError): void {
    const pending = this.answers.get(mediaSessionId);
    if (!pending) return;
    this.answers.delete(mediaSessionId);
    pending.reject(error);
  }

  /** Forgets a request (its answer deadline passed): a late answer is ignored. */
  cancel(mediaSessionId: string): void {
    this.answers.delete(mediaSessionId);
  }

  private onClosed(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    for (const [id] of this.answers)
      this.rejectAnswer(
        id,
        new RelayError(PushFailureCode.REMOTE_DISCONNECTED, `remote session ended: ${reason}`),
      );
    this.emit('closed', reason);
  }

  private send<M extends keyof ClientMessages>(message: M, ...data: ClientMessages[M]): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(encodeClientFrame(message, ...data));
  }
}
