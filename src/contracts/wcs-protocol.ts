import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import { StreamName } from './stream-name.js';
import { PipeProducer, PipeTuple } from './pipe-media.js';

/**
 * The WCS WebSocket protocol as both our ends speak it: the media server (src/media/signalling/) and our
 * client of WCS servers (src/media/push/wcs-client.ts) encode what they send and check what they receive
 * here, and nowhere else. The shapes are the Web SDK's (flashphoner-core.js) and WCS's; real servers and
 * the SDK send many more fields than we read, so every object stays open (extra fields pass, ignored).
 *
 * A frame is a JSON text `{message, data: [...]}`; most messages carry one object in `data[0]`,
 * `setRemoteSDP` carries `[mediaSessionId, sdp]`, `ping`/`pong` carry `[null]`.
 */

/** Stream statuses as the Web SDK knows them (src/constants.js of @flashphoner/websdk). */
export const StreamStatus = {
  NEW: 'NEW',
  PENDING: 'PENDING',
  PUBLISHING: 'PUBLISHING',
  PLAYING: 'PLAYING',
  UNPUBLISHED: 'UNPUBLISHED',
  STOPPED: 'STOPPED',
  FAILED: 'FAILED',
} as const;
export type StreamStatus = (typeof StreamStatus)[keyof typeof StreamStatus];

export const Envelope = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 64 }),
  data: Type.Optional(Type.Union([Type.Array(Type.Unknown()), Type.Null()])),
});
export type Envelope = Static<typeof Envelope>;

const Id = Type.String({ minLength: 1, maxLength: 128 });

// ---- client → server ------------------------------------------------------------------------------------

export const Connection = Type.Object({
  appKey: Type.Optional(Type.String({ maxLength: 256 })),
  mediaProviders: Type.Optional(Type.Array(Type.String())),
  authToken: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  clientVersion: Type.Optional(Type.String()),
  clientOSVersion: Type.Optional(Type.String()),
  clientBrowserVersion: Type.Optional(Type.String()),
  keepAlive: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  custom: Type.Optional(Type.Unknown()),
});
export type Connection = Static<typeof Connection>;

/**
 * One hop of a push chain: the stream was published in the fleet `fleet` under `name`. A streamfed push
 * sends the chain its stream came by (plus its own hop) in publishStream's `streamfedChain`, a field the
 * SDK never sends and WCS ignores; the target remembers it for the pushes it makes of that stream.
 */
/** A fleet id as a streamfed server announces it (at most 256 characters). */
const FleetId = Type.String({ minLength: 1, maxLength: 256 });

export const ChainHop = Type.Object({
  fleet: FleetId,
  name: StreamName,
});
export type ChainHop = Static<typeof ChainHop>;
export const PushChain = Type.Array(ChainHop, { maxItems: 64 });

/**
 * publishStream / playStream. The SDK sends more (status, record, custom, bitrate, minBitrate, maxBitrate,
 * quality, rtmpUrl, transport, cvoExtension, ...): those stay unchecked and ignored, and so do a player's
 * `width`/`height` (we never scale; the Player demo's `?resolution=640x480` sends them as strings).
 * `constraints` is the publisher's getUserMedia constraints, read leniently for the video size it asked for.
 */
const StreamFields = {
  mediaSessionId: Id,
  name: StreamName,
  published: Type.Optional(Type.Boolean()),
  hasAudio: Type.Optional(Type.Boolean()),
  hasVideo: Type.Optional(Type.Boolean()),
  mediaProvider: Type.Optional(Type.String()),
  constraints: Type.Optional(Type.Unknown()),
  custom: Type.Optional(Type.Unknown()),
  streamfedChain: Type.Optional(PushChain),
};
export const StreamRequest = Type.Object({
  ...StreamFields,
  sdp: Type.String({ minLength: 1, maxLength: 100_000 }),
});
export type StreamRequest = Static<typeof StreamRequest>;

