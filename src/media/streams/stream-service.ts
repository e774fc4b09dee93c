import type { MediaEngine } from '../rtc/media-engine.js';
import { NotFoundError } from '../errors.js';
import { parseOffer } from '../rtc/sdp-offer.js';
import type { MediaSession, MediaSessionInit } from './media-session.js';
import { Player } from './player.js';
import { Publisher } from './publisher.js';
import { StreamInfo, type StreamDescription } from './status.js';
import type { StreamFilter, StreamRegistry, StreamRegistryEvents } from './stream-registry.js';
import type { StreamUse, StreamUser } from './stream-users.js';

/** What the stream service asks of the fleet this server is in (media/fleet/fleet.ts). */
export interface RemoteStreams {
  /** A local publisher for a name published on another member (a relay from it), if any member has it. */
  source(name: string): Promise<Publisher | undefined>;
  /** Throws a ConflictError when another member already publishes the name. */
  checkName(name: string): Promise<void>;
}

export interface StreamServiceOptions {
  registry: StreamRegistry;
  engine: MediaEngine;
  /** The fleet: where names not published here are looked up, and names are checked fleet-wide. */
  remote: RemoteStreams;
}

/**
 * The streams of this server as its clients reach them. The WebSocket sessions, the REST API and
 * server-to-server pushes all publish, play and stop through here, so the rules hold whoever asks: one
 * publisher per name across the fleet (checked here, once, for every publisher but a relay), players end with
 * their publisher, a name published on another member is relayed here on first use.
 */
export class StreamService {
  readonly #registry: StreamRegistry;
  readonly #engine: MediaEngine;
  readonly #remote: RemoteStreams;

  constructor(options: StreamServiceOptions) {
    this.#registry = options.registry;
    this.#engine = options.engine;
    this.#remote = options.remote;
  }

  /** The publisher of a name here, or else on another member of the fleet (relayed here on first use). */
  async resolve(name: string): Promise<Publisher | undefined> {
    return this.publisher(name) ?? (await this.#remote.source(name));
  }

  /** A publisher from a browser's (or any WCS client's) offer. */
  async publish(init: MediaSessionInit, sdp: unknown): Promise<{ session: Publisher; answer: string }> {
    return this.publishWith(init, async () => {
      const { publisher, answer } = await Publisher.create(this.#engine, init, parseOffer(sdp));
      return { session: publisher, answer };
    });
  }

  /**
   * Any other publisher (a server-to-server pull): `create` builds it once the name is reserved here and
   * known to be free across the fleet, so the same rules hold.
   */
  async publishWith<T extends { session: Publisher }>(
    init: MediaSessionInit,
    create: () => Promise<T>,
  ): Promise<T> {
    return this.#registry.admitPublisher(init, async () => {
      await this.#remote.checkName(init.name);
      return create();
    });
  }

  async play(init: MediaSessionInit, sdp: unknown): Promise<{ session: Player; answer: string }> {
    return this.playWith(init, async (source) => {
      const { player, answer } = await Player.create(this.#engine, init, parseOffer(sdp), source);
      return { session: player, answer };
    });
  }

  /**
   * Any other player (a pull by another streamfed server over a pipe): `create` builds it of the stream's
   * publisher (here, or relayed from another member), under the same rules: an unknown stream is refused
   * as for a browser, the player is a user of its stream and ends with it.
   */
  async playWith<T extends { session: Player }>(
    init: MediaSessionInit,
    create: (source: Publisher) => Promise<T>,
  ): Promise<T> {
    const source = await this.resolve(init.name);
    if (!source) throw new NotFoundError(StreamInfo.STREAM_NOT_FOUND);
    return this.#registry.admitPlayer(init, source, () => create(source));
  }

  /** Takes a use of a publisher (a push of it) until released: a stream in use is not let go. */
  use(publisher: Publisher, use: StreamUse): StreamUser {
    return this.#registry.users.acquire(publisher, use);
  }

  /** Publishers starting (PUBLISHING) and ending. */
  on<E extends keyof StreamRegistryEvents>(
    event: E,
    listener: (...args: StreamRegistryEvents[E]) => void,
  ): this {
    this.#registry.on(event, listener as never);
    return this;
  }

  /** The live publisher of a name here, if any. */
  publisher(name: string): Publisher | undefined {
    return this.#registry.publisher(name);
  }

  session(mediaSessionId: string): MediaSession | undefined {
    return this.#registry.session(mediaSessionId);
  }

  find(filter: StreamFilter = {}): StreamDescription[] {
    return this.#registry.find(filter);
  }

  /** Ends every session; used on shutdown. */
  endAll(info: string): void {
    this.#registry.endAll(info);
  }
}
