import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { HooksBackend } from '../support/hooks-backend.js';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import { NodePeer } from '../support/node-peer.js';
import { freePort } from '../support/ports.js';
import { SdkPageServer, type SdkGlobals, type SdkSession, type SdkStream } from '../support/sdk-page.js';
import { WcsSocket } from '../support/wcs-socket.js';

const secret = 'hook-signing-secret';

/**
 * A backend answering WCS REST hooks as a customer's would: connect needs `custom.token`, some names may not
 * be published or played, one name never gets an answer. It checks WCS's signature (HMAC-MD5 of the body
 * in `Authorization: WCS <hex>`) and answers 403 to an unsigned or wrongly signed request, as WCS documents.
 */
const startBackend = (): Promise<HooksBackend> =>
  HooksBackend.start(
    ({ hook, body, signed }) => {
      if (!signed) return { refuse: 'bad signature' };
      const custom = body['custom'] as { token?: string } | undefined;
      if (hook === 'connect' && custom?.token !== 'let-me-in') return { refuse: 'a valid token is required' };
      if ((hook === 'publishStream' || hook === 'playStream') && body['name'] === 'slow') return 'silent';
      if (hook === 'publishStream' && body['name'] === 'forbidden')
        return { refuse: 'publishing "forbidden" is not allowed here' };
      if (hook === 'playStream' && body['name'] === 'members-only') return { refuse: 'members only' };
      if (body['name'] === 'broken-backend')
        return {
          status: 500,
          contentType: 'text/html',
          body: '<html><body><h1>Whitelabel Error Page</h1></body></html>',
        };
      return undefined;
    },
    { secret },
  );

/** The hook requests a media process counted, by hook and result. */
const hookRequests = (media: MediaProcess, hook: string, result: string): Promise<number> =>
  metric(media.restUrl, 'streamfed_hook_requests_total', { hook, result });

const offerLike = 'v=0\r\n'; // refused streams never reach SDP negotiation

