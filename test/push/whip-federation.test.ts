import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PushDescription } from '../../src/contracts/pull-api.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { listPushes } from '../support/pushes.js';

interface Listed {
  name: string;
  published: boolean;
  mediaProvider?: string;
}

/** The streams a server lists (publishers and players), [] when none. */
async function streamsOn(media: RunningMedia): Promise<Listed[]> {
  const r = await rest(media.restUrl, '/rest-api/stream/find_all');
  return r.status === 200 ? (r.body as Listed[]) : [];
}

describe('streamfed → streamfed over WHIP and WHEP', () => {
  let a: RunningMedia;
  let b: RunningMedia;
  let camOnA: NodePeer;
  let farOnB: NodePeer;
  const players: NodePeer[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startMedia({ fleet: { fleetId: 'fleet-a' } }),
      startMedia({ fleet: { fleetId: 'fleet-b' } }),
    ]);
    camOnA = await NodePeer.publish(a.wsUrl, 'cam');
    farOnB = await NodePeer.publish(b.wsUrl, 'far');
    await Promise.all([camOnA.waitStatus('PUBLISHING'), farOnB.waitStatus('PUBLISHING')]);
  }, 30_000);

  afterEach(async () => {
    await Promise.all(players.splice(0).map((p) => p.close()));
    for (const p of await listPushes(a.restUrl))
      await rest(a.restUrl, '/rest-api/pull/terminate', { localMediaSessionId: p.localMediaSessionId });
  });

  afterAll(async () => {
    await camOnA?.stop();
    await farOnB?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const play = async (on: RunningMedia, name: string): Promise<NodePeer> => {
    const player = await NodePeer.play(on.wsUrl, name);
    players.push(player);
    await player.waitStatus('PLAYING');
    return player;
  };

  /** A push or pull of A to B's endpoint at `path`, PUBLISHING. */
  const start = async (
    type: 'push' | 'pull',
    path: string,
    localStreamName: string,
  ): Promise<PushDescription> => {
    const r = await rest(a.restUrl, `/rest-api/pull/${type}`, {
      uri: `${b.restUrl}/${path}`,
      localStreamName,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: 'PUBLISHING' });
    return r.body as PushDescription;
  };

  it('a push to B’s WHIP endpoint: PUBLISHING with delivery read from B’s receiver reports, the copy plays on B; terminate DELETEs it and B’s stream ends', async () => {
    const pushed = await start('push', 'whip/copy', 'cam');
    expect(pushed).toMatchObject({ protocol: 'whip', type: 'push', remoteStreamName: 'copy' });
    expect(await streamsOn(b)).toContainEqual(
      expect.objectContaining({ name: 'copy', published: true, mediaProvider: 'WHIP' }),
    );
    await waitFor(
      async () =>
        (await listPushes(a.restUrl)).find((p) => p.localMediaSessionId === pushed.localMediaSessionId)
          ?.delivery.status === 'delivering',
      'delivery acknowledged by B',
    );
    const player = await play(b, 'copy');
    await waitFor(() => player.received > 50, 'the copy’s RTP at a player on B');

    const t = await rest(a.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: pushed.localMediaSessionId,
    });
    expect(t.status).toBe(200);
    await waitFor(
      async () => !(await streamsOn(b)).some((s) => s.name === 'copy' && s.published),
      'the copy unpublished on B',
    );
    await player.waitStatus('STOPPED');
  });

  it('a pull from B’s WHEP endpoint mirrors its stream here; terminate DELETEs B’s WHEP session', async () => {
    const pulled = await start('pull', 'whep/far', 'mirror');
    expect(pulled).toMatchObject({ protocol: 'whep', type: 'pull', remoteStreamName: 'far' });
    const whepPlayers = async (): Promise<number> =>
      (await streamsOn(b)).filter((s) => s.name === 'far' && !s.published && s.mediaProvider === 'WHEP')
        .length;
    expect(await whepPlayers()).toBe(1);
    const player = await play(a, 'mirror');
    await waitFor(() => player.received > 50, 'the mirror’s RTP at a player on A');

    const t = await rest(a.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: pulled.localMediaSessionId,
    });
    expect(t.status).toBe(200);
    await waitFor(async () => (await whepPlayers()) === 0, 'B’s WHEP session ended');
    await player.waitStatus('STOPPED');
  });

  it('a stream pulled over WHEP is refused back over WHIP under its name: 409 PUSH_ERR_LOOP, nothing listed, the origin undisturbed', async () => {
    const pulled = await rest(a.restUrl, '/rest-api/pull/pull', {
      uri: `${b.restUrl}/whep/far`,
      localStreamName: 'far',
    });
    expect(pulled.status, JSON.stringify(pulled.body)).toBe(200);
    const back = await rest(a.restUrl, '/rest-api/pull/push', {
      uri: `${b.restUrl}/whip/far`,
      localStreamName: 'far',
    });
    expect(back.status, JSON.stringify(back.body)).toBe(409);
    expect(back.body).toMatchObject({
      statusCode: 409,
      code: 'PUSH_ERR_LOOP',
      message: expect.stringMatching(/answered 409/),
    });
    expect((await listPushes(a.restUrl)).map((p) => p.type)).toEqual(['pull']);
    expect(farOnB.lastStatus()).toBe('PUBLISHING');
    // under a name fleet-b does not have, the same stream goes
    const renamed = await rest(a.restUrl, '/rest-api/pull/push', {
      uri: `${b.restUrl}/whip/far-copy`,
      localStreamName: 'far',
    });
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
  });

  it('authToken is B’s bearer token: the first push binds the name to it, a push with another is refused with B’s status and code', async () => {
    const uri = `${b.restUrl}/whip/bound`;
    const first = await rest(a.restUrl, '/rest-api/pull/push', {
      uri,
      localStreamName: 'cam',
      authToken: 'tok-1',
    });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const id = (first.body as PushDescription).localMediaSessionId;
    expect((await rest(a.restUrl, '/rest-api/pull/terminate', { localMediaSessionId: id })).status).toBe(200);
    await waitFor(
      async () => !(await streamsOn(b)).some((s) => s.name === 'bound'),
      'bound unpublished on B',
    );
    const other = await rest(a.restUrl, '/rest-api/pull/push', {
      uri,
      localStreamName: 'cam',
      authToken: 'tok-2',
    });
    expect(other.status).toBe(500);
    expect(other.body).toMatchObject({
      code: 'PUSH_ERR_REMOTE_REJECTED',
      message: expect.stringMatching(/answered 409 .*\(WHIP_ERR_TOKEN_BOUND\)/),
    });
    expect(JSON.stringify(other.body)).not.toMatch(/tok-[12]/);
  });

  it('B’s stream ends under a pull: WHEP says nothing, so delivery stalls, then the peer’s ICE consent fails the pull and its mirror ends here', async () => {
    const gone = await NodePeer.publish(b.wsUrl, 'short');
    await gone.waitStatus('PUBLISHING');
    const r = await rest(a.restUrl, '/rest-api/pull/pull', {
      uri: `${b.restUrl}/whep/short`,
      localStreamName: 'short-here',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const id = (r.body as PushDescription).localMediaSessionId;
    const mine = async (): Promise<PushDescription | undefined> =>
      (await listPushes(a.restUrl)).find((p) => p.localMediaSessionId === id);
    await waitFor(async () => ((await mine())?.delivery.packets ?? 0) > 50, 'media pulled');
    await gone.stop();
    await waitFor(async () => (await mine())?.delivery.status === 'stalled', 'delivery stalled', 20_000);
    // werift gives up on ICE consent about 30 s after the far end stopped answering
    const failed = await waitFor(
      async () => {
        const p = await mine();
        return p?.status === 'FAILED' ? p : undefined;
      },
      'the pull FAILED',
      60_000,
    );
    expect(failed).toMatchObject({ code: 'PUSH_ERR_WEBRTC', info: 'WebRTC connection failed' });
    await waitFor(async () => !(await streamsOn(a)).some((s) => s.name === 'short-here'), 'the mirror gone');
  }, 90_000);
});
