import { EventEmitter } from 'node:events';
import type { Logger } from '../../log.js';
import { ConflictError, NotFoundError, BadRequestError } from '../errors.js';
import type { MediaMetrics } from '../metrics.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import { SdpError, parseOffer } from '../rtc/sdp-offer.js';
import type { MediaSession, MediaSessionInit } from './media-session.js';
import { Player } from './player.js';
import { Publisher } from './publisher.js';
import { StreamInfo, StreamStatus, type StreamDescription } from './status.js';

export interface StreamServiceEvents {
  published: [publisher: Publisher];
  unpublished: [publisher: Publisher];
}

/** What the stream service asks of the fleet this server is in (media/fleet/fleet.ts), when there is one. */
export interface RemoteStreams {
  /** A local publisher for a name published on another member (a relay from it), if any member has it. */
  source(name: string): Promise<Publisher | undefined>;
  /** Throws a ConflictError when another member already publishes the name. */
  checkName(name: string): Promise<void>;
}

/** WCS's stream filters (/stream/find, /stream/terminate): every given field must match. */
export interface StreamFilter {
  name?: string | undefined;
  mediaSessionId?: string | undefined;
  /** Any of these media sessions (WCS's /stream/terminate form). */
  mediaSessionIds?: string[] | undefined;
  published?: boolean | undefined;
  sessionId?: string | undefined;
  status?: string | undefined;
  hasAudio?: boolean | undefined;
  hasVideo?: boolean | undefined;
}

function matches(d: StreamDescription, f: StreamFilter): boolean {
  return (
    (f.name === undefined || d.name === f.name) &&
    (f.mediaSessionId === undefined || d.mediaSessionId === f.mediaSessionId) &&
    (f.mediaSessionIds === undefined || f.mediaSessionIds.includes(d.mediaSessionId)) &&
    (f.published === undefined || d.published === f.published) &&
    (f.sessionId === undefined || d.sessionId === f.sessionId) &&
    (f.status === undefined || d.status === f.status) &&
    (f.hasAudio === undefined || d.hasAudio === f.hasAudio) &&
    (f.hasVideo === undefined || d.hasVideo === f.hasVideo)
  );
}

/**
 * The streams of this server: who publishes which name, who plays it. The WebSocket sessions, the REST
 * API and server-to-server pushes all publish, play and stop through here, so the rules (one publisher
 * per name, players end with their publisher) hold whoever asks.
 */
export class StreamService extends EventEmitter<StreamServiceEvents> {
  private readonly byName = new Map<string, Publisher | 'reserved'>();
  private readonly byId = new Map<string, MediaSession | 'reserved'>();
  private remote: RemoteStreams | undefined;

  constructor(
    private readonly engine: MediaEngine,
    private readonly metrics: MediaMetrics,
    private readonly log: Logger,
  ) {
    super();
  }

  /** Joins a fleet: names not published here are looked up on the other members. */
  useRemote(remote: RemoteStreams): void {
    this.remote = remote;
  }

  /** The publisher of a name here, or else on another member of the fleet (relayed here on first use). */
  async resolve(name: string): Promise<Publisher | undefined> {
    return this.publisher(name) ?? (await this.remote?.source(name));
  }

  /** A publisher from a browser's (or any WCS client's) offer. */
  async publish(init: MediaSessionInit, sdp: unknown): Promise<{ session: Publisher; answer: string }> {
    return this.admit(init, async () => {
      const { publisher, answer } = await Publisher.create(this.engine, init, parseOffer(sdp));
      return { session: publisher, answer };
    });
  }

  /**
   * Any other publisher (a server-to-server pull): `create` builds it once the name is reserved, so the
   * same rules hold (one publisher per name, players end with it).
   */
  async publishWith<T extends { session: Publisher }>(
    init: MediaSessionInit,
    create: () => Promise<T>,
    options: { fleetCheck: boolean } = { fleetCheck: true },
  ): Promise<T> {
    return this.admit(init, create, options.fleetCheck);
  }

