import { EventEmitter } from 'node:events';
import type { Logger } from '../../log.js';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.js';
import type { MediaMetrics } from '../metrics.js';
import { SdpError } from '../rtc/sdp-offer.js';
import type { MediaSession, MediaSessionInit } from './media-session.js';
import type { Player } from './player.js';
import { Publisher } from './publisher.js';
import { StreamInfo, StreamStatus, type StreamDescription } from './status.js';
import { StreamUsers } from './stream-users.js';

export interface StreamRegistryEvents {
  published: [publisher: Publisher];
  unpublished: [publisher: Publisher];
}

export interface StreamRegistryOptions {
  metrics: MediaMetrics;
  log: Logger;
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
 * The sessions of this server, by name and by media session id, and the users of each publisher: the rules
 * that hold here whoever publishes (one publisher per name and one session per id, players end with their
 * publisher). It knows nothing of the fleet: the stream service (stream-service.ts) is the front door that
 * adds the fleet's rules, and a relay of a stream published on another member enters here directly.
 */
export class StreamRegistry extends EventEmitter<StreamRegistryEvents> {
  readonly users = new StreamUsers();
  readonly #byName = new Map<string, Publisher | 'reserved'>();
  readonly #byId = new Map<string, MediaSession | 'reserved'>();
  readonly #metrics: MediaMetrics;
  readonly #log: Logger;

  constructor(options: StreamRegistryOptions) {
    super();
    this.#metrics = options.metrics;
    this.#log = options.log;
  }

  /**
   * Reserves the name and the media session id, builds the publisher with `create` (which may still refuse,
   * e.g. when another member has the name), and keeps it: 409 when either is taken.
   */
  async admitPublisher<T extends { session: Publisher }>(
    init: MediaSessionInit,
    create: () => Promise<T>,
  ): Promise<T> {
    if (this.#byName.has(init.name)) throw new ConflictError(StreamInfo.STREAM_NAME_ALREADY_IN_USE);
    this.#reserveId(init.mediaSessionId);
    this.#byName.set(init.name, 'reserved');
    try {
      const created = await create();
      const publisher = created.session;
      this.#byName.set(init.name, publisher);
      this.#track(publisher);
      this.#metrics.streamsPublished.inc();
      publisher.on('status', (status) => {
        if (status === StreamStatus.PUBLISHING) this.emit('published', publisher);
      });
      publisher.probeVideoSize().catch((error: unknown) => {
        if (!publisher.ended) this.#log.warn({ err: error, stream: init.name }, 'video size probe failed');
      });
      return created;
    } catch (error) {
      this.#byName.delete(init.name);
      this.#byId.delete(init.mediaSessionId);
      throw asStreamError(error);
    }
  }

  /** Reserves the media session id, builds a player of `source` with `create`, and keeps it as a user of it. */
  async admitPlayer<T extends { session: Player }>(
    init: MediaSessionInit,
    source: Publisher,
    create: () => Promise<T>,
  ): Promise<T> {
    this.#reserveId(init.mediaSessionId);
    // the player uses its source from the start, so nothing that ends unused sources (a fleet relay's idle
    // sweep) takes it away while the player's transport is being made
    const user = this.users.acquire(source, 'player');
    try {
      const created = await create();
      const player = created.session;
      if (source.ended) {
        player.end(StreamStatus.STOPPED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
        throw new NotFoundError(StreamInfo.STREAM_NOT_FOUND);
      }
      player.on('status', () => {
        if (player.ended) user.release();
      });
      this.#track(player);
      this.#metrics.streamsPlayed.inc();
      return created;
    } catch (error) {
      user.release();
      this.#byId.delete(init.mediaSessionId);
      throw asStreamError(error);
    }
  }

  /** The live publisher of a name, if any. */
  publisher(name: string): Publisher | undefined {
    const entry = this.#byName.get(name);
    return entry instanceof Publisher && !entry.ended ? entry : undefined;
  }

  session(mediaSessionId: string): MediaSession | undefined {
    const entry = this.#byId.get(mediaSessionId);
    return entry === 'reserved' ? undefined : entry;
  }

  find(filter: StreamFilter = {}): StreamDescription[] {
    const out: StreamDescription[] = [];
    for (const entry of this.#byId.values()) {
      if (entry === 'reserved') continue;
      const d = entry.describe();
      if (matches(d, filter)) out.push(d);
    }
    return out;
  }

  /** Ends every session; used on shutdown. */
  endAll(info: string): void {
    for (const entry of [...this.#byId.values()]) {
      if (entry !== 'reserved') entry.end(entry.stoppedStatus, info);
    }
  }

  #reserveId(mediaSessionId: string): void {
    if (this.#byId.has(mediaSessionId)) throw new ConflictError(StreamInfo.MEDIASESSION_ID_ALREADY_IN_USE);
    this.#byId.set(mediaSessionId, 'reserved');
  }

  #track(session: MediaSession): void {
    this.#byId.set(session.mediaSessionId, session);
    session.on('status', (status, info) => {
      this.#log.info(
        { stream: session.name, mediaSessionId: session.mediaSessionId, status, info },
        'stream status',
      );
      if (!session.ended) return;
      this.#byId.delete(session.mediaSessionId);
      if (session instanceof Publisher) {
        this.#metrics.streamsPublished.dec();
        if (this.#byName.get(session.name) === session) this.#byName.delete(session.name);
        for (const kind of session.producers.keys())
          this.#metrics.streamBitrate.remove({ stream: session.name, kind });
        this.emit('unpublished', session);
      } else {
        this.#metrics.streamsPlayed.dec();
      }
    });
  }
}

function asStreamError(error: unknown): Error {
  if (error instanceof SdpError) return new BadRequestError(error.message);
  return error instanceof Error ? error : new Error(String(error));
}
