import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushFailureCode, type PushDescription } from '../../src/contracts/pull-api.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

describe('a stream pulled from a streamfed fleet is not pushed back to it under its name', () => {
  let a: RunningMedia;
  let b: RunningMedia;
  let publisher: NodePeer;
  beforeAll(async () => {
    [a, b] = await Promise.all([
      startMedia({ fleet: { fleetId: 'fleet-a' } }),
      startMedia({ fleet: { fleetId: 'fleet-b' } }),
    ]);
    publisher = await NodePeer.publish(a.wsUrl, 'cam');
    await publisher.waitStatus('PUBLISHING');
  }, 30_000);
  afterAll(async () => {
    await publisher?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('refuses the way back with 409 PUSH_ERR_LOOP, publishes nothing and lists nothing', async () => {
    const pulled = await rest(b.restUrl, '/rest-api/pull/pull', { uri: a.wsUrl, localStreamName: 'cam' });
    expect(pulled.status).toBe(200);
    const back = await rest(b.restUrl, '/rest-api/pull/push', { uri: a.wsUrl, localStreamName: 'cam' });
    expect(back.status).toBe(409);
    expect(back.body).toMatchObject({
      statusCode: 409,
      code: PushFailureCode.LOOP,
      message: expect.stringMatching(/loop/),
    });
    const listed = (await rest(b.restUrl, '/rest-api/pull/find_all')).body as PushDescription[];
    expect(listed.map((p) => p.type)).toEqual(['pull']);
    // A still has its one publisher, undisturbed
    const onA = (await rest(a.restUrl, '/rest-api/stream/find_all')).body as {
      name: string;
      published: boolean;
    }[];
    expect(onA.filter((s) => s.name === 'cam' && s.published)).toHaveLength(1);
    expect(publisher.lastStatus()).toBe('PUBLISHING');
    // a name fleet-a does not have is no loop: that push goes ahead
    const renamed = await rest(b.restUrl, '/rest-api/pull/push', {
      uri: a.wsUrl,
      localStreamName: 'cam',
      remoteStreamName: 'cam-copy',
    });
    expect(renamed.status).toBe(200);
    await waitFor(async () => {
      const all = (await rest(a.restUrl, '/rest-api/stream/find_all')).body as { name: string }[];
      return all.some((s) => s.name === 'cam-copy');
    }, 'cam-copy published on a');
    expect((await rest(b.restUrl, '/rest-api/pull/terminate', { localStreamName: 'cam' })).status).toBe(200);
  });
});
