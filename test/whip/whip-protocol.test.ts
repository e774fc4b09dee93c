import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeChainHeader,
  parseIceServerLinks,
  parseSdpFragment,
  WhipMediaType,
} from '../../src/contracts/whip-http.js';
import { parseIceServers } from '../../src/media/media-options.js';
import { rest, startMedia, waitFor, waitMediaReleased, type RunningMedia } from '../support/media-server.js';
import { HooksBackend } from '../support/hooks-backend.js';
import { NodePeer } from '../support/node-peer.js';
import { WhipPeer, postOffer } from '../support/whip-peer.js';

const obsOffer = readFileSync(path.join(import.meta.dirname, 'fixtures/obs-30-offer.sdp'), 'utf8');
const restToken = 'rest-secret';
const auth = { authorization: `Bearer ${restToken}` };
const fleetId = 'fleet-a';
const iceServers = parseIceServers([
  'turn:turn.example.net:3478?transport=tcp|alice:s3cret',
  'stun:stun.example.net',
]);

interface Problem {
  status: number;
  code: string;
  detail: string;
}
const problemOf = (answer: { headers: Headers; body: string }): Problem => {
  expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return JSON.parse(answer.body) as Problem;
};

type Listed = { name: string; mediaProvider: string; status: string; published: boolean } & Record<
  string,
  unknown
>;
async function findAll(media: RunningMedia): Promise<Listed[]> {
  const { status, body } = await rest(media.restUrl, '/rest-api/stream/find_all', {}, auth);
  return status === 200 ? (body as Listed[]) : [];
}

async function fetchRaw(
  url: string,
  init: RequestInit,
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: await response.text() };
}

