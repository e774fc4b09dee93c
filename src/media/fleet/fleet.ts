import type * as ms from 'mediasoup/types';
import {
  claimWins,
  type MemberInfo,
  type NameClaim,
  type OriginStream,
  type RelayOffer,
} from '../../contracts/fleet-api.js';
import type { Logger } from '../../log.js';
import { ConflictError } from '../errors.js';
import type { MediaMetrics } from '../metrics.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { MediaSession } from '../streams/media-session.js';
import type { Publisher } from '../streams/publisher.js';
import { StreamInfo, StreamStatus } from '../streams/status.js';
import type { RemoteStreams, StreamService } from '../streams/stream-service.js';
import { FleetError, FleetErrorCode } from './fleet-errors.js';
import { pipeAddress, type PipeListen } from './fleet-pipe.js';
import { FleetRelay } from './fleet-relay.js';
import { LoopGuard } from './loop-guard.js';
import { MemberClient } from './member-client.js';
import type { Membership, Peer } from './membership.js';
import { OriginRelays, type ServedRelay } from './origin-relays.js';
import { RelayedPublisher } from './relayed-publisher.js';

export interface FleetConfig extends PipeListen {
  /** This server's id in the fleet: unique, stable while it runs (the pod name in a cluster). */
  memberId: string;
  /** The REST token every member of the fleet requires (the fleet shares one). */
  restToken?: string | undefined;
  /** A relay without players is closed after this long. */
  relayIdleMs: number;
  /** How often every member is probed. */
  probeIntervalMs: number;
}

/** Another member as this server sees it. */
interface Member {
  peer: Peer;
  client: MemberClient;
  up: boolean;
  info: MemberInfo | undefined;
  timer: NodeJS.Timeout | undefined;
  probing: boolean;
}

export interface MemberDescription {
  restUrl: string;
  memberId?: string | undefined;
  up: boolean;
  streams: OriginStream[];
}

export interface RelayDescription {
  name: string;
  state: string;
  origin: string;
  players: number;
  createDate: number;
}

/**
 * This server in its fleet: knows the other members (from a membership source, probed every second), plays
 * streams published on another member by relaying them from that member (the origin), serves its own streams
 * to members that ask, and keeps one publisher per name across the fleet.
 */
export class Fleet implements RemoteStreams {
  readonly #config: FleetConfig;
  readonly #membership: Membership;
  readonly #streams: StreamService;
  readonly #engine: MediaEngine;
  readonly #metrics: MediaMetrics;
  readonly #log: Logger;
  readonly #members = new Map<string, Member>();
  readonly #relays = new Map<string, FleetRelay>();
  readonly #opening = new Map<string, Promise<Publisher | undefined>>();
  readonly #origin: OriginRelays;
  readonly #sweeper: NodeJS.Timeout;
  readonly #sampled = { in: 0, out: 0, lost: 0 };
  #wsPorts: number[] = [];
  #otherUsers: (name: string) => number = () => 0;
  readonly loopGuard: LoopGuard;
  #nextRouter = 0;
  #closed = false;

  constructor(
    config: FleetConfig,
    membership: Membership,
    streams: StreamService,
    engine: MediaEngine,
    metrics: MediaMetrics,
    log: Logger,
  ) {
    this.#config = config;
    this.#membership = membership;
    this.#streams = streams;
    this.#engine = engine;
    this.#metrics = metrics;
    this.#log = log.child({ component: 'fleet', memberId: config.memberId });
    this.#origin = new OriginRelays(config, config.memberId);
    this.loopGuard = new LoopGuard(
      {
        ownWsPorts: () => this.#wsPorts,
        memberEndpoints: () =>
          [...this.#members.values()].flatMap((m) =>
            m.up && m.info
              ? [{ memberId: m.info.memberId, restUrl: m.peer.restUrl, wsPorts: m.info.wsPorts }]
              : [],
          ),
        hasName: async (name) =>
          this.#streams.publisher(name) !== undefined || (await this.#locate(name)) !== undefined,
      },
      config.listenIp,
      config.announcedIp,
    );
    for (const code of Object.values(FleetErrorCode)) metrics.fleetRelayFailures.inc({ code }, 0);
    membership.on('added', (peer) => this.#add(peer));
    membership.on('removed', (peer) => this.#remove(peer));
    streams.on('published', (publisher) => {
      if (!(publisher instanceof RelayedPublisher)) void this.#announce(publisher);
    });
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1000, config.relayIdleMs));
    streams.useRemote(this);
  }

