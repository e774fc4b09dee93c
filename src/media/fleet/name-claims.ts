import { claimWins, type NameClaim, type OriginStream } from '../../contracts/fleet-api.js';
import type { Logger } from '../../log.js';
import { ConflictError } from '../errors.js';
import type { Publisher } from '../streams/publisher.js';
import { StreamInfo, StreamStatus } from '../streams/status.js';
import type { StreamRegistry } from '../streams/stream-registry.js';
import type { FleetMembers, Member } from './fleet-members.js';
import { RelayedPublisher } from './relayed-publisher.js';

/**
 * How another member's claim on a name settles against ours (undefined: we have no publisher of it): the
 * older claim wins (claimWins); `oursLost` when we had one and it lost.
 */
export function settle(
  ours: NameClaim | undefined,
  theirs: NameClaim,
): { winner: NameClaim; oursLost: boolean } {
  if (ours && claimWins(ours, theirs)) return { winner: ours, oursLost: false };
  return { winner: theirs, oursLost: ours !== undefined };
}

export interface NameClaimsOptions {
  members: FleetMembers;
  registry: StreamRegistry;
  memberId: string;
  log: Logger;
}

/**
 * One publisher per name across the fleet: the check before a name is accepted here, and the claims that
 * settle the names two members accepted at once (or while they could not reach each other). Only streams
 * published here by a client of ours are ours to claim; a relayed stream is the origin's.
 */
export class NameClaims {
  readonly #members: FleetMembers;
  readonly #registry: StreamRegistry;
  readonly #memberId: string;
  readonly #log: Logger;

  constructor(options: NameClaimsOptions) {
    this.#members = options.members;
    this.#registry = options.registry;
    this.#memberId = options.memberId;
    this.#log = options.log;
    // a publisher accepted here: tell every member, one with an older claim wins
    this.#registry.on('published', (publisher) => {
      if (!(publisher instanceof RelayedPublisher)) void this.#claim(publisher, this.#members.up());
    });
    this.#members.on('up', (member) => void this.#reconcile(member));
  }

  /** Refuses a name another member already publishes (the fleet-wide "Stream name is already in use"). */
  async checkName(name: string): Promise<void> {
    if (await this.#members.locate(name)) throw new ConflictError(StreamInfo.STREAM_NAME_ALREADY_IN_USE);
  }

  /** Whether the name is published anywhere in the fleet (here or on a member). */
  async inFleet(name: string): Promise<boolean> {
    return this.#registry.publisher(name) !== undefined || (await this.#members.locate(name)) !== undefined;
  }

  /** The stream if it is published here by a client of ours: relayed streams are never served on. */
  originOf(name: string): Publisher | undefined {
    const publisher = this.#registry.publisher(name);
    return publisher && !(publisher instanceof RelayedPublisher) ? publisher : undefined;
  }

  /** The streams this server originates. */
  originated(): OriginStream[] {
    return this.#registry
      .find({ published: true })
      .filter((d) => this.originOf(d.name) !== undefined)
      .map((d) => ({ name: d.name, publishedAt: d.createDate }));
  }

  /**
   * Another member accepted a publisher of `claim.name`: if ours wins (settle) it stays, else it ends FAILED.
   * Answers the winning claim, which the other member applies the same way.
   */
  async settle(claim: NameClaim): Promise<NameClaim> {
    await this.#members.member(claim.memberId);
    const local = this.originOf(claim.name);
    const ours = local && this.#claimOf(local);
    const { winner, oursLost } = settle(ours, claim);
    if (local && ours && oursLost) this.#lost(local, ours, winner);
    return winner;
  }

  /**
   * A member came (back) up: it may have accepted names we originate while we could not reach each other
   * (a split brain), or it restarted. Both sides send their claims when they see the other up, so each such
   * name is settled by the claim order whichever side is seen first; the loser's publisher ends FAILED.
   */
  async #reconcile(member: Member): Promise<void> {
    const ours = this.originated().flatMap((s) => this.originOf(s.name) ?? []);
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
    return { name: publisher.name, memberId: this.#memberId, publishedAt: publisher.createdAt };
  }
}
