import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestErrorCode } from '../../src/contracts/rest-error.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

/** A route that ends something never reads a body without a filter it knows as "everything". */
describe('REST terminate: no known filter, no ending', () => {
  let media: RunningMedia;
  let publisher: NodePeer;

  beforeAll(async () => {
    media = await startMedia();
    publisher = await NodePeer.publish(media.wsUrl, 'stays live');
    await publisher.waitStatus('PUBLISHING');
  });
  afterAll(async () => {
    await publisher?.stop();
    await media?.stop();
  });

  const live = async (): Promise<number> => {
    const r = await rest(media.restUrl, '/rest-api/stream/find_all');
    return r.status === 200 ? (r.body as unknown[]).length : 0;
  };

  it('refuses a body that names no filter it knows with 400, saying how to end everything, and ends nothing', async () => {
    const bodies: [string, unknown][] = [
      ['/rest-api/stream/terminate', { a: 1 }],
      ['/rest-api/stream/terminate', { nmae: 'stays live' }],
      ['/rest-api/stream/terminate', {}],
      ['/rest-api/stream/terminate', undefined],
      ['/rest-api/stream/terminate', { mediaSessionIds: [] }],
      ['/rest-api/connection/terminate', { a: 1 }],
      ['/rest-api/pull/terminate', { a: 1 }],
    ];
    for (const [path, body] of bodies) {
      const r = await rest(media.restUrl, path, body);
      expect({ path, body, status: r.status }).toEqual({ path, body, status: 400 });
      if (path === '/rest-api/stream/terminate') {
        expect(r.body).toMatchObject({ statusCode: 400, code: RestErrorCode.NO_FILTER });
        expect((r.body as { message: string }).message).toContain('{"all": true}');
      }
    }
    // the publisher never heard of any of it
    expect(await live()).toBe(1);
    expect(publisher.lastStatus()).toBe('PUBLISHING');
  });

  it('refuses "all" mixed with a filter, and ends every stream on {"all": true}', async () => {
    const mixed = await rest(media.restUrl, '/rest-api/stream/terminate', { all: true, name: 'x' });
    expect(mixed).toMatchObject({ status: 400, body: { code: RestErrorCode.NO_FILTER } });
    expect((await rest(media.restUrl, '/rest-api/stream/terminate', { all: false })).status).toBe(400);
    expect(await live()).toBe(1);

    expect((await rest(media.restUrl, '/rest-api/stream/terminate', { all: true })).status).toBe(200);
    await publisher.waitStatus('UNPUBLISHED');
    await waitFor(async () => (await live()) === 0, 'no streams left');
  });
});
