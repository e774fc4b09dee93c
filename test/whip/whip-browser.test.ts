import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { framesDecoded, framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';
import { waitWhipPublishing } from '../support/whip/partner.js';

/**
 * Browser WHIP/WHEP clients nobody here wrote, in Chromium against one media server: npm `whip-whep`'s
 * WHIPClient publishes the fake camera to /whip/<name> (the Web SDK's Player plays it) and its WHEPClient
 * plays via /whep/<name> a stream the Web SDK published; `@eyevinn/webrtc-player` (type 'whep') plays one
 * too. Their modules are served on the server's own origin by the page's request routing (/partner/...).
 */
const PAGE = `<!doctype html><html><body><div id="out"><video autoplay muted playsinline></video></div>
<script type="module">
import { WHIPClient } from './whip.js';
import { WHEPClient } from './whep.js';
import { WebRTCPlayer } from './webrtc-player.js';
Object.assign(window, { WHIPClient, WHEPClient, WebRTCPlayer, partnerReady: true });
</script></body></html>`;

/** The page's scripts, each run in the page (strings: the Node build has no DOM types). */
const WHIP_PUBLISH = `(async (url) => {
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
  window.client = new WHIPClient();
  await window.client.publish(pc, url);
})`;
const WHEP_VIEW = `(async (url) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.ontrack = (event) => { document.querySelector('video').srcObject = event.streams[0] ?? new MediaStream([event.track]); };
  window.client = new WHEPClient();
  await window.client.view(pc, url);
})`;
const EYEVINN_LOAD = `(async (url) => {
  window.client = new WebRTCPlayer({ video: document.querySelector('video'), type: 'whep', iceServers: [] });
  await window.client.load(new URL(url));
})`;

describe('WHIP/WHEP browser clients: whip-whep and @eyevinn/webrtc-player in Chromium', () => {
  let media: RunningMedia;
  let browser: Browser;
  const pages: Page[] = [];
  const modules = new Map<string, string>();

  /** A page on the server's origin with the partner modules loaded. */
  async function partnerPage(): Promise<Page> {
    const page = await browser.newPage();
    pages.push(page);
    await page.route(`${media.restUrl}/partner/**`, async (route) => {
      const file = new URL(route.request().url()).pathname.replace('/partner/', '');
      const body = file === 'index.html' ? PAGE : modules.get(file);
      if (body === undefined) return route.fulfill({ status: 404 });
      const contentType = file.endsWith('.html') ? 'text/html' : 'text/javascript';
      return route.fulfill({ status: 200, contentType, body });
    });
    await page.goto(`${media.restUrl}/partner/index.html`);
    await waitFor(() => page.evaluate('window.partnerReady === true'), 'the partner modules loaded', 25_000);
    return page;
  }

  const video = (page: Page) => ({ framesDecoded: () => framesDecoded(page, '#out') });

  /** The Web SDK publishes `name`; a partner page runs `script` on /whep/<name> and decodes frames. */
  async function playSdkStream(name: string, script: string, where: string) {
    const publisher = await TwoWayStreamingPage.open(browser, media.restUrl, media.wsUrl);
    pages.push(publisher.page);
    await publisher.publish(name);
    await publisher.waitPublishStatus('PUBLISHING', 60_000);
    const page = await partnerPage();
    await page.evaluate(`${script}(${JSON.stringify(`${media.restUrl}/whep/${name}`)})`);
    await framesKeepDecoding(video(page), where, 60_000);
    return { publisher, page };
  }

  beforeAll(async () => {
    const whipWhep = path.join(packageRoot, 'node_modules/whip-whep');
    modules.set('whip.js', await readFile(path.join(whipWhep, 'whip.js'), 'utf8'));
    modules.set('whep.js', await readFile(path.join(whipWhep, 'whep.js'), 'utf8'));
    // @eyevinn/webrtc-player ships CommonJS with dependencies: bundled here into one browser module
    const bundled = await build({
      stdin: { contents: "export { WebRTCPlayer } from '@eyevinn/webrtc-player';", resolveDir: packageRoot },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    modules.set('webrtc-player.js', bundled.outputFiles[0]?.text ?? '');
    media = await startMedia();
    browser = await launchBrowser();
  }, 120_000);
  afterEach(async () => {
    await Promise.all(pages.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await browser?.close();
    await media?.stop();
  });

  it('whip-whep WHIPClient publishes the fake camera via WHIP; the Web SDK Player decodes frames; stop() stops it', async () => {
    const name = 'whipjs-cam';
    const page = await partnerPage();
    await page.evaluate(`${WHIP_PUBLISH}(${JSON.stringify(`${media.restUrl}/whip/${name}`)})`);
    await waitWhipPublishing(media.restUrl, name);
    const player = await PlayerPage.open(browser, media.restUrl, media.wsUrl, name);
    pages.push(player.page);
    await player.waitStatus('PLAYING', 60_000);
    await framesKeepDecoding(player, 'in the Web SDK Player', 60_000);
    await page.evaluate('window.client.stop()');
    await player.waitStatus('STOPPED', 30_000);
  }, 240_000);

  it('whip-whep WHEPClient plays via WHEP a stream the Web SDK published, decoding frames; stop() ends only the player', async () => {
    const name = 'whepjs-sdk';
    const { publisher, page } = await playSdkStream(name, WHEP_VIEW, 'in the WHEPClient page');
    await page.evaluate('window.client.stop()');
    await waitFor(async () => {
      const found = await rest(media.restUrl, '/rest-api/stream/find', { name, published: false });
      return found.status === 404;
    }, 'the WHEP player gone');
    expect(await publisher.publishStatus()).toBe('PUBLISHING');
  }, 240_000);

  it('@eyevinn/webrtc-player (whep) plays via WHEP a stream the Web SDK published, decoding frames', async () => {
    const name = 'eyevinn-sdk';
    const { publisher, page } = await playSdkStream(name, EYEVINN_LOAD, 'in the webrtc-player page');
    await page.evaluate('window.client.unload()');
    await publisher.stopPublishing();
  }, 240_000);
});
