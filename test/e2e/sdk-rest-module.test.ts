import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { rawRequest } from '../support/raw-http.js';
import { SdkPageServer, sdkStream, type SdkGlobals } from '../support/sdk-page.js';

/**
 * Flashphoner's own REST client (flashphoner-rest-api.js, the SDK's rest-module.js, loaded from the npm
 * package as served under /demo/) on a page of another origin: every call is a cross-origin XHR, GET when it
 * has no body, POST with `application/json;charset=UTF-8` (so preflighted) when it has one.
 */

type Outcome = { ok: true; value: unknown } | { ok: false };
type ApiCall = [api: 'pull' | 'stream' | 'connection', method: string, ...args: unknown[]];

/** Calls `FlashphonerRestApi.instance(url)[api][method](...args)` in the page; a rejection is {ok: false}. */
async function sdkRest(page: Page, url: string, ...call: ApiCall): Promise<Outcome> {
  return page.evaluate(
    async ({ url, call }) => {
      const [api, method, ...args] = call;
      const client = (globalThis as unknown as SdkGlobals).FlashphonerRestApi.instance(url);
      const fn = (client[api] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method];
      if (!fn) throw new Error(`no ${api}.${method} in the SDK's rest module`);
      try {
        return { ok: true as const, value: (await fn(...args)) ?? null };
      } catch {
        return { ok: false as const };
      }
    },
    { url, call },
  );
}

const ok = (value: unknown): Outcome => ({ ok: true, value });
const refused: Outcome = { ok: false };

/** Polls an SDK rest call until the list it resolves with has an item matching `check`. */
const listed = <T>(page: Page, url: string, call: ApiCall, check: (item: T) => boolean) =>
  waitFor(
    async () => {
      const r = await sdkRest(page, url, ...call);
      return r.ok && (r.value as T[]).some(check);
    },
    `${call.join('.')} on ${url} to list it`,
  );

describe("the Web SDK's own REST client, cross-origin", () => {
  let source: MediaProcess;
  let target: MediaProcess;
  let browser: Browser;
  let site: SdkPageServer;
  let page: Page;

  beforeAll(async () => {
    [source, target] = await Promise.all([spawnMedia(), spawnMedia()]);
    browser = await launchBrowser();
    site = await SdkPageServer.start(source.restUrl);
    page = await browser.newPage();
    await page.goto(site.url);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('finds, pushes, finds pulls and terminates them as the rest module sends it', async () => {
    // a camera published from the same page through the SDK
    const published = await sdkStream(page, source.wsUrl, 'cam', true);
    expect(published.status).toBe('PUBLISHING');

    // GET find_all (no body), POST find with the SDK's filters (and its display option)
    const src = (...call: ApiCall) => sdkRest(page, source.restUrl, ...call);
    const dst = (...call: ApiCall) => sdkRest(page, target.restUrl, ...call);
    const one = (fields: object) => ok([expect.objectContaining(fields)]);
    const all = await src('stream', 'findAll');
    expect(all).toEqual(one({ name: 'cam', published: true }));
    const [cam] = (all as { value: { mediaSessionId: string }[] }).value;
    const id = cam?.mediaSessionId;
    expect(await src('stream', 'find', undefined, 'cam', true)).toEqual(
      one({ name: 'cam', mediaSessionId: id }),
    );
    expect(await src('stream', 'find', id, 'cam', true, true)).toEqual(one({ name: 'cam' }));
    expect(await src('connection', 'findAll')).toEqual(one({ status: 'ESTABLISHED' }));

    // the pull family: push, GET find_all, terminate by names without uri
    expect(await src('pull', 'findAll')).toEqual(refused); // 404: none yet
    expect(await src('pull', 'push', target.wsUrl, 'cam', 'cam-remote')).toEqual(
      ok(expect.objectContaining({ localStreamName: 'cam', remoteStreamName: 'cam-remote', type: 'push' })),
    );
    await listed<{ status: string }>(
      page,
      source.restUrl,
      ['pull', 'findAll'],
      (p) => p.status === 'PUBLISHING',
    );
    expect(await dst('stream', 'findAll')).toEqual(one({ name: 'cam-remote', published: true }));
    expect(await src('pull', 'terminate', 'cam', 'cam-remote')).toEqual(one({ localStreamName: 'cam' }));
    expect(await src('pull', 'findAll')).toEqual(refused);
    expect((await rest(source.restUrl, '/rest-api/pull/find_all')).status).toBe(404);
    await waitFor(
      async () => (await rest(target.restUrl, '/rest-api/stream/find_all')).status === 404,
      'the remote copy to end',
    );

    // a pull the other way: the target plays "cam" from the source and publishes it as "cam-pulled"
    expect(await dst('pull', 'pull', source.wsUrl, 'cam-pulled', 'cam')).toEqual(
      ok(expect.objectContaining({ localStreamName: 'cam-pulled', remoteStreamName: 'cam', type: 'pull' })),
    );
    await listed<{ name: string }>(
      page,
      target.restUrl,
      ['stream', 'findAll'],
      (s) => s.name === 'cam-pulled',
    );
    expect(await dst('pull', 'terminate', 'cam-pulled')).toEqual(
      one({ type: 'pull', localStreamName: 'cam-pulled' }),
    );
    expect(await dst('pull', 'findAll')).toEqual(refused);

    // terminate the publisher by mediaSessionId
    expect(await src('stream', 'terminate', id)).toEqual(ok(null));
    await waitFor(
      async () => (await rest(source.restUrl, '/rest-api/stream/find_all')).status === 404,
      'the publisher to end',
    );
  }, 90_000);

  it('answers preflights for the configured origins only', async () => {
    const strict = await spawnMedia(['--cors-origin', 'http://console.example,http://ops.example']);
    try {
      const preflight = (origin: string) =>
        rawRequest(strict.restUrl, 'OPTIONS', '/rest-api/pull/terminate', {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        });
      expect((await preflight('http://ops.example')).headers['access-control-allow-origin']).toBe(
        'http://ops.example',
      );
      expect((await preflight('http://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
      const get = await rawRequest(strict.restUrl, 'GET', '/rest-api/pull/find_all', {
        origin: 'http://console.example',
      });
      expect(get.status).toBe(404);
      expect(get.headers['access-control-allow-origin']).toBe('http://console.example');
    } finally {
      await strict.stop();
    }
  }, 60_000);
});