  private async admit<T extends { session: Publisher }>(
    init: MediaSessionInit,
    create: () => Promise<T>,
    fleetCheck = true,
  ): Promise<T> {
    if (this.byName.has(init.name)) throw new ConflictError(StreamInfo.STREAM_NAME_ALREADY_IN_USE);
    this.reserveId(init.mediaSessionId);
    this.byName.set(init.name, 'reserved');
    try {
      // one publisher per name across the fleet (the relay of a stream published elsewhere skips this)
      if (fleetCheck) await this.remote?.checkName(init.name);
      const created = await create();
      const publisher = created.session;
      this.byName.set(init.name, publisher);
      this.track(publisher);
      this.metrics.streamsPublished.inc();
      publisher.on('status', (status) => {
        if (status === StreamStatus.PUBLISHING) this.emit('published', publisher);
      });
      publisher.probeVideoSize().catch((error: unknown) => {
        if (!publisher.ended) this.log.warn({ err: error, stream: init.name }, 'video size probe failed');
      });
      return created;
    } catch (error) {
      this.byName.delete(init.name);
      this.byId.delete(init.mediaSessionId);
      throw asStreamError(error);
    }
  }

  async play(init: MediaSessionInit, sdp: unknown): Promise<{ session: Player; answer: string }> {
    const source = await this.resolve(init.name);
    if (!source) throw new NotFoundError(StreamInfo.STREAM_NOT_FOUND);
    this.reserveId(init.mediaSessionId);
    try {
      const { player, answer } = await Player.create(this.engine, init, parseOffer(sdp), source);
      if (source.ended) {
        player.end(StreamStatus.STOPPED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
        throw new NotFoundError(StreamInfo.STREAM_NOT_FOUND);
      }
      this.track(player);
      this.metrics.streamsPlayed.inc();
      return { session: player, answer };
    } catch (error) {
      this.byId.delete(init.mediaSessionId);
      throw asStreamError(error);
    }
  }

  /** The live publisher of a name, if any. */
  publisher(name: string): Publisher | undefined {
    const entry = this.byName.get(name);
    return entry instanceof Publisher && !entry.ended ? entry : undefined;
  }

  session(mediaSessionId: string): MediaSession | undefined {
    const entry = this.byId.get(mediaSessionId);
    return entry === 'reserved' ? undefined : entry;
  }

  find(filter: StreamFilter = {}): StreamDescription[] {
    const out: StreamDescription[] = [];
    for (const entry of this.byId.values()) {
      if (entry === 'reserved') continue;
      const d = entry.describe();
      if (matches(d, filter)) out.push(d);
    }
    return out;
  }

  /** Ends every session; used on shutdown. */
  endAll(info: string): void {
    for (const entry of [...this.byId.values()]) {
      if (entry !== 'reserved') entry.end(entry.stoppedStatus, info);
    }
  }

  private reserveId(mediaSessionId: string): void {
    if (this.byId.has(mediaSessionId)) throw new ConflictError(StreamInfo.MEDIASESSION_ID_ALREADY_IN_USE);
    this.byId.set(mediaSessionId, 'reserved');
  }

  private track(session: MediaSession): void {
    this.byId.set(session.mediaSessionId, session);
    session.on('status', (status, info) => {
      this.log.info(
        { stream: session.name, mediaSessionId: session.mediaSessionId, status, info },
        'stream status',
      );
      if (!session.ended) return;
      this.byId.delete(session.mediaSessionId);
      if (session instanceof Publisher) {
        this.metrics.streamsPublished.dec();
        if (this.byName.get(session.name) === session) this.byName.delete(session.name);
        for (const kind of session.producers.keys())
          this.metrics.streamBitrate.remove({ stream: session.name, kind });
        this.emit('unpublished', session);
      } else {
        this.metrics.streamsPlayed.dec();
      }
    });
  }
}

function asStreamError(error: unknown): Error {
  if (error instanceof SdpError) return new BadRequestError(error.message);
  return error instanceof Error ? error : new Error(String(error));
}
