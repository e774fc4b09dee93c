import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import { StreamName } from '../../contracts/stream-name.js';

/**
 * The client messages of the WCS WebSocket protocol that we act on, as JSON schemas. The Web SDK sends
 * many more fields than we read, so objects stay open (extra fields are allowed and ignored).
 */
export const Envelope = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 64 }),
  data: Type.Optional(Type.Union([Type.Array(Type.Unknown()), Type.Null()])),
});
export type Envelope = Static<typeof Envelope>;

const Id = Type.String({ minLength: 1, maxLength: 128 });

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
 * publishStream / playStream. The SDK sends more (status, record, custom, bitrate, minBitrate, maxBitrate,
 * quality, rtmpUrl, transport, cvoExtension, ...): those stay unchecked and ignored, and so do a player's
 * `width`/`height` (we never scale; the Player demo's `?resolution=640x480` sends them as strings).
 * `constraints` is the publisher's getUserMedia constraints, read leniently for the video size it asked for.
 */
export const StreamRequest = Type.Object({
  mediaSessionId: Id,
  name: StreamName,
  sdp: Type.String({ minLength: 1, maxLength: 100_000 }),
  published: Type.Optional(Type.Boolean()),
  hasAudio: Type.Optional(Type.Boolean()),
  hasVideo: Type.Optional(Type.Boolean()),
  mediaProvider: Type.Optional(Type.String()),
  constraints: Type.Optional(Type.Unknown()),
});
export type StreamRequest = Static<typeof StreamRequest>;

export const StopRequest = Type.Object({
  mediaSessionId: Id,
  name: Type.Optional(Type.String()),
});
export type StopRequest = Static<typeof StopRequest>;

export const AvailableRequest = Type.Object({
  mediaSessionId: Type.Optional(Type.String()),
  name: StreamName,
});
export type AvailableRequest = Static<typeof AvailableRequest>;

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

/**
 * A size from the SDK: a positive whole number of pixels, from a number, a numeric string ("640"), or a
 * getUserMedia constraint (`640`, `{ideal: 640}`, `{exact: 640}`, `{min, max}`); 0 when none is given.
 */
function sizeOf(value: unknown): number {
  if (typeof value === 'string') return sizeOf(value.trim() === '' ? undefined : Number(value));
  if (typeof value === 'number')
    return Number.isFinite(value) && value > 0 ? Math.min(Math.round(value), 65535) : 0;
  if (typeof value !== 'object' || value === null) return 0;
  const c = value as Record<string, unknown>;
  return sizeOf(c['exact']) || sizeOf(c['ideal']) || sizeOf(c['max']) || sizeOf(c['min']);
}

/** The video size a publisher's constraints ask for (`constraints.video.width/height`), 0 when none. */
export function constrainedSize(constraints: unknown): { width: number; height: number } {
  const video = (constraints as { video?: unknown } | null | undefined)?.video;
  if (typeof video !== 'object' || video === null) return { width: 0, height: 0 };
  const v = video as Record<string, unknown>;
  return { width: sizeOf(v['width']), height: sizeOf(v['height']) };
}
