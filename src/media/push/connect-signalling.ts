import type { PushProtocol } from '../../contracts/pull-api.js';
import type { SignallingClient } from './signalling.js';
import { WcsClient } from './wcs-client.js';
import { WhipClient } from './whip-client.js';

/** What a signalling client is connected with: the parts of a push target (relay.ts PushTarget) it reads. */
export interface SignallingTarget {
  uri: string;
  protocol: PushProtocol;
  url: URL;
  insecureTls: boolean;
  custom?: Record<string, unknown> | undefined;
  authToken?: string | undefined;
  allow?: ((url: URL) => Promise<URL>) | undefined;
  deadlines: { connectMs: number; handshakeMs: number; answerMs: number };
}

/**
 * Connects the signalling client of a target (its `protocol`, chosen once by the push manager), within the
 * target's connect and handshake deadlines; `signal` aborts the connect.
 */
export function connectSignalling(target: SignallingTarget, signal: AbortSignal): Promise<SignallingClient> {
  const { connectMs, handshakeMs, answerMs } = target.deadlines;
  switch (target.protocol) {
    case 'wcs':
      return WcsClient.connect(target.uri, {
        insecureTls: target.insecureTls,
        connectTimeoutMs: connectMs,
        handshakeTimeoutMs: handshakeMs,
        custom: target.custom,
        signal,
      });
    case 'whip':
    case 'whep':
      return WhipClient.connect(target.url, {
        kind: target.protocol,
        insecureTls: target.insecureTls,
        connectTimeoutMs: connectMs,
        handshakeTimeoutMs: handshakeMs,
        requestTimeoutMs: answerMs,
        authToken: target.authToken,
        allow: target.allow,
        signal,
      });
  }
}
