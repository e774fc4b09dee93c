import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { StreamName } from '../../contracts/stream-name.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import type { PushManager } from '../push/push-manager.js';

const Uri = Type.String({ minLength: 1, maxLength: 2048 });

// Fields we do not read are ignored (rest-server.ts's policy), so WCS callers' extra fields pass.
const PushBody = Type.Object({
  uri: Uri,
  localStreamName: StreamName,
  remoteStreamName: Type.Optional(StreamName),
  // passed to the remote as the SDK's `custom` (its REST hooks see it, e.g. an auth token)
  custom: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  // a WHIP/WHEP endpoint's bearer token (`Authorization: Bearer`), never listed or logged
  authToken: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  // who asks (the operator: `StreamPush <namespace>/<name>`), listed by find_all, never sent anywhere
  owner: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
});
type PushBody = Static<typeof PushBody>;

/**
 * Every form WCS callers send: `{localMediaSessionId}`, `{uri, localStreamName[, remoteStreamName]}`, and
 * `{localStreamName[, remoteStreamName]}` without uri (what the SDK's rest module sends).
 */
const TerminateBody = Type.Object({
  localMediaSessionId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  uri: Type.Optional(Uri),
  localStreamName: Type.Optional(StreamName),
  remoteStreamName: Type.Optional(StreamName),
});
type TerminateBody = Static<typeof TerminateBody>;

const Empty = Type.Object({});

/** WCS's /rest-api/pull/* family. */
export function registerPullRoutes(app: FastifyInstance, pushes: PushManager): void {
  // push and pull answer alike: the relay, or (PushFailedError, through the error handler) 500 with the
  // code, the reason and the FAILED relay
  app.post<{ Body: PushBody }>('/rest-api/pull/push', { schema: { body: PushBody } }, async (request) =>
    pushes.push(request.body),
  );
  app.post<{ Body: PushBody }>('/rest-api/pull/pull', { schema: { body: PushBody } }, async (request) =>
    pushes.pull(request.body),
  );

  app.post('/rest-api/pull/find_all', { schema: { body: Empty } }, async () => {
    const all = pushes.list();
    if (all.length === 0) throw new NotFoundError('no pushes or pulls');
    return all;
  });

  app.post<{ Body: TerminateBody }>(
    '/rest-api/pull/terminate',
    { schema: { body: TerminateBody } },
    async (request) => {
      const { localMediaSessionId, uri, localStreamName, remoteStreamName } = request.body;
      if (localMediaSessionId !== undefined) return pushes.terminate({ localMediaSessionId });
      if (localStreamName === undefined)
        throw new BadRequestError('invalid request: give localMediaSessionId, or localStreamName (and uri)');
      // without uri: every push and pull of that stream (and remote name, when given), wherever it goes
      return pushes.terminate({ uri, localStreamName, remoteStreamName });
    },
  );
}