describe('WHIP and WHEP endpoints: the protocol', () => {
  let media: RunningMedia;
  const open: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    // a REST token is configured: the WHIP/WHEP routes must not ask for it
    media = await startMedia({ rest: { token: restToken }, fleet: { fleetId }, listen: { iceServers } });
  }, 60_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close().catch(() => undefined)));
  });
  afterAll(async () => {
    await media?.stop();
  });

  it('publishes with a werift offer: 201, the answer, Location, ETag; listed as WHIP, played by the SDK; DELETE ends it and its players', async () => {
    const whip = await WhipPeer.publish(`${media.restUrl}/whip/cam%201`);
    open.push(whip);
    const { headers, body } = whip.answer;
    expect(headers.get('content-type')).toMatch(/^application\/sdp/);
    expect(headers.get('location')).toMatch(/^\/whip\/sessions\/[A-Za-z0-9_-]{32}$/);
    expect(headers.get('etag')).toMatch(/^"[^"]+"$/);
    expect(headers.get('accept-patch')).toBe(WhipMediaType.TRICKLE_ICE);
    expect(headers.get('streamfed-fleet-id')).toBe(fleetId);
    expect(parseIceServerLinks(headers.get('link'))).toEqual(iceServers);
    expect(body).toMatch(/a=ice-lite/);
    expect(body.match(/a=recvonly/g)).toHaveLength(2);

    const listed = await waitFor(
      async () => (await findAll(media)).find((s) => s.name === 'cam 1' && s.status === 'PUBLISHING'),
      'the WHIP publisher PUBLISHING',
    );
    expect(listed).toMatchObject({ published: true, mediaProvider: 'WHIP', hasAudio: true, hasVideo: true });

    const player = await NodePeer.play(media.wsUrl, 'cam 1');
    open.push(player);
    await player.waitStatus('PLAYING');
    await waitFor(() => player.received > 20, 'RTP from the WHIP publisher at the SDK player');

    expect(await whip.delete()).toBe(200);
    await player.waitStatus('STOPPED');
    await waitFor(async () => (await findAll(media)).length === 0, 'the streams gone');
    const again = await fetchRaw(whip.session.href, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(problemOf(again)).toMatchObject({ status: 404, code: 'WHIP_ERR_SESSION_NOT_FOUND' });
    await waitMediaReleased(media);
  });

  it("answers at WCS's path /rest-api/stream/publish/<name> too, without the REST credentials", async () => {
    const whip = await WhipPeer.publish(`${media.restUrl}/rest-api/stream/publish/wcs-path`);
    open.push(whip);
    expect(whip.answer.status).toBe(201);
    await waitFor(
      async () => (await findAll(media)).some((s) => s.name === 'wcs-path' && s.mediaProvider === 'WHIP'),
      'listed',
    );
    expect(await whip.delete()).toBe(200);
  });

  it('plays a stream the SDK published via WHEP: 201, sendonly answer, RTP; DELETE stops only the player', async () => {
    const publisher = await NodePeer.publish(media.wsUrl, 'sdk-cam');
    open.push(publisher);
    await publisher.waitStatus('PUBLISHING');
    const whep = await WhipPeer.play(`${media.restUrl}/whep/sdk-cam`);
    open.push(whep);
    expect(whep.answer.headers.get('location')).toMatch(/^\/whep\/sessions\/[A-Za-z0-9_-]{32}$/);
    expect(whep.answer.headers.get('etag')).toMatch(/^"[^"]+"$/);
    expect(whep.answer.body.match(/a=sendonly/g)).toHaveLength(2);
    await waitFor(() => whep.received > 20, 'RTP at the WHEP player');
    await waitFor(
      async () =>
        (await findAll(media)).some(
          (s) => !s.published && s.mediaProvider === 'WHEP' && s.status === 'PLAYING',
        ),
      'the WHEP player PLAYING',
    );
    // WHEP sessions live under /whep/: a WHEP id is not a WHIP session
    const wrongKind = await fetchRaw(whep.session.href.replace('/whep/', '/whip/'), { method: 'DELETE' });
    expect(wrongKind.status).toBe(404);
    expect(await whep.delete()).toBe(200);
    await waitFor(async () => (await findAll(media)).every((s) => s.published), 'the WHEP player gone');
    expect(publisher.lastStatus()).toBe('PUBLISHING');
  });

  it('accepts OBS 30’s offer (session-level ICE and fingerprint, a=group:LS, OPUS/H264 in capitals, no candidates)', async () => {
    const answer = await postOffer(`${media.restUrl}/whip/obs`, obsOffer, {
      authorization: 'Bearer obs-key',
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatch(/a=mid:0[\s\S]*a=recvonly[\s\S]*a=mid:1[\s\S]*a=recvonly/);
    expect(answer.body).toMatch(/a=rtpmap:111 opus\/48000\/2/);
    expect(answer.body).toMatch(/a=rtpmap:96 H264\/90000/);
    expect(answer.body).toMatch(/a=setup:passive/);
    expect(answer.body).toMatch(/a=candidate:/);
    const listed = await waitFor(async () => (await findAll(media)).find((s) => s.name === 'obs'), 'listed');
    expect(listed).toMatchObject({ mediaProvider: 'WHIP', audioCodec: 'opus', videoCodec: 'H264' });
    const session = new URL(answer.headers.get('location')!, media.restUrl);
    expect(
      (await fetchRaw(session.href, { method: 'DELETE', headers: { authorization: 'Bearer obs-key' } }))
        .status,
    ).toBe(200);
  });

  it('refuses what it cannot use: 415, 400, 422, a name in use (409), a bad name (400), unknown WHEP name (404)', async () => {
    const { sdp, peer } = await WhipPeer.offer('sendonly');
    open.push(peer);
    const endpoint = `${media.restUrl}/whip/refusals`;
    for (const type of ['application/json', 'text/plain', 'application/x-whatever']) {
      const answer = await postOffer(endpoint, type === 'application/json' ? JSON.stringify({ sdp }) : sdp, {
        'content-type': type,
      });
      expect(answer.status, type).toBe(415);
      expect(problemOf(answer)).toMatchObject({ status: 415, code: 'WHIP_ERR_UNSUPPORTED_MEDIA_TYPE' });
    }
    const garbage = await postOffer(endpoint, 'hello');
    expect(garbage.status).toBe(400);
    expect(problemOf(garbage).code).toBe('WHIP_ERR_BAD_SDP');
    const noIce = await postOffer(endpoint, sdp.replace(/a=ice-(ufrag|pwd):.*\r\n/g, ''));
    expect(noIce.status).toBe(400);
    expect(problemOf(noIce)).toMatchObject({
      code: 'WHIP_ERR_BAD_SDP',
      detail: expect.stringMatching(/ICE/),
    });

    const video = sdp.slice(sdp.indexOf('m=video'));
    const twoVideos = `${sdp}${video.replace(/a=mid:1/, 'a=mid:2')}`;
    const tooMany = await postOffer(endpoint, twoVideos);
    expect(tooMany.status).toBe(422);
    expect(problemOf(tooMany)).toMatchObject({
      code: 'WHIP_ERR_UNPROCESSABLE_OFFER',
      detail: 'more than one video track',
    });
    const receiving = await postOffer(endpoint, sdp.replace(/a=sendonly/g, 'a=recvonly'));
    expect(receiving.status).toBe(422);

    const publisher = await NodePeer.publish(media.wsUrl, 'taken');
    open.push(publisher);
    const taken = await postOffer(`${media.restUrl}/whip/taken`, sdp);
    expect(taken.status).toBe(409);
    expect(problemOf(taken)).toMatchObject({
      code: 'STREAMFED_ERR_CONFLICT',
      detail: 'Stream name is already in use',
    });

    const badName = await postOffer(`${media.restUrl}/whip/${encodeURIComponent('a'.repeat(300))}`, sdp);
    expect(badName.status).toBe(400);
    expect(problemOf(badName).code).toBe('STREAMFED_ERR_BAD_REQUEST');

    const { sdp: playOffer, peer: player } = await WhipPeer.offer('recvonly');
    open.push(player);
    const nowhere = await postOffer(`${media.restUrl}/whep/nowhere`, playOffer);
    expect(nowhere.status).toBe(404);
    expect(problemOf(nowhere)).toMatchObject({ code: 'STREAMFED_ERR_NOT_FOUND', detail: 'Stream not found' });
    // nothing was left behind by the refusals but the SDK publisher's transport
    expect(media.server.engine.objectCounts().transport).toBe(1);
  });

  it('refuses a publish whose streamfed chain already passed through this fleet under that name (409 PUSH_ERR_LOOP)', async () => {
    const { sdp, peer } = await WhipPeer.offer('sendonly');
    open.push(peer);
    const loop = await postOffer(`${media.restUrl}/whip/looped`, sdp, {
      'streamfed-chain': encodeChainHeader([{ fleet: fleetId, name: 'looped' }]),
    });
    expect(loop.status).toBe(409);
    expect(problemOf(loop).code).toBe('PUSH_ERR_LOOP');
    // through another fleet: fine, and the chain stays on the publisher
    const whip = await WhipPeer.publish(`${media.restUrl}/whip/looped`, {
      'streamfed-chain': encodeChainHeader([{ fleet: 'fleet-b', name: 'origin' }]),
    });
    open.push(whip);
    expect(media.server.streams.publisher('looped')?.init.chain).toEqual([
      { fleet: 'fleet-b', name: 'origin' },
    ]);
    expect(await whip.delete()).toBe(200);
  });

  it('PATCH: trickled candidates 204; an ICE restart needs If-Match (428), a current one (412), answers 200 with new credentials and ETag', async () => {
    const whip = await WhipPeer.publish(`${media.restUrl}/whip/patched`);
    open.push(whip);
    const etag = whip.answer.headers.get('etag')!;
    const patch = (body: string, headers: Record<string, string> = {}) =>
      fetchRaw(whip.session.href, {
        method: 'PATCH',
        headers: { 'content-type': WhipMediaType.TRICKLE_ICE, ...headers },
        body,
      });
    const ufrag = /a=ice-ufrag:(\S+)/.exec(whip.offer)![1]!;
    const pwd = /a=ice-pwd:(\S+)/.exec(whip.offer)![1]!;
    const trickle = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n`;
    const first = await patch(trickle);
    expect(first.status).toBe(204);
    expect((await patch(trickle, { 'if-match': etag })).status).toBe(204);
    expect((await patch(trickle, { 'content-type': 'text/plain' })).status).toBe(415);

    const restart = 'a=ice-ufrag:newU\r\na=ice-pwd:aNewPasswordOf22chars!!\r\n';
    const missing = await patch(restart);
    expect(missing.status).toBe(428);
    expect(problemOf(missing).code).toBe('WHIP_ERR_PRECONDITION_REQUIRED');
    const stale = await patch(restart, { 'if-match': '"not-the-tag"' });
    expect(stale.status).toBe(412);
    expect(problemOf(stale).code).toBe('WHIP_ERR_PRECONDITION_FAILED');

    const restarted = await patch(restart, { 'if-match': etag });
    expect(restarted.status).toBe(200);
    expect(restarted.headers.get('content-type')).toMatch(/^application\/trickle-ice-sdpfrag/);
    const newTag = restarted.headers.get('etag');
    expect(newTag).toMatch(/^"[^"]+"$/);
    expect(newTag).not.toBe(etag);
    const ours = parseSdpFragment(restarted.body);
    const answered = /a=ice-ufrag:(\S+)/.exec(whip.answer.body)![1];
    expect(ours.ufrag).toBeTruthy();
    expect(ours.ufrag).not.toBe(answered);
    expect(ours.pwd).toBeTruthy();
    expect(ours.candidates[0]).toMatch(/^candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
    // the old tag is stale now
    expect(
      (await patch('a=ice-ufrag:other\r\na=ice-pwd:anotherPasswordOf22ch\r\n', { 'if-match': etag })).status,
    ).toBe(412);
    const unknown = await fetchRaw(`${media.restUrl}/whip/sessions/nope`, {
      method: 'PATCH',
      headers: { 'content-type': WhipMediaType.TRICKLE_ICE },
      body: trickle,
    });
    expect(unknown.status).toBe(404);
    expect(await whip.delete()).toBe(200);
  });

  it('OPTIONS: Accept-Post and the ICE servers; CORS preflights from another origin for the endpoint and the session', async () => {
    const plain = await fetchRaw(`${media.restUrl}/whip/anything`, { method: 'OPTIONS' });
    expect(plain.status).toBe(204);
    expect(plain.headers.get('accept-post')).toBe('application/sdp');
    expect(parseIceServerLinks(plain.headers.get('link'))).toEqual(iceServers);
    expect(plain.headers.get('streamfed-fleet-id')).toBe(fleetId);
    const whepOptions = await fetchRaw(`${media.restUrl}/whep/anything`, { method: 'OPTIONS' });
    expect(whepOptions.headers.get('accept-post')).toBe('application/sdp');

    const origin = 'http://player.example.org';
    const preflight = await fetchRaw(`${media.restUrl}/whip/anything`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/);
    expect(preflight.headers.get('accept-post')).toBe('application/sdp');

    const whip = await WhipPeer.publish(`${media.restUrl}/whip/cors`, { origin });
    open.push(whip);
    expect(whip.answer.headers.get('access-control-allow-origin')).toBe('*');
    expect(whip.answer.headers.get('access-control-expose-headers')).toMatch(/Location/);
    expect(whip.answer.headers.get('access-control-expose-headers')).toMatch(/ETag/);
    const sessionPreflight = await fetchRaw(whip.session.href, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'if-match',
      },
    });
    expect(sessionPreflight.status).toBe(204);
    expect(sessionPreflight.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
    expect(sessionPreflight.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
    expect(sessionPreflight.headers.get('accept-patch')).toBe(WhipMediaType.TRICKLE_ICE);
    expect(await whip.delete()).toBe(200);
  });
});

/** A REST hooks backend: publishes and plays need `custom.token` "let-me-in" (WHIP's bearer token goes there). */
const startTokenHooks = (): Promise<HooksBackend> =>
  HooksBackend.start(({ hook, body }) => {
    const token = (body['custom'] as { token?: string } | undefined)?.token;
    if ((hook === 'publishStream' || hook === 'playStream') && token !== 'let-me-in')
      return { refuse: `a valid token is needed to ${hook}` };
    return undefined;
  });

describe('WHIP and WHEP endpoints: who may publish and play', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close().catch(() => undefined)));
  });

  it('asks the REST hooks with the bearer token where the SDK puts its auth data: refused 403 with the reason, allowed 201', async () => {
    const hooks = await startTokenHooks();
    open.push(hooks);
    const media = await startMedia({ signalling: { hooks: { url: hooks.url, timeoutMs: 3000 } } });
    open.push({ close: () => media.stop() });
    const { sdp, peer } = await WhipPeer.offer('sendonly');
    open.push(peer);

    const refused = await postOffer(`${media.restUrl}/whip/guarded`, sdp, { authorization: 'Bearer wrong' });
    expect(refused.status).toBe(403);
    expect(problemOf(refused)).toMatchObject({
      code: 'STREAMFED_HOOK_REFUSED',
      detail: 'a valid token is needed to publishStream',
    });
    const anonymous = await postOffer(`${media.restUrl}/whip/guarded`, sdp);
    expect(anonymous.status).toBe(403);
    expect(media.server.engine.objectCounts().transport).toBe(0);

    const whip = await WhipPeer.publish(`${media.restUrl}/whip/guarded`, {
      authorization: 'Bearer let-me-in',
    });
    open.push(whip);
    expect(
      hooks
        .of('connect')
        .map((c) => c.body)
        .at(-1),
    ).toMatchObject({
      mediaProviders: ['WHIP'],
      custom: { token: 'let-me-in' },
    });
    expect(
      hooks
        .of('publishStream')
        .map((c) => c.body)
        .at(-1),
    ).toMatchObject({
      name: 'guarded',
      mediaProvider: 'WHIP',
      custom: { token: 'let-me-in' },
    });
    await waitFor(
      () =>
        hooks
          .of('StreamStatusEvent')
          .map((c) => c.body)
          .some((e) => e['name'] === 'guarded' && e['status'] === 'PUBLISHING'),
      'the hooks told of PUBLISHING',
    );

    const { sdp: playOffer, peer: player } = await WhipPeer.offer('recvonly');
    open.push(player);
    const playRefused = await postOffer(`${media.restUrl}/whep/guarded`, playOffer, {
      authorization: 'Bearer nope',
    });
    expect(playRefused.status).toBe(403);
    expect(problemOf(playRefused).detail).toBe('a valid token is needed to playStream');
    const whep = await WhipPeer.play(`${media.restUrl}/whep/guarded`, { authorization: 'Bearer let-me-in' });
    open.push(whep);
    expect(
      hooks
        .of('playStream')
        .map((c) => c.body)
        .at(-1),
    ).toMatchObject({
      mediaProvider: 'WHEP',
      custom: { token: 'let-me-in' },
    });
    await waitFor(() => whep.received > 10, 'RTP at the allowed WHEP player');
    expect(await whip.delete()).toBe(200);
    await waitFor(
      () =>
        hooks
          .of('ConnectionStatusEvent')
          .map((c) => c.body)
          .some((e) => e['status'] === 'DISCONNECTED'),
      'the hooks told of the end',
    );
  });

  it('binds a WHIP token to its name (WCS): another token is refused 409 WHIP_ERR_TOKEN_BOUND, the same one publishes again', async () => {
    const media = await startMedia();
    open.push({ close: () => media.stop() });
    const endpoint = `${media.restUrl}/whip/bound`;
    const first = await WhipPeer.publish(endpoint, { authorization: 'Bearer token-a' });
    open.push(first);
    // the session is bound to its token too
    const foreign = await fetchRaw(first.session.href, {
      method: 'DELETE',
      headers: { authorization: 'Bearer token-b' },
    });
    expect(foreign.status).toBe(409);
    expect(problemOf(foreign).code).toBe('WHIP_ERR_TOKEN_BOUND');
    expect(await first.delete()).toBe(200);

    const { sdp, peer } = await WhipPeer.offer('sendonly');
    open.push(peer);
    for (const headers of [{ authorization: 'Bearer token-b' }, {}] as Record<string, string>[]) {
      const refused = await postOffer(endpoint, sdp, headers);
      expect(refused.status).toBe(409);
      expect(problemOf(refused).code).toBe('WHIP_ERR_TOKEN_BOUND');
    }
    const again = await WhipPeer.publish(endpoint, { authorization: 'Bearer token-a' });
    open.push(again);
    expect(await again.delete()).toBe(200);
    // an open server: any other name, with or without a token
    const other = await WhipPeer.publish(`${media.restUrl}/whip/unbound`);
    open.push(other);
    expect(await other.delete()).toBe(200);
  });
});
