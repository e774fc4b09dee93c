import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { allocateMediaPorts, launchMedia, type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { AutoRestorePage } from '../support/websdk-page.js';

/** Whether a server lists a published stream of that name. */
async function publishes(restUrl: string, name: string): Promise<boolean> {
  const found = await rest(restUrl, '/rest-api/stream/find_all').catch(() => undefined);
  const all = found?.status === 200 ? (found.body as { name: string; published: boolean }[]) : [];
  return all.some((s) => s.name === name && s.published);
}

/**
 * A rollout stops a media server with SIGTERM and starts it again. The official `stream-auto-restore` demo
 * page (unmodified, in Chromium) must take the stop for a lost server and publish again by itself once the
 * server is back, as it does after a crash; a clean stop (UNPUBLISHED, a closing handshake) tells it the
 * publisher stopped on purpose, and it never republishes.
 */
describe('a SIGTERM stop lets the stream-auto-restore page publish again by itself', () => {
  let browser: Browser;
  const running: MediaProcess[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((m) => m.kill()));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('publishes again on the restarted server (same ports), with no click', async () => {
    const ports = await allocateMediaPorts();
    const args = ['--drain-seconds', '1'];
    const first = await launchMedia(ports, args, {}, {});
    running.push(first);
    const page = await AutoRestorePage.open(browser, AutoRestorePage.url(first.restUrl), first.wsUrl);
    const name = await page.streamName();
    expect(await publishes(first.restUrl, name)).toBe(true);

    expect(await first.stop()).toBe(0);
    const second = await launchMedia(ports, args, {}, {});
    running.push(second);
    // the page retries every 3 s: generous for a loaded machine
    await waitFor(() => publishes(second.restUrl, name), 'the page to publish again', 45_000, 500);
    await page.waitPublishStatus('PUBLISHING');
    await page.page.close();
  }, 120_000);
});
