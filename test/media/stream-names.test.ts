import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_NAME_MAX_LENGTH, streamNameProblem } from '../../src/contracts/stream-name.js';
import { createPeer } from '../../src/media/push/rtc-peer.js';
import { BROWSER_LIKE, clientIce } from '../support/node-peer.js';
import { weriftCodec } from '../../src/media/rtc/codec-params.js';
import { mediaCodecs } from '../../src/media/rtc/codecs.js';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rest, startMedia, waitFor, waitMediaReleased, type RunningMedia } from '../support/media-server.js';
import { NodePeer, SYNTHETIC_VIDEO_SIZE } from '../support/node-peer.js';
import { WcsSocket } from '../support/wcs-socket.js';

/** Names that are names: each publishes, plays here, is pushed to another server and plays there. */
const accepted: [string, string][] = [
  ['ascii', 'camera-1'],
  ['one character', 'a'],
  ['256 characters', 'n'.repeat(STREAM_NAME_MAX_LENGTH)],
  ['256 emoji (512 UTF-16 units)', '🎥'.repeat(STREAM_NAME_MAX_LENGTH)],
  ['unicode', 'Ünïcødé 名前 имя اسم'],
  ['emoji', '🎥 live 🚀'],
  ['space', 'my stream'],
  ['leading and trailing spaces', '  padded  '],
  ['markup', '<b>bold</b><script>alert(1)</script>'],
  ['quotes', `"double" 'single' \`back\``],
  ['slashes', 'a/b/c'],
  ['dot dot', '..'],
  ['path traversal', '../../etc/passwd'],
  ['percent-encoded space', '%20'],
  ['percent-encoded slash', 'a%2Fb'],
  ['SDP-like text', 'x a=msid:evil 0'],
  ['backslash and semicolon', 'a\\b;c=d'],
];

/** Names that are not: refused at publish (FAILED with the rule's reason), and everywhere else. */
const refused: [string, string][] = [
  ['empty', ''],
  ['257 characters', 'n'.repeat(STREAM_NAME_MAX_LENGTH + 1)],
  ['257 emoji', '🎥'.repeat(STREAM_NAME_MAX_LENGTH + 1)],
  ['newline', 'line\nbreak'],
  ['carriage return', 'cr\rname'],
  ['tab', 'tab\tname'],
  ['NUL', 'nul\u0000name'],
  ['DEL', 'del\u007fname'],
  ['C1 control (NEL)', 'nel\u0085name'],
  ['line separator', 'ls\u2028name'],
  ['paragraph separator', 'ps\u2029name'],
];

async function offerSdp(): Promise<string> {
  const opus = mediaCodecs.find((c) => c.mimeType === 'audio/opus')!;
  const vp8 = mediaCodecs.find((c) => c.mimeType === 'video/VP8')!;
  const peer = createPeer(
    {
      audio: [weriftCodec(opus, 'audio')],
      video: [weriftCodec(vp8, 'video')],
    },
    BROWSER_LIKE,
    clientIce(),
  );
  peer.addTransceiver('video', { direction: 'sendonly' });
  await peer.setLocalDescription(await peer.createOffer());
  const sdp = peer.localDescription?.sdp ?? '';
  await peer.close();
  return sdp;
}

