import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import { BadRequestError, StreamfedError } from '../errors.js';
import type { SignallingHooks } from '../hooks/rest-hooks.js';
import type { MediaMetrics } from '../metrics.js';
import type { MediaSession } from '../streams/media-session.js';
import { StreamInfo, StreamStatus } from '../streams/status.js';
import type { StreamAdmission } from '../streams/admission.js';
import { streamNameProblem } from '../../contracts/stream-name.js';
import {
  PIPE_VERSION,
  asksForPipe,
  clientMessage,
  StreamEventType,
  decodeFrame,
  encodeServerFrame,
  type Connection,
  type PipePlayRequest,
  type PipeRemote,
  type PipeStreamRequest,
  type ServerMessages,
  type StreamRequest,
} from '../../contracts/wcs-protocol.js';
import { PipeRefusedError } from '../push/pipe-peers.js';
import type { PipeTargets } from '../push/pipe-publisher.js';
import type { AdmissionRequest } from '../streams/admission.js';
import { constrainedSize } from './messages.js';

export interface KeepAlive {
  /** How often the server pings. */
  intervalMs: number;
  /** Missed pongs before the session is dropped. */
  probes: number;
}

/** What /rest-api/connection/* tells about a session. */
export interface ConnectionDescription {
  id: string;
  sessionId: string;
  appKey: string;
  clientVersion?: string | undefined;
  clientOSVersion?: string | undefined;
  clientBrowserVersion?: string | undefined;
  mediaProviders: string[];
  status: 'PENDING' | 'ESTABLISHED';
  createDate: number;
}

/**
 * One WCS session: one WebSocket. Speaks the protocol of @flashphoner/websdk's flashphoner-core.js, and owns
 * the streams it publishes and plays: when the socket closes they end.
 */
export class WcsSession {
  readonly sessionId = `/${randomUUID()}`;
  private readonly createdAt = Date.now();
  private connection: Connection | undefined;
  private connecting = false;
  private readonly owned = new Map<string, MediaSession>();
  private missedPongs = 0;
  private readonly pingTimer: NodeJS.Timeout;
  private closed = false;

  private readonly hooks: SignallingHooks;

  constructor(
    private readonly socket: WebSocket,
    /** Decides and starts publishes and plays; its hooks hear of the session, its fleet id goes in getUserData. */
    private readonly admission: StreamAdmission,
    private readonly metrics: MediaMetrics,
    private readonly log: Logger,
    keepAlive: KeepAlive,
    readonly remoteAddress: string,
    /** The TCP socket under the WebSocket, to fail the connection when the connect hook refuses. */
    private readonly tcp: Duplex,
    /** Where pushes from other streamfed servers over a pipe land (announced in getUserData when set). */
    private readonly pipes?: PipeTargets | undefined,
  ) {
    this.hooks = admission.hooks;
    socket.on('message', (raw, isBinary) => void this.onMessage(raw.toString(), isBinary));
    socket.on('close', () => this.close(StreamInfo.REQUESTED_STREAM_SHUTDOWN));
    socket.on('error', (error) => this.log.warn({ err: error }, 'websocket error'));
    this.pingTimer = setInterval(() => {
      if (this.missedPongs >= keepAlive.probes) {
        this.log.info({ sessionId: this.sessionId }, 'session dropped by keep-alive');
        this.socket.terminate();
        this.close(StreamInfo.TERMINATED_BY_KEEP_ALIVE);
        return;
      }
      this.missedPongs++;
      this.send('ping', null);
    }, keepAlive.intervalMs);
  }

  describe(): ConnectionDescription {
    const c = this.connection;
    return {
      id: this.sessionId,
      sessionId: this.sessionId,
      appKey: c?.appKey ?? 'defaultApp',
      clientVersion: c?.clientVersion,
      clientOSVersion: c?.clientOSVersion,
      clientBrowserVersion: c?.clientBrowserVersion,
      mediaProviders: c?.mediaProviders ?? [],
      status: c ? 'ESTABLISHED' : 'PENDING',
      createDate: this.createdAt,
    };
  }

