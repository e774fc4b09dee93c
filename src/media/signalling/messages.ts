import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * The client messages of the WCS WebSocket protocol that we act on, as JSON schemas. The Web SDK sends
 * many more fields than we read, so objects stay open (extra fields are allowed and ignored).
 */
export const Envelope = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 64 }),
  data: Type.Optional(Type.Union([Type.Array(Type.Unknown()), Type.Null()])),
});
export type Envelope = Static<typeof Envelope>;

const Name = Type.String({ minLength: 1, maxLength: 256 });
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

export const StreamRequest = Type.Object({
  mediaSessionId: Id,
  name: Name,
  sdp: Type.String({ minLength: 1, maxLength: 100_000 }),
  published: Type.Optional(Type.Boolean()),
  hasAudio: Type.Optional(Type.Boolean()),
  hasVideo: Type.Optional(Type.Boolean()),
  width: Type.Optional(Type.Number()),
  height: Type.Optional(Type.Number()),
  mediaProvider: Type.Optional(Type.String()),
});
export type StreamRequest = Static<typeof StreamRequest>;

export const StopRequest = Type.Object({
  mediaSessionId: Id,
  name: Type.Optional(Type.String()),
});
export type StopRequest = Static<typeof StopRequest>;

export const AvailableRequest = Type.Object({
  mediaSessionId: Type.Optional(Type.String()),
  name: Name,
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
