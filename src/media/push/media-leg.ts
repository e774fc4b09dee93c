import type { EventEmitter } from 'node:events';
import type { PeerConfig, RTCPeerConnection } from 'werift';
import type { PushFailureCode } from '../../contracts/pull-api.js';
import type { StreamStatus } from '../../contracts/wcs-protocol.js';
import type { OfferOptions } from './signalling.js';

export interface MediaLegEvents {
  /** An RTP packet of `bytes` went through the leg (push: towards the remote; pull: from it). */
  forwarded: [bytes: number];
  /** New delivery totals measured at the far end (push: the remote's receiver reports; pull: RTP received). */
  delivered: [packets: number, lost: number];
  /** The leg broke on its own (pull: its local stream ended): the relay fails with this code. */
  failed: [code: PushFailureCode, reason: string];
}

/**
 * The media half of a relay, what makes a push a push and a pull a pull: egress-leg.ts (local producers →
 * the remote) and ingress-leg.ts (the remote → a local publisher). The relay (relay.ts) owns one and drives
 * it through the steps below; close() frees everything the leg made and is idempotent.
 */
export interface MediaLeg extends EventEmitter<MediaLegEvents> {
  readonly type: 'push' | 'pull';
  /** What the remote reports once our stream is up there, and the statuses that end it. */
  readonly remoteUp: StreamStatus;
  readonly remoteEnds: readonly StreamStatus[];
  readonly closed: boolean;
  /** Builds the local media (before any remote step). */
  prepare(): Promise<void>;
  /**
   * The WebRTC peer to offer, with its transceivers, and what the offer says about itself. `ice`: its
   * sockets and ICE servers (PeerNetwork.iceConfig in rtc-peer.ts).
   */
  createPeer(ice: Partial<PeerConfig>): { peer: RTCPeerConnection; offer: OfferOptions };
  /** The answer is applied: start feeding media. `remoteFleetId`: what the remote announced (push-chain.ts). */
  answered(remoteFleetId: string | undefined): Promise<void>;
  /** The relay is PUBLISHING. */
  publishing(): void;
  /** RTP packets our side has put on the wire (push); undefined for a pull, which always expects media. */
  sentSoFar(): number | undefined;
  close(): void;
}
