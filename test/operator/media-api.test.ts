import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaApi } from '../../src/operator/media-api.js';

describe('MediaApi push lists', () => {
  const calls: string[] = [];
  let server: http.Server;
  let url: string;
  const push = { uri: 'ws://127.0.0.1:1', localStreamName: 'a', remoteStreamName: 'b' };

  beforeAll(async () => {
    let pushes = 0;
    server = http.createServer((req, res) => {
      calls.push(req.url ?? '');
      req.resume().on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/rest-api/pull/push') pushes++;
        const listed = Array.from({ length: pushes }, (_, i) => ({ ...push, localMediaSessionId: `p${i}` }));
        // answer late, so that concurrent askers overlap
        setTimeout(
          () => res.end(JSON.stringify(req.url === '/rest-api/pull/push' ? listed.at(-1) : listed)),
          50,
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('shares one find_all among concurrent reconciles, and asks again after its own push or after maxAge', async () => {
    const api = new MediaApi(undefined, 5000, 300);
    const lists = await Promise.all(Array.from({ length: 10 }, () => api.findAll(url)));
    expect(calls.filter((c) => c.endsWith('find_all'))).toHaveLength(1);
    expect(lists.every((l) => l.length === 0)).toBe(true);

    await api.push(url, push);
    expect(await api.findAll(url)).toHaveLength(1);
    expect(calls.filter((c) => c.endsWith('find_all'))).toHaveLength(2);

    await api.findAll(url);
    expect(calls.filter((c) => c.endsWith('find_all'))).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 350));
    await api.findAll(url);
    expect(calls.filter((c) => c.endsWith('find_all'))).toHaveLength(3);
  });
});
