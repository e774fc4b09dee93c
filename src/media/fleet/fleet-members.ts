import { EventEmitter } from 'node:events';
import { claimWins, type MemberInfo, type OriginStream, type RelayOffer } from '../../contracts/fleet-api.js';
import type { Logger } from '../../log.js';
import type { MediaMetrics } from '../metrics.js';
import { FleetError, FleetErrorCode } from './fleet-errors.js';
import { MemberClient } from './member-client.js';
import type { Membership, Peer } from './membership.js';

/** Another member as this server sees it. */
export interface Member {
  peer: Peer;
  client: MemberClient;
  up: boolean;
  info: MemberInfo | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** The member that originates a name, with its claim on it. */
export interface Origin {
  member: Member;
  info: OriginStream & { memberId: string };
}

export interface MemberDescription {
  restUrl: string;
  memberId?: string | undefined;
  up: boolean;
  streams: OriginStream[];
}

export interface FleetMembersEvents {
  /** A member seen up anew: first, back after a partition, or restarted under another id. */
  up: [member: Member];
}

export interface FleetMembersOptions {
  membership: Membership;
  /** This server's own id: a source listing this server is not listing a member. */
  memberId: string;
  /** The REST token every member of the fleet requires (the fleet shares one). */
  restToken: string | undefined;
  probeIntervalMs: number;
  metrics: MediaMetrics;
  log: Logger;
}

/**
 * The other members of this server's fleet: followed from a membership source, each probed every
 * `probeIntervalMs` (up or not, who it is, what it originates). Answers who a member is, and who originates
 * a name; says when a member comes up.
 */
export class FleetMembers extends EventEmitter<FleetMembersEvents> {
  readonly #membership: Membership;
  readonly #memberId: string;
  readonly #restToken: string | undefined;
  readonly #probeIntervalMs: number;
  readonly #metrics: MediaMetrics;
  readonly #log: Logger;
  readonly #members = new Map<string, Member>();
  #closed = false;

  constructor(options: FleetMembersOptions) {
    super();
    this.#membership = options.membership;
    this.#memberId = options.memberId;
    this.#restToken = options.restToken;
    this.#probeIntervalMs = options.probeIntervalMs;
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#membership.on('added', (peer) => this.#add(peer));
    this.#membership.on('removed', (peer) => this.#remove(peer));
  }

  start(): Promise<void> {
    return this.#membership.start();
  }

  /** The members that answer. */
  up(): Member[] {
    return [...this.#members.values()].filter((m) => m.up);
  }

  describe(): MemberDescription[] {
    return [...this.#members.values()].map((m) => ({
      restUrl: m.peer.restUrl,
      memberId: m.info?.memberId,
      up: m.up,
      streams: m.info?.streams ?? [],
    }));
  }

  /** The member that originates `name` (asked now, all members at once; silent ones skipped). */
  async locate(name: string): Promise<Origin | undefined> {
    const answers = await Promise.all(
      this.up().map(async (member) => {
        const origin = await member.client.origin(name).catch(() => undefined);
        const memberId = member.info?.memberId;
        return origin && memberId ? { member, info: { ...origin, memberId } } : undefined;
      }),
    );
    let best: Origin | undefined;
    for (const a of answers) if (a && (!best || claimWins(a.info, best.info))) best = a;
    return best;
  }

  /**
   * The member a request claims to come from, if it is one (probing all members once more when it is not
   * known yet: it may have just appeared). Offers and claims from anyone else are refused: an authenticated
   * caller cannot point an origin's media at an address outside the fleet, nor end a publisher by a claim.
   */
  async member(memberId: string): Promise<Member> {
    const find = (): Member | undefined => this.up().find((m) => m.info?.memberId === memberId);
    const known =
      find() ?? (await Promise.all([...this.#members.values()].map((m) => this.#check(m))), find());
    if (!known) throw new FleetError(FleetErrorCode.NOT_MEMBER, `${memberId} is not a member of this fleet`);
    return known;
  }

  /** Refuses an offer from outside the fleet, or one whose media address is not the member's. */
  async checkOffer(offer: RelayOffer): Promise<void> {
    const member = await this.member(offer.memberId);
    if (member.info?.mediaIp !== offer.ip)
      throw new FleetError(
        FleetErrorCode.NOT_MEMBER,
        `${offer.ip} is not the media address of ${offer.memberId}`,
      );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#membership.close();
    for (const m of this.#members.values()) clearTimeout(m.timer);
    this.#members.clear();
    this.removeAllListeners();
  }

  #add(peer: Peer): void {
    if (this.#members.has(peer.key) || this.#closed) return;
    const member: Member = {
      peer,
      client: new MemberClient(peer.restUrl, this.#restToken),
      up: false,
      info: undefined,
      timer: undefined,
    };
    this.#members.set(peer.key, member);
    void this.#probe(member);
  }

  #remove(peer: Peer): void {
    const member = this.#members.get(peer.key);
    if (!member) return;
    clearTimeout(member.timer);
    this.#members.delete(peer.key);
    this.#updateGauge();
  }

  async #probe(member: Member): Promise<void> {
    await this.#check(member);
    if (this.#closed || this.#members.get(member.peer.key) !== member) return;
    member.timer = setTimeout(() => void this.#probe(member), this.#probeIntervalMs);
  }

  /** One probe: is the member up, who is it, what does it originate. */
  async #check(member: Member): Promise<void> {
    const was = member.up ? member.info?.memberId : undefined;
    try {
      const info = await member.client.info();
      // a source may list this server itself (its own pod): it is not its own member
      member.up = info.memberId !== this.#memberId;
      member.info = info;
      if (member.up && was !== info.memberId && !this.#closed) this.emit('up', member);
    } catch {
      if (member.up) this.#log.warn({ restUrl: member.peer.restUrl }, 'fleet member stopped answering');
      member.up = false;
    }
    this.#updateGauge();
  }

  #updateGauge(): void {
    const members = [...this.#members.values()].filter((m) => m.info?.memberId !== this.#memberId);
    const up = members.filter((m) => m.up).length;
    this.#metrics.fleetMembers.set({ state: 'up' }, up);
    this.#metrics.fleetMembers.set({ state: 'down' }, members.length - up);
  }
}
