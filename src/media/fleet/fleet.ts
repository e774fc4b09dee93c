import type { MemberInfo, NameClaim, RelayOffer } from '../../contracts/fleet-api.js';
import type { Logger } from '../../log.js';
import { internalIpOf, type ListenConfig } from '../media-options.js';
import type { MediaMetrics } from '../metrics.js';
import { fleetIdOf } from '../push/push-chain.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { Publisher } from '../streams/publisher.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import type { RemoteStreams } from '../streams/stream-service.js';
import { FleetMembers, type MemberDescription } from './fleet-members.js';
import { membershipOf, type FleetOptions } from './fleet-options.js';
import type { PipeListen } from '../rtc/pipe-half.js';
import { FleetRelays, type RelayDescription } from './fleet-relays.js';
import { LoopGuard } from '../push/push-chain.js';
import { NameClaims } from './name-claims.js';
import { OriginRelays, type ServedRelay } from './origin-relays.js';

export interface FleetConstructorOptions {
  config: FleetOptions;
  /** This server's id in the fleet: unique, stable while it runs (media-options.ts memberIdOf). */
  memberId: string;
  /** Where this server listens: its fleet pipes too. */
  listen: ListenConfig;
  /** The REST token every member of the fleet requires (the fleet shares one). */
  restToken: string | undefined;
  registry: StreamRegistry;
  engine: MediaEngine;
  metrics: MediaMetrics;
  log: Logger;
}

/**
 * This server in its fleet, a facade over parts with one job each: the members (probed, who originates a
 * name), the name claims (one publisher per name across the fleet), the relays fetched from other members
 * (opened on first use, closed when idle), the relays served to them (origin-relays.ts), and the loop guard
 * the pushes ask.
 */
export class Fleet implements RemoteStreams {
  readonly memberId: string;
  readonly origin: OriginRelays;
  readonly loopGuard: LoopGuard;
  readonly #config: FleetOptions;
  readonly #pipes: PipeListen;
  readonly #metrics: MediaMetrics;
  readonly #members: FleetMembers;
  readonly #claims: NameClaims;
  readonly #relays: FleetRelays;
  #sampledOut = 0;
  #wsPorts: number[] = [];
  #closed = false;

  constructor(options: FleetConstructorOptions) {
    const { config, memberId, listen, registry, metrics } = options;
    const log = options.log.child({ component: 'fleet', memberId });
    this.memberId = memberId;
    this.#config = config;
    this.#metrics = metrics;
    this.#pipes = {
      internalIp: internalIpOf(listen),
      rtcMinPort: listen.rtcMinPort,
      rtcMaxPort: listen.rtcMaxPort,
    };
    this.#members = new FleetMembers({
      membership: membershipOf(config, options.log),
      memberId,
      restToken: options.restToken,
      probeIntervalMs: config.probeIntervalMs,
      metrics,
      log,
    });
    this.#claims = new NameClaims({ members: this.#members, registry, memberId, log });
    this.#relays = new FleetRelays({
      members: this.#members,
      registry,
      engine: options.engine,
      listen: this.#pipes,
      memberId,
      relayIdleMs: config.relayIdleMs,
      metrics,
      log,
    });
    this.origin = new OriginRelays({ listen: this.#pipes, memberId, users: registry.users });
    this.loopGuard = new LoopGuard(
      {
        ownWsPorts: () => this.#wsPorts,
        memberEndpoints: () =>
          this.#members
            .up()
            .flatMap((m) =>
              m.info ? [{ memberId: m.info.memberId, restUrl: m.peer.restUrl, wsPorts: m.info.wsPorts }] : [],
            ),
        hasName: (name) => this.#claims.inFleet(name),
      },
      listen.ip,
      listen.announcedIps,
    );
  }

  /** Starts following the membership, once this server listens on its signalling ports. */
  async start(wsPorts: number[]): Promise<void> {
    this.#wsPorts = wsPorts;
    await this.#members.start();
  }

  /** The id this server announces as its fleet's (push-chain.ts). */
  fleetId(): string {
    return fleetIdOf(this.#config.fleetId, this.memberId, this.#members.describe());
  }

  // --- RemoteStreams: what the stream service asks of the fleet ---

  /** A local publisher for a name published on another member: its relay, set up on first use. */
  source(name: string): Promise<Publisher | undefined> {
    return this.#relays.source(name);
  }

  /** Refuses a name another member already publishes (the fleet-wide "Stream name is already in use"). */
  checkName(name: string): Promise<void> {
    return this.#claims.checkName(name);
  }

  // --- what other members ask of this one (fleet-routes.ts) ---

  info(): MemberInfo {
    return {
      memberId: this.memberId,
      mediaIp: this.#pipes.internalIp,
      wsPorts: this.#wsPorts,
      streams: this.#claims.originated(),
    };
  }

  /** The stream if it is published here by a client of ours: relayed streams are never served on. */
  originOf(name: string): Publisher | undefined {
    return this.#claims.originOf(name);
  }

  /** Another member accepted a publisher of `claim.name`: the winning claim (name-claims.ts). */
  settleClaim(claim: NameClaim): Promise<NameClaim> {
    return this.#claims.settle(claim);
  }

  /** Refuses an offer from outside the fleet, or one whose media address is not the member's. */
  checkOffer(offer: RelayOffer): Promise<void> {
    return this.#members.checkOffer(offer);
  }

  members(): MemberDescription[] {
    return this.#members.describe();
  }

  async relays(): Promise<{ fetched: RelayDescription[]; served: ServedRelay[] }> {
    return { fetched: this.#relays.describe(), served: await this.origin.describe() };
  }

  /** Adds what the fleet pipes carried since the last scrape to the counters. */
  async sampleMetrics(): Promise<void> {
    await this.#relays.sampleMetrics();
    const bytesOut = await this.origin.bytesSent();
    // counters only grow: a relay closed since the last scrape takes its share with it
    this.#metrics.fleetRelayedBytes.inc({ direction: 'out' }, Math.max(0, bytesOut - this.#sampledOut));
    this.#sampledOut = bytesOut;
    this.#metrics.fleetRelaysServed.set(this.origin.size);
  }

  /** Closes; with `lost`, the relays served to members end as when this origin dies (their players fail). */
  close(how: { lost?: boolean } = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#members.close();
    this.#relays.close();
    if (how.lost) this.origin.dropAll();
    else this.origin.closeAll();
  }
}