describe('WCS REST hooks', () => {
  let backend: HooksBackend;
  let media: MediaProcess;
  beforeAll(async () => {
    backend = await startBackend();
    media = await spawnMedia([
      '--hooks-url',
      backend.url,
      '--hooks-secret',
      secret,
      '--hooks-timeout-ms',
      '1500',
    ]);
  }, 60_000);
  afterAll(async () => {
    await media?.stop();
    await backend?.close();
  });

  it('refuses a connection without the token: the reason, then the socket drops', async () => {
    const ws = await connectWith(media.wsUrl, 'wrong');
    const fail = await ws.next('fail');
    expect(fail.data[0]).toEqual({ apiMethod: 'connection', info: 'a valid token is required' });
    expect((await ws.closed).code).toBe(1006); // no closing handshake: the browser reports an error
    expect(backend.of('connect').at(-1)?.body).toMatchObject({
      custom: { token: 'wrong' },
      appKey: 'defaultApp',
    });
    expect(await hookRequests(media, 'connect', 'refused')).toBeGreaterThanOrEqual(1);
    await waitFor(
      async () => (await metric(media.restUrl, 'streamfed_ws_sessions')) === 0,
      'the refused session freed',
    );
  });

  it('allows a connection with the token; refuses a publish and a play by name with the backend info', async () => {
    const ws = await connectWith(media.wsUrl, 'let-me-in', { sessionId: '/someone-else', nodeId: 'spoofed' });
    const userData = (await ws.next('getUserData')).data[0] as { sessionId: string };
    const connect = backend.of('connect').at(-1);
    expect(connect).toMatchObject({
      signed: true,
      body: { sessionId: userData.sessionId, custom: { token: 'let-me-in' } },
    });
    expect(connect?.body['nodeId']).toEqual(expect.any(String));
    expect(connect?.body['nodeId']).not.toBe('spoofed');
    await backend.heard('ConnectionStatusEvent', { sessionId: userData.sessionId, status: 'ESTABLISHED' });

    ws.send('publishStream', {
      mediaSessionId: 'pub-1',
      name: 'forbidden',
      sdp: offerLike,
      custom: { seat: 7 },
      // a client cannot speak for another session
      sessionId: '/someone-else',
      nodeId: 'spoofed',
    });
    const failed = (await ws.next('notifyStreamStatusEvent')).data[0];
    expect(failed).toMatchObject({
      mediaSessionId: 'pub-1',
      name: 'forbidden',
      status: 'FAILED',
      info: 'publishing "forbidden" is not allowed here',
    });
    const publish = backend.of('publishStream').at(-1)?.body;
    expect(publish).toMatchObject({
      name: 'forbidden',
      sessionId: userData.sessionId,
      mediaSessionId: 'pub-1',
      published: true,
      mediaType: 'publish',
      custom: { seat: 7 },
    });
    expect(publish).not.toHaveProperty('sdp');
    expect(publish?.['nodeId']).toBe(connect?.body['nodeId']);

    ws.send('playStream', { mediaSessionId: 'play-1', name: 'members-only', sdp: offerLike });
    expect((await ws.next('notifyStreamStatusEvent')).data[0]).toMatchObject({
      mediaSessionId: 'play-1',
      status: 'FAILED',
      info: 'members only',
    });
    expect(backend.of('playStream').at(-1)?.body).toMatchObject({ name: 'members-only', published: false });
    const event = await backend.heard('StreamStatusEvent', { mediaSessionId: 'pub-1', status: 'FAILED' });
    expect(event.body).toMatchObject({
      name: 'forbidden',
      sessionId: userData.sessionId,
      mediaType: 'publish',
    });
    ws.close();
    await backend.heard('ConnectionStatusEvent', { sessionId: userData.sessionId, status: 'DISCONNECTED' });
    expect(backend.calls.every((c) => c.signed)).toBe(true);
    // refused before any media: nothing was made
    expect(await metric(media.restUrl, 'streamfed_mediasoup_objects', { type: 'transport' })).toBe(0);
    expect(await metric(media.restUrl, 'streamfed_streams_published')).toBe(0);
  });

  it('refuses on a backend error page with the status line, not the page', async () => {
    const { ws } = await established(media.wsUrl);
    ws.send('playStream', { mediaSessionId: 'play-broken', name: 'broken-backend', sdp: offerLike });
    expect((await ws.next('notifyStreamStatusEvent')).data[0]).toMatchObject({
      status: 'FAILED',
      info: 'REST hook playStream refused: 500 Internal Server Error',
    });
    ws.close();
  });

  it('refuses when the backend does not answer in time, and counts it', async () => {
    const before = await hookRequests(media, 'publishStream', 'timeout');
    const { ws } = await established(media.wsUrl);
    ws.send('publishStream', { mediaSessionId: 'pub-slow', name: 'slow', sdp: offerLike });
    const failed = (await ws.next('notifyStreamStatusEvent', 15_000)).data[0];
    expect(failed).toMatchObject({
      status: 'FAILED',
      info: 'REST hook publishStream: no answer within 1500 ms',
    });
    expect(await hookRequests(media, 'publishStream', 'timeout')).toBe(before + 1);
    ws.close();
  });

  it('refuses everything when the backend is down, and counts it', async () => {
    const down = await spawnMedia(['--hooks-url', `http://127.0.0.1:${await freePort()}/hooks`]);
    try {
      const ws = await connectWith(down.wsUrl, 'let-me-in');
      const fail = (await ws.next('fail')).data[0] as { info: string };
      expect(fail.info).toMatch(/^REST hook connect: backend unreachable \(ECONNREFUSED\)$/);
      await ws.closed;
      expect(await hookRequests(down, 'connect', 'unreachable')).toBe(1);
      expect(await hookRequests(down, 'connect', 'allowed')).toBe(0);
    } finally {
      await down.stop();
    }
  }, 60_000);

  describe('through the Web SDK in Chromium', () => {
    let browser: Browser;
    let site: SdkPageServer;
    let page: Page;
    beforeAll(async () => {
      browser = await launchBrowser();
      site = await SdkPageServer.start(media.restUrl);
      page = await browser.newPage();
      await page.goto(site.url);
    });
    afterAll(async () => {
      await browser?.close();
      await site?.close();
    });

    it('sees a refused session FAILED, a refused publish or play FAILED with the info, an allowed publish PUBLISHING', async () => {
      // Runs in the page with the SDK's own bundle; typed loosely, the Node build has no DOM types.
      const outcome = await page.evaluate(
        async ({ wsUrl }) => {
          const g = globalThis as unknown as SdkGlobals;
          const fp = g.Flashphoner;
          const display = g.document.getElementById('display');
          fp.init({});
          const S = fp.constants.SESSION_STATUS;
          const T = fp.constants.STREAM_STATUS;
          const connect = (
            custom: object | undefined,
          ): Promise<{ status: string; warn?: string; session: SdkSession }> =>
            new Promise((resolve) => {
              let warn: string | undefined;
              const session: SdkSession = fp
                .createSession({ urlServer: wsUrl, ...(custom ? { custom } : {}) })
                .on(S['WARN'] ?? 'WARN', (e) => (warn = e.info))
                .on(S['ESTABLISHED'] ?? '', () => resolve({ status: 'ESTABLISHED', session }))
                .on(S['FAILED'] ?? '', () => resolve({ status: 'FAILED', warn, session }))
                .on(S['DISCONNECTED'] ?? '', () => resolve({ status: 'DISCONNECTED', warn, session }));
            });
          /** Publishes or plays `name`; resolves at the first of PUBLISHING/PLAYING/FAILED. */
          const start = (
            session: SdkSession,
            name: string,
            how: 'publish' | 'play',
          ): Promise<{ status: string; info: string; stream: SdkStream }> =>
            new Promise((resolve) => {
              const stream = session.createStream({ name, display });
              for (const status of [T['PUBLISHING'], T['PLAYING'], T['FAILED']])
                stream.on(status ?? '', () =>
                  resolve({ status: stream.status(), info: stream.getInfo(), stream }),
                );
              stream[how]();
            });
          const refused = await connect({ token: 'nope' });
          const allowed = await connect({ token: 'let-me-in' });
          const forbidden = await start(allowed.session, 'forbidden', 'publish');
          const fine = await start(allowed.session, 'fine', 'publish');
          const membersOnly = await start(allowed.session, 'members-only', 'play');
          fine.stream.stop();
          allowed.session.disconnect();
          return {
            refused: { status: refused.status, warn: refused.warn },
            allowed: allowed.status,
            forbidden: { status: forbidden.status, info: forbidden.info },
            fine: fine.status,
            membersOnly: { status: membersOnly.status, info: membersOnly.info },
          };
        },
        { wsUrl: media.wsUrl },
      );
      expect(outcome).toEqual({
        refused: { status: 'FAILED', warn: 'a valid token is required' },
        allowed: 'ESTABLISHED',
        forbidden: { status: 'FAILED', info: 'publishing "forbidden" is not allowed here' },
        fine: 'PUBLISHING',
        membersOnly: { status: 'FAILED', info: 'members only' },
      });
      expect(backend.of('publishStream').some((c) => c.body['name'] === 'fine')).toBe(true);
    }, 60_000);
  });

  it('lets a push from another server in with its custom token, and refuses it without', async () => {
    const source = await spawnMedia();
    const camera = await NodePeer.publish(source.wsUrl, 'relay-cam');
    try {
      await camera.waitStatus('PUBLISHING');
      const push = (custom?: object) =>
        rest(source.restUrl, '/rest-api/pull/push', {
          uri: media.wsUrl,
          localStreamName: 'relay-cam',
          ...(custom ? { custom } : {}),
        });
      const refused = await push();
      expect(refused).toMatchObject({
        status: 500,
        body: {
          code: 'PUSH_ERR_REMOTE_REJECTED',
          push: { status: 'FAILED', info: expect.stringContaining('a valid token is required') },
        },
      });
      const allowed = await push({ token: 'let-me-in' });
      expect(allowed).toMatchObject({ status: 200, body: { status: 'PUBLISHING' } });
      expect(backend.of('publishStream').at(-1)?.body).toMatchObject({
        name: 'relay-cam',
        published: true,
        custom: { token: 'let-me-in' },
      });
    } finally {
      await camera.stop();
      await source.stop();
    }
  }, 60_000);

  it('tells the backend of the sessions a graceful stop ends', async () => {
    const ws = await connectWith(media.wsUrl, 'let-me-in');
    const { sessionId } = (await ws.next('getUserData')).data[0] as { sessionId: string };
    expect(await media.stop()).toBe(0);
    await backend.heard('ConnectionStatusEvent', { sessionId, status: 'DISCONNECTED' });
  });
});

/** Opens a WCS session and sends `connection` with `custom.token`, as a client of the backend would. */
async function connectWith(url: string, token: string, extra: object = {}): Promise<WcsSocket> {
  const ws = await WcsSocket.open(url);
  ws.send('connection', { appKey: 'defaultApp', mediaProviders: ['WebRTC'], custom: { token }, ...extra });
  return ws;
}

async function established(url: string): Promise<{ ws: WcsSocket }> {
  const ws = await connectWith(url, 'let-me-in');
  await ws.next('getUserData');
  return { ws };
}
