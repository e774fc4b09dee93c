import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../errors.js';
import { PushFailedError, type PushManager } from '../push/push-manager.js';
import type { PushDescription, PushFailureBody } from '../../contracts/pull-api.js';

const Name = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\s]+$' });
const Uri = Type.String({ minLength: 1, maxLength: 2048 });

const PushBody = Type.Object(
  {
    uri: Uri,
    localStreamName: Name,
    remoteStreamName: Type.Optional(Name),
    // passed to the remote as the SDK's `custom` (its REST hooks see it, e.g. an auth token)
    custom: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
type PushBody = Static<typeof PushBody>;

const TerminateBody = Type.Union([
  Type.Object(
    { localMediaSessionId: Type.String({ minLength: 1, maxLength: 128 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { uri: Uri, localStreamName: Name, remoteStreamName: Type.Optional(Name) },
    { additionalProperties: false },
  ),
]);
type TerminateBody = Static<typeof TerminateBody>;

const Empty = Type.Object({}, { additionalProperties: false });

/** WCS's /rest-api/pull/* family. */
export function registerPullRoutes(app: FastifyInstance, pushes: PushManager): void {
  // push and pull answer alike: the relay, or 500 with the reason and the FAILED relay
  const relay =
    (start: (body: PushBody) => Promise<PushDescription>) =>
    async (request: FastifyRequest<{ Body: PushBody }>, reply: FastifyReply): Promise<unknown> => {
      try {
        return await start(request.body);
      } catch (error) {
        if (!(error instanceof PushFailedError)) throw error;
        const body: PushFailureBody = {
          statusCode: 500,
          code: error.code,
          error: 'Internal Server Error',
          message: error.message,
          push: error.push,
        };
        return reply.status(500).send(body);
      }
    };
  app.post(
    '/rest-api/pull/push',
    { schema: { body: PushBody } },
    relay((body) => pushes.push(body)),
  );
  app.post(
    '/rest-api/pull/pull',
    { schema: { body: PushBody } },
    relay((body) => pushes.pull(body)),
  );

  app.post('/rest-api/pull/find_all', { schema: { body: Empty } }, async () => {
    const all = pushes.list();
    if (all.length === 0) throw new NotFoundError('no pushes or pulls');
    return all;
  });

  app.post<{ Body: TerminateBody }>(
    '/rest-api/pull/terminate',
    { schema: { body: TerminateBody } },
    async (request) => pushes.terminate(request.body),
  );
}