describe('stream names: one rule at every entry point, never stuck', () => {
  let s1: RunningMedia;
  let s2: MediaProcess;
  let offer: string;

  beforeAll(async () => {
    [s1, s2] = await Promise.all([startMedia(), spawnMedia()]);
    offer = await offerSdp();
  });
  afterAll(async () => {
    await s1?.stop();
    await s2?.kill();
  });

  it('the table agrees with the rule', () => {
    for (const [, name] of accepted) expect(streamNameProblem(name)).toBeUndefined();
    for (const [, name] of refused) expect(streamNameProblem(name)).toBeTypeOf('string');
  });

  it.each(accepted)(
    'publishes, plays, pushes and plays remotely: %s',
    async (_, name) => {
      const publisher = await NodePeer.publish(s1.wsUrl, name);
      const peers = [publisher];
      try {
        await publisher.waitStatus('PUBLISHING');
        const local = await NodePeer.play(s1.wsUrl, name);
        peers.push(local);
        await local.waitStatus('PLAYING');
        await waitFor(() => local.received > 0, `RTP of ${JSON.stringify(name)} at the local player`);

        // the size the video itself carries, in every description of the stream
        const found = await waitFor(async () => {
          const r = await rest(s1.restUrl, '/rest-api/stream/find', { name });
          const list = r.body as { width: number; published: boolean; mediaType: string }[];
          return r.status === 200 && list.every((d) => d.width > 0) ? list : undefined;
        }, 'the video size');
        expect(found).toHaveLength(2);
        for (const d of found) expect(d).toMatchObject({ name, ...SYNTHETIC_VIDEO_SIZE });
        expect(found.map((d) => d.mediaType).sort()).toEqual(['play', 'publish']);

        const push = await rest(s1.restUrl, '/rest-api/pull/push', { uri: s2.wsUrl, localStreamName: name });
        expect(push.status, JSON.stringify(push.body)).toBe(200);
        const remote = await NodePeer.play(s2.wsUrl, name);
        peers.push(remote);
        await remote.waitStatus('PLAYING');
        await waitFor(() => remote.received > 0, `RTP of ${JSON.stringify(name)} at the remote player`);
        const there = await rest(s2.restUrl, '/rest-api/stream/find', { name, published: true });
        expect(there.body).toEqual([expect.objectContaining({ name, status: 'PUBLISHING' })]);

        const { localMediaSessionId } = push.body as { localMediaSessionId: string };
        expect((await rest(s1.restUrl, '/rest-api/pull/terminate', { localMediaSessionId })).status).toBe(
          200,
        );
        await remote.waitStatus('STOPPED');
      } finally {
        for (const peer of peers.reverse()) await peer.stop();
      }
      await waitFor(
        async () => (await rest(s2.restUrl, '/rest-api/stream/find_all')).status === 404,
        'no streams left on server 2',
      );
    },
    60_000,
  );

  it.each(refused)(
    'refuses at publish, play, availableStream and REST, with FAILED and the reason: %s',
    async (_, name) => {
      const problem = streamNameProblem(name)!;
      const { ws } = await WcsSocket.established(s1.wsUrl);
      try {
        for (const [message, published] of [
          ['publishStream', true],
          ['playStream', false],
        ] as const) {
          const mediaSessionId = randomUUID();
          ws.send(message, { mediaSessionId, name, published, sdp: offer });
          const status = (await ws.next('notifyStreamStatusEvent')).data[0];
          expect(status).toEqual({ mediaSessionId, name, published, status: 'FAILED', info: problem });
        }
        ws.send('availableStream', { mediaSessionId: 'a1', name });
        expect((await ws.next('availableStream')).data[0]).toMatchObject({
          id: 'a1',
          status: 'false',
          info: problem,
        });
      } finally {
        ws.close();
      }
      const push = await rest(s1.restUrl, '/rest-api/pull/push', { uri: s2.wsUrl, localStreamName: name });
      expect(push.status).toBe(400);
      const pull = await rest(s1.restUrl, '/rest-api/pull/pull', { uri: s2.wsUrl, localStreamName: name });
      expect(pull.status).toBe(400);
      expect((await rest(s1.restUrl, '/rest-api/stream/find', { name })).status).toBe(400);
      expect(s1.server.engine.objectCounts()).toMatchObject({ transport: 0, producer: 0 });
    },
  );

  it('leaves nothing behind', async () => {
    await waitMediaReleased(s1);
    expect((await rest(s1.restUrl, '/rest-api/pull/find_all')).status).toBe(404);
  });
});
