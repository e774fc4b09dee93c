import type { EventEmitter } from 'node:events';
import type {
  ChainHop,
  PipeOffer,
  PipeRemote,
  PipeStats,
  StreamStatusEvent,
} from '../../contracts/wcs-protocol.js';
import type { PipeTuple } from '../../contracts/pipe-media.js';
import type { IceServer } from '../../contracts/whip-http.js';

/** What a stream offer says about itself, as the SDK says it in publishStream/playStream. */
export interface OfferOptions {
  hasAudio?: boolean;
  hasVideo?: boolean;
  custom?: Record<string, unknown> | undefined;
  /** The push chain the published stream came by (publishStream's `streamfedChain`; streamfed targets keep it). */
  chain?: ChainHop[] | undefined;
}

export interface StreamAnswer {
  mediaSessionId: string;
  answer: string;
}

export interface SignallingClientEvents {
  /** What the remote says of one of our streams (WCS's notifyStreamStatusEvent, or the client's own word). */
  status: [event: StreamStatusEvent];
  /** The client ended (reason given), after which every stream of this client is gone on the remote. */
  closed: [reason: string];
  /** What the remote's producers of one of our piped streams received (wcs-protocol.ts streamfedPipeStats). */
  pipeStats: [stats: PipeStats];
}

/**
 * A streamfed remote's pipe extension (wcs-protocol.ts `streamfedPipe`), as a push or pull uses it. A refused
 * request (`streamfedPipeRefused`) rejects with pipe-peers.ts PipeRefusedError.
 */
export interface PipeSignalling {
  /** Offers to publish `name` over a pipe (our half's tuple and producers); resolves with the remote's half. */
  publish(name: string, mediaSessionId: string, offer: PipeOffer, options: OfferOptions): Promise<PipeRemote>;
  /** Asks to play `name` over a pipe into our half's tuple; resolves with the remote's half and what it sends. */
  play(name: string, mediaSessionId: string, tuple: PipeTuple, options: OfferOptions): Promise<PipeRemote>;
}

/**
 * The signalling half of a relay (relay.ts): how our offer reaches the remote, how its answer comes back,
 * and what the remote says of our stream afterwards. WcsClient speaks WCS's WebSocket protocol (both a
 * push and a pull); whip-client.ts speaks WHIP (a push) and WHEP (a pull) over HTTP. The relay knows only
 * this interface; connectSignalling() is the one place a target's client is chosen.
 */
export interface SignallingClient extends EventEmitter<SignallingClientEvents> {
  readonly closed: boolean;
  /** The fleet id a streamfed remote announced (push-chain.ts), once known; undefined for any other server. */
  readonly fleetId: string | undefined;
  /** The remote's pipe extension for a push or a pull, when it announced one serving it (a streamfed server). */
  pipe(type: 'push' | 'pull'): PipeSignalling | undefined;
  /** STUN/TURN servers the remote announced for our peer (WHIP/WHEP `Link` headers); known after connect. */
  readonly iceServers: readonly IceServer[];
  /** What the offer of a publish/play is called on this protocol (for reasons: "no answer SDP to ..."). */
  requestName(published: boolean): string;
  /** Offers to publish `name` on the remote; resolves with its answer SDP. */
  publish(name: string, sdp: string, mediaSessionId: string, options: OfferOptions): Promise<StreamAnswer>;
  /** Offers to play `name` from the remote (a recvonly offer); resolves with its answer SDP. */
  play(name: string, sdp: string, mediaSessionId: string, options: OfferOptions): Promise<StreamAnswer>;
  /** Forgets a request whose answer deadline passed: a late answer is not used. */
  cancel(mediaSessionId: string): void;
  /** Ends one stream of ours on the remote. */
  stop(mediaSessionId: string, name: string, published: boolean): void;
  /** Ends the client, and with it every stream it has on the remote. Idempotent. */
  close(): void;
}
