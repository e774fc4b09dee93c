import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { spawnFleet, waitFleetIdle, type FleetMember } from '../support/media-fleet.js';
import { metric } from '../support/metrics.js';
import { rest, waitFor } from '../support/media-server.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';

describe('publish on one member, play on any: the official Web SDK against a three-member fleet', () => {
  let fleet: FleetMember[];
  let browser: Browser;

  beforeAll(async () => {
    fleet = await spawnFleet(3, ['--relay-idle-seconds', '2']);
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all((fleet ?? []).map((m) => m.process.stop()));
  });

  it('plays on members 2 and 3 with frames decoding, refuses the name on 3, ends players with the publisher', async () => {
    const [m1, m2, m3] = fleet as [FleetMember, FleetMember, FleetMember];
    const publisher = await TwoWayStreamingPage.open(browser, m1.restUrl, m1.wsUrl);
    await publisher.publish('fleet-camera');
    await publisher.waitPublishStatus('PUBLISHING');

    const players = [
      await PlayerPage.open(browser, m2.restUrl, m2.wsUrl, 'fleet-camera'),
      await PlayerPage.open(browser, m3.restUrl, m3.wsUrl, 'fleet-camera'),
    ];
    for (const player of players) {
      await player.waitStatus('PLAYING');
      await framesKeepDecoding(player, 'on a member');
    }

    const second = await TwoWayStreamingPage.open(browser, m3.restUrl, m3.wsUrl);
    await second.publish('fleet-camera');
    await second.waitPublishStatus('FAILED');
    expect(await second.publishInfo()).toBe(
      'Server already has a publish stream with the same name, try using different one',
    );
    const origin = await rest(m1.restUrl, '/rest-api/stream/find', { name: 'fleet-camera', published: true });
    expect(origin.body).toEqual([expect.objectContaining({ status: 'PUBLISHING' })]);
    expect((origin.body as object[])[0]).not.toHaveProperty('relayed');
    const all = await rest(m3.restUrl, '/rest-api/stream/find_all');
    expect(all.body).toContainEqual(
      expect.objectContaining({ name: 'fleet-camera', published: true, relayed: true, origin: 'm1' }),
    );
    await framesKeepDecoding(players[0]!, 'from the first publisher, undisturbed');

    await publisher.stopPublishing();
    await publisher.waitPublishStatus('UNPUBLISHED');
    for (const player of players) await player.waitStatus('STOPPED');
    await waitFleetIdle(fleet);
  });

  it('fails players on other members within 5 s of the origin dying, and plays again once it is back', async () => {
    const [m1, m2] = fleet as [FleetMember, FleetMember, FleetMember];
    const publisher = await TwoWayStreamingPage.open(browser, m1.restUrl, m1.wsUrl);
    await publisher.publish('fleet-kill');
    await publisher.waitPublishStatus('PUBLISHING');
    const player = await PlayerPage.open(browser, m2.restUrl, m2.wsUrl, 'fleet-kill');
    await player.waitStatus('PLAYING');

    // the publisher's page stays open: closing it first would unpublish, and players would end STOPPED
    await m1.process.kill();
    const killedAt = Date.now();
    await waitFor(async () => (await player.status()) === 'FAILED', 'player FAILED within 5 s', 5_000, 50);
    expect(Date.now() - killedAt).toBeLessThanOrEqual(5_000);
    await publisher.page.close();
    expect(
      await metric(m2.restUrl, 'streamfed_fleet_relay_failures_total', { code: 'FLEET_ORIGIN_LOST' }),
    ).toBe(1);
    m1.process = await m1.process.restart();
    await waitFleetIdle([m2]);

    const again = await TwoWayStreamingPage.open(browser, m1.restUrl, m1.wsUrl);
    await again.publish('fleet-kill');
    await again.waitPublishStatus('PUBLISHING');
    const replay = await PlayerPage.open(browser, m2.restUrl, m2.wsUrl, 'fleet-kill');
    await replay.waitStatus('PLAYING', 30_000);
    await framesKeepDecoding(replay, 'after the origin came back');
    await again.stopPublishing();
    await replay.waitStatus('STOPPED');
    await waitFleetIdle(fleet);
  });
});
