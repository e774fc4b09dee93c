import { describe, expect, it } from 'vitest';
import type { PushDescription, PushFailureBody } from '../../src/contracts/pull-api.js';
import { PIPE_VERSION } from '../../src/contracts/wcs-protocol.js';
import { framesKeepDecoding } from '../support/browser.js';
import { spawnMedia } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import {
  startPipeBlockingProxy,
  startUdpSink,
  startWcsProxyHiding,
  type UdpSink,
  type WcsProxy,
} from '../support/pipe-blocker.js';
import { listPushes } from '../support/pushes.js';
import { HooksBackend } from '../support/hooks-backend.js';
import { expectFailedOnTargetDeath } from '../support/push-checks.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';
import { objects, pipesFreed, twoFleets } from '../support/two-fleets.js';
import { WhipPeer } from '../support/whip-peer.js';

/** The pipe's deadline on server 1 (its ICE deadline): a blocked pipe falls back after it. */
const PIPE_MS = 3000;

/** POSTs a push from `restUrl` and waits for it (the only one listed there) to be PUBLISHING. */
async function pushed(restUrl: string, body: Record<string, unknown>): Promise<PushDescription> {
  const r = await rest(restUrl, '/rest-api/pull/push', body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return publishing(restUrl);
}

/** The stream `name` on `restUrl`'s server: one PUBLISHING publisher, the push's remote session. */
async function expectListed(restUrl: string, name: string, push: PushDescription): Promise<void> {
  const found = await rest(restUrl, '/rest-api/stream/find', { name });
  expect(found.body).toEqual([
    expect.objectContaining({
      published: true,
      status: 'PUBLISHING',
      mediaSessionId: push.remoteMediaSessionId,
    }),
  ]);
}

/** The one push of server 1 once PUBLISHING. */
async function publishing(restUrl: string): Promise<PushDescription> {
  return waitFor(async () => {
    const [p] = await listPushes(restUrl);
    return p?.status === 'PUBLISHING' ? p : undefined;
  }, 'push PUBLISHING');
}

describe('a push between two streamfed servers of different fleets goes over a mediasoup PipeTransport pair', () => {
  // two servers alone: each announces its own member id as its fleet id; the SDK publishes "cam" on s1
  const f = twoFleets({ s1: ['--push-ice-timeout-ms', String(PIPE_MS)] }, 's1');

  it('negotiates a pipe: find_all and metrics say pipe, the Player on server 2 decodes, terminate frees both halves', async () => {
    const push = await pushed(f.s1.restUrl, {
      uri: f.s2.wsUrl,
      localStreamName: 'cam',
      remoteStreamName: 'cam-piped',
    });
    expect(push).toMatchObject({ transport: 'pipe', protocol: 'wcs', type: 'push' });
    expect(push.fallback).toBeUndefined();
    expect(await metric(f.s1.restUrl, 'streamfed_push_transport', { transport: 'pipe' })).toBe(1);
    expect(await metric(f.s1.restUrl, 'streamfed_push_transport', { transport: 'webrtc' })).toBe(0);
    // no werift leg: the browser publisher's WebRTC transport is the only one on server 1, plus our pipe
    expect(await objects(f.s1.restUrl, 'transport')).toBe(1);
    expect(await objects(f.s1.restUrl, 'pipe_transport')).toBe(1);

    // on server 2 an ordinary publisher, listed under the push's remote session id
    await expectListed(f.s2.restUrl, 'cam-piped', push);
    const player = await PlayerPage.open(f.browser, f.s2.restUrl, f.s2.wsUrl, 'cam-piped');
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'on server 2 over the pipe');

    // delivery as server 2's pipe producers count it, next to what our pipe consumers sent
    const delivered = await waitFor(async () => {
      const [p] = await listPushes(f.s1.restUrl);
      return p && p.delivery.status === 'delivering' && p.delivery.packets > 0 && p.packets > 0
        ? p
        : undefined;
    }, 'server 2 reporting pipe delivery');
    expect(delivered.bytes).toBeGreaterThan(0);
    expect(await metric(f.s1.restUrl, 'streamfed_push_delivery', { status: 'delivering' })).toBe(1);

    const terminated = await rest(f.s1.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: push.localMediaSessionId,
    });
    expect(terminated.status).toBe(200);
    await player.waitStatus('STOPPED');
    expect((await rest(f.s2.restUrl, '/rest-api/stream/find', { name: 'cam-piped' })).status).toBe(404);
    await pipesFreed(f.s1, f.s2);
    expect(await metric(f.s1.restUrl, 'streamfed_push_transport', { transport: 'pipe' })).toBe(0);
  });

  it('a stream pushed over a pipe plays over WHEP on server 2', async () => {
    const push = await pushed(f.s1.restUrl, {
      uri: f.s2.wsUrl,
      localStreamName: 'cam',
      remoteStreamName: 'cam-whep',
    });
    expect(push.transport).toBe('pipe');
    const kinds = new Map<string, number>();
    const viewer = await WhipPeer.play(`${f.s2.restUrl}/whep/cam-whep`, {}, (_packet, kind) =>
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1),
    );
    f.closers.push(() => viewer.close());
    expect(viewer.answer.status).toBe(201);
    await waitFor(
      () => (kinds.get('video') ?? 0) > 50 && (kinds.get('audio') ?? 0) > 50,
      'WHEP viewer receiving video and audio',
    );
    // the WHEP viewer is a player of the piped stream on server 2
    const played = await rest(f.s2.restUrl, '/rest-api/stream/find', { name: 'cam-whep', published: false });
    expect(played.body).toEqual([expect.objectContaining({ status: 'PLAYING', mediaProvider: 'WHEP' })]);
    expect(await viewer.delete()).toBe(200);
  });

  it('falls back to WebRTC by itself when the pipe UDP is dropped, says why, and plays', async () => {
    const sink: UdpSink = await startUdpSink();
    f.closers.push(() => sink.close());
    const proxy: WcsProxy = await startPipeBlockingProxy(f.s2.wsUrl, sink);
    f.closers.push(() => proxy.close());
    const before = await metric(f.s1.restUrl, 'streamfed_push_pipe_fallbacks_total', {
      reason: 'PIPE_NO_MEDIA',
    });
    const push = await pushed(f.s1.restUrl, {
      uri: proxy.url,
      localStreamName: 'cam',
      remoteStreamName: 'cam-fallback',
    });
    expect(push).toMatchObject({
      transport: 'webrtc',
      fallback: { code: 'PIPE_NO_MEDIA', info: expect.stringMatching(/no media over the pipe/) },
    });
    expect(sink.dropped).toBeGreaterThan(0);
    expect(
      await metric(f.s1.restUrl, 'streamfed_push_pipe_fallbacks_total', { reason: 'PIPE_NO_MEDIA' }),
    ).toBe(before + 1);
    expect(await metric(f.s1.restUrl, 'streamfed_push_transport', { transport: 'webrtc' })).toBe(1);
    // the pipe's half is gone on both ends; server 2 has only the WebRTC publisher, under the new id
    expect(await objects(f.s1.restUrl, 'pipe_transport')).toBe(0);
    await pipesFreed(f.s2);
    await expectListed(f.s2.restUrl, 'cam-fallback', push);
    const player = await PlayerPage.open(f.browser, f.s2.restUrl, f.s2.wsUrl, 'cam-fallback');
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'on server 2 after the fallback');
  });

  it('a foreign-looking target (no streamfedFleetId in getUserData) gets WebRTC, without a pipe offer', async () => {
    let announced: Record<string, unknown> = {};
    const foreign = await startWcsProxyHiding(
      f.s2.wsUrl,
      ['streamfedFleetId', 'streamfedPipe'],
      (userData) => (announced = userData),
    );
    f.closers.push(() => foreign.close());
    const push = await pushed(f.s1.restUrl, {
      uri: foreign.url,
      localStreamName: 'cam',
      remoteStreamName: 'cam-foreign',
    });
    expect(push.transport).toBe('webrtc');
    expect(push.fallback).toBeUndefined();
    // server 2 did announce both; the proxy hid them
    expect(announced).toMatchObject({ streamfedPipe: PIPE_VERSION, streamfedFleetId: expect.any(String) });
    expect(await objects(f.s1.restUrl, 'pipe_transport')).toBe(0);
    expect(await objects(f.s2.restUrl, 'pipe_transport')).toBe(0);
  });

  it("a pipe push passes the target's publishStream hook: refused there, it fails PUSH_ERR_REMOTE_REJECTED and leaves no pipe", async () => {
    const hooks = await HooksBackend.start((call) =>
      call.hook === 'publishStream' && call.body['name'] === 'refused'
        ? { refuse: 'not this one' }
        : undefined,
    );
    f.closers.push(() => hooks.close());
    const s5 = await spawnMedia(['--hooks-url', hooks.url]);
    f.closers.push(() => s5.kill());
    const refused = await rest(f.s1.restUrl, '/rest-api/pull/push', {
      uri: s5.wsUrl,
      localStreamName: 'cam',
      remoteStreamName: 'refused',
    });
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({
      code: 'PUSH_ERR_REMOTE_REJECTED',
      message: expect.stringMatching(/not this one/),
      push: { transport: 'pipe' },
    });
    // the hook saw a publishStream with the push's chain, as over WebRTC
    const call = await hooks.heard('publishStream', { name: 'refused' });
    expect(call.body['streamfedChain']).toEqual([expect.objectContaining({ name: 'cam' })]);
    // the pipe's tuple (its SRTP key) is not the backend's to see
    expect(call.body).not.toHaveProperty('streamfedPipe');
    expect(await objects(f.s1.restUrl, 'pipe_transport')).toBe(0);
    expect(await objects(s5.restUrl, 'pipe_transport')).toBe(0);
    const { push } = refused.body as PushFailureBody;
    expect(
      (
        await rest(f.s1.restUrl, '/rest-api/pull/terminate', {
          localMediaSessionId: push.localMediaSessionId,
        })
      ).status,
    ).toBe(200);
    const allowed = await pushed(f.s1.restUrl, {
      uri: s5.wsUrl,
      localStreamName: 'cam',
      remoteStreamName: 'allowed',
    });
    expect(allowed.transport).toBe('pipe');
  });

  it('unpublishing the local stream ends the piped stream on server 2', async () => {
    const s3 = await spawnMedia();
    f.closers.push(() => s3.kill());
    const page = await TwoWayStreamingPage.open(f.browser, f.s1.restUrl, f.s1.wsUrl);
    f.closers.push(() => page.page.close());
    await page.publish('cam2');
    await page.waitPublishStatus('PUBLISHING');
    expect((await pushed(f.s1.restUrl, { uri: s3.wsUrl, localStreamName: 'cam2' })).transport).toBe('pipe');
    const player = await PlayerPage.open(f.browser, s3.restUrl, s3.wsUrl, 'cam2');
    await player.waitStatus('PLAYING');
    await page.stopPublishing();
    await player.waitStatus('STOPPED');
    await waitFor(async () => (await listPushes(f.s1.restUrl)).length === 0, 'push ended with its stream');
    await pipesFreed(f.s1, s3);
  });

  it('goes FAILED with PUSH_ERR_REMOTE_DISCONNECTED within 5 s when the target dies, and frees its pipe', async () => {
    const s4 = await spawnMedia();
    f.closers.push(() => s4.kill());
    expect((await pushed(f.s1.restUrl, { uri: s4.wsUrl, localStreamName: 'cam' })).transport).toBe('pipe');
    expect((await expectFailedOnTargetDeath(f.s1.restUrl, s4)).transport).toBe('pipe');
    expect(await objects(f.s1.restUrl, 'pipe_transport')).toBe(0);
    // the operator's re-push once the target is back: the FAILED push is replaced, over a pipe again
    const back = await s4.restart();
    f.closers.push(() => back.kill());
    expect((await pushed(f.s1.restUrl, { uri: back.wsUrl, localStreamName: 'cam' })).transport).toBe('pipe');
    expect((await listPushes(f.s1.restUrl)).length).toBe(1);
  });
});
