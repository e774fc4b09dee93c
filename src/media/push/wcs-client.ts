import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { StreamStatus, isFinal } from '../streams/status.js';

export interface WcsClientOptions {
  /** Accept any TLS certificate on wss:// (testing only). */
  insecureTls?: boolean;
  /** Handshake timeout. */
  timeoutMs?: number;
}

export interface StreamStatusEvent {
  mediaSessionId: string;
  name?: string;
  status: StreamStatus;
  info?: string;
}

export interface WcsClientEvents {
  status: [event: StreamStatusEvent];
  /** The socket closed (reason given), after which every stream of this client is gone. */
  closed: [reason: string];
}

export interface StreamAnswer {
  mediaSessionId: string;
  answer: string;
}

export class WcsClientError extends Error {
  override readonly name = 'WcsClientError';
}

/**
 * A client of a WCS server's WebSocket protocol, speaking it as the Web SDK does: the connection handshake,
 * publishStream/playStream with our offer, setRemoteSDP answers, status events, pong for ping. Used by
 * server-to-server push and pull, so a real WCS can be either end.
 */
export class WcsClient extends EventEmitter<WcsClientEvents> {
  private readonly answers = new Map<
    string,
    { resolve: (sdp: string) => void; reject: (e: Error) => void }
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

  static async connect(url: string, options: WcsClientOptions = {}): Promise<WcsClient> {
    const socket = new WebSocket(url, {
      rejectUnauthorized: !options.insecureTls,
      handshakeTimeout: options.timeoutMs ?? 5000,
      maxPayload: 1024 * 1024,
    });
    const client = await new Promise<WcsClient>((resolve, reject) => {
      const fail = (error: Error): void =>
        reject(new WcsClientError(`cannot connect to ${url}: ${error.message}`));
      socket.once('error', fail);
      socket.once('open', () => {
        socket.off('error', fail);
        resolve(new WcsClient(socket));
      });
    });
    await client.handshake(options.timeoutMs ?? 5000);
    return client;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Sends publishStream with our offer; resolves with the server's answer SDP. */
  publish(name: string, sdp: string, mediaSessionId: string = randomUUID()): Promise<StreamAnswer> {
    return this.offer(true, name, sdp, mediaSessionId);
  }

  /** Sends playStream with our (receive-only) offer; resolves with the server's answer SDP. */
  play(name: string, sdp: string, mediaSessionId: string = randomUUID()): Promise<StreamAnswer> {
    return this.offer(false, name, sdp, mediaSessionId);
  }

  private offer(
    published: boolean,
    name: string,
    sdp: string,
    mediaSessionId: string,
  ): Promise<StreamAnswer> {
    const body = { mediaSessionId, name, sdp, published, hasAudio: true, hasVideo: true };
    return this.request(published ? 'publishStream' : 'playStream', body);
  }

  stop(mediaSessionId: string, name: string, published: boolean): void {
    this.send(published ? 'unPublishStream' : 'stopStream', { mediaSessionId, name, published });
  }

  close(): void {
    this.onClosed('closed by us');
    this.socket.close(1000);
  }

  private handshake(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(new WcsClientError('no getUserData from the server'));
      }, timeoutMs);
      this.pendingHandshake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.once('closed', (reason) => {
        clearTimeout(timer);
        reject(new WcsClientError(reason));
      });
      this.send('connection', {
        appKey: 'defaultApp',
        mediaProviders: ['WebRTC'],
        clientVersion: '2.0',
        clientOSVersion: 'streamfed',
        clientBrowserVersion: 'streamfed',
        msePacketizationVersion: 2,
      });
    });
  }

  private pendingHandshake: (() => void) | undefined;

  private request(
    message: string,
    body: { mediaSessionId: string; name: string } & Record<string, unknown>,
  ): Promise<StreamAnswer> {
    if (this.closedReason) return Promise.reject(new WcsClientError(this.closedReason));
    const { mediaSessionId } = body;
    return new Promise((resolve, reject) => {
      this.answers.set(mediaSessionId, { resolve: (answer) => resolve({ mediaSessionId, answer }), reject });
      this.send(message, body);
    });
  }

  private onFrame(text: string): void {
    let frame: { message?: unknown; data?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    const data = Array.isArray(frame.data) ? frame.data : [];
    const first = data[0] as Record<string, unknown> | undefined;
    switch (frame.message) {
      case 'getUserData':
        this.pendingHandshake?.();
        this.pendingHandshake = undefined;
        return;
      case 'ping':
        return this.send('pong', null);
      case 'setRemoteSDP': {
        const [id, sdp] = data as [unknown, unknown];
        const pending = typeof id === 'string' ? this.answers.get(id) : undefined;
        if (pending && typeof sdp === 'string') {
          this.answers.delete(id as string);
          pending.resolve(sdp);
        }
        return;
      }
      case 'notifyStreamStatusEvent':
        if (first && typeof first['mediaSessionId'] === 'string' && typeof first['status'] === 'string') {
          const event: StreamStatusEvent = {
            mediaSessionId: first['mediaSessionId'],
            status: first['status'] as StreamStatus,
            ...(typeof first['name'] === 'string' ? { name: first['name'] } : {}),
            ...(typeof first['info'] === 'string' ? { info: first['info'] } : {}),
          };
          if (isFinal(event.status)) this.rejectAnswer(event.mediaSessionId, event.info ?? event.status);
          this.emit('status', event);
        }
        return;
      case 'fail':
        if (first && typeof first['id'] === 'string') {
          this.rejectAnswer(first['id'], String(first['info'] ?? 'failed'));
          this.emit('status', {
            mediaSessionId: first['id'],
            status: StreamStatus.FAILED,
            info: String(first['info'] ?? ''),
          });
        }
        return;
    }
  }

  private rejectAnswer(mediaSessionId: string, info: string): void {
    const pending = this.answers.get(mediaSessionId);
    if (!pending) return;
    this.answers.delete(mediaSessionId);
    pending.reject(new WcsClientError(info));
  }

  private onClosed(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    for (const [id] of this.answers) this.rejectAnswer(id, reason);
    this.emit('closed', reason);
  }

  private send(message: string, data: unknown): void {
    if (this.socket.readyState === WebSocket.OPEN)
      this.socket.send(JSON.stringify({ message, data: [data] }));
  }
}
