import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';

describe('official Web SDK demo pages against one media server', () => {
  let media: RunningMedia;
  let browser: Browser;

  beforeAll(async () => {
    media = await startMedia();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await media?.stop();
  });

  it('publishes from Two Way Streaming, plays in Player with decoded frames, then stops', async () => {
    expect((await rest(media.restUrl, '/rest-api/stream/find_all')).status).toBe(404);

    const publisher = await TwoWayStreamingPage.open(browser, media.restUrl, media.wsUrl);
    await publisher.publish('camera-1');
    await publisher.waitPublishStatus('PUBLISHING');

    const found = await rest(media.restUrl, '/rest-api/stream/find_all');
    expect(found.status).toBe(200);
    expect(found.body).toEqual([
      expect.objectContaining({
        name: 'camera-1',
        published: true,
        status: 'PUBLISHING',
        hasVideo: true,
        hasAudio: true,
      }),
    ]);

    const player = await PlayerPage.open(browser, media.restUrl, media.wsUrl, 'camera-1');
    await player.waitStatus('PLAYING');
    await framesKeepDecoding(player, 'in the Player');

    const both = await rest(media.restUrl, '/rest-api/stream/find_all');
    expect((both.body as { published: boolean }[]).map((s) => s.published).sort()).toEqual([false, true]);

    await player.stop();
    await player.waitStatus('STOPPED');
    await publisher.stopPublishing();
    await publisher.waitPublishStatus('UNPUBLISHED');

    await waitFor(
      async () => (await rest(media.restUrl, '/rest-api/stream/find_all')).status === 404,
      'no streams left',
    );
    await waitFor(() => media.server.engine.objectCounts().transport === 0, 'transports closed');
  });

  it('tells players STOPPED when the publisher leaves', async () => {
    const publisher = await TwoWayStreamingPage.open(browser, media.restUrl, media.wsUrl);
    await publisher.publish('camera-2');
    await publisher.waitPublishStatus('PUBLISHING');
    await publisher.play('camera-2');
    await publisher.waitPlayStatus('PLAYING');
    await framesKeepDecoding(publisher, 'in the loopback');
    await publisher.stopPublishing();
    await publisher.waitPublishStatus('UNPUBLISHED');
    await publisher.waitPlayStatus('STOPPED');
  });

  it('fails a second publisher of the same name, and leaves the first one alone', async () => {
    const first = await TwoWayStreamingPage.open(browser, media.restUrl, media.wsUrl);
    await first.publish('taken');
    await first.waitPublishStatus('PUBLISHING');

    const second = await TwoWayStreamingPage.open(browser, media.restUrl, media.wsUrl);
    await second.publish('taken');
    await second.waitPublishStatus('FAILED');
    expect(await second.publishInfo()).toBe(
      'Server already has a publish stream with the same name, try using different one',
    );

    const streams = await rest(media.restUrl, '/rest-api/stream/find', { name: 'taken' });
    expect(streams.body).toEqual([expect.objectContaining({ status: 'PUBLISHING', published: true })]);
    await first.stopPublishing();
    await first.waitPublishStatus('UNPUBLISHED');
  });

  it('fails play of an unknown stream with "Stream not found"', async () => {
    const page = await TwoWayStreamingPage.open(browser, media.restUrl, media.wsUrl);
    await page.play('nobody-publishes-this');
    await page.waitPlayStatus('FAILED');
    expect(await page.playInfo()).toContain('Stream not found');
  });
});