  get memberId(): string {
    return this.#config.memberId;
  }
  get origin(): OriginRelays {
    return this.#origin;
  }

  /** Starts following the membership, once this server listens on its signalling ports. */
  async start(wsPorts: number[]): Promise<void> {
    this.#wsPorts = wsPorts;
    await this.#membership.start();
  }

  // --- RemoteStreams: what the stream service asks of the fleet ---

  /** A local publisher for a name published on another member: its relay, set up on first use. */
  async source(name: string): Promise<Publisher | undefined> {
    if (this.#closed) return undefined;
    const live = this.#relays.get(name);
    if (live?.publisher && live.state === 'live') return live.publisher;
    let opening = this.#opening.get(name);
    if (!opening) {
      opening = this.#openRelay(name).finally(() => this.#opening.delete(name));
      this.#opening.set(name, opening);
    }
    return opening;
  }

  /** Refuses a name another member already publishes (the fleet-wide "Stream name is already in use"). */
  async checkName(name: string): Promise<void> {
    if (await this.#locate(name)) throw new ConflictError(StreamInfo.STREAM_NAME_ALREADY_IN_USE);
  }

  // --- what other members ask of this one (fleet-routes.ts) ---

  info(): MemberInfo {
    return {
      memberId: this.#config.memberId,
      mediaIp: pipeAddress(this.#config),
      wsPorts: this.#wsPorts,
      streams: this.#originated(),
    };
  }

  /** The stream if it is published here by a client of ours: relayed streams are never served on. */
  originOf(name: string): Publisher | undefined {
    const publisher = this.#streams.publisher(name);
    return publisher && !(publisher instanceof RelayedPublisher) ? publisher : undefined;
  }

  /**
   * Another member accepted a publisher of `claim.name`. If ours is older (or as old with a lower member id)
   * ours stays and the claim loses; otherwise ours ends FAILED. Answers the winning claim, which the other
   * member applies the same way.
   */
  async settleClaim(claim: NameClaim): Promise<NameClaim> {
    await this.#member(claim.memberId);
    const local = this.originOf(claim.name);
    if (!local) return claim;
    const ours = this.#claimOf(local);
    if (claimWins(ours, claim)) return ours;
    this.#lost(local, ours, claim);
    return claim;
  }

  members(): MemberDescription[] {
    return [...this.#members.values()].map((m) => ({
      restUrl: m.peer.restUrl,
      memberId: m.info?.memberId,
      up: m.up,
      streams: m.info?.streams ?? [],
    }));
  }

  async relays(): Promise<{ fetched: RelayDescription[]; served: ServedRelay[] }> {
    return {
      fetched: [...this.#relays.values()].map((r) => ({
        name: r.name,
        state: r.state,
        origin: r.origin.memberId,
        players: this.#players(r.name).length,
        createDate: r.createdAt,
      })),
      served: await this.#origin.describe(),
    };
  }

  /** Adds what the fleet pipes carried since the last scrape to the counters. */
  async sampleMetrics(): Promise<void> {
    let bytesIn = 0;
    let lost = 0;
    for (const relay of this.#relays.values()) {
      const stats = await relay.pipe?.stats();
      bytesIn += stats?.bytes ?? 0;
      lost += stats?.lost ?? 0;
    }
    const bytesOut = await this.#origin.bytesSent();
    // counters only grow: a relay closed since the last scrape takes its share with it
    this.#metrics.fleetRelayedBytes.inc({ direction: 'in' }, Math.max(0, bytesIn - this.#sampled.in));
    this.#metrics.fleetRelayedBytes.inc({ direction: 'out' }, Math.max(0, bytesOut - this.#sampled.out));
    this.#metrics.fleetRelayedPacketsLost.inc(Math.max(0, lost - this.#sampled.lost));
    Object.assign(this.#sampled, { in: bytesIn, out: bytesOut, lost });
    this.#metrics.fleetRelaysServed.set(this.#origin.size);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#membership.close();
    for (const m of this.#members.values()) clearTimeout(m.timer);
    this.#members.clear();
    for (const relay of [...this.#relays.values()]) relay.close();
    this.#origin.closeAll();
  }

  // --- internals ---

  async #openRelay(name: string): Promise<Publisher | undefined> {
    const found = await this.#locate(name);
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
      const { session } = await this.#streams.publishWith(
        init,
        async () => ({ session: await relay.open(this.#router(), this.#config, this.#config.memberId) }),
        { fleetCheck: false },
      );
      this.#metrics.fleetRelaySetupSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.#log.info({ stream: name, origin: relay.origin.memberId }, 'relay live');
      return session;
    } catch (error) {
      relay.close(
        error instanceof FleetError ? error : new FleetError(FleetErrorCode.RELAY_REFUSED, String(error)),
      );
      // a name taken here meanwhile (a local publisher won the race) is served locally
      if (error instanceof ConflictError) return this.#streams.publisher(name);
      this.#log.warn({ stream: name, err: error }, 'relay could not be set up');
      return undefined;
    }
  }

  /** The member that originates `name` (asked now, all members at once; silent ones skipped). */
  async #locate(
    name: string,
  ): Promise<{ member: Member; info: OriginStream & { memberId: string } } | undefined> {
    const up = [...this.#members.values()].filter((m) => m.up && m.info);
    const answers = await Promise.all(
      up.map(async (member) => {
        const origin = await member.client.origin(name).catch(() => undefined);
        const memberId = member.info?.memberId;
        return origin && memberId ? { member, info: { ...origin, memberId } } : undefined;
      }),
    );
    let best: { member: Member; info: OriginStream & { memberId: string } } | undefined;
    for (const a of answers) if (a && (!best || claimWins(a.info, best.info))) best = a;
    return best;
  }

  /** Tells every member we accepted a publisher of this name; a member with an older claim wins. */
  async #announce(publisher: Publisher): Promise<void> {
    await this.#claim(
      publisher,
      [...this.#members.values()].filter((m) => m.up),
    );
  }

  /**
   * A member came (back) up: it may have accepted names we originate while we could not reach each other
   * (a split brain), or it restarted. Both sides send their claims when they see the other up, so each such
   * name is settled by the claim order whichever side is seen first; the loser's publisher ends FAILED.
   */
  async #reconcile(member: Member): Promise<void> {
    const ours = this.#originated().flatMap((s) => this.originOf(s.name) ?? []);
    await Promise.all(ours.map((publisher) => this.#claim(publisher, [member])));
  }

  /** Sends our claim on the publisher's name to these members; one answering an older claim wins it. */
  async #claim(publisher: Publisher, members: Member[]): Promise<void> {
    const ours = this.#claimOf(publisher);
    const winners = await Promise.all(members.map((m) => m.client.claim(ours).catch(() => ours)));
    const winner = winners.find((w) => w.memberId !== ours.memberId);
    if (winner && !publisher.ended) this.#lost(publisher, ours, winner);
  }

  /** Our publisher lost the name to an older claim: it ends FAILED, as a second publisher here would. */
  #lost(publisher: Publisher, ours: NameClaim, winner: NameClaim): void {
    this.#log.warn({ stream: ours.name, claim: ours, winner }, 'publisher lost a fleet name claim');
    publisher.end(StreamStatus.FAILED, StreamInfo.STREAM_NAME_ALREADY_IN_USE);
  }

  #claimOf(publisher: Publisher): NameClaim {
    return { name: publisher.name, memberId: this.#config.memberId, publishedAt: publisher.createdAt };
  }

  #originated(): OriginStream[] {
    return this.#streams
      .find({ published: true })
      .filter((d) => this.originOf(d.name) !== undefined)
      .map((d) => ({ name: d.name, publishedAt: d.createDate }));
  }

  #players(name: string): MediaSession[] {
    return this.#streams
      .find({ name, published: false })
      .flatMap((d) => this.#streams.session(d.mediaSessionId) ?? []);
  }

  #router(): ms.Router {
    const routers = this.#engine.routers();
    const router = routers[this.#nextRouter++ % routers.length];
    if (!router) throw new Error('media engine has no routers');
    return router;
  }

  /** Besides players, what else uses a relayed stream here (pushes of it to other servers). */
  useOtherUsers(count: (name: string) => number): void {
    this.#otherUsers = count;
  }

  #sweep(): void {
    for (const relay of [...this.#relays.values()]) {
      const users = this.#players(relay.name).length + this.#otherUsers(relay.name);
      if (relay.idle(users, this.#config.relayIdleMs)) {
        this.#log.info({ stream: relay.name }, 'relay idle: closing');
        relay.close();
      }
    }
  }

  #add(peer: Peer): void {
    if (this.#members.has(peer.key) || this.#closed) return;
    const member: Member = {
      peer,
      client: new MemberClient(peer.restUrl, this.#config.restToken),
      up: false,
      info: undefined,
      timer: undefined,
      probing: false,
    };
    this.#members.set(peer.key, member);
    void this.#probe(member);
  }

  #remove(peer: Peer): void {
    const member = this.#members.get(peer.key);
    if (!member) return;
    clearTimeout(member.timer);
    this.#members.delete(peer.key);
    this.#updateMembers();
  }

  async #probe(member: Member): Promise<void> {
    await this.#check(member);
    if (this.#closed || this.#members.get(member.peer.key) !== member) return;
    member.timer = setTimeout(() => void this.#probe(member), this.#config.probeIntervalMs);
  }

  /** One probe: is the member up, who is it, what does it originate. */
  async #check(member: Member): Promise<void> {
    const was = member.up ? member.info?.memberId : undefined;
    try {
      const info = await member.client.info();
      // a source may list this server itself (its own pod): it is not its own member
      member.up = info.memberId !== this.#config.memberId;
      member.info = info;
      // a member seen up anew (first, back after a partition, or restarted): settle the names we both have
      if (member.up && was !== info.memberId && !this.#closed) void this.#reconcile(member);
    } catch {
      if (member.up) this.#log.warn({ restUrl: member.peer.restUrl }, 'fleet member stopped answering');
      member.up = false;
    }
    this.#updateMembers();
  }

  /**
   * The member a request claims to come from, if it is one (probing all members once more when it is not
   * known yet: it may have just appeared). Offers and claims from anyone else are refused: an authenticated
   * caller cannot point an origin's media at an address outside the fleet, nor end a publisher by a claim.
   */
  async #member(memberId: string): Promise<Member> {
    const find = (): Member | undefined =>
      [...this.#members.values()].find((m) => m.up && m.info?.memberId === memberId);
    const known =
      find() ?? (await Promise.all([...this.#members.values()].map((m) => this.#check(m))), find());
    if (!known) throw new FleetError(FleetErrorCode.NOT_MEMBER, `${memberId} is not a member of this fleet`);
    return known;
  }

  /** Refuses an offer from outside the fleet, or one whose media address is not the member's. */
  async checkOffer(offer: RelayOffer): Promise<void> {
    const member = await this.#member(offer.memberId);
    if (member.info?.mediaIp !== offer.ip)
      throw new FleetError(
        FleetErrorCode.NOT_MEMBER,
        `${offer.ip} is not the media address of ${offer.memberId}`,
      );
  }

  #updateMembers(): void {
    const members = [...this.#members.values()].filter((m) => m.info?.memberId !== this.#config.memberId);
    const up = members.filter((m) => m.up).length;
    this.#metrics.fleetMembers.set({ state: 'up' }, up);
    this.#metrics.fleetMembers.set({ state: 'down' }, members.length - up);
  }

  #updateGauge(): void {
    const counts = { connecting: 0, live: 0 };
    for (const r of this.#relays.values()) if (r.state !== 'closed') counts[r.state]++;
    for (const [state, n] of Object.entries(counts)) this.#metrics.fleetRelays.set({ state }, n);
  }
}