  /** Ends the session's streams and the socket. Safe to call more than once. */
  close(info: string = StreamInfo.REQUESTED_STREAM_SHUTDOWN, code?: number): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    for (const session of this.owned.values()) session.end(session.stoppedStatus, info);
    this.owned.clear();
    if (this.connection) this.hooks.connectionStatus(this.sessionId, this.connection, 'DISCONNECTED');
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(code ?? 1000);
  }

  /**
   * Ends the session as a lost server does (a rollout's stop): the TCP connection is cut with no closing
   * handshake and no final stream status, so the Web SDK's WebSocket fails (`onerror`: session FAILED, its
   * streams FAILED) and its restore logic reconnects; the streams then end here as on a disconnect.
   */
  drop(info: string): void {
    this.socket.terminate();
    this.close(info);
  }

  private async onMessage(text: string, isBinary: boolean): Promise<void> {
    this.missedPongs = 0;
    const envelope = decodeFrame(isBinary ? undefined : text);
    if (typeof envelope === 'string') return this.reject('unknown', envelope);
    const body = envelope.data[0];
    switch (envelope.message) {
      case 'connection':
        return this.onConnection(body);
      case 'pong':
        return;
      case 'ping':
        return this.send('pong', null);
    }
    switch (envelope.message) {
      case 'publishStream':
        return this.onStream(body, true);
      case 'playStream':
        return this.onStream(body, false);
    }
    if (!this.connection) return this.reject(envelope.message, StreamInfo.SESSION_NOT_READY);
    switch (envelope.message) {
      case 'unPublishStream':
      case 'stopStream':
        return this.onStop(body, envelope.message);
      case 'availableStream':
        return this.onAvailable(body);
      case 'snapshot':
        return this.onSnapshot(body);
      default:
        return this.reject(envelope.message, `${envelope.message} is not supported by this server`);
    }
  }

  private async onConnection(body: unknown): Promise<void> {
    const connection = clientMessage.connection(body ?? {});
    if (typeof connection === 'string') return this.reject('connection', connection);
    if (this.connecting) return this.reject('connection', 'session is already established');
    this.connecting = true;
    try {
      await this.hooks.connect(this.sessionId, connection);
    } catch (error) {
      // A refused connection as the SDK knows one: the reason (session WARN), then a frame with a reserved
      // opcode, on which a browser must fail the WebSocket connection (RFC 6455 5.2) and fire `error`:
      // the SDK's session FAILED, as when a handshake is refused. A clean close would read DISCONNECTED.
      const info = error instanceof StreamfedError ? error.message : StreamInfo.FAILED_BY_ERROR;
      if (this.socket.readyState !== this.socket.OPEN) return;
      this.socket.send(encodeServerFrame('fail', { apiMethod: 'connection', info }), () =>
        this.tcp.end(Buffer.from([0x83, 0x00])),
      );
      return;
    }
    if (this.closed) return;
    this.connection = connection;
    this.hooks.connectionStatus(this.sessionId, connection, 'ESTABLISHED');
    // The SDK keeps this object as the session's config: echo the client's fields and add ours.
    this.send('getUserData', {
      ...connection,
      sessionId: this.sessionId,
      authToken: connection.authToken ?? null,
      streamfedFleetId: this.admission.fleetId(),
      ...(this.pipes ? { streamfedPipe: PIPE_VERSION } : {}),
    });
  }

  private async onStream(body: unknown, publish: boolean): Promise<void> {
    const apiMethod = publish ? 'publishStream' : 'playStream';
    // Every refusal of a stream goes out as its FAILED status, which the SDK routes to the stream object.
    const refuse = (info: string): void => this.refuseStream(apiMethod, body, publish, info);
    if (!this.connection) return refuse(StreamInfo.SESSION_NOT_READY);
    const nameProblem = streamNameProblem((body as { name?: unknown } | null)?.name);
    if (nameProblem !== undefined) return refuse(nameProblem);
    const pipe = this.pipes !== undefined && asksForPipe(body);
    const request = !pipe
      ? clientMessage.stream(body)
      : publish
        ? clientMessage.pipeStream(body)
        : clientMessage.pipePlay(body);
    if (typeof request === 'string') return refuse(request);
    const init = {
      appKey: this.connection.appKey ?? 'defaultApp',
      sessionId: this.sessionId,
      mediaSessionId: request.mediaSessionId,
      name: request.name,
      ...(publish ? { declaredSize: constrainedSize(request.constraints) } : {}),
      ...(publish && request.streamfedChain ? { chain: request.streamfedChain } : {}),
    };
    try {
      const admission = {
        init,
        fields: body as Record<string, unknown>,
        sdp: 'sdp' in request ? request.sdp : undefined,
      };
      const { session, answer } = await this.admit(publish, admission, request);
      if (this.closed) return session.end(session.stoppedStatus, StreamInfo.REQUESTED_STREAM_SHUTDOWN);
      this.owned.set(session.mediaSessionId, session);
      session.on('status', () => {
        this.notify(session);
        if (session.ended) this.owned.delete(session.mediaSessionId);
      });
      if (typeof answer === 'string') this.send('setRemoteSDP', request.mediaSessionId, answer);
      else this.send('streamfedPipeAnswer', { mediaSessionId: request.mediaSessionId, ...answer });
      this.notify(session);
    } catch (error) {
      if (error instanceof PipeRefusedError) return this.refusePipe(apiMethod, request.mediaSessionId, error);
      if (!(error instanceof StreamfedError))
        this.log.error({ err: error, stream: request.name }, `${apiMethod} failed`);
      refuse(error instanceof StreamfedError ? error.message : StreamInfo.FAILED_BY_ERROR);
    }
  }

  /**
   * Starts an admitted stream: from the client's SDP offer, or over a pipe with another streamfed server
   * (push/pipe-publisher.ts): a push into this server, or a pull from it.
   */
  private admit(
    publish: boolean,
    admission: AdmissionRequest,
    request: StreamRequest | PipeStreamRequest | PipePlayRequest,
  ): Promise<{ session: MediaSession; answer: string | PipeRemote }> {
    const pipes = this.pipes;
    if (!('streamfedPipe' in request) || !pipes)
      return publish ? this.admission.publish(admission) : this.admission.play(admission);
    const { mediaSessionId, streamfedPipe } = request;
    // where our half would send: checked before the hooks are asked and anything is made
    pipes.admit(streamfedPipe, this.remoteAddress);
    if (!publish)
      return this.admission.playWith(admission, (source) =>
        pipes.play(admission.init, source, streamfedPipe),
      );
    // a pipe publishStream was checked as one (PipeStreamRequest): it names its producers
    if (!('producers' in streamfedPipe)) throw new BadRequestError('a pipe push names its producers');
    return this.admission.publishWith(admission, () =>
      pipes.open(admission.init, streamfedPipe, ({ packets, lost }) =>
        this.send('streamfedPipeStats', { mediaSessionId, packets, lost }),
      ),
    );
  }

  /**
   * A refused publishStream/playStream: FAILED with the reason, as notifyStreamStatusEvent for the stream's
   * mediaSessionId (the SDK routes it to the stream object; a `fail` frame reaches only the session's WARN
   * handler). Without a usable mediaSessionId there is no stream to tell, and a `fail` frame is all we have.
   */
  private refuseStream(apiMethod: string, body: unknown, published: boolean, info: string): void {
    this.metrics.errors.inc({ kind: published ? 'publish' : 'play' });
    const id = idOf(body);
    if (id === undefined) return this.reject(apiMethod, info);
    this.log.debug({ sessionId: this.sessionId, apiMethod, info }, 'refused stream');
    const name = (body as { name?: unknown }).name;
    this.send('notifyStreamStatusEvent', {
      mediaSessionId: id,
      ...(typeof name === 'string' ? { name } : {}),
      published,
      status: StreamStatus.FAILED,
      info,
    });
  }

  /**
   * A refused pipe request: `streamfedPipeRefused` with its code (the streamfed client then asks again over
   * WebRTC, whose ICE consent makes any peer address safe). No stream status: no stream was made.
   */
  private refusePipe(apiMethod: string, mediaSessionId: string, error: PipeRefusedError): void {
    this.metrics.errors.inc({ kind: apiMethod === 'publishStream' ? 'publish' : 'play' });
    this.log.warn(
      { sessionId: this.sessionId, apiMethod, code: error.code, info: error.message },
      'refused pipe',
    );
    this.send('streamfedPipeRefused', { mediaSessionId, code: error.code, info: error.message });
  }

  private onStop(body: unknown, apiMethod: string): void {
    const request = clientMessage.stop(body);
    if (typeof request === 'string') return this.reject(apiMethod, request, idOf(body));
    const session = this.owned.get(request.mediaSessionId);
    if (!session) return this.reject(apiMethod, StreamInfo.STREAM_NOT_FOUND, request.mediaSessionId);
    session.end(session.stoppedStatus);
  }

  /** availableStream: the SDK's stream.available() resolves on status "true", rejects with the info. */
  private async onAvailable(body: unknown): Promise<void> {
    const id = idOf(body);
    const name = (body as { name?: unknown } | null)?.name;
    const answer = (available: boolean, info: string): void =>
      this.send('availableStream', {
        id,
        ...(typeof name === 'string' ? { name } : {}),
        status: available ? 'true' : 'false',
        info,
      });
    const nameProblem = streamNameProblem(name);
    if (nameProblem !== undefined)
      return id === undefined ? this.reject('availableStream', nameProblem) : answer(false, nameProblem);
    const request = clientMessage.available(body);
    if (typeof request === 'string') return this.reject('availableStream', request, id);
    const available = (await this.admission.streams.resolve(request.name)) !== undefined;
    answer(available, available ? 'Available' : StreamInfo.STREAM_NOT_FOUND);
  }

  /**
   * snapshot: we take no snapshots. Refused as the stream's `snapshotFailed` event, which the SDK routes to
   * the stream object (the stream-snapshot demo shows FAILED); a `fail` frame would reach only the session.
   */
  private onSnapshot(body: unknown): void {
    const request = clientMessage.snapshot(body);
    if (typeof request === 'string') return this.reject('snapshot', request, idOf(body));
    this.metrics.errors.inc({ kind: 'ws_protocol' });
    this.send('notifyStreamEvent', {
      mediaSessionId: request.mediaSessionId,
      ...(request.name !== undefined ? { name: request.name } : {}),
      type: StreamEventType.SNAPSHOT_FAILED,
      payload: { info: 'snapshots are not supported by this server' },
    });
  }

  private notify(session: MediaSession): void {
    const description = session.describe();
    this.send('notifyStreamStatusEvent', description);
    this.hooks.streamStatus(description);
  }

  /** A `fail` message: the SDK passes it to the session's WARN handler, and to the stream when id is one. */
  private reject(apiMethod: string, info: string, id?: string): void {
    this.metrics.errors.inc({ kind: 'ws_protocol' });
    this.log.debug({ sessionId: this.sessionId, apiMethod, info }, 'rejected client message');
    this.send('fail', { apiMethod, info, ...(id !== undefined ? { id } : {}) });
  }

  private send<M extends keyof ServerMessages>(message: M, ...data: ServerMessages[M]): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(encodeServerFrame(message, ...data));
  }
}

function idOf(body: unknown): string | undefined {
  const id = (body as { mediaSessionId?: unknown } | null)?.mediaSessionId;
  return typeof id === 'string' ? id : undefined;
}
