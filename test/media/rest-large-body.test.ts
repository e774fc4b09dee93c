import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastifyErrorCode, RestErrorCode } from '../../src/contracts/rest-error.js';
import { startMedia, type RunningMedia } from '../support/media-server.js';
import { rawRequest } from '../support/raw-http.js';

/**
 * Every request gets an HTTP answer it can read, however large (up to the 64 KiB limit and past it) and
 * however slowly its body arrives: the server never closes the connection while the client is still writing.
 */
describe('REST: large bodies, written slowly, are answered', () => {
  let open: RunningMedia;
  let guarded: RunningMedia;
  const token = 'large-body-token';

  beforeAll(async () => {
    [open, guarded] = await Promise.all([
      startMedia({ listen: { workers: 1 } }),
      startMedia({ listen: { workers: 1 }, rest: { token } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), guarded?.stop()]);
  });

  it('answers ~60 KB bodies to find and find_all, and 413 past the limit, to a client that writes in 4 KiB steps', async () => {
    const bodies = {
      // within the limit: an array the schema refuses, an unknown field, a filter value too long
      array: JSON.stringify({ display: Array.from({ length: 6500 }, () => 'metrics') }),
      padding: JSON.stringify({ padding: 'x'.repeat(60_000) }),
      name: JSON.stringify({ name: 'x'.repeat(60_000) }),
      // past it
      over: JSON.stringify({ padding: 'x'.repeat(70_000) }),
    };
    const auth = { authorization: `Bearer ${token}` };
    type Answer = { status: number; code: string };
    const notFound: Answer = { status: 404, code: RestErrorCode.NOT_FOUND };
    const invalid: Answer = { status: 400, code: FastifyErrorCode.VALIDATION };
    const tooLarge: Answer = { status: 413, code: FastifyErrorCode.BODY_TOO_LARGE };
    const unauthorized: Answer = { status: 401, code: RestErrorCode.UNAUTHORIZED };
    // [body, on the guarded server, headers, answer of find_all, answer of find]
    const table: [keyof typeof bodies, boolean, Record<string, string>, Answer, Answer][] = [
      ['array', false, {}, notFound, invalid],
      ['padding', false, {}, notFound, notFound],
      ['name', false, {}, notFound, invalid],
      ['over', false, {}, tooLarge, tooLarge],
      // refused before the body is read: the answer still waits for it
      ['padding', true, {}, unauthorized, unauthorized],
      ['padding', true, auth, notFound, notFound],
    ];
    const cases = table.flatMap(([kind, onGuarded, headers, findAll, find]) =>
      (['/rest-api/stream/find_all', '/rest-api/stream/find'] as const).map((url) => ({
        what: `${url} ${kind}${onGuarded ? ` guarded${headers.authorization ? ' with credentials' : ''}` : ''}`,
        server: onGuarded ? guarded : open,
        url,
        headers,
        body: bodies[kind],
        ...(url.endsWith('/find') ? find : findAll),
      })),
    );
    const seen: { what: string; status: number; code: unknown }[] = [];
    for (const c of cases) {
      const answer = await rawRequest(
        c.server.restUrl,
        'POST',
        c.url,
        { 'Content-Type': 'application/json', ...c.headers },
        c.body,
        { chunkBytes: 4096, pauseMs: 5 },
      );
      const parsed = JSON.parse(answer.body || '{}') as { code?: unknown };
      seen.push({ what: c.what, status: answer.status, code: parsed.code });
    }
    expect(seen).toEqual(cases.map(({ what, status, code }) => ({ what, status, code })));
  });
});
