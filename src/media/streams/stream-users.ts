import type { Publisher } from './publisher.js';

/** What uses a publisher here besides its own session. */
export type StreamUse = 'player' | 'push' | 'relay';

/** One use of a publisher, held while it lasts; `release()` (idempotent) ends it. */
export interface StreamUser {
  readonly use: StreamUse;
  release(): void;
}

/**
 * Who uses each publisher of this server: its players, the pushes of it to other servers, the relays it
 * serves to other members. A user acquires a handle while it uses the stream and releases it when done, so
 * whoever may let a stream go (a fleet relay's idle sweep) asks here instead of counting users itself.
 */
export class StreamUsers {
  readonly #users = new WeakMap<Publisher, Set<StreamUser>>();

  acquire(publisher: Publisher, use: StreamUse): StreamUser {
    let users = this.#users.get(publisher);
    if (!users) {
      users = new Set();
      this.#users.set(publisher, users);
    }
    const held = users;
    const user: StreamUser = {
      use,
      release: () => {
        held.delete(user);
      },
    };
    held.add(user);
    return user;
  }

  /** How many users the publisher has now (of one kind of use, or of any). */
  count(publisher: Publisher, use?: StreamUse): number {
    let n = 0;
    for (const user of this.#users.get(publisher) ?? []) if (use === undefined || user.use === use) n++;
    return n;
  }
}
