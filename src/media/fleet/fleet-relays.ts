import type { Logger } from '../../log.js';
import { ConflictError } from '../errors.js';
import type { MediaMetrics } from '../metrics.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { MediaSession } from '../streams/media-session.js';
import type { Publisher } from '../streams/publisher.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import { FleetError, FleetErrorCode } from './fleet-errors.js';
import type { FleetMembers } from './fleet-members.js';
import type { PipeListen } from '../rtc/pipe-half.js';
import { FleetRelay } from './fleet-relay.js';

export interface RelayDescription {
  name: string;
  state: string;
  origin: string;
  players: number;
  createDate: number;
}

export interface FleetRelaysOptions {
  members: FleetMembers;
  registry: StreamRegistry;
  /** Chooses the router each relay's pipe lives on. */
  engine: MediaEngine;
  /** Where the relays' pipes listen. */
  listen: PipeListen;
  memberId: string;
  /** A relay nothing uses is closed after this long. */
  relayIdleMs: number;
  metrics: MediaMetrics;
  log: Logger;
}

/**
 * The relays of streams published on other members that this server fetches: one per name, opened on first
 * use (concurrent asks share the opening), entered into the registry like a publisher, closed once nothing
 * has used it (players, pushes of it: the registry's users) for `relayIdleMs`.
 */
export class FleetRelays {
  readonly #members: FleetMembers;
  readonly #registry: StreamRegistry;
  readonly #engine: MediaEngine;
  readonly #listen: PipeListen;
  readonly #memberId: string;
  readonly #relayIdleMs: number;
  readonly #metrics: MediaMetrics;
  readonly #log: Logger;
  readonly #relays = new Map<string, FleetRelay>();
  readonly #opening = new Map<string, Promise<Publisher | undefined>>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #sampled = { in: 0, lost: 0 };
  #closed = false;

  constructor(options: FleetRelaysOptions) {
    this.#members = options.members;
    this.#registry = options.registry;
    this.#engine = options.engine;
    this.#listen = options.listen;
    this.#memberId = options.memberId;
    this.#relayIdleMs = options.relayIdleMs;
    this.#metrics = options.metrics;
    this.#log = options.log;
    for (const code of Object.values(FleetErrorCode)) this.#metrics.fleetRelayFailures.inc({ code }, 0);
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1000, this.#relayIdleMs));
  }

  /** A local publisher for a name published on another member: its relay, set up on first use. */
  async source(name: string): Promise<Publisher | undefined> {
    if (this.#closed) return undefined;
    const live = this.#relays.get(name);
    if (live?.publisher && live.state === 'live') return live.publisher;
    let opening = this.#opening.get(name);
    if (!opening) {
      opening = this.#open(name).finally(() => this.#opening.delete(name));
      this.#opening.set(name, opening);
    }
    return opening;
  }

  describe(): RelayDescription[] {
    return [...this.#relays.values()].map((r) => ({
      name: r.name,
      state: r.state,
      origin: r.origin.memberId,
      players: this.#players(r.name).length,
      createDate: r.createdAt,
    }));
  }

  /** Adds what the relays' pipes received (and lost) since the last scrape to the counters. */
  async sampleMetrics(): Promise<void> {
    let bytesIn = 0;
    let lost = 0;
    for (const relay of this.#relays.values()) {
      const stats = await relay.pipe?.stats();
      bytesIn += stats?.bytes ?? 0;
      lost += stats?.lost ?? 0;
    }
    // counters only grow: a relay closed since the last scrape takes its share with it
    this.#metrics.fleetRelayedBytes.inc({ direction: 'in' }, Math.max(0, bytesIn - this.#sampled.in));
    this.#metrics.fleetRelayedPacketsLost.inc(Math.max(0, lost - this.#sampled.lost));
    Object.assign(this.#sampled, { in: bytesIn, lost });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const relay of [...this.#relays.values()]) relay.close();
  }

  async #open(name: string): Promise<Publisher | undefined> {
    const found = await this.#members.locate(name);
    if (!found || this.#closed) return undefined;
    const started = process.hrtime.bigint();
    const relay = new FleetRelay(name, { memberId: found.info.memberId, client: found.member.client });
    this.#relays.set(name, relay);
    this.#updateGauge();
    relay.on('state', () => this.#updateGauge());
    relay.once('close', (error) => {
      if (this.#relays.get(name) === relay) this.#relays.delete(name);
      this.#updateGauge();
      if (error) {
        this.#metrics.fleetRelayFailures.inc({ code: error.code });
        this.#log.warn(
          { stream: name, origin: relay.origin.memberId, code: error.code, err: error },
          'relay failed',
        );
      } else {
        this.#log.info({ stream: name, origin: relay.origin.memberId }, 'relay closed');
      }
    });
    const init = {
      appKey: 'defaultApp',
      sessionId: `fleet:${found.info.memberId}`,
      mediaSessionId: relay.id,
      name,
    };
    try {
      // a relayed stream enters the registry directly: its name is the origin's, checked there
      const { session } = await this.#registry.admitPublisher(init, async () => ({
        session: await relay.open(this.#engine.pickRouter(), this.#listen, this.#memberId),
      }));
      this.#metrics.fleetRelaySetupSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.#log.info({ stream: name, origin: relay.origin.memberId }, 'relay live');
      return session;
    } catch (error) {
      relay.close(
        error instanceof FleetError ? error : new FleetError(FleetErrorCode.RELAY_REFUSED, String(error)),
      );
      // a name taken here meanwhile (a local publisher won the race) is served locally
      if (error instanceof ConflictError) return this.#registry.publisher(name);
      this.#log.warn({ stream: name, err: error }, 'relay could not be set up');
      return undefined;
    }
  }

  #players(name: string): MediaSession[] {
    return this.#registry
      .find({ name, published: false })
      .flatMap((d) => this.#registry.session(d.mediaSessionId) ?? []);
  }

  /** Closes the relays nothing has used (players, pushes of them) for the idle time. */
  #sweep(): void {
    for (const relay of [...this.#relays.values()]) {
      const users = relay.publisher ? this.#registry.users.count(relay.publisher) : 0;
      if (relay.idle(users, this.#relayIdleMs)) {
        this.#log.info({ stream: relay.name }, 'relay idle: closing');
        relay.close();
      }
    }
  }

  #updateGauge(): void {
    const counts = { connecting: 0, live: 0 };
    for (const r of this.#relays.values()) if (r.state !== 'closed') counts[r.state]++;
    for (const [state, n] of Object.entries(counts)) this.#metrics.fleetRelays.set({ state }, n);
  }
}
