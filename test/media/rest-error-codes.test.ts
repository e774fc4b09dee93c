import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetPaths } from '../../src/contracts/fleet-api.js';
import { PushFailureCode } from '../../src/contracts/pull-api.js';
import { FleetErrorCode, RestErrorCode } from '../../src/contracts/rest-error.js';
import { rest, startMedia, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { freePort } from '../support/ports.js';

interface Refusal {
  what: string;
  path: string;
  body?: unknown;
  method?: 'GET' | 'POST';
  contentType?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** What the message must say, where the row checks it. */
  message?: RegExp;
}

/** Every REST refusal in one table: status, stable code and, where it says something to check, the message. */
/** A body the route's schema refuses: 400 FST_ERR_VALIDATION with a message naming the field. */
const invalid = (what: string, path: string, body: unknown, message: RegExp): Refusal => ({
  what,
  path,
  body,
  status: 400,
  code: 'FST_ERR_VALIDATION',
  message,
});

describe('REST error bodies carry a stable code', () => {
  let media: RunningMedia;
  let publisher: NodePeer;
  let closedPort: number;
  const token = 'codes-token';
  const auth = { authorization: `Bearer ${token}` };

  beforeAll(async () => {
    media = await startMedia({ rest: { token } });
    publisher = await NodePeer.publish(media.wsUrl, 'published');
    await publisher.waitStatus('PUBLISHING');
    closedPort = await freePort();
  }, 30_000);
  afterAll(async () => {
    await publisher?.stop();
    await media?.stop();
  });

  it('answers every refusal with {statusCode, code, error, message}, the code naming what was refused', async () => {
    const selfUri = (): string => media.wsUrl;
    const cases: Refusal[] = [
      {
        what: 'no credentials',
        path: '/rest-api/stream/find_all',
        headers: {},
        status: 401,
        code: RestErrorCode.UNAUTHORIZED,
      },
      {
        what: 'wrong token',
        path: '/rest-api/pull/find_all',
        headers: { authorization: 'Bearer nope' },
        status: 401,
        code: RestErrorCode.UNAUTHORIZED,
      },
      {
        what: 'the token without Bearer',
        path: '/rest-api/pull/find_all',
        headers: { authorization: token },
        status: 401,
        code: RestErrorCode.UNAUTHORIZED,
      },
      {
        what: 'malformed JSON',
        path: '/rest-api/stream/find',
        body: '{"name":',
        status: 400,
        code: RestErrorCode.BAD_REQUEST,
        message: /malformed JSON/,
      },
      {
        what: 'wrong type',
        path: '/rest-api/stream/find',
        body: { name: 42 },
        status: 400,
        code: 'FST_ERR_VALIDATION',
        message: /name must be string/,
      },
      invalid(
        'a name with a control character',
        '/rest-api/stream/find',
        { name: 'a\nb' },
        /name must match pattern/,
      ),
      invalid(
        'a name too long',
        '/rest-api/stream/find',
        { name: 'x'.repeat(257) },
        /name must NOT have more than 256/,
      ),
      invalid(
        'published not a boolean',
        '/rest-api/stream/find',
        { published: 'yes' },
        /published must be boolean/,
      ),
      invalid('status not a stream status', '/rest-api/stream/find', { status: 'LIVE' }, /status/),
      invalid(
        'display not an array',
        '/rest-api/stream/find',
        { display: 'metrics' },
        /display must be array/,
      ),
      invalid(
        'mediaSessionIds not an array',
        '/rest-api/stream/terminate',
        { mediaSessionIds: 'nope' },
        /mediaSessionIds must be array/,
      ),
      invalid('connection terminate without sessionId', '/rest-api/connection/terminate', {}, /sessionId/),
      invalid(
        'pull terminate with a localStreamName not a string',
        '/rest-api/pull/terminate',
        { localStreamName: 7 },
        /localStreamName must be string/,
      ),
      invalid(
        'push without localStreamName',
        '/rest-api/pull/push',
        { uri: 'ws://127.0.0.1:1', extra: 1 },
        /localStreamName/,
      ),
      {
        // the one name rule (src/contracts/stream-name.ts): a control character is not a name
        what: 'bad name',
        path: '/rest-api/pull/push',
        body: { uri: 'ws://127.0.0.1:1', localStreamName: 'a\nb' },
        status: 400,
        code: 'FST_ERR_VALIDATION',
        message: /pattern/,
      },
      invalid(
        'bad name (another control character)',
        '/rest-api/pull/push',
        { uri: 'ws://127.0.0.1:1', localStreamName: 'a\u0001b' },
        /pattern/,
      ),
      {
        what: 'huge body',
        path: '/rest-api/stream/find',
        body: { name: 'x'.repeat(100 * 1024) },
        status: 413,
        code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      },
      {
        what: 'unsupported media type',
        path: '/rest-api/stream/find',
        body: '<name/>',
        contentType: 'application/xml',
        status: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      },
      {
        what: 'no such route',
        path: '/rest-api/no/such',
        body: {},
        status: 404,
        code: RestErrorCode.NOT_FOUND,
        message: /no route/,
      },
      {
        what: 'unknown stream',
        path: '/rest-api/stream/find',
        body: { name: 'nobody' },
        status: 404,
        code: RestErrorCode.NOT_FOUND,
        message: /stream not found/,
      },
      {
        // unknown fields are ignored, as WCS does; known ones of the wrong type are refused
        what: 'an unknown field beside the name',
        path: '/rest-api/stream/find',
        body: { nmae: 'typo', name: 'nobody' },
        status: 404,
        code: RestErrorCode.NOT_FOUND,
        message: /stream not found/,
      },
      {
        what: 'no streams matched',
        path: '/rest-api/stream/terminate',
        body: { mediaSessionId: 'nope' },
        status: 404,
        code: RestErrorCode.NOT_FOUND,
        message: /not found/,
      },
      {
        what: 'unknown connection',
        path: '/rest-api/connection/terminate',
        body: { sessionId: '/nobody' },
        status: 404,
        code: RestErrorCode.NOT_FOUND,
        message: /connection not found/,
      },
      {
        what: 'no pushes',
        path: '/rest-api/pull/find_all',
        body: {},
        status: 404,
        code: RestErrorCode.NOT_FOUND,
      },
      {
        what: 'no pushes, an unknown field ignored',
        path: '/rest-api/pull/find_all',
        body: { unexpected: true },
        status: 404,
        code: RestErrorCode.NOT_FOUND,
        message: /no pushes or pulls/,
      },
      {
        what: 'terminate without a key',
        path: '/rest-api/pull/terminate',
        body: { remoteStreamName: 'x' },
        status: 400,
        code: RestErrorCode.BAD_REQUEST,
        message: /give localMediaSessionId/,
      },
      {
        what: 'push of an unknown stream',
        path: '/rest-api/pull/push',
        body: { uri: 'ws://127.0.0.1:1', localStreamName: 'nobody' },
        status: 404,
        code: RestErrorCode.NOT_FOUND,
      },
      {
        // a space is a name: a valid one, of no stream here
        what: 'push of a name with a space',
        path: '/rest-api/pull/push',
        body: { uri: 'ws://127.0.0.1:1', localStreamName: 'a b' },
        status: 404,
        code: RestErrorCode.NOT_FOUND,
        message: /not found/,
      },
      {
        // http(s):// is a WHIP endpoint (test/push/whip-push.test.ts); anything else but ws(s):// is refused
        what: 'uri neither ws(s):// nor http(s)://',
        path: '/rest-api/pull/push',
        body: { uri: 'ftp://127.0.0.1:1', localStreamName: 'published' },
        status: 400,
        code: RestErrorCode.BAD_REQUEST,
      },
      {
        what: 'disallowed target',
        path: '/rest-api/pull/push',
        body: { uri: 'ws://10.255.0.1:8080', localStreamName: 'published' },
        status: 403,
        code: RestErrorCode.FORBIDDEN,
      },
      {
        what: 'push to itself',
        path: '/rest-api/pull/push',
        body: { uri: selfUri(), localStreamName: 'published' },
        status: 409,
        code: PushFailureCode.LOOP,
      },
      {
        what: 'pull into a published name',
        path: '/rest-api/pull/pull',
        body: { uri: `ws://127.0.0.1:${closedPort}`, localStreamName: 'published' },
        status: 409,
        code: RestErrorCode.CONFLICT,
      },
      {
        what: 'unreachable target',
        path: '/rest-api/pull/push',
        body: { uri: `ws://127.0.0.1:${closedPort}`, localStreamName: 'published' },
        status: 500,
        code: PushFailureCode.UNREACHABLE,
      },
      {
        what: 'fleet: not the origin',
        path: FleetPaths.origin('nobody'),
        method: 'GET',
        status: 404,
        code: FleetErrorCode.NOT_ORIGIN,
      },
    ];
    const seen: { what: string; status: number; code: unknown }[] = [];
    // The video-size probe reads the publisher's key frames now and then through one DirectTransport and its one
    // consumer, closed after each reading: those come and go by themselves, so they are left out of the comparison.
    const lasting = (): Record<string, number> => {
      const { direct_transport: reading, consumer, ...rest } = media.server.engine.objectCounts();
      return { ...rest, consumer: consumer - reading };
    };
    const objectsBefore = lasting();
    for (const c of cases) {
      const headers = c.headers ?? auth;
      let status: number;
      let body: unknown;
      if (c.method === 'GET' || c.contentType) {
        const response = await fetch(`${media.restUrl}${c.path}`, {
          method: c.method ?? 'POST',
          headers: { ...headers, ...(c.contentType ? { 'content-type': c.contentType } : {}) },
          ...(c.method === 'GET' ? {} : { body: String(c.body) }),
        });
        status = response.status;
        body = await response.json();
      } else {
        ({ status, body } = await rest(media.restUrl, c.path, c.body, headers));
      }
      seen.push({ what: c.what, status, code: (body as { code?: unknown }).code });
      expect(body).toMatchObject({
        statusCode: status,
        code: expect.any(String),
        error: expect.any(String),
        message: expect.any(String),
      });
      expect((body as { message: string }).message).not.toBe('');
      if (c.message) expect((body as { message: string }).message, c.what).toMatch(c.message);
    }
    expect(seen).toEqual(cases.map(({ what, status, code }) => ({ what, status, code })));
    // refused calls make nothing
    expect(lasting()).toEqual(objectsBefore);
  });

  it('keeps the FAILED push in the body of a failed push, beside its code', async () => {
    const uri = `ws://127.0.0.1:${closedPort}`;
    const call = (path: string, body?: unknown): ReturnType<typeof rest> =>
      rest(media.restUrl, path, body, auth);
    const failed = await call('/rest-api/pull/push', { uri, localStreamName: 'published' });
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({
      statusCode: 500,
      code: PushFailureCode.UNREACHABLE,
      error: 'Internal Server Error',
      push: { status: 'FAILED', code: PushFailureCode.UNREACHABLE, uri },
    });
    expect((await call('/rest-api/pull/terminate', { uri, localStreamName: 'published' })).status).toBe(200);
    expect((await call('/rest-api/pull/find_all')).status).toBe(404);
  });
});
