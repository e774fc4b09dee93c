import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';

interface Described {
  name: string;
  published: boolean;
  mediaType: string;
  width: number;
  height: number;
}

/** The decoded size of the first <video> in a container of the page. */
async function videoSize(
  page: PlayerPage['page'],
  container: string,
): Promise<{ width: number; height: number }> {
  type Video = { videoWidth: number; videoHeight: number };
  type Doc = { querySelector(s: string): Video | null };
  return page.evaluate((selector) => {
    const video = (globalThis as unknown as { document: Doc }).document.querySelector(`${selector} video`);
    return { width: video?.videoWidth ?? 0, height: video?.videoHeight ?? 0 };
  }, container);
}

describe('the official Web SDK: names, sizes and refusals as the SDK sees them', () => {
  let media: RunningMedia;
  let browser: Browser;
  let page: TwoWayStreamingPage;

  beforeAll(async () => {
    media = await startMedia();
    browser = await launchBrowser();
    page = await TwoWayStreamingPage.open(browser, media.restUrl, media.wsUrl);
  });
  afterAll(async () => {
    await browser?.close();
    await media?.stop();
  });

  it('publishes and plays a name with spaces, and describes it with the size the video has', async () => {
    const name = 'my camera 1 <b>';
    await page.publish(name);
    await page.waitPublishStatus('PUBLISHING');
    // Chromium refuses an answer whose a=msid holds a space: the stream id there is ours, not the name
    await page.play(name);
    await page.waitPlayStatus('PLAYING');
    await framesKeepDecoding(page, 'in the loopback');
    await page.stopPlaying();
    await page.waitPlayStatus('STOPPED');
    // the Player demo as its users open it, with ?resolution= (sent as strings; we forward, never scale)
    const player = await PlayerPage.open(browser, media.restUrl, media.wsUrl, name, '?resolution=640x480');
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'in the Player');

    // what find says is what the player decodes (Chromium may rescale while it runs: read both until equal)
    await waitFor(async () => {
      const decoded = await videoSize(player.page, '#remoteVideo');
      const r = await rest(media.restUrl, '/rest-api/stream/find', { name });
      const list = r.body as Described[];
      return (
        decoded.width > 0 &&
        list.length === 2 &&
        list.every((d) => d.width === decoded.width && d.height === decoded.height)
      );
    }, 'stream descriptions with the decoded video size');
    const list = (await rest(media.restUrl, '/rest-api/stream/find', { name })).body as Described[];
    expect(list.map((d) => [d.mediaType, d.published]).sort()).toEqual([
      ['play', false],
      ['publish', true],
    ]);

    const metrics = await rest(media.restUrl, '/rest-api/stream/find', {
      name,
      published: true,
      display: ['metrics'],
    });
    expect(metrics.body).toEqual([
      expect.objectContaining({
        metrics: expect.objectContaining({ VIDEO_WIDTH: list[0]!.width, VIDEO_RATE: expect.any(Number) }),
      }),
    ]);

    await player.stop();
    await player.waitStatus('STOPPED');
    await page.stopPublishing();
    await page.waitPublishStatus('UNPUBLISHED');
  });

  it('reads the size of H264 video too (Chromium publishing H264 through the SDK)', async () => {
    const name = 'h264 camera';
    const published = await page.sdkStream(name, true, { stripCodecs: 'VP8,VP9,AV1' });
    expect(published).toMatchObject({ statuses: ['PENDING', 'PUBLISHING'] });
    const [publisher] = (await rest(media.restUrl, '/rest-api/stream/find', { name })).body as {
      videoCodec: string;
    }[];
    expect(publisher?.videoCodec).toBe('H264');
    const player = await PlayerPage.open(browser, media.restUrl, media.wsUrl, name);
    await player.waitStatus('PLAYING');
    await waitFor(async () => {
      const decoded = await videoSize(player.page, '#remoteVideo');
      const list = (await rest(media.restUrl, '/rest-api/stream/find', { name })).body as Described[];
      return decoded.width > 0 && list.every((d) => d.width === decoded.width && d.height === decoded.height);
    }, 'H264 stream descriptions with the decoded video size');
    await player.page.close();
    expect((await rest(media.restUrl, '/rest-api/stream/terminate', { name })).status).toBe(200);
    await waitFor(
      async () => (await rest(media.restUrl, '/rest-api/stream/find', { name })).status === 404,
      'the H264 stream ended',
    );
  });

  it('ends a refused publish as FAILED with the reason, on the demo page and in the SDK stream', async () => {
    await page.publish('x'.repeat(257));
    await page.waitPublishStatus('FAILED');
    expect(await page.publishInfo()).toContain('stream name is longer than 256 characters');

    for (const publish of [true, false]) {
      const seen = await page.sdkStream('line\nbreak', publish);
      expect({ publish, ...seen }).toEqual({
        publish,
        statuses: publish ? ['FAILED'] : ['PENDING', 'FAILED'],
        info: 'stream name must not contain control characters or line separators',
      });
    }
  });

  it('ends a refused play as FAILED with the reason, on the demo page and in the SDK stream', async () => {
    await page.play('n'.repeat(300));
    await page.waitPlayStatus('FAILED');
    expect(await page.playInfo()).toContain('stream name is longer than 256 characters');
    expect(await page.sdkStream('nobody publishes this', false)).toEqual({
      statuses: ['PENDING', 'FAILED'],
      info: 'Stream not found',
    });
    expect(media.server.engine.objectCounts()).toMatchObject({ transport: 0, producer: 0, consumer: 0 });
  });
});
