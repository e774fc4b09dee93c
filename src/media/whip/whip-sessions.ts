import type { WhipKind } from '../../contracts/whip-http.js';
import type { WhipSession } from './whip-session.js';

/** The live WHIP and WHEP sessions by id; a session leaves when it closes (its stream ended, or DELETE). */
export class WhipSessions {
  readonly #byId = new Map<string, WhipSession>();

  add(session: WhipSession): void {
    if (session.closed) return;
    this.#byId.set(session.id, session);
    session.once('close', () => this.#byId.delete(session.id));
  }

  /** The live session of that kind and id, if any (a WHIP id never answers at a WHEP path). */
  get(kind: WhipKind, id: string): WhipSession | undefined {
    const session = this.#byId.get(id);
    return session?.kind === kind ? session : undefined;
  }

  get size(): number {
    return this.#byId.size;
  }
}
