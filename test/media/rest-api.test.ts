import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, startMedia, type RunningMedia } from '../support/media-server.js';
import { scrapeMetrics } from '../support/metrics.js';

describe('REST API: auth, health, bad input', () => {
  let media: RunningMedia;
  const token = 'test-token-do-not-log';
  const auth = { authorization: `Bearer ${token}` };
  beforeAll(async () => {
    media = await startMedia({ restToken: token });
  });
  afterAll(async () => media?.stop());

  it('requires the bearer token on /rest-api/* when one is configured', async () => {
    expect((await rest(media.restUrl, '/rest-api/stream/find_all')).status).toBe(401);
    expect(
      (await rest(media.restUrl, '/rest-api/stream/find_all', undefined, { authorization: 'Bearer wrong' }))
        .status,
    ).toBe(401);
    expect(
      (await rest(media.restUrl, '/rest-api/pull/find_all', undefined, { authorization: token })).status,
    ).toBe(401);
    expect((await rest(media.restUrl, '/rest-api/stream/find_all', undefined, auth)).status).toBe(404);
  });

  it('serves health, readiness and metrics without the token', async () => {
    expect(await (await fetch(`${media.restUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${media.restUrl}/readyz`)).json()).toEqual({ status: 'ready' });
    const metrics = await scrapeMetrics(media.restUrl);
    expect(metrics.value('streamfed_ws_sessions')).toBe(0);
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metrics.text).not.toContain(token);
  });

  it('answers bad input with 400/404/413 and a clear message', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['/rest-api/stream/find', '{"name":', 400, /malformed JSON/],
      ['/rest-api/stream/find', { name: 42 }, 400, /name must be string/],
      // unknown fields are ignored, as WCS does; known ones of the wrong type are refused
      ['/rest-api/stream/find', { nmae: 'typo' }, 404, /stream not found/],
      ['/rest-api/stream/find', { name: 'nobody' }, 404, /stream not found/],
      ['/rest-api/stream/find', { name: 'a\nb' }, 400, /name must match pattern/],
      ['/rest-api/stream/find', { name: 'x'.repeat(257) }, 400, /name must NOT have more than 256/],
      ['/rest-api/stream/find', { published: 'yes' }, 400, /published must be boolean/],
      ['/rest-api/stream/find', { status: 'LIVE' }, 400, /status/],
      ['/rest-api/stream/find', { display: 'metrics' }, 400, /display must be array/],
      ['/rest-api/stream/terminate', { mediaSessionId: 'nope' }, 404, /not found/],
      ['/rest-api/stream/terminate', { mediaSessionIds: 'nope' }, 400, /mediaSessionIds must be array/],
      // WCS: an empty filter matches every stream (none here)
      ['/rest-api/stream/terminate', {}, 404, /not found/],
      ['/rest-api/stream/find_all', { unexpected: true }, 404, /streams not found/],
      ['/rest-api/connection/terminate', {}, 400, /sessionId/],
      ['/rest-api/connection/terminate', { sessionId: '/nobody' }, 404, /connection not found/],
      ['/rest-api/pull/terminate', { localStreamName: 7 }, 400, /localStreamName must be string/],
      ['/rest-api/pull/terminate', { remoteStreamName: 'x' }, 400, /give localMediaSessionId/],
      ['/rest-api/pull/push', { uri: 'ws://127.0.0.1:1', extra: 1 }, 400, /localStreamName/],
      // the one name rule (src/contracts/stream-name.ts): a space is a name, a control character is not
      ['/rest-api/pull/push', { uri: 'ws://127.0.0.1:1', localStreamName: 'a b' }, 404, /not found/],
      ['/rest-api/pull/push', { uri: 'ws://127.0.0.1:1', localStreamName: 'a\u0001b' }, 400, /pattern/],
      ['/rest-api/stream/find', { name: 'x'.repeat(100 * 1024) }, 413, /./],
      ['/rest-api/no/such', {}, 404, /no route/],
    ];
    for (const [path, body, status, message] of cases) {
      const r = await rest(media.restUrl, path, body, auth);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect((r.body as { message: string }).message).toMatch(message);
    }
    expect(media.server.engine.objectCounts().transport).toBe(0);
  });
});
