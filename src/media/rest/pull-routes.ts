import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../errors.js';
import { PushFailedError, type PushManager } from '../push/push-manager.js';

const Name = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\s]+$' });
const Uri = Type.String({ minLength: 1, maxLength: 2048 });

const PushBody = Type.Object(
  { uri: Uri, localStreamName: Name, remoteStreamName: Type.Optional(Name) },
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
  app.post<{ Body: PushBody }>(
    '/rest-api/pull/push',
    { schema: { body: PushBody } },
    async (request, reply) => {
      try {
        return await pushes.push(request.body);
      } catch (error) {
        if (error instanceof PushFailedError) {
          return reply.status(500).send({
            statusCode: 500,
            error: 'Internal Server Error',
            message: error.message,
            push: error.push,
          });
        }
        throw error;
      }
    },
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
