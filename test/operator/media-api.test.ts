import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperatorErrorCode, errorPolicies, type KnownErrorCode } from '../../src/contracts/error-policy.js';
import { PushFailureCode } from '../../src/contracts/pull-api.js';
import { RestErrorCode } from '../../src/contracts/rest-error.js';
import { MediaApi, MediaApiError } from '../../src/operator/media-api.js';
import { startResponder, type Answer } from '../support/http-responder.js';

const push0 = { uri: 'ws://127.0.0.1:1', localStreamName: 'a', remoteStreamName: 'b' };

describe('MediaApi push lists', () => {
  const calls: string[] = [];
  let server: http.Server;
  let url: string;
  const push = { uri: 'ws://127.0.0.1:1', localStreamName: 'a', remoteStreamName: 'b' };

  beforeAll(async () => {
    // the pull REST contract in miniature: 404 for an empty find_all, 409 for a push it refuses
    const pushes = new Map<string, object>();
    let next = 0;
    server = http.createServer((req, res) => {
      calls.push(req.url ?? '');
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const body = JSON.parse(text || '{}') as Record<string, string>;
        let status = 200;
        let answer: unknown = {};
        if (req.url === '/rest-api/pull/push') {
          if (body['remoteStreamName'] === 'fail') [status, answer] = [409, { message: 'refused' }];
          else {
            const created = { ...body, localMediaSessionId: `p${next++}`, status: 'PUBLISHING' };
            pushes.set(created.localMediaSessionId, created);
            answer = created;
          }
        } else if (req.url === '/rest-api/pull/terminate') {
          if (!pushes.delete(body['localMediaSessionId'] ?? '')) status = 404;
        } else {
          answer = [...pushes.values()];
          if (pushes.size === 0) status = 404;
        }
        // answer late, so that concurrent askers overlap
        setTimeout(
          () => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
          50,
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const findAlls = (): number => calls.filter((c) => c.endsWith('find_all')).length;

  it('shares one find_all among concurrent reconciles, keeps its own pushes in it, and asks again after maxAge', async () => {
    // maxAge is generous: a loaded machine must not age the answer before the test asks again
    const api = new MediaApi(undefined, 5000, 1500);
    const lists = await Promise.all(Array.from({ length: 10 }, () => api.findAll(url)));
    expect(findAlls()).toBe(1);
    expect(lists.every((l) => l.length === 0)).toBe(true);

    // our push lands in the cached answer without asking the server again
    const pushed = await api.push(url, push);
    expect((await api.findAll(url)).map((p) => p.localMediaSessionId)).toEqual([pushed.localMediaSessionId]);
    expect(findAlls()).toBe(1);

    // the server's own view after maxAge: the same push, once
    await new Promise((r) => setTimeout(r, 1600));
    expect((await api.findAll(url)).map((p) => p.localMediaSessionId)).toEqual([pushed.localMediaSessionId]);
    expect(findAlls()).toBe(2);

    // a terminated push leaves the cached answer too
    expect(await api.terminate(url, { localMediaSessionId: pushed.localMediaSessionId })).toBe(true);
    expect(await api.findAll(url)).toEqual([]);
    expect(findAlls()).toBe(2);
  });

  it('forgets the cached answer when a push fails, since its outcome is unknown', async () => {
    const api = new MediaApi(undefined, 5000, 60_000);
    await api.findAll(url);
    const before = findAlls();
    await expect(api.push('http://127.0.0.1:1', push)).rejects.toThrow(/unreachable/);
    await api.findAll(url);
    expect(findAlls()).toBe(before); // another server's failure leaves this one's answer alone
    await expect(api.push(url, { ...push, remoteStreamName: 'fail' })).rejects.toThrow();
    await api.findAll(url);
    expect(findAlls()).toBe(before + 1);
  });
});

describe('MediaApi errors carry the code the media server sent', () => {
  it('reads the body code; the status stands for one only when there is none', async () => {
    const rows: [Answer, KnownErrorCode][] = [
      [
        {
          status: 409,
          body: { statusCode: 409, code: PushFailureCode.LOOP, error: 'Conflict', message: 'loop' },
        },
        PushFailureCode.LOOP,
      ],
      [
        {
          status: 409,
          body: { statusCode: 409, code: RestErrorCode.CONFLICT, error: 'Conflict', message: 'dup' },
        },
        RestErrorCode.CONFLICT,
      ],
      [
        { status: 500, body: { statusCode: 500, code: PushFailureCode.NO_MEDIA, error: 'x', message: 'y' } },
        PushFailureCode.NO_MEDIA,
      ],
      // a foreign server: no code
      [{ status: 401 }, RestErrorCode.UNAUTHORIZED],
      [{ status: 409, body: 'Conflict' }, RestErrorCode.CONFLICT],
      [{ status: 502 }, RestErrorCode.INTERNAL],
    ];
    for (const [answer, code] of rows) {
      const server = await startResponder(({ path }) =>
        path === '/rest-api/pull/push' ? answer : { status: 404 },
      );
      try {
        const failed = await new MediaApi(undefined).push(server.url, push0).catch((e: unknown) => e);
        expect(failed).toBeInstanceOf(MediaApiError);
        expect({ code: (failed as MediaApiError).code, policy: (failed as MediaApiError).policy }).toEqual({
          code,
          policy: errorPolicies[code],
        });
      } finally {
        await server.close();
      }
    }
    const unreachable = await new MediaApi(undefined)
      .push('http://127.0.0.1:1', push0)
      .catch((e: unknown) => e);
    expect((unreachable as MediaApiError).code).toBe(OperatorErrorCode.SOURCE_UNREACHABLE);
  });
});
