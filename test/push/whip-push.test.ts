import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushDescription } from '../../src/contracts/pull-api.js';
import { STREAMFED_CHAIN_HEADER, decodeChainHeader } from '../../src/contracts/whip-http.js';
import { freePort } from '../support/ports.js';
import { type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { osResources, type OsResources } from '../support/os-resources.js';
import {
  SLACK_MS,
  TEST_DEADLINES,
  spawnWithTestDeadlines,
  expectNothingLeft,
  expectPushFailed,
  timedRest,
  type TimedAnswer,
} from '../support/push-checks.js';
import { listPushes } from '../support/pushes.js';
import { FakeWhip, Tarpit, type FakeWhipOptions, type WhipStall } from '../support/whip-endpoint.js';

const deadlines = TEST_DEADLINES;
const TOKEN = 'whip-secret-token-1';

/**
 * A STUN server that answers every Binding request with the sender's address (XOR-MAPPED-ADDRESS), so a
 * peer that was told of it gathers a server-reflexive candidate.
 */
async function stunServer(): Promise<{ socket: dgram.Socket; requests: number }> {
  const socket = dgram.createSocket('udp4');
  const server = { socket, requests: 0 };
  socket.on('message', (msg, from) => {
    if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001 || msg.readUInt32BE(4) !== 0x2112a442) return;
    server.requests++;
    const attr = Buffer.alloc(12);
    attr.writeUInt16BE(0x0020, 0);
    attr.writeUInt16BE(8, 2);
    attr.writeUInt8(1, 5);
    attr.writeUInt16BE(from.port ^ 0x2112, 6);
    from.address
      .split('.')
      .forEach((b, i) => attr.writeUInt8(Number(b) ^ [0x21, 0x12, 0xa4, 0x42][i]!, 8 + i));
    const header = Buffer.alloc(20);
    header.writeUInt16BE(0x0101, 0);
    header.writeUInt16BE(attr.length, 2);
    msg.copy(header, 4, 4, 20);
    socket.send(Buffer.concat([header, attr]), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return server;
}

describe('push to a WHIP endpoint and pull from a WHEP one: every step with its deadline and code', () => {
  let s1: MediaProcess;
  let publisher: NodePeer;
  const fakes: FakeWhip[] = [];
  let baseline: OsResources;

  beforeAll(async () => {
    s1 = await spawnWithTestDeadlines();
    publisher = await NodePeer.publish(s1.wsUrl, 'src');
    await publisher.waitStatus('PUBLISHING');
    baseline = osResources(s1.child.pid!, [Number(new URL(s1.restUrl).port)]);
  });

  afterAll(async () => {
    await publisher?.stop();
    await Promise.all(fakes.map((f) => f.close()));
    await s1?.kill();
  });

  const fake = async (stall: WhipStall, options: FakeWhipOptions = {}): Promise<FakeWhip> => {
    const f = await FakeWhip.start(stall, options);
    fakes.push(f);
    return f;
  };

  const push = (uri: string, extra: Record<string, unknown> = {}): Promise<TimedAnswer> =>
    timedRest(s1.restUrl, '/rest-api/pull/push', { uri, localStreamName: 'src', authToken: TOKEN, ...extra });
  const pull = (uri: string, localStreamName: string): Promise<TimedAnswer> =>
    timedRest(s1.restUrl, '/rest-api/pull/pull', { uri, localStreamName, authToken: TOKEN });
  const failed = (r: TimedAnswer, code: string, info: RegExp, withinMs: number) =>
    expectPushFailed(s1.restUrl, r, code, info, withinMs);
  /** The endpoint saw the DELETE of its (first) session, with our token. */
  const expectDeleted = async (f: FakeWhip): Promise<void> => {
    const deleted = await waitFor(() => f.received('DELETE')[0], 'DELETE of the session');
    expect(deleted).toMatchObject({
      path: '/whip/sessions/1',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
  };
  const upToAnswer = deadlines.handshake + deadlines.connect + deadlines.answer;

  it('a port whose TCP connect never completes: PUSH_ERR_CONNECT_TIMEOUT', async () => {
    const tarpit = await Tarpit.start();
    try {
      await failed(
        await push(`http://127.0.0.1:${tarpit.port}/whip/x`),
        'PUSH_ERR_CONNECT_TIMEOUT',
        /no connection to http:\/\/127\.0\.0\.1:\d+\/whip\/x within/,
        deadlines.connect,
      );
    } finally {
      await tarpit.close();
    }
  });

  it('a closed port: PUSH_ERR_UNREACHABLE at once', async () => {
    const port = await freePort();
    await failed(await push(`http://127.0.0.1:${port}/whip/x`), 'PUSH_ERR_UNREACHABLE', /ECONNREFUSED/, 0);
  });

  it('an endpoint that accepts TCP but answers nothing: PUSH_ERR_HANDSHAKE_TIMEOUT on its OPTIONS', async () => {
    const f = await fake('silent');
    await failed(
      await push(f.url()),
      'PUSH_ERR_HANDSHAKE_TIMEOUT',
      /no answer to OPTIONS/,
      deadlines.handshake,
    );
  });

  it('an endpoint that never answers the offer: PUSH_ERR_ANSWER_TIMEOUT; the offer is WHIP as the RFC says, token and chain sent, the token listed nowhere', async () => {
    const f = await fake('answer');
    const r = await push(f.url('cam'));
    await failed(r, 'PUSH_ERR_ANSWER_TIMEOUT', /no answer SDP from .* to the WHIP POST/, upToAnswer);
    const [post] = f.received('POST');
    expect(post).toMatchObject({
      path: '/whip/cam',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${TOKEN}` },
    });
    expect(post!.body).toMatch(/^v=0\r\n/);
    expect(post!.body).toMatch(/a=sendonly/);
    expect(post!.body).toMatch(/a=candidate:/);
    // the chain the stream came by: this server's fleet under the local name
    const chain = decodeChainHeader(post!.headers[STREAMFED_CHAIN_HEADER] as string);
    expect(chain).toEqual([{ fleet: expect.any(String), name: 'src' }]);
    // the URL names the remote stream, and find_all says how the push speaks
    expect(r.body).toMatchObject({ push: { protocol: 'whip', remoteStreamName: 'cam', uri: f.url('cam') } });
    expect(JSON.stringify(await listPushes(s1.restUrl))).not.toContain(TOKEN);
    expect(JSON.stringify(r.body)).not.toContain(TOKEN);
  });

  it('a refusal: PUSH_ERR_REMOTE_REJECTED with the status and the problem code', async () => {
    const f = await fake('reject');
    await failed(
      await push(f.url()),
      'PUSH_ERR_REMOTE_REJECTED',
      /answered 500 .*the fake is broken \(FAKE_ERR_BROKEN\)/,
      upToAnswer,
    );
  });

  it('201 without a Location: PUSH_ERR_PROTOCOL', async () => {
    const f = await fake('no-location');
    await failed(await push(f.url()), 'PUSH_ERR_PROTOCOL', /answered 201 without a Location/, upToAnswer);
  });

  it('an endpoint that says the push would loop (409 PUSH_ERR_LOOP): 409 PUSH_ERR_LOOP, nothing listed', async () => {
    const f = await fake('loop');
    const r = await push(f.url());
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'PUSH_ERR_LOOP', message: expect.stringMatching(/answered 409/) });
    expect((await listPushes(s1.restUrl)).filter((p) => p.uri === f.url())).toEqual([]);
  });

  it('307 is followed (the offer posted again there); a redirect loop or one outside the allow-list is PUSH_ERR_PROTOCOL', async () => {
    const there = await fake('answer');
    const f = await fake('redirect', { redirectTo: there.url('moved') });
    await failed(await push(f.url('a')), 'PUSH_ERR_ANSWER_TIMEOUT', /no answer SDP/, upToAnswer);
    expect(there.received('POST')[0]).toMatchObject({ path: '/whip/moved' });
    expect(there.received('POST')[0]!.body).toBe(f.received('POST')[0]!.body);

    const loop = await fake('redirect');
    await failed(await push(loop.url('b')), 'PUSH_ERR_PROTOCOL', /over 5 redirects/, upToAnswer);
    expect(loop.received('POST')).toHaveLength(6);

    const away = await fake('redirect', { redirectTo: 'http://198.18.0.1/whip/x' });
    await failed(
      await push(away.url('c')),
      'PUSH_ERR_PROTOCOL',
      /redirected to http:\/\/198\.18\.0\.1\/whip\/x, which is not allowed/,
      upToAnswer,
    );
  });

  it('the ICE servers of its Link headers are our peer’s: werift asks the STUN server and offers a srflx candidate', async () => {
    const stun = await stunServer();
    try {
      const port = stun.socket.address().port;
      const f = await fake('answer', { iceServers: [{ urls: `stun:127.0.0.1:${port}` }] });
      await failed(await push(f.url()), 'PUSH_ERR_ANSWER_TIMEOUT', /no answer SDP/, upToAnswer + 5000);
      expect(stun.requests).toBeGreaterThan(0);
      expect(f.received('POST')[0]!.body).toMatch(/typ srflx/);
    } finally {
      stun.socket.close();
    }
  });

  it('an answer whose ICE never connects: PUSH_ERR_ICE_TIMEOUT, and the session is DELETEd', async () => {
    const f = await fake('ice');
    await failed(
      await push(f.url()),
      'PUSH_ERR_ICE_TIMEOUT',
      /ICE\/DTLS .* did not connect/,
      upToAnswer + deadlines.ice,
    );
    await expectDeleted(f);
  });

  it('connected, but no receiver report acknowledges our media: PUSH_ERR_NO_MEDIA, and the session is DELETEd', async () => {
    const f = await fake('media');
    const r = await push(f.url());
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const started = r.body as PushDescription;
    expect(started).toMatchObject({
      status: 'PUBLISHING',
      protocol: 'whip',
      delivery: { status: 'waiting' },
    });
    expect(f.received('DELETE')).toEqual([]);
    const gone = await waitFor(
      async () =>
        (await listPushes(s1.restUrl)).find(
          (p) => p.localMediaSessionId === started.localMediaSessionId && p.status === 'FAILED',
        ),
      'push FAILED for lack of delivery',
      deadlines.media + SLACK_MS,
    );
    expect(gone).toMatchObject({
      code: 'PUSH_ERR_NO_MEDIA',
      info: expect.stringMatching(/receiver reports/),
    });
    await expectDeleted(f);
  });

  it('a push that delivers, then is terminated: the endpoint sees the DELETE of its session', async () => {
    const f = await fake('stall-later');
    const r = await push(f.url('live'));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const id = (r.body as PushDescription).localMediaSessionId;
    await waitFor(
      async () =>
        (await listPushes(s1.restUrl)).find((p) => p.localMediaSessionId === id)?.delivery.status ===
        'delivering',
      'delivering',
    );
    expect(f.received('DELETE')).toEqual([]);
    expect((await rest(s1.restUrl, '/rest-api/pull/terminate', { localMediaSessionId: id })).status).toBe(
      200,
    );
    await expectDeleted(f);
  });

  it('a WHEP pull has the same deadlines: no answer → PUSH_ERR_ANSWER_TIMEOUT, a recvonly offer, nothing published here', async () => {
    const f = await fake('answer');
    const r = await pull(f.url('far'), 'pulled-here');
    await failed(r, 'PUSH_ERR_ANSWER_TIMEOUT', /no answer SDP from .* to the WHEP POST/, upToAnswer);
    expect(r.body).toMatchObject({ push: { protocol: 'whep', type: 'pull', remoteStreamName: 'far' } });
    const [post] = f.received('POST');
    expect(post).toMatchObject({
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${TOKEN}` },
    });
    expect(post!.body).toMatch(/a=recvonly/);
    expect(post!.headers).not.toHaveProperty(STREAMFED_CHAIN_HEADER);
    expect((await rest(s1.restUrl, '/rest-api/stream/find', { name: 'pulled-here' })).status).toBe(404);
  });

  it('a WHEP pull that connects but gets no media: PUSH_ERR_NO_MEDIA, its stream gone, the session DELETEd', async () => {
    const f = await fake('media');
    const r = await pull(f.url('far'), 'pulled-nothing');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const started = r.body as PushDescription;
    await waitFor(
      async () =>
        (await listPushes(s1.restUrl)).find(
          (p) => p.localMediaSessionId === started.localMediaSessionId && p.code === 'PUSH_ERR_NO_MEDIA',
        ),
      'pull FAILED for lack of media',
      deadlines.media + SLACK_MS,
    );
    await expectDeleted(f);
    await waitFor(
      async () =>
        (await rest(s1.restUrl, '/rest-api/stream/find', { name: 'pulled-nothing' })).status === 404,
      'the pulled stream gone',
    );
  });

  it('an authToken is for WHIP/WHEP targets only: 400 for a WCS uri; a uri of another scheme is 400', async () => {
    const ws = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: 'ws://127.0.0.1:1',
      localStreamName: 'src',
      authToken: TOKEN,
    });
    expect(ws.status).toBe(400);
    expect(JSON.stringify(ws.body)).not.toContain(TOKEN);
    const ftp = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: 'ftp://127.0.0.1/x',
      localStreamName: 'src',
    });
    expect(ftp.status).toBe(400);
    const far = await rest(s1.restUrl, '/rest-api/pull/push', {
      uri: 'http://198.18.0.1/whip/x',
      localStreamName: 'src',
    });
    expect(far.status).toBe(403);
  });

  it('leaves nothing behind: every failed push and pull terminated, fds and transports back to the baseline', async () => {
    await Promise.all(fakes.splice(0).map((f) => f.close()));
    // only the publisher's transport
    await expectNothingLeft(s1, baseline, 1);
  });
});
