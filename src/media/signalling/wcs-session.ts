import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Logger } from '../../log.js';
import { StreamfedError } from '../errors.js';
import type { MediaMetrics } from '../metrics.js';
import type { MediaSession } from '../streams/media-session.js';
import { StreamInfo, StreamStatus } from '../streams/status.js';
import type { StreamService } from '../streams/stream-service.js';
import { AvailableRequest, Connection, Envelope, StopRequest, StreamRequest, validator } from './messages.js';

const checkEnvelope = validator(Envelope);
const checkConnection = validator(Connection);
const checkStream = validator(StreamRequest);
const checkStop = validator(StopRequest);
const checkAvailable = validator(AvailableRequest);

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
  private readonly owned = new Map<string, MediaSession>();
  private missedPongs = 0;
  private readonly pingTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly streams: StreamService,
    private readonly metrics: MediaMetrics,
    private readonly log: Logger,
    keepAlive: KeepAlive,
    readonly remoteAddress: string,
  ) {
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
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(code ?? 1000);
  }

  private async onMessage(text: string, isBinary: boolean): Promise<void> {
    this.missedPongs = 0;
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const envelope = parsed === undefined ? 'message is not JSON text' : checkEnvelope(parsed);
    if (typeof envelope === 'string') return this.reject('unknown', envelope);
    const body = envelope.data?.[0];
    switch (envelope.message) {
      case 'connection':
        return this.onConnection(body);
      case 'pong':
        return;
      case 'ping':
        return this.send('pong', null);
    }
    if (!this.connection) return this.reject(envelope.message, StreamInfo.SESSION_NOT_READY);
    switch (envelope.message) {
      case 'publishStream':
        return this.onStream(body, true);
      case 'playStream':
        return this.onStream(body, false);
      case 'unPublishStream':
      case 'stopStream':
        return this.onStop(body, envelope.message);
      case 'availableStream':
        return this.onAvailable(body);
      default:
        return this.reject(envelope.message, `${envelope.message} is not supported by this server`);
    }
  }

  private onConnection(body: unknown): void {
    const connection = checkConnection(body ?? {});
    if (typeof connection === 'string') return this.reject('connection', connection);
    if (this.connection) return this.reject('connection', 'session is already established');
    this.connection = connection;
    // The SDK keeps this object as the session's config: echo the client's fields and add ours.
    this.send('getUserData', {
      ...connection,
      sessionId: this.sessionId,
      authToken: connection.authToken ?? null,
    });
  }

  private async onStream(body: unknown, publish: boolean): Promise<void> {
    const apiMethod = publish ? 'publishStream' : 'playStream';
    const request = checkStream(body);
    if (typeof request === 'string') return this.reject(apiMethod, request, idOf(body));
    const init = {
      appKey: this.connection?.appKey ?? 'defaultApp',
      sessionId: this.sessionId,
      mediaSessionId: request.mediaSessionId,
      name: request.name,
      ...(request.width !== undefined ? { width: request.width } : {}),
      ...(request.height !== undefined ? { height: request.height } : {}),
    };
    try {
      const { session, answer } = publish
        ? await this.streams.publish(init, request.sdp)
        : await this.streams.play(init, request.sdp);
      if (this.closed) return session.end(session.stoppedStatus, StreamInfo.REQUESTED_STREAM_SHUTDOWN);
      this.owned.set(session.mediaSessionId, session);
      session.on('status', () => {
        this.notify(session);
        if (session.ended) this.owned.delete(session.mediaSessionId);
      });
      this.send('setRemoteSDP', request.mediaSessionId, answer);
      this.notify(session);
    } catch (error) {
      this.metrics.errors.inc({ kind: publish ? 'publish' : 'play' });
      const info = error instanceof StreamfedError ? error.message : StreamInfo.FAILED_BY_ERROR;
      if (!(error instanceof StreamfedError))
        this.log.error({ err: error, stream: request.name }, `${apiMethod} failed`);
      this.send('notifyStreamStatusEvent', {
        mediaSessionId: request.mediaSessionId,
        name: request.name,
        published: publish,
        status: StreamStatus.FAILED,
        info,
      });
    }
  }

  private onStop(body: unknown, apiMethod: string): void {
    const request = checkStop(body);
    if (typeof request === 'string') return this.reject(apiMethod, request, idOf(body));
    const session = this.owned.get(request.mediaSessionId);
    if (!session) return this.reject(apiMethod, StreamInfo.STREAM_NOT_FOUND, request.mediaSessionId);
    session.end(session.stoppedStatus);
  }

  private async onAvailable(body: unknown): Promise<void> {
    const request = checkAvailable(body);
    if (typeof request === 'string') return this.reject('availableStream', request, idOf(body));
    const available = (await this.streams.resolve(request.name)) !== undefined;
    this.send('availableStream', {
      id: request.mediaSessionId,
      name: request.name,
      status: String(available),
      info: available ? 'Available' : StreamInfo.STREAM_NOT_FOUND,
    });
  }

  private notify(session: MediaSession): void {
    this.send('notifyStreamStatusEvent', session.describe());
  }

  /** A `fail` message: the SDK passes it to the session's WARN handler, and to the stream when id is one. */
  private reject(apiMethod: string, info: string, id?: string): void {
    this.metrics.errors.inc({ kind: 'ws_protocol' });
    this.log.debug({ sessionId: this.sessionId, apiMethod, info }, 'rejected client message');
    this.send('fail', { apiMethod, info, ...(id !== undefined ? { id } : {}) });
  }

  private send(message: string, ...data: unknown[]): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify({ message, data }));
  }
}

function idOf(body: unknown): string | undefined {
  const id = (body as { mediaSessionId?: unknown } | null)?.mediaSessionId;
  return typeof id === 'string' ? id : undefined;
}
