/**
 * The media server's `/rest-api/pull/*` contract (WCS's push/pull API, with our additions) as both sides
 * read it: the media server's routes answer with these shapes and the operator's client reads them. Only
 * what crosses the wire lives here.
 */

export type PushStatus = 'NEW' | 'PENDING' | 'PUBLISHING' | 'FAILED';

/**
 * How a push or pull speaks to its remote: `wcs` (a WCS WebSocket URL, ws:// or wss://), `whip` (a push to
 * a WHIP endpoint, http:// or https://), `whep` (a pull from a WHEP endpoint).
 */
export type PushProtocol = 'wcs' | 'whip' | 'whep';

/**
 * Why a push or pull ended FAILED: a stable code (fastify's `FST_ERR_*` is the model), carried on the
 * relay, in find_all entries and REST error bodies (`code`), and as the `reason` label of
 * `streamfed_push_failures_total`. Never parsed back out of the human-readable `info`.
 */
export const PushFailureCode = {
  /** The TCP/TLS connection or the WebSocket upgrade was refused (or the host did not resolve). */
  UNREACHABLE: 'PUSH_ERR_UNREACHABLE',
  /** No WebSocket connection (WHIP/WHEP: no TCP/TLS connection) within the connect deadline. */
  CONNECT_TIMEOUT: 'PUSH_ERR_CONNECT_TIMEOUT',
  /**
   * Connected, but no `getUserData` answer to `connection` (WHIP/WHEP: no answer to OPTIONS) within the
   * handshake deadline.
   */
  HANDSHAKE_TIMEOUT: 'PUSH_ERR_HANDSHAKE_TIMEOUT',
  /**
   * No `setRemoteSDP` answer to publishStream/playStream (WHIP/WHEP: no answer to the offer's POST) within
   * the answer deadline.
   */
  ANSWER_TIMEOUT: 'PUSH_ERR_ANSWER_TIMEOUT',
  /** ICE/DTLS did not connect within the ICE deadline. */
  ICE_TIMEOUT: 'PUSH_ERR_ICE_TIMEOUT',
  /** ICE/DTLS gave up before connecting (e.g. the answer's candidates point at a dead address). */
  ICE_FAILED: 'PUSH_ERR_ICE_FAILED',
  /** The remote did not report PUBLISHING (push) / PLAYING (pull) within the media deadline. */
  STATUS_TIMEOUT: 'PUSH_ERR_STATUS_TIMEOUT',
  /** No media delivered (push: no receiver report acknowledging our RTP; pull: no RTP) within the media deadline. */
  NO_MEDIA: 'PUSH_ERR_NO_MEDIA',
  /**
   * The remote refused the stream or ended it (FAILED, UNPUBLISHED, STOPPED, `fail`; a WHIP/WHEP endpoint:
   * any answer but 201, its status and problem `code` in the reason).
   */
  REMOTE_REJECTED: 'PUSH_ERR_REMOTE_REJECTED',
  /**
   * A WHIP/WHEP endpoint answered what the protocol does not allow: a 201 without `Location` or without an
   * SDP answer, a redirect loop or a redirect outside the allow-list.
   */
  PROTOCOL: 'PUSH_ERR_PROTOCOL',
  /** The remote's WebSocket session ended (WHIP/WHEP: the connection dropped before an answer). */
  REMOTE_DISCONNECTED: 'PUSH_ERR_REMOTE_DISCONNECTED',
  /** The WebRTC connection failed after it was up, or the remote's SDP could not be used. */
  WEBRTC: 'PUSH_ERR_WEBRTC',
  /** The local side ended (pull: the local stream was stopped here). */
  LOCAL_ENDED: 'PUSH_ERR_LOCAL_ENDED',
  /**
   * Refused before publishing: the stream came to this server by a push chain that already passed through
   * the target's fleet under the same name (the way back of 1 → 2 → 1). Answered 409, never listed.
   */
  LOOP: 'PUSH_ERR_LOOP',
  /** Anything else (a bug): the info says what. */
  INTERNAL: 'PUSH_ERR_INTERNAL',
} as const;
export type PushFailureCode = (typeof PushFailureCode)[keyof typeof PushFailureCode];
export const pushFailureCodes = Object.values(PushFailureCode);

/**
 * What the remote actually gets: for a push, what its RTCP receiver reports acknowledge; for a pull, the RTP
 * we receive. `waiting`: nothing delivered yet; `delivering`: delivery moved within the stall window;
 * `stalled`: we kept sending (push) or expecting (pull) but nothing arrived within the stall window.
 */
export type DeliveryStatus = 'waiting' | 'delivering' | 'stalled';
export const deliveryStatuses: readonly DeliveryStatus[] = ['waiting', 'delivering', 'stalled'];

