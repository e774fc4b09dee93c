import { describe, expect, it } from 'vitest';
import type { PushDescription, PushFailureBody } from '../../src/contracts/pull-api.js';
import { PIPE_VERSION } from '../../src/contracts/wcs-protocol.js';
import { framesKeepDecoding } from '../support/browser.js';
import { HooksBackend } from '../support/hooks-backend.js';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import { NodePeer } from '../support/node-peer.js';
import {
  startPullBlockingProxy,
  startUdpSink,
  startWcsProxyAnnouncing,
  startWcsProxyHiding,
  type UdpSink,
  type WcsProxy,
} from '../support/pipe-blocker.js';
import { listPushes } from '../support/pushes.js';
import { PlayerPage } from '../support/websdk-page.js';
import { objects, pipesFreed, twoFleets } from '../support/two-fleets.js';

/** The pipe's deadline on server 2 (its ICE deadline): a blocked pipe falls back after it. */
const PIPE_MS = 3000;

/** POSTs a pull to `restUrl` and expects it answered PUBLISHING. */
async function pulled(restUrl: string, body: Record<string, unknown>): Promise<PushDescription> {
  const r = await rest(restUrl, '/rest-api/pull/pull', body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const pull = r.body as PushDescription;
  expect(pull).toMatchObject({ type: 'pull', status: 'PUBLISHING' });
  return pull;
}

/** The pull of `restUrl` whose local media session is `id`, once `done` says so. */
async function listedPull(
  restUrl: string,
  id: string,
  done: (p: PushDescription) => boolean,
  what: string,
  timeoutMs?: number,
): Promise<PushDescription> {
  return waitFor(
    async () => (await listPushes(restUrl)).find((p) => p.localMediaSessionId === id && done(p)),
    what,
    timeoutMs,
  );
}

/**
 * A NodePeer publishing `name` on `source`, and two pulls of it into `restUrl`: one over a pipe and one over
 * WebRTC (through a proxy hiding `streamfedPipe`); each thing made is handed to `keep` for the teardown.
 */
async function pulledBothWays(
  restUrl: string,
  source: MediaProcess,
  name: string,
  keep: (close: () => Promise<unknown>) => void,
): Promise<{ publisher: NodePeer; piped: PushDescription; webrtc: PushDescription }> {
  const publisher = await NodePeer.publish(source.wsUrl, name);
  keep(() => publisher.close());
  await publisher.waitStatus('PUBLISHING');
  const hiding = await startWcsProxyHiding(source.wsUrl, ['streamfedPipe']);
  keep(() => hiding.close());
  const piped = await pulled(restUrl, {
    uri: source.wsUrl,
    localStreamName: `${name}-pipe`,
    remoteStreamName: name,
  });
  const webrtc = await pulled(restUrl, {
    uri: hiding.url,
    localStreamName: `${name}-webrtc`,
    remoteStreamName: name,
  });
  expect([piped.transport, webrtc.transport]).toEqual(['pipe', 'webrtc']);
  return { publisher, piped, webrtc };
}

/** Both pulls FAILED (within `timeoutMs`), as find_all lists them. */
const bothFailed = (
  restUrl: string,
  pulls: PushDescription[],
  timeoutMs?: number,
): Promise<PushDescription[]> =>
  Promise.all(
    pulls.map((p) =>
      listedPull(
        restUrl,
        p.localMediaSessionId,
        (l) => l.status === 'FAILED',
        `${p.transport} pull FAILED`,
        timeoutMs,
      ),
    ),
  );

describe('a pull between two streamfed servers of different fleets goes over a mediasoup PipeTransport pair', () => {
  // two servers alone: each announces its own member id as its fleet id; the SDK publishes "cam" on s1
  const f = twoFleets({ s2: ['--push-ice-timeout-ms', String(PIPE_MS)] }, 's2');

  it('negotiates a pipe: find_all and metrics say pipe, the Player on the pulling server decodes, terminate frees both halves', async () => {
    const pull = await pulled(f.s2.restUrl, {
      uri: f.s1.wsUrl,
      localStreamName: 'cam-pulled',
      remoteStreamName: 'cam',
    });
    expect(pull).toMatchObject({ transport: 'pipe', protocol: 'wcs' });
    expect(pull.fallback).toBeUndefined();
    expect(await metric(f.s2.restUrl, 'streamfed_push_transport', { type: 'pull', transport: 'pipe' })).toBe(
      1,
    );
    expect(
      await metric(f.s2.restUrl, 'streamfed_push_transport', { type: 'pull', transport: 'webrtc' }),
    ).toBe(0);
    // no werift leg on server 2: no transport but the pipe; on server 1 the pipe beside the f.browser's
    expect(await objects(f.s2.restUrl, 'transport')).toBe(0);
    expect(await objects(f.s2.restUrl, 'pipe_transport')).toBe(1);
    expect(await objects(f.s1.restUrl, 'pipe_transport')).toBe(1);
    // on server 1 an ordinary player of "cam", under the pull's remote session id
    const played = await rest(f.s1.restUrl, '/rest-api/stream/find', { name: 'cam', published: false });
    expect(played.body).toEqual([
      expect.objectContaining({ status: 'PLAYING', mediaSessionId: pull.remoteMediaSessionId }),
    ]);
    // on server 2 an ordinary publisher, listed under the pull's local session id
    const found = await rest(f.s2.restUrl, '/rest-api/stream/find', { name: 'cam-pulled' });
    expect(found.body).toEqual([
      expect.objectContaining({
        published: true,
        status: 'PUBLISHING',
        mediaSessionId: pull.localMediaSessionId,
      }),
    ]);

    const player = await PlayerPage.open(f.browser, f.s2.restUrl, f.s2.wsUrl, 'cam-pulled');
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'on server 2, pulled over the pipe');

    // delivery as server 2's pipe producers count it
    const delivered = await listedPull(
      f.s2.restUrl,
      pull.localMediaSessionId,
      (p) => p.delivery.status === 'delivering' && p.delivery.packets > 0 && p.packets > 0,
      'pull delivering',
    );
    expect(delivered.bytes).toBeGreaterThan(0);
    expect(await metric(f.s2.restUrl, 'streamfed_push_delivery', { status: 'delivering' })).toBe(1);
    expect(await metric(f.s2.restUrl, 'streamfed_push_delivered_packets_total')).toBeGreaterThan(0);

    const terminated = await rest(f.s2.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: pull.localMediaSessionId,
    });
    expect(terminated.status).toBe(200);
    await player.waitStatus('STOPPED');
    await player.page.close();
    expect((await rest(f.s2.restUrl, '/rest-api/stream/find', { name: 'cam-pulled' })).status).toBe(404);
    await waitFor(
      async () =>
        (await rest(f.s1.restUrl, '/rest-api/stream/find', { name: 'cam', published: false })).status === 404,
      'the player on server 1 gone',
    );
    await pipesFreed(f.s2, f.s1);
    expect(await objects(f.s2.restUrl, 'producer')).toBe(0);
    expect(await metric(f.s2.restUrl, 'streamfed_push_transport', { type: 'pull', transport: 'pipe' })).toBe(
      0,
    );
  });

  it('falls back to WebRTC by itself when the pipe UDP is dropped, says why, and plays', async () => {
    const sink: UdpSink = await startUdpSink();
    f.closers.push(() => sink.close());
    const proxy: WcsProxy = await startPullBlockingProxy(f.s1.wsUrl, sink);
    f.closers.push(() => proxy.close());
    const fallbacks = { type: 'pull', reason: 'PIPE_NO_MEDIA' };
    const before = await metric(f.s2.restUrl, 'streamfed_push_pipe_fallbacks_total', fallbacks);
    const pull = await pulled(f.s2.restUrl, {
      uri: proxy.url,
      localStreamName: 'cam-fallback',
      remoteStreamName: 'cam',
    });
    expect(pull).toMatchObject({
      transport: 'webrtc',
      fallback: { code: 'PIPE_NO_MEDIA', info: expect.stringMatching(/no media over the pipe/) },
    });
    // server 1's pipe sent the stream into the sink
    expect(sink.dropped).toBeGreaterThan(0);
    expect(await metric(f.s2.restUrl, 'streamfed_push_pipe_fallbacks_total', fallbacks)).toBe(before + 1);
    expect(
      await metric(f.s2.restUrl, 'streamfed_push_transport', { type: 'pull', transport: 'webrtc' }),
    ).toBe(1);
    // the pipe's halves are gone on both ends; server 1 has one player of "cam", the WebRTC one
    expect(await objects(f.s2.restUrl, 'pipe_transport')).toBe(0);
    await pipesFreed(f.s1);
    const played = await rest(f.s1.restUrl, '/rest-api/stream/find', { name: 'cam', published: false });
    expect(played.body).toEqual([
      expect.objectContaining({ status: 'PLAYING', mediaSessionId: pull.remoteMediaSessionId }),
    ]);
    const player = await PlayerPage.open(f.browser, f.s2.restUrl, f.s2.wsUrl, 'cam-fallback');
    f.closers.push(() => player.page.close());
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'on server 2 after the fallback');
  });

  it('a source hiding streamfedPipe, or announcing version 1 (pushes only), is pulled over WebRTC without a pipe offer', async () => {
    let announced: Record<string, unknown> = {};
    const hiding = await startWcsProxyHiding(f.s1.wsUrl, ['streamfedPipe'], (u) => (announced = u));
    f.closers.push(() => hiding.close());
    const v1 = await startWcsProxyAnnouncing(f.s1.wsUrl, (u) => ({ ...u, streamfedPipe: 1 }));
    f.closers.push(() => v1.close());
    for (const [uri, name] of [
      [hiding.url, 'cam-hidden'],
      [v1.url, 'cam-v1'],
    ] as const) {
      const pull = await pulled(f.s2.restUrl, { uri, localStreamName: name, remoteStreamName: 'cam' });
      expect(pull.transport, name).toBe('webrtc');
      expect(pull.fallback, name).toBeUndefined();
    }
    // server 1 did announce the version that serves pulls; the proxies hid or lowered it
    expect(announced).toMatchObject({ streamfedPipe: PIPE_VERSION, streamfedFleetId: expect.any(String) });
    expect(PIPE_VERSION).toBeGreaterThan(1);
    expect(await objects(f.s1.restUrl, 'pipe_transport')).toBe(0);
    expect(await objects(f.s2.restUrl, 'pipe_transport')).toBe(0);
    expect(
      await metric(f.s2.restUrl, 'streamfed_push_transport', { type: 'pull', transport: 'webrtc' }),
    ).toBe(2);
  });

  it("a pipe pull passes the source's playStream authorisation: a hook's refusal and an unknown stream fail as the SDK is refused, leaving no pipe", async () => {
    const hooks = await HooksBackend.start((call) =>
      call.hook === 'playStream' && call.body['name'] === 'secret' ? { refuse: 'not this one' } : undefined,
    );
    f.closers.push(() => hooks.close());
    const s5 = await spawnMedia(['--hooks-url', hooks.url]);
    f.closers.push(() => s5.kill());
    const source = await NodePeer.publish(s5.wsUrl, 'secret');
    f.closers.push(() => source.stop());
    await source.waitStatus('PUBLISHING');

    const refused = await rest(f.s2.restUrl, '/rest-api/pull/pull', {
      uri: s5.wsUrl,
      localStreamName: 'secret-here',
      remoteStreamName: 'secret',
    });
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({
      code: 'PUSH_ERR_REMOTE_REJECTED',
      message: expect.stringMatching(/not this one/),
      push: { transport: 'pipe', type: 'pull' },
    });
    // the pipe's tuple (its SRTP key) is not the backend's to see
    expect((await hooks.heard('playStream', { name: 'secret' })).body).not.toHaveProperty('streamfedPipe');

    // an unknown stream: the refusal a WCS client (the SDK, our Node client) gets for a play of it
    const sdkRefusal = await NodePeer.play(s5.wsUrl, 'nope').then(
      async (peer) => {
        await peer.close();
        return 'played';
      },
      (error: Error) => error.message,
    );
    expect(sdkRefusal).toMatch(/Stream not found/);
    const unknown = await rest(f.s2.restUrl, '/rest-api/pull/pull', {
      uri: s5.wsUrl,
      localStreamName: 'nope-here',
      remoteStreamName: 'nope',
    });
    expect(unknown.status).toBe(500);
    expect(unknown.body).toMatchObject({
      code: 'PUSH_ERR_REMOTE_REJECTED',
      push: { transport: 'pipe', type: 'pull' },
    });
    expect((unknown.body as PushFailureBody).message).toContain(sdkRefusal);

    expect(await objects(f.s2.restUrl, 'pipe_transport')).toBe(0);
    expect(await objects(s5.restUrl, 'pipe_transport')).toBe(0);
    expect((await rest(f.s2.restUrl, '/rest-api/stream/find', { published: true })).status).toBe(404);
  });

  it('terminating the pulled stream here fails the pull with PUSH_ERR_LOCAL_ENDED and frees both halves', async () => {
    const pull = await pulled(f.s2.restUrl, {
      uri: f.s1.wsUrl,
      localStreamName: 'cam-ended-here',
      remoteStreamName: 'cam',
    });
    expect(pull.transport).toBe('pipe');
    expect((await rest(f.s2.restUrl, '/rest-api/stream/terminate', { name: 'cam-ended-here' })).status).toBe(
      200,
    );
    const [ended] = await bothFailed(f.s2.restUrl, [pull]);
    expect(ended).toMatchObject({
      code: 'PUSH_ERR_LOCAL_ENDED',
      info: expect.stringMatching(/local stream/),
    });
    await pipesFreed(f.s2, f.s1);
  });

  it('unpublishing the source ends a pipe pull as it ends a WebRTC pull (same code and reason), freeing both halves', async () => {
    const keep = (close: () => Promise<unknown>): number => f.closers.push(close);
    const { publisher: source, piped, webrtc } = await pulledBothWays(f.s2.restUrl, f.s1, 'cam2', keep);
    const player = await NodePeer.play(f.s2.wsUrl, 'cam2-pipe');
    f.closers.push(() => player.close());
    await player.waitStatus('PLAYING');
    await waitFor(() => player.received > 0, 'the player on server 2 receiving');

    await source.stop();
    const [endedPipe, endedWebrtc] = await bothFailed(f.s2.restUrl, [piped, webrtc]);
    expect(endedPipe).toMatchObject({
      code: 'PUSH_ERR_REMOTE_REJECTED',
      info: expect.stringMatching(/STOPPED/),
    });
    expect({ code: endedPipe!.code, info: endedPipe!.info }).toEqual({
      code: endedWebrtc!.code,
      info: endedWebrtc!.info,
    });
    await player.waitStatus('STOPPED');
    expect((await rest(f.s2.restUrl, '/rest-api/stream/find', { name: 'cam2-pipe' })).status).toBe(404);
    await pipesFreed(f.s2, f.s1);
  });

  it('goes FAILED with PUSH_ERR_REMOTE_DISCONNECTED within 5 s when the source dies, as a WebRTC pull does, and frees its pipe', async () => {
    const s3 = await spawnMedia();
    f.closers.push(() => s3.kill());
    const { piped, webrtc } = await pulledBothWays(f.s2.restUrl, s3, 'cam3', (close) =>
      f.closers.push(close),
    );
    expect(await objects(f.s2.restUrl, 'pipe_transport')).toBe(1);

    await s3.kill();
    const killedAt = Date.now();
    const failed = await bothFailed(f.s2.restUrl, [piped, webrtc], 5_000);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    for (const p of failed)
      expect(p, p.transport).toMatchObject({
        code: 'PUSH_ERR_REMOTE_DISCONNECTED',
        info: expect.stringMatching(/remote session ended/),
      });
    expect(await objects(f.s2.restUrl, 'pipe_transport')).toBe(0);
    expect((await rest(f.s2.restUrl, '/rest-api/stream/find', { published: true })).status).toBe(404);
  });
});
