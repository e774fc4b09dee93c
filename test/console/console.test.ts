import { mkdirSync } from 'node:fs';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushFailureCode } from '../../src/contracts/pull-api.js';
import { framesDecoded, framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { spawnFleet, type FleetMember } from '../support/media-fleet.js';
import { startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { freePort } from '../support/ports.js';
import { TwoWayStreamingPage } from '../support/websdk-page.js';

/** Where the test leaves its pictures of the views (an artifact; one of them is docs/console.png). */
const SHOTS = '.tmp/console';

/** Console messages a page logged as errors, but the network's reports of answers the test provoked. */
function watchErrors(page: Page, provoked: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() !== 'error') return;
    if (provoked.some((p) => p.test(message.text()))) return;
    errors.push(message.text());
  });
  return errors;
}

const row = (page: Page, name: string) => page.locator(`#streams tbody tr[data-stream="${name}"]`);
const pushRow = (page: Page, name: string) => page.locator(`#pushes tbody tr[data-stream="${name}"]`);

describe('the console at / of a three-member fleet', () => {
  let browser: Browser;
  let fleet: FleetMember[] = [];
  let target: RunningMedia;
  let sdkPublisher: TwoWayStreamingPage | undefined;
  const peers: NodePeer[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [fleet, target, browser] = await Promise.all([spawnFleet(3), startMedia(), launchBrowser()]);
    const [m1, m2, m3] = fleet as [FleetMember, FleetMember, FleetMember];
    // one stream from the Web SDK in Chromium on m1, one from a lighter client on m2, played on m3 (relayed)
    sdkPublisher = await TwoWayStreamingPage.open(browser, m1.restUrl, m1.wsUrl);
    await sdkPublisher.publish('cam-a');
    await sdkPublisher.waitPublishStatus('PUBLISHING');
    peers.push(await NodePeer.publish(m2.wsUrl, 'cam-b'));
    await peers[0]!.waitStatus('PUBLISHING');
    peers.push(await NodePeer.play(m3.wsUrl, 'cam-b'));
    await peers[1]!.waitStatus('PLAYING');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await browser?.close();
    await Promise.all([...fleet.map((m) => m.process.stop()), target?.stop()]);
  });

  it('lists every stream of the fleet with its origin, previews one over WHEP, pushes from the form, terminates, shows a failure code, without console errors', async () => {
    const [m1, , m3] = fleet as [FleetMember, FleetMember, FleetMember];
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // the push to a dead target answers 500 with its code: the browser reports that answer, nothing else
    const errors = watchErrors(page, [/status of 500/]);
    try {
      await page.goto(`${m1.restUrl}/`);
      await waitFor(async () => (await row(page, 'cam-a').count()) === 1, 'cam-a listed');
      await waitFor(async () => (await row(page, 'cam-b').count()) === 1, 'cam-b listed');
      expect(await row(page, 'cam-a').locator('.origin').textContent()).toBe('m1');
      expect(await row(page, 'cam-b').locator('.origin').textContent()).toBe('m2');
      // cam-b is played on m3, so relayed there, with its player counted there
      await waitFor(
        async () => (await row(page, 'cam-b').textContent())?.includes('m3: 1'),
        'cam-b relayed to m3 with one player',
      );
      // media flows: a bitrate, and no "no media" mark
      await waitFor(
        async () => !((await row(page, 'cam-a').getAttribute('class')) ?? '').includes('no-media'),
        'cam-a flowing',
      );
      // the filter box narrows the table
      await page.fill('#filter', 'cam-b');
      expect(await page.locator('#streams tbody tr').count()).toBe(1);
      await page.fill('#filter', '');
      await page.waitForTimeout(4500); // a few readings for the sparklines
      await page.screenshot({ path: `${SHOTS}/streams.png` });

      // preview over WHEP: the page's video decodes frames
      await row(page, 'cam-a').focus();
      await page.keyboard.press('Enter');
      await framesKeepDecoding(
        { framesDecoded: () => framesDecoded(page, '#view-preview') },
        'in the preview',
      );
      expect(await page.textContent('#addresses')).toContain(`${m1.restUrl}/whep/cam-a`);
      await page.screenshot({ path: `${SHOTS}/preview.png` });
      await page.click('#preview-stop');

      // a push from the form: PUBLISHING and delivering, and the stream plays on the target
      await page.click('#tab-pushes');
      await page.fill('#push-uri', target.wsUrl);
      await page.fill('#push-local', 'cam-a');
      await page.fill('#push-remote', 'cam-a-out');
      await page.click('#push-form button[type=submit]');
      await waitFor(
        async () =>
          (await pushRow(page, 'cam-a').locator('.status').textContent()) === 'PUBLISHING' &&
          (await pushRow(page, 'cam-a').locator('.delivery').textContent()) === 'delivering',
        'the push PUBLISHING and delivering',
        30_000,
      );
      const viewer = await NodePeer.play(target.wsUrl, 'cam-a-out');
      peers.push(viewer);
      await viewer.waitStatus('PLAYING');
      await waitFor(async () => viewer.received > 20, 'media played on the target');
      await page.screenshot({ path: `${SHOTS}/pushes.png` });

      // terminate: the row goes, and the stream with it on the target
      await pushRow(page, 'cam-a').locator('button.danger').click();
      await waitFor(async () => (await pushRow(page, 'cam-a').count()) === 0, 'the push gone from the table');
      expect(await page.textContent('#push-result')).toContain('terminated');
      await viewer.waitStatus('STOPPED');

      // a dead target: the refusal's code and message, and a FAILED row with its code
      const dead = await freePort();
      await page.fill('#push-uri', `ws://127.0.0.1:${dead}/`);
      await page.fill('#push-remote', 'nowhere');
      await page.click('#push-form button[type=submit]');
      await waitFor(
        async () => (await page.textContent('#push-result'))?.includes(PushFailureCode.UNREACHABLE),
        'the refusal with its code',
        30_000,
      );
      await waitFor(
        async () =>
          (await pushRow(page, 'cam-a').locator('.failure').textContent())?.includes(
            PushFailureCode.UNREACHABLE,
          ),
        'the FAILED push with its code in the table',
      );

      // fleet and server: three members up, each with its workers
      await page.click('#tab-fleet');
      await waitFor(
        async () => (await page.locator('#members .member .up').count()) === 3,
        'three members up',
      );
      expect(await page.textContent(`#members [data-member="${m3.memberId}"]`)).toContain('Worker');
      await page.screenshot({ path: `${SHOTS}/fleet.png` });

      // a phone's width: no horizontal page scroll outside the tables
      await page.setViewportSize({ width: 390, height: 800 });
      await page.click('#tab-streams');
      await page.screenshot({ path: `${SHOTS}/phone.png` });
      const overflow = await page.evaluate(() => {
        const d = (
          globalThis as unknown as {
            document: { documentElement: { scrollWidth: number; clientWidth: number } };
          }
        ).document.documentElement;
        return d.scrollWidth - d.clientWidth;
      });
      expect(overflow).toBeLessThanOrEqual(1);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 240_000);
});

describe('the console with REST auth on', () => {
  let browser: Browser;
  let server: RunningMedia;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startMedia({ rest: { token: 'console-secret' } }),
      launchBrowser(),
    ]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('asks for credentials; a wrong token sees nothing, the right one sees the server; WCS statistics need them too', async () => {
    expect((await fetch(`${server.restUrl}/?action=stat`)).status).toBe(401);
    const wrong = { headers: { authorization: 'Bearer nope' } };
    expect((await fetch(`${server.restUrl}/rest-api/console/state`, wrong)).status).toBe(401);
    const page = await browser.newPage();
    // the refused calls are what this test provokes
    const errors = watchErrors(page, [/status of 401/]);
    try {
      await page.goto(`${server.restUrl}/`);
      await page.waitForSelector('#signin:not([hidden])');
      expect(
        await page.evaluate(
          () =>
            (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement
              .id,
        ),
      ).toBe('signin-token');
      await page.fill('#signin-token', 'wrong');
      await page.click('#signin-form button[type=submit]');
      await waitFor(
        async () => (await page.textContent('#signin-error'))?.includes('refused'),
        'the wrong token refused',
      );
      expect(await page.isVisible('#view-streams')).toBe(false);
      expect(await page.locator('#streams tbody tr').count()).toBe(0);
      expect(await page.textContent('#summary')).not.toContain('members up');

      await page.fill('#signin-token', 'console-secret');
      await page.click('#signin-form button[type=submit]');
      await waitFor(async () => (await page.textContent('#summary'))?.includes('members up'), 'signed in');
      expect(await page.isVisible('#signin')).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
