import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { spawnFleet, waitFleetIdle, type FleetMember } from '../support/media-fleet.js';
import { rest, waitFor } from '../support/media-server.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';
import { WhipPartner, waitWhipPublishing, type PartnerScript } from '../support/whip/partner.js';

/**
 * Other WHIP/WHEP implementations against a two-member fleet: GStreamer's webrtcbin and aiortc publish to
 * /whip/<name> on member 1 and the official Web SDK's Player in Chromium plays the stream with frames
 * decoding on member 1 and on member 2 (a fleet relay); each plays via /whep/<name> on member 1 a stream the
 * Web SDK published on member 2, decoding frames; DELETE (the partner's stop) ends its session.
 */
describe.each([
  ['GStreamer webrtcbin', 'gst_whip.py'],
  ['aiortc', 'aiortc_whip.py'],
] as [string, PartnerScript][])('WHIP/WHEP partner: %s', (label, script) => {
  let fleet: [FleetMember, FleetMember];
  let browser: Browser;
  const partners: WhipPartner[] = [];
  const slug = script.replace(/_whip\.py$/, '');

  beforeAll(async () => {
    fleet = (await spawnFleet(2, ['--relay-idle-seconds', '2'])) as [FleetMember, FleetMember];
    browser = await launchBrowser();
  }, 120_000);
  afterEach(async () => {
    await Promise.all(partners.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all((fleet ?? []).map((m) => m.process.stop()));
  });

  it(`publishes via WHIP; the Web SDK plays it on this member and another, frames decoding; DELETE stops the players (${label})`, async () => {
    const [m1, m2] = fleet;
    const name = `${slug}-cam`;
    const partner = WhipPartner.start(script, 'publish', `${m1.restUrl}/whip/${name}`);
    partners.push(partner);
    const answered = await partner.answered();
    expect(answered.location).toMatch(/^\/whip\/sessions\//);
    await waitWhipPublishing(m1.restUrl, name);

    const players = [
      await PlayerPage.open(browser, m1.restUrl, m1.wsUrl, name),
      await PlayerPage.open(browser, m2.restUrl, m2.wsUrl, name),
    ];
    for (const player of players) {
      await player.waitStatus('PLAYING', 60_000);
      const first = await waitFor(() => player.framesDecoded(), 'first decoded frames', 60_000);
      await waitFor(
        async () => (await player.framesDecoded()) > first + 10,
        'frames to keep decoding',
        60_000,
      );
    }
    expect(await partner.stop()).toBe(200);
    for (const player of players) await player.waitStatus('STOPPED', 30_000);
    await Promise.all(players.map((p) => p.page.close()));
    await waitFleetIdle(fleet);
  }, 240_000);

  it(`plays via WHEP a stream the Web SDK published on another member, decoding frames; DELETE ends only the player (${label})`, async () => {
    const [m1, m2] = fleet;
    const name = `${slug}-sdk`;
    const publisher = await TwoWayStreamingPage.open(browser, m2.restUrl, m2.wsUrl);
    await publisher.publish(name);
    await publisher.waitPublishStatus('PUBLISHING', 60_000);

    const partner = WhipPartner.start(script, 'play', `${m1.restUrl}/whep/${name}`);
    partners.push(partner);
    const answered = await partner.answered();
    expect(answered.location).toMatch(/^\/whep\/sessions\//);
    await partner.counted(10, 10, 90_000);
    expect(await partner.stop()).toBe(200);
    await waitFor(async () => {
      const found = await rest(m1.restUrl, '/rest-api/stream/find', { name, published: false });
      return found.status === 404;
    }, 'the WHEP player gone from member 1');
    expect(await publisher.publishStatus()).toBe('PUBLISHING');
    await publisher.stopPublishing();
    await publisher.page.close();
    await waitFleetIdle(fleet);
  }, 240_000);
});
