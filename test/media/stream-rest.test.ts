import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer, SYNTHETIC_VIDEO_SIZE } from '../support/node-peer.js';

interface Described {
  name: string;
  mediaSessionId: string;
  sessionId: string;
  published: boolean;
  mediaType: string;
  status: string;
  hasAudio: boolean;
  hasVideo: boolean;
  width: number;
  height: number;
  metrics?: Record<string, number>;
}

async function find(url: string, body?: unknown): Promise<Described[]> {
  const r = await rest(url, '/rest-api/stream/find', body);
  return r.status === 200 ? (r.body as Described[]) : [];
}

const ids = (list: Described[]): string[] => list.map((d) => d.mediaSessionId).sort();

describe('REST /stream/* and /connection/*: WCS filters, GET and POST, metrics, terminate', () => {
  let media: RunningMedia;
  let av: NodePeer;
  let videoOnly: NodePeer;
  let player: NodePeer;

  beforeAll(async () => {
    media = await startMedia();
    av = await NodePeer.publish(media.wsUrl, 'rest av');
    videoOnly = await NodePeer.publish(media.wsUrl, 'rest video', { videoBitrate: 300_000 });
    await av.waitStatus('PUBLISHING');
    await videoOnly.waitStatus('PUBLISHING');
    player = await NodePeer.play(media.wsUrl, 'rest av');
    await player.waitStatus('PLAYING');
  });
  afterAll(async () => {
    for (const peer of [player, videoOnly, av]) await peer?.stop();
    await media?.stop();
  });

  it('answers GET and POST alike, and describes each stream as WCS does', async () => {
    const get = await fetch(`${media.restUrl}/rest-api/stream/find_all`);
    expect(get.status).toBe(200);
    const all = (await get.json()) as Described[];
    expect(ids(all)).toEqual([av, videoOnly, player].map((p) => p.mediaSessionId).sort());
    expect(ids((await rest(media.restUrl, '/rest-api/stream/find_all')).body as Described[])).toEqual(
      ids(all),
    );
    expect(ids((await (await fetch(`${media.restUrl}/rest-api/stream/find`)).json()) as Described[])).toEqual(
      ids(all),
    );
    const publisher = all.find((d) => d.mediaSessionId === av.mediaSessionId);
    expect(publisher).toMatchObject({
      name: 'rest av',
      mediaType: 'publish',
      published: true,
      hasAudio: true,
    });
    const played = all.find((d) => d.mediaSessionId === player.mediaSessionId);
    expect(played).toMatchObject({ name: 'rest av', mediaType: 'play', published: false });
  });

  it('filters by name, published, status, hasAudio, hasVideo and mediaSessionId; ignores unknown fields', async () => {
    const url = media.restUrl;
    expect(ids(await find(url, { name: 'rest av' }))).toEqual(
      [av.mediaSessionId, player.mediaSessionId].sort(),
    );
    expect(ids(await find(url, { published: false }))).toEqual([player.mediaSessionId]);
    expect(ids(await find(url, { status: 'PUBLISHING' }))).toEqual(
      [av.mediaSessionId, videoOnly.mediaSessionId].sort(),
    );
    expect(ids(await find(url, { status: 'PLAYING' }))).toEqual([player.mediaSessionId]);
    expect(ids(await find(url, { hasAudio: false }))).toEqual([videoOnly.mediaSessionId]);
    expect(ids(await find(url, { hasVideo: true, published: true, name: 'rest video' }))).toEqual([
      videoOnly.mediaSessionId,
    ]);
    expect(ids(await find(url, { mediaSessionId: av.mediaSessionId }))).toEqual([av.mediaSessionId]);
    expect(ids(await find(url, { name: 'rest video', whatever: { nested: true }, record: false }))).toEqual([
      videoOnly.mediaSessionId,
    ]);
    const none = await rest(url, '/rest-api/stream/find', { name: 'rest av', hasAudio: false });
    expect(none.status).toBe(404);
  });

  it('returns per-stream metrics with display: ["metrics"]', async () => {
    const [d] = await waitFor(async () => {
      const list = await find(media.restUrl, { name: 'rest video', display: ['metrics'] });
      return list[0]?.metrics?.['VIDEO_RATE'] ? list : undefined;
    }, 'a video bitrate in the metrics');
    expect(d!.metrics).toMatchObject({
      VIDEO_RATE: expect.any(Number),
      VIDEO_LOST: expect.any(Number),
      VIDEO_WIDTH: SYNTHETIC_VIDEO_SIZE.width,
      VIDEO_HEIGHT: SYNTHETIC_VIDEO_SIZE.height,
    });
    expect(d).toMatchObject(SYNTHETIC_VIDEO_SIZE);
    expect((await find(media.restUrl, { name: 'rest video' }))[0]).not.toHaveProperty('metrics');
  });

  it('follows a resolution change of the video', async () => {
    const size = async (): Promise<{ width: number; height: number } | undefined> => {
      const [d] = await find(media.restUrl, { name: 'rest video' });
      return d && { width: d.width, height: d.height };
    };
    await waitFor(async () => (await size())?.width === SYNTHETIC_VIDEO_SIZE.width, 'the first size');
    videoOnly.videoSize = { width: 640, height: 360 };
    // read again at the first key frame at least 5 s after the last reading
    await waitFor(async () => (await size())?.width === 640, 'the new size', 30_000);
    expect(await size()).toEqual({ width: 640, height: 360 });
    videoOnly.videoSize = { ...SYNTHETIC_VIDEO_SIZE };
  }, 40_000);

  it('finds connections by the fields the SDK sends', async () => {
    const all = await rest(media.restUrl, '/rest-api/connection/find', { clientVersion: '2.0' });
    expect(all.status).toBe(200);
    expect((all.body as unknown[]).length).toBe(3);
    const [publisher] = await find(media.restUrl, { mediaSessionId: av.mediaSessionId });
    const one = await rest(media.restUrl, '/rest-api/connection/find', { sessionId: publisher!.sessionId });
    expect(one.body).toEqual([
      expect.objectContaining({ sessionId: publisher!.sessionId, status: 'ESTABLISHED' }),
    ]);
    expect((await rest(media.restUrl, '/rest-api/connection/find', { clientVersion: '9.9' })).status).toBe(
      404,
    );
  });

  it('terminates what the filters match and nothing else', async () => {
    expect((await rest(media.restUrl, '/rest-api/stream/terminate', { published: false })).status).toBe(200);
    await player.waitStatus('STOPPED');
    expect(ids(await find(media.restUrl))).toEqual([av.mediaSessionId, videoOnly.mediaSessionId].sort());

    const byIds = await rest(media.restUrl, '/rest-api/stream/terminate', {
      mediaSessionIds: [videoOnly.mediaSessionId, 'not-a-stream'],
    });
    expect(byIds.status).toBe(200);
    await videoOnly.waitStatus('UNPUBLISHED');
    expect(ids(await find(media.restUrl))).toEqual([av.mediaSessionId]);
  });

  it('terminates a connection: its streams end and its socket closes', async () => {
    const [publisher] = await find(media.restUrl, { mediaSessionId: av.mediaSessionId });
    const r = await rest(media.restUrl, '/rest-api/connection/terminate', {
      sessionId: publisher!.sessionId,
    });
    expect(r.status).toBe(200);
    await waitFor(() => av.client.closed, 'the publisher socket closed');
    await waitFor(
      async () => (await rest(media.restUrl, '/rest-api/stream/find_all')).status === 404,
      'no streams',
    );
    await waitFor(() => media.server.engine.objectCounts().transport === 0, 'transports released');
  });
});
