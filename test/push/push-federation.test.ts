import type { Browser } from 'playwright-core';
import type { PushDescription } from '../../src/contracts/pull-api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import { listPushes } from '../support/pushes.js';
import { expectFailedOnTargetDeath } from '../support/push-checks.js';
import { selfSignedCert } from '../support/tls.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';

type PushView = PushDescription;

const transports = (url: string): Promise<number> =>
  metric(url, 'streamfed_mediasoup_objects', { type: 'transport' });

describe('server-to-server push over WebRTC between server processes', () => {
  const tls = selfSignedCert();
  let s1: MediaProcess;
  let s2: MediaProcess;
  let s3: MediaProcess;
  let browser: Browser;
  let publisher: TwoWayStreamingPage;

  beforeAll(async () => {
    // s1 trusts the test CA through Node's standard NODE_EXTRA_CA_CERTS: certificate checks stay on. Its
    // pushes go over WebRTC (--push-pipe off); s2's, to another streamfed server, over a pipe (pipe-push.test.ts);
    // s3's pulls over WebRTC (--push-pipe off; over a pipe: pipe-pull.test.ts).
    [s1, s2, s3] = await Promise.all([
      spawnMedia(['--push-pipe', 'off'], { NODE_EXTRA_CA_CERTS: tls.certFile }),
      spawnMedia(['--tls-cert', tls.certFile, '--tls-key', tls.keyFile]),
      spawnMedia(['--push-pipe', 'off']),
    ]);
    browser = await launchBrowser();
    publisher = await TwoWayStreamingPage.open(browser, s1.restUrl, s1.wsUrl);
    await publisher.publish('cam');
    await publisher.waitPublishStatus('PUBLISHING');
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([s1?.kill(), s2?.kill(), s3?.kill()]);
  });

  it('pushes a browser stream from server 1 to server 2, where the Player page plays it', async () => {
    expect((await rest(s1.restUrl, '/rest-api/pull/find_all')).status).toBe(404);
    const started = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: s2.wsUrl,
      localStreamName: 'cam',
      remoteStreamName: 'cam-fed',
    });
    expect(started.status).toBe(200);
    const push = started.body as PushView;
    expect(push).toMatchObject({
      uri: s2.wsUrl,
      localStreamName: 'cam',
      remoteStreamName: 'cam-fed',
      transport: 'webrtc',
    });
    expect(push.localMediaSessionId).toMatch(/[0-9a-f-]{36}/);
    expect(push.remoteMediaSessionId).toMatch(/[0-9a-f-]{36}/);

    await waitFor(async () => (await listPushes(s1.restUrl))[0]?.status === 'PUBLISHING', 'push PUBLISHING');
    const onS2 = await rest(s2.restUrl, '/rest-api/stream/find', { name: 'cam-fed' });
    expect(onS2.body).toEqual([
      expect.objectContaining({
        published: true,
        status: 'PUBLISHING',
        mediaSessionId: push.remoteMediaSessionId,
      }),
    ]);

    const duplicate = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: s2.wsUrl,
      localStreamName: 'cam',
      remoteStreamName: 'cam-fed',
    });
    expect(duplicate.status).toBe(409);

    const player = await PlayerPage.open(browser, s2.restUrl, s2.wsUrl, 'cam-fed');
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'on server 2');

    // what the remote acknowledges in its receiver reports, not only what we sent
    const delivered = await waitFor(async () => {
      const [p] = await listPushes(s1.restUrl);
      return p && p.delivery.status === 'delivering' && p.delivery.packets > 0 ? p : undefined;
    }, 'remote receiver reports acknowledging the push');
    expect(delivered.delivery.packets).toBeLessThanOrEqual(delivered.packets);
    expect(delivered.delivery.lastDeliveredAt).toBeGreaterThan(push.createDate);
    expect(await metric(s1.restUrl, 'streamfed_push_delivered_packets_total')).toBeGreaterThan(0);
    expect(await metric(s1.restUrl, 'streamfed_push_delivery', { status: 'delivering' })).toBe(1);
    const all = await listPushes(s1.restUrl);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ status: 'PUBLISHING', localMediaSessionId: push.localMediaSessionId });
    expect(await metric(s1.restUrl, 'streamfed_pushes', { status: 'PUBLISHING' })).toBe(1);
    expect(await metric(s1.restUrl, 'streamfed_push_setup_seconds_count')).toBe(1);

    const terminated = await rest(s1.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: push.localMediaSessionId,
    });
    expect(terminated.status).toBe(200);
    await player.waitStatus('STOPPED');
    expect((await rest(s1.restUrl, '/rest-api/pull/find_all')).status).toBe(404);
    expect((await rest(s2.restUrl, '/rest-api/stream/find', { name: 'cam-fed' })).status).toBe(404);
    // only the browser publisher's transport is left on server 1
    await waitFor(async () => (await transports(s1.restUrl)) === 1, 'push transports released');
  });

  it('one target however its uri is spelled (trailing /, /websocket); a #fragment is a 400 that leaves nothing', async () => {
    const first = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: `${s2.wsUrl}/`,
      localStreamName: 'cam',
      remoteStreamName: 'spelled',
    });
    expect(first.status).toBe(200);
    for (const uri of [s2.wsUrl, `${s2.wsUrl}/websocket`, `${s2.wsUrl}/websocket/`]) {
      const again = await rest(s1.restUrl, '/rest-api/pull/push', {
        uri,
        localStreamName: 'cam',
        remoteStreamName: 'spelled',
      });
      expect({ uri, status: again.status }).toEqual({ uri, status: 409 });
    }
    const fragment = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: `${s2.wsUrl}/#x`,
      localStreamName: 'cam',
      remoteStreamName: 'frag',
    });
    expect(fragment.status).toBe(400);
    expect((fragment.body as { message: string }).message).toMatch(/fragment/);
    expect(await listPushes(s1.restUrl)).toHaveLength(1);
    const terminated = await rest(s1.restUrl, '/rest-api/pull/terminate', {
      uri: `${s2.wsUrl}/websocket`,
      localStreamName: 'cam',
      remoteStreamName: 'spelled',
    });
    expect(terminated.status).toBe(200);
    expect((await rest(s1.restUrl, '/rest-api/pull/find_all')).status).toBe(404);
    await waitFor(async () => (await transports(s1.restUrl)) === 1, 'push transports released');
  });

  it('pushes over wss:// with the certificate verified, and refuses an untrusted one', async () => {
    const ok = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: s2.wssUrl,
      localStreamName: 'cam',
      remoteStreamName: 'cam-tls',
    });
    expect(ok.status).toBe(200);
    await waitFor(
      async () =>
        (await listPushes(s1.restUrl)).some(
          (p) => p.remoteStreamName === 'cam-tls' && p.status === 'PUBLISHING',
        ),
      'wss push PUBLISHING',
    );
    expect(
      (await rest(s1.restUrl, '/rest-api/pull/terminate', { uri: s2.wssUrl, localStreamName: 'cam' })).status,
    ).toBe(200);

    // s3 does not trust the test CA: its push to s2's wss:// is refused on the certificate (a push of s2 to
    // itself would be refused earlier, as a loop)
    const s3Publisher = await TwoWayStreamingPage.open(browser, s3.restUrl, s3.wsUrl);
    await s3Publisher.publish('local3');
    await s3Publisher.waitPublishStatus('PUBLISHING');
    const refused = await rest(s3.restUrl, '/rest-api/pull/push', {
      uri: s2.wssUrl,
      localStreamName: 'local3',
      remoteStreamName: 'x',
    });
    expect(refused.status).toBe(500);
    expect((refused.body as { message: string }).message).toMatch(/certificate/i);
    await s3Publisher.stopPublishing();
    await waitFor(async () => (await transports(s3.restUrl)) === 0, 'server 3 transports released');
    await rest(s3.restUrl, '/rest-api/pull/terminate', { uri: s2.wssUrl, localStreamName: 'local3' });
  });

  it('chains 1 → 2 → 3 and plays on server 3', async () => {
    expect(
      (
        await rest(s1.restUrl, '/rest-api/pull/push', {
          uri: s2.wsUrl,
          localStreamName: 'cam',
          remoteStreamName: 'hop',
        })
      ).status,
    ).toBe(200);
    await waitFor(
      async () => (await rest(s2.restUrl, '/rest-api/stream/find', { name: 'hop' })).status === 200,
      'hop on s2',
    );
    expect(
      (await rest(s2.restUrl, '/rest-api/pull/push', { uri: s3.wsUrl, localStreamName: 'hop' })).status,
    ).toBe(200);
    const player = await PlayerPage.open(browser, s3.restUrl, s3.wsUrl, 'hop');
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'on server 3');
    // ending the first hop ends the second: s2's local stream goes away, so its push to s3 ends
    expect(
      (
        await rest(s1.restUrl, '/rest-api/pull/terminate', {
          uri: s2.wsUrl,
          localStreamName: 'cam',
          remoteStreamName: 'hop',
        })
      ).status,
    ).toBe(200);
    await player.waitStatus('STOPPED');
    await waitFor(
      async () => (await rest(s2.restUrl, '/rest-api/pull/find_all')).status === 404,
      'second hop ended',
    );
  });

  it('pulls a stream from server 1 into server 3 (/pull/pull), where the Player page plays it', async () => {
    const r = await rest(s3.restUrl, '/rest-api/pull/pull', {
      uri: s1.wsUrl,
      localStreamName: 'pulled',
      remoteStreamName: 'cam',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      type: 'pull',
      localStreamName: 'pulled',
      remoteStreamName: 'cam',
      uri: s1.wsUrl,
      transport: 'webrtc',
    });
    await waitFor(async () => (await listPushes(s3.restUrl))[0]?.status === 'PUBLISHING', 'pull PUBLISHING');
    expect(
      (
        await rest(s3.restUrl, '/rest-api/pull/pull', {
          uri: s1.wsUrl,
          localStreamName: 'pulled',
          remoteStreamName: 'cam',
        })
      ).status,
    ).toBe(409);
    // on server 1 the pull is an ordinary player of "cam"
    const played = await rest(s1.restUrl, '/rest-api/stream/find', { name: 'cam', published: false });
    expect(played.body).toEqual([expect.objectContaining({ status: 'PLAYING' })]);

    const player = await PlayerPage.open(browser, s3.restUrl, s3.wsUrl, 'pulled');
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'from the pulled stream');
    const [pulled] = await listPushes(s3.restUrl);
    expect(pulled).toMatchObject({ status: 'PUBLISHING', delivery: { status: 'delivering' } });
    expect(pulled!.delivery.packets).toBeGreaterThan(0);

    const id = (r.body as PushView).localMediaSessionId;
    expect((await rest(s3.restUrl, '/rest-api/pull/terminate', { localMediaSessionId: id })).status).toBe(
      200,
    );
    await player.waitStatus('STOPPED');
    await waitFor(
      async () =>
        (await rest(s1.restUrl, '/rest-api/stream/find', { name: 'cam', published: false })).status === 404,
      'player on s1 gone',
    );
    await waitFor(async () => (await transports(s3.restUrl)) === 0, 'server 3 transports released');
  });

  it('refuses bad requests with clear errors and changes nothing', async () => {
    const cases: [unknown, number, RegExp][] = [
      ['{not json', 400, /malformed JSON/],
      [{ uri: s2.wsUrl }, 400, /localStreamName/],
      [{ uri: 42, localStreamName: 'cam' }, 400, /uri/],
      // unknown fields are ignored (WCS callers send more); wrong types of known ones are refused
      [{ uri: s2.wsUrl, localStreamName: 42, extra: true }, 400, /localStreamName must be string/],
      [{ uri: 'ftp://127.0.0.1:1/', localStreamName: 'cam' }, 400, /ws:\/\/ or wss:\/\//],
      [{ uri: 'ws://10.20.30.40:8080', localStreamName: 'cam' }, 403, /allow-list/],
      [{ uri: s2.wsUrl, localStreamName: 'no-such-stream' }, 404, /not found/],
      [{ uri: 'x'.repeat(70 * 1024), localStreamName: 'cam' }, 413, /./],
    ];
    for (const [body, status, message] of cases) {
      const r = await rest(s1.restUrl, '/rest-api/pull/push', body);
      expect({ body, status: r.status }).toEqual({ body, status });
      expect((r.body as { message: string }).message).toMatch(message);
    }
    expect((await rest(s1.restUrl, '/rest-api/pull/terminate', { localMediaSessionId: 'nope' })).status).toBe(
      404,
    );
    expect((await rest(s1.restUrl, '/rest-api/pull/find_all')).status).toBe(404);
    expect(await transports(s1.restUrl)).toBe(1);
  });

  it('reports an unreachable remote as FAILED with the reason, without leaking', async () => {
    const r = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: 'ws://127.0.0.1:9',
      localStreamName: 'cam',
    });
    expect(r.status).toBe(500);
    expect(r.body).toMatchObject({
      code: 'PUSH_ERR_UNREACHABLE',
      message: expect.stringMatching(/cannot connect/),
    });
    const [failed] = await listPushes(s1.restUrl);
    expect(failed).toMatchObject({
      status: 'FAILED',
      code: 'PUSH_ERR_UNREACHABLE',
      info: expect.stringMatching(/cannot connect/),
    });
    expect(await transports(s1.restUrl)).toBe(1);
    expect(
      await metric(s1.restUrl, 'streamfed_push_failures_total', { reason: 'PUSH_ERR_UNREACHABLE' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      (
        await rest(s1.restUrl, '/rest-api/pull/terminate', {
          localMediaSessionId: failed!.localMediaSessionId,
        })
      ).status,
    ).toBe(200);
  });

  it('goes FAILED within 5 s when the remote server dies mid-push, and frees its transports', async () => {
    const s4 = await spawnMedia();
    try {
      expect(
        (await rest(s1.restUrl, '/rest-api/pull/push', { uri: s4.wsUrl, localStreamName: 'cam' })).status,
      ).toBe(200);
      await waitFor(
        async () => (await listPushes(s1.restUrl))[0]?.status === 'PUBLISHING',
        'push PUBLISHING',
      );
      await expectFailedOnTargetDeath(s1.restUrl, s4);
      expect(await transports(s1.restUrl)).toBe(1);
      expect(
        (await rest(s1.restUrl, '/rest-api/pull/terminate', { uri: s4.wsUrl, localStreamName: 'cam' }))
          .status,
      ).toBe(200);
    } finally {
      await s4.kill();
    }
  });
});
