import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type * as ms from 'mediasoup/types';
import { entityTag, sessionPath, type SdpFragment, type WhipKind } from '../../contracts/whip-http.js';
import type { SignallingHooks } from '../hooks/rest-hooks.js';
import type { MediaSession } from '../streams/media-session.js';
import { StreamInfo, StreamStatus } from '../streams/status.js';

export interface WhipSessionEvents {
  /** The session ended (its stream ended, or close() was called). Emitted once. */
  close: [];
}

/** A new entity tag each ICE generation: unguessable, so a stale `If-Match` never matches by chance. */
const newTag = (): string => entityTag(randomBytes(12).toString('base64url'));

/**
 * One WHIP publish or WHEP play: the resource at its `Location` (an unguessable id), owning the stream it
 * started. Ends when its stream ends, and ends its stream when closed (DELETE). Tells the REST hooks of its
 * stream's statuses and of its end, as a WCS session does.
 */
export class WhipSession extends EventEmitter<WhipSessionEvents> {
  readonly id = randomBytes(24).toString('base64url');
  readonly path: string;
  #etag = newTag();
  #closed = false;
  readonly #connectTimer: NodeJS.Timeout;
  /** The client's current ICE credentials (a PATCH with others is an ICE restart). */
  #remoteIce: { ufrag: string; pwd: string };

  constructor(
    readonly kind: WhipKind,
    readonly stream: MediaSession,
    /** The bearer token of the POST that made it: later requests on the session must carry the same. */
    readonly token: string | undefined,
    remoteIce: { ufrag: string; pwd: string },
    private readonly hooks: SignallingHooks,
    /** What the connect hook was told: the DISCONNECTED event repeats it. */
    private readonly connection: Record<string, unknown>,
    /** ICE and DTLS must be up within this long, or the session ends FAILED. */
    connectDeadlineMs: number,
  ) {
    super();
    this.path = sessionPath(kind, this.id);
    this.#remoteIce = remoteIce;
    hooks.connectionStatus(stream.init.sessionId, connection, 'ESTABLISHED');
    hooks.streamStatus(stream.describe());
    // Without a socket to lose, a client that never connects would leave the session PENDING for good.
    this.#connectTimer = setTimeout(
      () => stream.end(StreamStatus.FAILED, StreamInfo.FAILED_BY_ICE_ERROR),
      connectDeadlineMs,
    );
    stream.on('status', (status) => {
      if (status !== StreamStatus.PENDING) clearTimeout(this.#connectTimer);
      hooks.streamStatus(stream.describe());
      if (stream.ended) this.close();
    });
  }

  get etag(): string {
    return this.#etag;
  }
  get remoteIce(): { ufrag: string; pwd: string } {
    return this.#remoteIce;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * An ICE restart (mediasoup's `restartIce()`): our new credentials and candidates as a fragment for the
   * 200, and a new entity tag.
   */
  async restartIce(remote: { ufrag: string; pwd: string }, mid: string | undefined): Promise<SdpFragment> {
    const transport = this.stream.transport as ms.WebRtcTransport;
    const ice = await transport.restartIce();
    this.#remoteIce = remote;
    this.#etag = newTag();
    return {
      ufrag: ice.usernameFragment,
      pwd: ice.password,
      candidates: transport.iceCandidates.map(
        (c) =>
          `candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}` +
          (c.tcpType ? ` tcptype ${c.tcpType}` : ''),
      ),
      endOfCandidates: true,
      mid,
    };
  }

  /** Ends the session and its stream (as the client's own stop). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    this.stream.end(this.stream.stoppedStatus, StreamInfo.REQUESTED_STREAM_SHUTDOWN);
    this.hooks.connectionStatus(this.stream.init.sessionId, this.connection, 'DISCONNECTED');
    this.emit('close');
    this.removeAllListeners();
  }
}
