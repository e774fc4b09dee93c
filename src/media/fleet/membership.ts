import { EventEmitter } from 'node:events';

/** A peer as a membership source sees it: a key that stays the same while it lives, and its REST base URL. */
export interface Peer {
  key: string;
  restUrl: string;
}

export interface MembershipEvents {
  added: [peer: Peer];
  removed: [peer: Peer];
}

/**
 * Where the other members of the fleet come from. Two sources: a fixed list (`--peers`) and the pods of the
 * media StatefulSet, watched through the Kubernetes API. Both only say who exists; the fleet probes each one
 * and skips those that do not answer.
 */
export interface Membership extends EventEmitter<MembershipEvents> {
  peers(): Peer[];
  start(): Promise<void>;
  close(): void;
}

/** The peers named on the command line: all known from the start, none ever leaves. */
export class StaticMembership extends EventEmitter<MembershipEvents> implements Membership {
  readonly #peers: Peer[];

  constructor(restUrls: string[]) {
    super();
    this.#peers = [...new Set(restUrls.map((u) => u.replace(/\/+$/, '')))].map((restUrl) => ({
      key: restUrl,
      restUrl,
    }));
  }

  peers(): Peer[] {
    return [...this.#peers];
  }

  async start(): Promise<void> {
    for (const peer of this.#peers) this.emit('added', peer);
  }

  close(): void {
    this.removeAllListeners();
  }
}