export interface PushDelivery {
  status: DeliveryStatus;
  /** Packets the remote reported receiving (push), or packets received from it (pull). */
  packets: number;
  /** Packets the remote reported lost (push; cumulative, from its receiver reports). */
  lost: number;
  /** When delivery last moved (ms since the epoch), absent while waiting. */
  lastDeliveredAt?: number;
}

/**
 * How a push carries its media: `webrtc` (a WebRTC peer of ours, as a browser publishes; every pull, every
 * push to a foreign server) or `pipe` (a mediasoup PipeTransport pair with a streamfed server: wcs-protocol.ts
 * `streamfedPipe`).
 */
export type PushTransport = 'pipe' | 'webrtc';
export const pushTransports: readonly PushTransport[] = ['pipe', 'webrtc'];

/**
 * Why a push that tried a pipe went on over WebRTC: a stable code (the `reason` label of
 * `streamfed_push_pipe_fallbacks_total`) and what happened.
 */
export const PipeFallbackCode = {
  /** The remote did not report media arriving over the pipe within the deadline (a firewall, a NAT). */
  NO_MEDIA: 'PIPE_NO_MEDIA',
  /** Our half of the pipe could not be made (no free port in the rtc range, ...). */
  UNAVAILABLE: 'PIPE_UNAVAILABLE',
  /**
   * The remote refused the pipe request (wcs-protocol.ts `streamfedPipeRefused`: our pipe's address is not
   * our signalling address, nor in its --pipe-peers); nothing was made for it there.
   */
  REFUSED: 'PIPE_REFUSED',
} as const;
export type PipeFallbackCode = (typeof PipeFallbackCode)[keyof typeof PipeFallbackCode];
export const pipeFallbackCodes = Object.values(PipeFallbackCode);

export interface PipeFallback {
  code: PipeFallbackCode;
  info: string;
}

/** What a relay is: a push (a local stream to a remote server) or a pull (a remote stream published here). */
export type RelayType = 'push' | 'pull';
export const relayTypes: readonly RelayType[] = ['push', 'pull'];

/** A push or pull as /rest-api/pull/find_all lists it and /pull/push, /pull/pull, /pull/terminate answer. */
export interface PushDescription {
  localMediaSessionId: string;
  remoteMediaSessionId: string;
  localStreamName: string;
  remoteStreamName: string;
  uri: string;
  protocol: PushProtocol;
  type: RelayType;
  status: PushStatus;
  info?: string;
  /** Set when status is FAILED. */
  code?: PushFailureCode;
  createDate: number;
  /** RTP packets and bytes forwarded so far (push: sent towards the remote; pull: received from it). */
  packets: number;
  bytes: number;
  delivery: PushDelivery;
  /** How the media goes, once the remote is known (absent before the signalling connected). */
  transport?: PushTransport;
  /** Set when a pipe was tried and the push went on over WebRTC: why. */
  fallback?: PipeFallback;
  /** Who asked for it, as the request named them (`owner`): listed, never sent to the remote. */
  owner?: string;
}

/** The body of /pull/push and /pull/pull (the fields both sides use). */
export interface PushRequestBody {
  uri: string;
  localStreamName: string;
  remoteStreamName?: string;
  /** Passed to the remote as the SDK passes it (`custom` of connection and publishStream/playStream). */
  custom?: Record<string, unknown>;
  /** A WHIP/WHEP target's bearer token (sent as `Authorization: Bearer`); never listed or logged. */
  authToken?: string;
  /**
   * Who asks for the push (the operator sends `StreamPush <namespace>/<name>`): kept and listed by find_all
   * (the console shows it), never sent to the remote.
   */
  owner?: string;
}

/** The HTTP status a failed /pull/push or /pull/pull answers with: 409 for a loop, else 500. */
export const pushFailureStatus = (code: PushFailureCode): 409 | 500 =>
  code === PushFailureCode.LOOP ? 409 : 500;

/**
 * A /pull/push or /pull/pull that failed on the remote side answers `pushFailureStatus(code)` with this body
 * (a RestErrorBody, rest-error.ts, plus the FAILED relay; a loop refused before connecting has no relay and
 * answers the RestErrorBody alone). What a receiver does with each code: error-policy.ts.
 */
export interface PushFailureBody {
  statusCode: number;
  code: PushFailureCode;
  error: string;
  message: string;
  push: PushDescription;
}

/**
 * The identity of a push target: WCS accepts its WebSocket URL with or without a trailing `/` and with or
 * without its `/websocket` path, so these spell one target. A fragment is meaningless in a WebSocket URL and
 * is refused (`uriProblem`). Both the media server (one push per target) and the operator (is this push
 * mine?) compare targets through this function.
 */
export function pushTargetKey(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return uri;
  }
  url.hash = '';
  const path = url.pathname.replace(/\/+$/, '').replace(/\/websocket$/i, '');
  return `${url.protocol}//${url.host}${path}${url.search}`;
}