/**
 * The streamfed pipe extension. A streamfed server that moves streams to and from other streamfed servers over
 * a mediasoup PipeTransport pair says so in getUserData (`streamfedPipe`: its version, {@link PIPE_VERSION});
 * a streamfed client that sees it (and a fleet id other than its own) may send, in place of `sdp`:
 * - publishStream with `streamfedPipe` (a push, version 1 on): its pipe's tuple and the producers' RTP
 *   parameters ({@link PipeOffer}). The server admits it as any publishStream (name rule, loop rule,
 *   `publishStream` hook), answers `streamfedPipeAnswer` (its own pipe's tuple) in place of setRemoteSDP,
 *   reports PUBLISHING once media arrives over the pipe, and sends `streamfedPipeStats` (what its producers
 *   received) about once a second.
 * - playStream with `streamfedPipe` (a pull, version 2 on): its pipe's tuple alone. The server admits it as
 *   any playStream (name rule, `playStream` hook, an unknown stream refused as for the SDK), makes its half
 *   with one pipe consumer per producer of the stream, answers `streamfedPipeAnswer` with its tuple and
 *   those consumers' parameters (`producers`, with which the client produces), and reports PLAYING; the
 *   client measures delivery itself (its producers' stats) and stops it with stopStream.
 * Either request's tuple must be the client's own address (the WebSocket's remote address) or inside the
 * server's `--pipe-peers`: a pipe has no consent check, so any other address is refused before anything is
 * made for it, with `streamfedPipeRefused` ({@link PipeRefused}: a stable code), after which the client asks
 * again over WebRTC. The SDK and a foreign WCS never see any of it.
 */
export const PIPE_VERSION = 2;

/** The first version of the pipe extension that serves each direction (a v1 server is pulled over WebRTC). */
export const PipeVersionOf = { push: 1, pull: 2 } as const;

/** Does a server announcing `version` (getUserData `streamfedPipe`) take a push / serve a pull over a pipe? */
export const pipeServes = (version: number | undefined, type: 'push' | 'pull'): boolean =>
  (version ?? 0) >= PipeVersionOf[type];

export const PipeOffer = Type.Object({
  ...PipeTuple.properties,
  producers: Type.Array(PipeProducer, { minItems: 1, maxItems: 2 }),
});
export type PipeOffer = Static<typeof PipeOffer>;

/** publishStream over a pipe: the stream fields, the pipe offer, no SDP. */
export const PipeStreamRequest = Type.Object({ ...StreamFields, streamfedPipe: PipeOffer });
export type PipeStreamRequest = Static<typeof PipeStreamRequest>;

/** playStream over a pipe: the stream fields, the player's pipe tuple, no SDP. */
export const PipePlayRequest = Type.Object({ ...StreamFields, streamfedPipe: PipeTuple });
export type PipePlayRequest = Static<typeof PipePlayRequest>;

/** Does a publishStream/playStream body ask for a pipe (rather than offer an SDP)? */
export const asksForPipe = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && 'streamfedPipe' in body;

/**
 * streamfedPipeAnswer: the server's pipe tuple for the stream `mediaSessionId`; to a playStream, also what its
 * pipe consumers send (the client produces with these).
 */
export const PipeAnswer = Type.Object({
  mediaSessionId: Id,
  ...PipeTuple.properties,
  producers: Type.Optional(Type.Array(PipeProducer, { minItems: 1, maxItems: 2 })),
});
export type PipeAnswer = Static<typeof PipeAnswer>;

/** The far half of a pipe as its answer describes it: its tuple, and for a pull what it sends. */
export type PipeRemote = Omit<PipeAnswer, 'mediaSessionId'>;

/** Why a server refused a pipe request (the client then goes over WebRTC). */
export const PipeRefusalCode = {
  /** The offered tuple's address is neither the signalling peer's own nor in the server's --pipe-peers. */
  PEER_NOT_ALLOWED: 'PIPE_PEER_NOT_ALLOWED',
} as const;
export type PipeRefusalCode = (typeof PipeRefusalCode)[keyof typeof PipeRefusalCode];

/** streamfedPipeRefused: the pipe request of stream `mediaSessionId` is refused; nothing was made for it. */
export const PipeRefused = Type.Object({
  mediaSessionId: Id,
  code: Type.Union(Object.values(PipeRefusalCode).map((code) => Type.Literal(code))),
  info: Type.String(),
});
export type PipeRefused = Static<typeof PipeRefused>;

/** streamfedPipeStats: RTP packets the server's producers of the stream received over the pipe, and lost. */
export const PipeStats = Type.Object({
  mediaSessionId: Id,
  packets: Type.Integer({ minimum: 0 }),
  lost: Type.Integer(),
});
export type PipeStats = Static<typeof PipeStats>;

export const StopRequest = Type.Object({
  mediaSessionId: Id,
  name: Type.Optional(Type.String()),
  published: Type.Optional(Type.Boolean()),
});
export type StopRequest = Static<typeof StopRequest>;

export const AvailableRequest = Type.Object({
  mediaSessionId: Type.Optional(Type.String()),
  name: StreamName,
});
export type AvailableRequest = Static<typeof AvailableRequest>;

