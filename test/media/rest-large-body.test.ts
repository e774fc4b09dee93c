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
      startMedia({ workers: 1 }),
      startMedia({ workers: 1, restToken: token }),
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
    const cases: {
      what: string;
      url: string;
      headers: Record<string, string>;
      status: number;
      code: string;
    }[] = [];
    const auth = { authorization: `Bearer ${token}` };
    for (const path of ['/rest-api/stream/find_all', '/rest-api/stream/find']) {
      const find = path.endsWith('/find');
      cases.push(
        {
          what: `${path} array`,
          url: path,
          headers: {},
          status: find ? 400 : 404,
          code: find ? FastifyErrorCode.VALIDATION : RestErrorCode.NOT_FOUND,
        },
        { what: `${path} padding`, url: path, headers: {}, status: 404, code: RestErrorCode.NOT_FOUND },
        {
          what: `${path} name`,
          url: path,
          headers: {},
          status: find ? 400 : 404,
          code: find ? FastifyErrorCode.VALIDATION : RestErrorCode.NOT_FOUND,
        },
        { what: `${path} over`, url: path, headers: {}, status: 413, code: FastifyErrorCode.BODY_TOO_LARGE },
        // refused before the body is read: the answer still waits for it
        {
          what: `${path} no credentials`,
          url: path,
          headers: { guarded: 'yes' },
          status: 401,
          code: RestErrorCode.UNAUTHORIZED,
        },
        {
          what: `${path} credentials`,
          url: path,
          headers: { guarded: 'yes', ...auth },
          status: 404,
          code: RestErrorCode.NOT_FOUND,
        },
      );
    }
    const seen: { what: string; status: number; code: unknown }[] = [];
    for (const c of cases) {
      const { guarded: onGuarded, ...headers } = c.headers;
      const server = onGuarded ? guarded : open;
      const kind = c.what.split(' ').pop() as keyof typeof bodies;
      const body = bodies[kind in bodies ? kind : 'padding'];
      const answer = await rawRequest(
        server.restUrl,
        'POST',
        c.url,
        { 'Content-Type': 'application/json', ...headers },
        body,
        { chunkBytes: 4096, pauseMs: 5 },
      );
      const parsed = JSON.parse(answer.body || '{}') as { code?: unknown };
      seen.push({ what: c.what, status: answer.status, code: parsed.code });
    }
    expect(seen).toEqual(cases.map(({ what, status, code }) => ({ what, status, code })));
  });
});
