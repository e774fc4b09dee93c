import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { StreamName } from '../../contracts/stream-name.js';
import { RestErrorCode } from '../../contracts/rest-error.js';
import { NotFoundError, StreamfedError } from '../errors.js';
import type { SignallingServer } from '../signalling/ws-server.js';
import { StreamInfo, StreamStatus, type StreamDescription } from '../streams/status.js';
import type { StreamService } from '../streams/stream-service.js';

const Id = Type.String({ minLength: 1, maxLength: 128 });

/** A filter field WCS also takes as `null`, meaning "no filter" (the SDK's rest module sends nulls). */
const orNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * WCS's stream filters. Objects stay open: a field WCS documents that we do not filter on, or any other,
 * is ignored (WCS filters are loose); a known field of the wrong type is a 400.
 */
const StreamFilter = Type.Object({
  name: Type.Optional(orNull(StreamName)),
  mediaSessionId: Type.Optional(orNull(Id)),
  published: Type.Optional(orNull(Type.Boolean())),
  sessionId: Type.Optional(orNull(Type.String({ minLength: 1, maxLength: 256 }))),
  status: Type.Optional(orNull(Type.Enum(StreamStatus))),
  hasAudio: Type.Optional(orNull(Type.Boolean())),
  hasVideo: Type.Optional(orNull(Type.Boolean())),
});
type StreamFilter = Static<typeof StreamFilter>;

const FindQuery = Type.Composite([
  StreamFilter,
  Type.Object({
    display: Type.Optional(orNull(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 }))),
  }),
]);
type FindQuery = Static<typeof FindQuery>;

const TerminateQuery = Type.Composite([
  StreamFilter,
  Type.Object({
    mediaSessionIds: Type.Optional(Type.Array(Id, { maxItems: 10_000 })),
    /** Ends every stream, on purpose: the one way to, and only without any filter. */
    all: Type.Optional(Type.Boolean()),
  }),
]);
type TerminateQuery = Static<typeof TerminateQuery>;

const ConnectionFilter = Type.Object({
  sessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  appKey: Type.Optional(Type.String({ maxLength: 256 })),
  clientVersion: Type.Optional(Type.String({ maxLength: 256 })),
  clientOSVersion: Type.Optional(Type.String({ maxLength: 1024 })),
  clientBrowserVersion: Type.Optional(Type.String({ maxLength: 1024 })),
  status: Type.Optional(Type.Union([Type.Literal('PENDING'), Type.Literal('ESTABLISHED')])),
});
type ConnectionFilter = Static<typeof ConnectionFilter>;

const ConnectionTerminate = Type.Composite([
  ConnectionFilter,
  Type.Object({ sessionId: Type.String({ minLength: 1, maxLength: 256 }) }),
]);

const Anything = Type.Object({});

/** Only the known filter fields, so an unknown one never narrows or widens a match; `null` is no filter. */
function pick<T extends object>(body: T, keys: readonly (keyof T)[]): { [K in keyof T]?: NonNullable<T[K]> } {
  const out: { [K in keyof T]?: NonNullable<T[K]> } = {};
  for (const k of keys)
    if (body[k] !== undefined && body[k] !== null) out[k] = body[k] as NonNullable<T[typeof k]>;
  return out;
}
const streamKeys = [
  'name',
  'mediaSessionId',
  'published',
  'sessionId',
  'status',
  'hasAudio',
  'hasVideo',
] as const satisfies readonly (keyof StreamFilter)[];
const connectionKeys = [
  'sessionId',
  'appKey',
  'clientVersion',
  'clientOSVersion',
  'clientBrowserVersion',
  'status',
] as const satisfies readonly (keyof ConnectionFilter)[];

/** The 400 of a /stream/terminate whose body names no filter we know, or both filters and `all`. */
function noFilter(filtered: boolean): StreamfedError {
  const known = [...streamKeys, 'mediaSessionIds'].join(', ');
  return new StreamfedError(
    RestErrorCode.NO_FILTER,
    400,
    filtered
      ? 'give either filters or {"all": true}, not both'
      : `no filter given (known: ${known}): nothing ended; to end every stream on purpose send {"all": true}`,
  );
}

/** 404 with WCS's "not found" when a query matches nothing, as WCS answers. */
function found<T>(items: T[], what: string): T[] {
  if (items.length === 0) throw new NotFoundError(`${what} not found`);
  return items;
}

/**
 * /rest-api/stream/* and /rest-api/connection/*, with WCS's shapes. Registered as POST; rest-server.ts makes
 * every find/find_all answer GET too (no body: no filter) and ignores fields a schema does not name.
 */
export function registerStreamRoutes(
  app: FastifyInstance,
  streams: StreamService,
  signalling: SignallingServer,
): void {
  const route = <S extends TSchema>(url: string, body: S, handler: RouteHandlerMethod): void => {
    app.post(`/rest-api${url}`, { schema: { body } }, handler);
  };

  route('/stream/find_all', Anything, async () => found(streams.find(), 'streams'));

  route('/stream/find', FindQuery, async (request) => {
    const query = request.body as FindQuery;
    // a name published on another member of the fleet is relayed here, then found like a local one
    if (typeof query.name === 'string') await streams.resolve(query.name);
    const matches = found(streams.find(pick(query, streamKeys)), 'stream');
    if (!query.display?.includes('metrics')) return matches;
    return Promise.all(matches.map((d) => withMetrics(streams, d)));
  });

  // Every stream matching the filters ends. A body naming no filter we know ends nothing: a typo (`{"nmae":
  // ...}`) or an empty body must not read as "everything"; `{"all": true}` is the one way to end every stream.
  route('/stream/terminate', TerminateQuery, async (request, reply) => {
    const query = request.body as TerminateQuery;
    const filter = { ...pick(query, streamKeys), ...pick(query, ['mediaSessionIds']) };
    if (filter.mediaSessionIds?.length === 0) delete filter.mediaSessionIds;
    const filtered = Object.keys(filter).length > 0;
    if (filtered === (query.all === true)) throw noFilter(filtered);
    const matches = found(streams.find(filter), 'stream');
    for (const d of matches) {
      streams.session(d.mediaSessionId)?.end(undefined, StreamInfo.STOPPED_BY_REST_TERMINATE);
    }
    return reply.status(200).send();
  });

  route('/connection/find_all', Anything, async () => found(signalling.connections(), 'connections'));

  route('/connection/find', ConnectionFilter, async (request) =>
    found(signalling.connections(pick(request.body as ConnectionFilter, connectionKeys)), 'connection'),
  );

  // Ends one session (its streams first); the SDK sees the socket close. sessionId is required, as WCS has it.
  route('/connection/terminate', ConnectionTerminate, async (request, reply) => {
    const filter = pick(request.body as ConnectionFilter, connectionKeys);
    found(signalling.connections(filter), 'connection');
    signalling.terminate(filter);
    return reply.status(200).send();
  });
}

async function withMetrics(streams: StreamService, d: StreamDescription): Promise<StreamDescription> {
  const session = streams.session(d.mediaSessionId);
  return session ? { ...d, metrics: await session.metrics() } : d;
}