/** snapshot: the SDK's stream.snapshot() asks for a picture of the named stream. */
export const SnapshotRequest = Type.Object({
  mediaSessionId: Id,
  name: Type.Optional(Type.String()),
});
export type SnapshotRequest = Static<typeof SnapshotRequest>;

/** What a client sends, message by message (the `data` array). */
export interface ClientMessages {
  connection: [Record<string, unknown> & Connection];
  publishStream: [Record<string, unknown> & (StreamRequest | PipeStreamRequest)];
  playStream: [Record<string, unknown> & (StreamRequest | PipePlayRequest)];
  unPublishStream: [StopRequest];
  stopStream: [StopRequest];
  availableStream: [AvailableRequest];
  snapshot: [SnapshotRequest];
  ping: [null];
  pong: [null];
}

// ---- server → client ------------------------------------------------------------------------------------

/**
 * getUserData: the session's config (the SDK keeps the whole object). A streamfed server adds
 * `streamfedFleetId`, the id of its fleet, which the SDK ignores and a foreign WCS never sends.
 */
export const UserData = Type.Object({
  sessionId: Type.Optional(Type.String()),
  authToken: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  streamfedFleetId: Type.Optional(FleetId),
  /** The pipe extension's version, when the server moves streams over pipes (see PIPE_VERSION). */
  streamfedPipe: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type UserData = Static<typeof UserData>;

/** setRemoteSDP: `[mediaSessionId, answer SDP]`. */
export const RemoteSdp = Type.Tuple([Id, Type.String({ minLength: 1, maxLength: 100_000 })]);

/** notifyStreamStatusEvent (a stream description; we read these fields). */
export const StreamStatusEvent = Type.Object({
  mediaSessionId: Id,
  // a string, not our seven: WCS reports more (RESIZE, NOT_ENOUGH_BANDWIDTH, ...), which we ignore
  status: Type.String({ minLength: 1 }),
  name: Type.Optional(Type.String()),
  info: Type.Optional(Type.String()),
  published: Type.Optional(Type.Boolean()),
});
export type StreamStatusEvent = Static<typeof StreamStatusEvent>;

/** fail: the SDK hands it to the session's WARN handler (and to the stream when `id` names one). */
export const Fail = Type.Object({
  apiMethod: Type.Optional(Type.String()),
  info: Type.Optional(Type.String()),
  id: Type.Optional(Type.String()),
});
export type Fail = Static<typeof Fail>;

/** The answer to availableStream: `status` "true" or "false", the SDK's reason in `info`. */
export const AvailableAnswer = Type.Object({
  id: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  status: Type.Union([Type.Literal('true'), Type.Literal('false')]),
  info: Type.String(),
});
export type AvailableAnswer = Static<typeof AvailableAnswer>;

/** Stream event types as the Web SDK knows them (STREAM_EVENT_TYPE in src/constants.js). */
export const StreamEventType = {
  SNAPSHOT_COMPLETED: 'snapshotCompleted',
  SNAPSHOT_FAILED: 'snapshotFailed',
} as const;

/**
 * notifyStreamEvent: an event of one stream; the SDK hands it to that stream's STREAM_EVENT handler (the
 * stream-snapshot demo learns its snapshot's outcome this way). `payload.info` says why, for a failure.
 */
export const StreamEvent = Type.Object({
  mediaSessionId: Id,
  name: Type.Optional(Type.String()),
  type: Type.String({ minLength: 1 }),
  payload: Type.Optional(Type.Object({ info: Type.Optional(Type.String()) })),
});
export type StreamEvent = Static<typeof StreamEvent>;

/** What a server sends, message by message (the `data` array). */
export interface ServerMessages {
  getUserData: [Record<string, unknown> & UserData];
  setRemoteSDP: [mediaSessionId: string, sdp: string];
  notifyStreamStatusEvent: [object & StreamStatusEvent];
  notifyStreamEvent: [StreamEvent];
  availableStream: [AvailableAnswer];
  fail: [Fail];
  streamfedPipeAnswer: [PipeAnswer];
  streamfedPipeStats: [PipeStats];
  streamfedPipeRefused: [PipeRefused];
  ping: [null];
  pong: [null];
}

// ---- the codec ------------------------------------------------------------------------------------------

const ajv = new Ajv({ allErrors: false, strict: false });

/** A compiled check that returns the typed value or a readable reason. */
export function validator<T extends TSchema>(schema: T): (value: unknown) => Static<T> | string {
  const check: ValidateFunction = ajv.compile(schema);
  return (value) => {
    if (check(value)) return value as Static<T>;
    const e = check.errors?.[0];
    return e ? `${e.instancePath || 'data'} ${e.message ?? 'is invalid'}` : 'invalid';
  };
}

const checkEnvelope = validator(Envelope);

/** The checks of what each side receives, by message: the value or a readable reason. */
export const clientMessage = {
  connection: validator(Connection),
  stream: validator(StreamRequest),
  pipeStream: validator(PipeStreamRequest),
  pipePlay: validator(PipePlayRequest),
  stop: validator(StopRequest),
  available: validator(AvailableRequest),
  snapshot: validator(SnapshotRequest),
} as const;

export const serverMessage = {
  getUserData: validator(UserData),
  setRemoteSDP: validator(RemoteSdp),
  notifyStreamStatusEvent: validator(StreamStatusEvent),
  fail: validator(Fail),
  availableStream: validator(AvailableAnswer),
  streamfedPipeAnswer: validator(PipeAnswer),
  streamfedPipeStats: validator(PipeStats),
  streamfedPipeRefused: validator(PipeRefused),
} as const;

/** A client's frame, typed by what clients send. */
export const encodeClientFrame = <M extends keyof ClientMessages>(
  message: M,
  ...data: ClientMessages[M]
): string => JSON.stringify({ message, data });

/** A server's frame, typed by what servers send. */
export const encodeServerFrame = <M extends keyof ServerMessages>(
  message: M,
  ...data: ServerMessages[M]
): string => JSON.stringify({ message, data });

/** Reads a frame's envelope: `{message, data}` (data always an array), or why it is not one. */
export function decodeFrame(text: string | undefined): { message: string; data: unknown[] } | string {
  if (text === undefined) return 'message is not JSON text';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'message is not JSON text';
  }
  const envelope = checkEnvelope(parsed);
  if (typeof envelope === 'string') return envelope;
  return { message: envelope.message, data: envelope.data ?? [] };
}

/** A server frame we act on, checked; other messages (WCS sends many) come back as `other`. */
export type ServerFrame =
  | { message: 'getUserData'; userData: UserData }
  | { message: 'setRemoteSDP'; mediaSessionId: string; sdp: string }
  | { message: 'notifyStreamStatusEvent'; event: StreamStatusEvent }
  | { message: 'fail'; fail: Fail }
  | { message: 'availableStream'; answer: AvailableAnswer }
  | { message: 'streamfedPipeAnswer'; answer: PipeAnswer }
  | { message: 'streamfedPipeStats'; stats: PipeStats }
  | { message: 'streamfedPipeRefused'; refused: PipeRefused }
  | { message: 'ping' | 'pong' }
  | { message: 'other'; name: string };

/** Decodes and checks what a server sent: the typed frame, or why it is unusable. */
export function decodeServerFrame(text: string): ServerFrame | string {
  const frame = decodeFrame(text);
  if (typeof frame === 'string') return frame;
  const first = frame.data[0];
  const checked = <T>(value: T | string, make: (v: T) => ServerFrame): ServerFrame | string =>
    typeof value === 'string' ? `${frame.message}: ${value}` : make(value);
  switch (frame.message) {
    case 'getUserData':
      return checked(serverMessage.getUserData(first ?? {}), (userData) => ({
        message: 'getUserData',
        userData,
      }));
    case 'setRemoteSDP':
      return checked(serverMessage.setRemoteSDP(frame.data.slice(0, 2)), ([mediaSessionId, sdp]) => ({
        message: 'setRemoteSDP',
        mediaSessionId,
        sdp,
      }));
    case 'notifyStreamStatusEvent':
      return checked(serverMessage.notifyStreamStatusEvent(first), (event) => ({
        message: 'notifyStreamStatusEvent',
        event,
      }));
    case 'fail':
      return checked(serverMessage.fail(first ?? {}), (fail) => ({ message: 'fail', fail }));
    case 'availableStream':
      return checked(serverMessage.availableStream(first), (answer) => ({
        message: 'availableStream',
        answer,
      }));
    case 'streamfedPipeAnswer':
      return checked(serverMessage.streamfedPipeAnswer(first), (answer) => ({
        message: 'streamfedPipeAnswer',
        answer,
      }));
    case 'streamfedPipeStats':
      return checked(serverMessage.streamfedPipeStats(first), (stats) => ({
        message: 'streamfedPipeStats',
        stats,
      }));
    case 'streamfedPipeRefused':
      return checked(serverMessage.streamfedPipeRefused(first), (refused) => ({
        message: 'streamfedPipeRefused',
        refused,
      }));
    case 'ping':
    case 'pong':
      return { message: frame.message };
    default:
      return { message: 'other', name: frame.message };
  }
}
