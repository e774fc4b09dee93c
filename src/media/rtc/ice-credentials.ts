import { createHmac, randomUUID } from 'node:crypto';
import type { IceServer } from '../../contracts/whip-http.js';

/** TURN REST-API credentials (coturn's `use-auth-secret`): minted per session from a secret shared with the TURN server. */
export interface TurnSecret {
  secret: string;
  /** How long a minted credential is valid. */
  ttlSeconds: number;
}

/**
 * The ICE servers to give one session: the configured ones, each `turn:`/`turns:` server without its own
 * credentials given a fresh TURN REST-API pair (username `<expiry unix seconds>:<random id>`, credential
 * base64(HMAC-SHA1(secret, username))). Without a secret, the configured servers as they are.
 */
export function sessionIceServers(
  servers: readonly IceServer[],
  turn: TurnSecret | undefined,
  nowMs = Date.now(),
): IceServer[] {
  if (!turn) return [...servers];
  const username = `${Math.floor(nowMs / 1000) + turn.ttlSeconds}:${randomUUID()}`;
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
  return servers.map((s) =>
    /^turns?:/.test(s.urls) && s.username === undefined ? { ...s, username, credential } : s,
  );
}
