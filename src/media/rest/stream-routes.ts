import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../errors.js';
import type { SignallingServer } from '../signalling/ws-server.js';
import { StreamInfo } from '../streams/status.js';
import type { StreamService } from '../streams/stream-service.js';

const Empty = Type.Object({}, { additionalProperties: false });

const StreamQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    mediaSessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    published: Type.Optional(Type.Boolean()),
    sessionId: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
type StreamQuery = Static<typeof StreamQuery>;

const TerminateQuery = Type.Union([
  Type.Object(
    { mediaSessionId: Type.String({ minLength: 1, maxLength: 128 }) },
    { additionalProperties: false },
  ),
  Type.Object({ name: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
]);
type TerminateQuery = Static<typeof TerminateQuery>;

/** 404 with WCS's "not found" when a query matches nothing, as WCS answers. */
function found<T>(items: T[], what: string): T[] {
  if (items.length === 0) throw new NotFoundError(`${what} not found`);
  return items;
}

/** /rest-api/stream/* and /rest-api/connection/*, with WCS's response shapes. */
export function registerStreamRoutes(
  app: FastifyInstance,
  streams: StreamService,
  signalling: SignallingServer,
): void {
  app.post('/rest-api/stream/find_all', { schema: { body: Empty } }, async () =>
    found(streams.find(), 'streams'),
  );

  app.post<{ Body: StreamQuery }>(
    '/rest-api/stream/find',
    { schema: { body: StreamQuery } },
    async (request) => {
      // a name published on another member of the fleet is relayed here, then found like a local one
      if (request.body.name !== undefined) await streams.resolve(request.body.name);
      return found(streams.find(request.body), 'stream');
    },
  );

  app.post<{ Body: TerminateQuery }>(
    '/rest-api/stream/terminate',
    { schema: { body: TerminateQuery } },
    async (request, reply) => {
      const matches = found(streams.find(request.body), 'stream');
      for (const d of matches) {
        streams.session(d.mediaSessionId)?.end(undefined, StreamInfo.REQUESTED_STREAM_SHUTDOWN);
      }
      return reply.status(200).send();
    },
  );

  app.post('/rest-api/connection/find_all', { schema: { body: Empty } }, async () =>
    found(signalling.connections(), 'connections'),
  );
}
