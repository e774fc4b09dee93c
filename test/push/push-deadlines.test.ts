import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushDescription } from '../../src/contracts/pull-api.js';
import { FakeWcs, type Stall } from '../support/fake-wcs.js';
import type { MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import { NodePeer } from '../support/node-peer.js';
import { osResources, type OsResources } from '../support/os-resources.js';
import { listPushes } from '../support/pushes.js';
import {
  SLACK_MS,
  TEST_DEADLINES,
  spawnWithTestDeadlines,
  expectNothingLeft,
  expectPushFailed,
  timedRest,
  type TimedAnswer,
} from '../support/push-checks.js';

const deadlines = TEST_DEADLINES;

describe('every remote step of a push has a deadline, a true reason and a stable code', () => {
  let s1: MediaProcess;
  let publisher: NodePeer;
  let videoOnly: NodePeer;
  const fakes: FakeWcs[] = [];
  let baseline: OsResources;
  const restPort = (): number => Number(new URL(s1.restUrl).port);

  beforeAll(async () => {
    s1 = await spawnWithTestDeadlines();
    publisher = await NodePeer.publish(s1.wsUrl, 'src');
    await publisher.waitStatus('PUBLISHING');
    videoOnly = await NodePeer.publish(s1.wsUrl, 'vonly', { videoBitrate: 200_000 });
    await videoOnly.waitStatus('PUBLISHING');
    baseline = osResources(s1.child.pid!, [restPort()]);
  });

  afterAll(async () => {
    await publisher?.stop();
    await videoOnly?.stop();
    await Promise.all(fakes.map((f) => f.close()));
    await s1?.kill();
  });

  const fake = async (stall: Stall): Promise<FakeWcs> => {
    const f = await FakeWcs.start(stall);
    fakes.push(f);
    return f;
  };

  /** Pushes `src` to the fake; returns the answer and how long it took. */
  const push = (
    uri: string,
    remoteStreamName = 'x',
    extra: Record<string, unknown> = {},
  ): Promise<TimedAnswer> =>
    timedRest(s1.restUrl, '/rest-api/pull/push', { uri, localStreamName: 'src', remoteStreamName, ...extra });

  const expectFailed = async (
    r: TimedAnswer,
    code: string,
    info: RegExp,
    withinMs: number,
  ): Promise<void> => {
    await expectPushFailed(s1.restUrl, r, code, info, withinMs);
  };

  it('a remote that accepts TCP but never upgrades: PUSH_ERR_CONNECT_TIMEOUT', async () => {
    const f = await fake('upgrade');
    await expectFailed(
      await push(f.url),
      'PUSH_ERR_CONNECT_TIMEOUT',
      /no WebSocket connection/,
      deadlines.connect,
    );
  });

  it('a remote that upgrades but never sends getUserData: PUSH_ERR_HANDSHAKE_TIMEOUT, not "closed by us"', async () => {
    const f = await fake('handshake');
    await expectFailed(
      await push(f.url),
      'PUSH_ERR_HANDSHAKE_TIMEOUT',
      /no getUserData/,
      deadlines.connect + deadlines.handshake,
    );
  });

  it('a remote that never answers publishStream: PUSH_ERR_ANSWER_TIMEOUT, and a second push does not wait behind the first', async () => {
    const f = await fake('answer');
    const [a, b] = await Promise.all([push(f.url, 'one'), push(f.url, 'two')]);
    const within = deadlines.connect + deadlines.handshake + deadlines.answer;
    await expectFailed(a, 'PUSH_ERR_ANSWER_TIMEOUT', /no answer SDP/, within);
    await expectFailed(b, 'PUSH_ERR_ANSWER_TIMEOUT', /no answer SDP/, within);
  });

  it('speaks what a WCS expects of a publisher: SDK fields, mediaProvider, hasAudio/hasVideo by kind, custom passed on', async () => {
    const f = await fake('answer');
    const custom = { token: 'hook-token-1', tenant: 'a' };
    await push(f.url, 'av', { custom });
    const r = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: f.url,
      localStreamName: 'vonly',
      remoteStreamName: 'v',
    });
    expect(r.status).toBe(500);
    const [connection] = f.received('connection');
    expect(connection).toMatchObject({ appKey: 'defaultApp', mediaProviders: ['WebRTC'], custom });
    const [av, v] = f.received('publishStream');
    for (const field of [
      'mediaSessionId',
      'name',
      'published',
      'sdp',
      'status',
      'record',
      'bitrate',
      'constraints',
    ])
      expect(av).toHaveProperty(field);
    expect(av).toMatchObject({
      name: 'av',
      published: true,
      mediaProvider: 'WebRTC',
      hasAudio: true,
      hasVideo: true,
      custom,
    });
    expect(v).toMatchObject({ name: 'v', mediaProvider: 'WebRTC', hasAudio: false, hasVideo: true });
    expect(v).not.toHaveProperty('custom');
    // the token is the caller's business: not in the push's listing
    expect(JSON.stringify(await listPushes(s1.restUrl))).not.toContain('hook-token-1');
  });

  it('a pull has the same deadlines: a remote that never answers playStream, PUSH_ERR_ANSWER_TIMEOUT, nothing published here', async () => {
    const f = await fake('answer');
    const r = await timedRest(s1.restUrl, '/rest-api/pull/pull', {
      uri: f.url,
      localStreamName: 'pulled-here',
      remoteStreamName: 'there',
    });
    await expectFailed(
      r,
      'PUSH_ERR_ANSWER_TIMEOUT',
      /no answer SDP .* to playStream/,
      deadlines.connect + deadlines.handshake + deadlines.answer,
    );
    expect(f.received('playStream')[0]).toMatchObject({
      name: 'there',
      published: false,
      mediaProvider: 'WebRTC',
      hasAudio: true,
      hasVideo: true,
    });
    expect((await rest(s1.restUrl, '/rest-api/stream/find', { name: 'pulled-here' })).status).toBe(404);
  });

  it('an answer whose ICE candidate never replies: PUSH_ERR_ICE_TIMEOUT even though the remote says PUBLISHING', async () => {
    const f = await fake('ice');
    await expectFailed(
      await push(f.url),
      'PUSH_ERR_ICE_TIMEOUT',
      /ICE\/DTLS .* did not connect/,
      deadlines.connect + deadlines.handshake + deadlines.answer + deadlines.ice,
    );
  });

  it('a remote that reports PUBLISHING but acknowledges no media: never looks healthy, then PUSH_ERR_NO_MEDIA', async () => {
    const f = await fake('media');
    const r = await push(f.url);
    expect(r.status).toBe(200);
    const started = r.body as PushDescription;
    expect(started).toMatchObject({ status: 'PUBLISHING', delivery: { status: 'waiting', packets: 0 } });
    const failed = await waitFor(
      async () =>
        (await listPushes(s1.restUrl)).find(
          (p) => p.localMediaSessionId === started.localMediaSessionId && p.status === 'FAILED',
        ),
      'push FAILED for lack of delivery',
      deadlines.media + SLACK_MS,
    );
    expect(failed).toMatchObject({
      code: 'PUSH_ERR_NO_MEDIA',
      info: expect.stringMatching(/no media delivered .* receiver reports acknowledge none/),
      delivery: { status: 'waiting', packets: 0 },
    });
    // we did send: the remote just never said it got anything
    expect(failed.packets).toBeGreaterThan(0);
  });

  it('a remote whose receiver reports stop: the push is shown stalled, in find_all and in metrics', async () => {
    const f = await fake('stall-later');
    const r = await push(f.url, 'later');
    expect(r.status).toBe(200);
    const id = (r.body as PushDescription).localMediaSessionId;
    const mine = async (): Promise<PushDescription | undefined> =>
      (await listPushes(s1.restUrl)).find((p) => p.localMediaSessionId === id);
    await waitFor(async () => (await mine())?.delivery.status === 'delivering', 'delivering');
    const stalled = await waitFor(
      async () => {
        const p = await mine();
        return p?.delivery.status === 'stalled' ? p : undefined;
      },
      'delivery stalled',
      deadlines.media + 2000 + SLACK_MS,
    );
    expect(stalled).toMatchObject({ status: 'PUBLISHING' });
    expect(stalled.delivery.packets).toBeGreaterThan(0);
    expect(stalled.packets).toBeGreaterThan(stalled.delivery.packets);
    expect(await metric(s1.restUrl, 'streamfed_push_delivery', { status: 'stalled' })).toBe(1);
    expect((await rest(s1.restUrl, '/rest-api/pull/terminate', { localMediaSessionId: id })).status).toBe(
      200,
    );
  });

  it('leaves nothing behind: every failed push terminated, fds and transports back to the baseline', async () => {
    await Promise.all(fakes.splice(0).map((f) => f.close()));
    // only the two publishers' transports
    await expectNothingLeft(s1, baseline, 2);
  });
});
