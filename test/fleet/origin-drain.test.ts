import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnFleet, type FleetMember } from '../support/media-fleet.js';
import { NodePeer } from '../support/node-peer.js';

/**
 * An origin stopped by a rollout (SIGTERM) ends the relays it serves as an origin that died does: the
 * member's relay is lost, and its players FAIL (so a player's restore logic plays again once the publisher
 * is back somewhere), where an unpublish would have STOPPED them.
 */
describe('players on other members of a draining origin fail as when the origin dies', () => {
  let fleet: FleetMember[];
  const peers: NodePeer[] = [];

  beforeAll(async () => {
    fleet = await spawnFleet(2, ['--drain-seconds', '1']);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await Promise.all((fleet ?? []).map((m) => m.process.kill()));
  });

  it('fails the relayed player with FAILED when the origin gets SIGTERM', async () => {
    const [origin, member] = fleet as [FleetMember, FleetMember];
    const { player } = await NodePeer.relayed(origin.wsUrl, member.wsUrl, 'drained origin', (p) =>
      peers.push(p),
    );

    expect(await origin.process.stop()).toBe(0);
    await player.waitStatus('FAILED', 20_000);
    expect(player.client.closed).toBe(false); // the member itself is up: only the stream failed
  });
});
