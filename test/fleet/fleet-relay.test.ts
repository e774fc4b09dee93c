import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, waitFor } from '../support/media-server.js';
import { metric, spawnFleet, type FleetMember } from '../support/media-fleet.js';
import { NodePeer } from '../support/node-peer.js';

const get = async (url: string): Promise<{ status: number; body: unknown }> => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as unknown };
};

describe('a fleet of three media servers joined by --peers (Node WebRTC peers)', () => {
  let fleet: FleetMember[];

  beforeAll(async () => {
    fleet = await spawnFleet(3, ['--relay-idle-seconds', '2']);
    await waitFor(
      async () =>
        (
          await Promise.all(fleet.map((m) => metric(m.restUrl, 'streamfed_fleet_members', { state: 'up' })))
        ).every((n) => n === 2),
      'every member sees the other two up',
    );
  }, 60_000);
  afterAll(async () => {
    await Promise.all((fleet ?? []).map((m) => m.process.stop()));
  });

  it('plays a stream published on member 1 from member 2, through one relay, closed when idle', async () => {
    const [m1, m2] = fleet as [FleetMember, FleetMember, FleetMember];
    const publisher = await NodePeer.publish(m1.wsUrl, 'fleet-a');
    await publisher.waitStatus('PUBLISHING');

    const player = await NodePeer.play(m2.wsUrl, 'fleet-a');
    await player.waitStatus('PLAYING');
    await waitFor(() => player.received > 20, 'relayed RTP at the player');
    const second = await NodePeer.play(m2.wsUrl, 'fleet-a');
    await second.waitStatus('PLAYING');
    await waitFor(() => second.received > 20, 'relayed RTP at the second player');

    expect(await metric(m2.restUrl, 'streamfed_fleet_relays', { state: 'live' })).toBe(1);
    expect(await metric(m1.restUrl, 'streamfed_fleet_relays_served')).toBe(1);
    const found = await rest(m2.restUrl, '/rest-api/stream/find', { name: 'fleet-a', published: true });
    expect(found.body).toEqual([expect.objectContaining({ name: 'fleet-a', relayed: true, origin: 'm1' })]);
    const relays = await get(`${m2.restUrl}/rest-api/fleet/relays`);
    expect(relays.body).toMatchObject({
      fetched: [{ name: 'fleet-a', state: 'live', origin: 'm1', players: 2 }],
    });

    await player.stop();
    await second.stop();
    await waitFor(
      async () => (await metric(m2.restUrl, 'streamfed_fleet_relays', { state: 'live' })) === 0,
      'idle relay closed',
      15_000,
    );
    await waitFor(
      async () => (await metric(m1.restUrl, 'streamfed_fleet_relays_served')) === 0,
      'origin half closed',
    );
    for (const m of [m1, m2]) {
      await waitFor(
        async () =>
          (await metric(m.restUrl, 'streamfed_mediasoup_objects', { type: 'pipe_transport' })) === 0,
        'pipes closed',
      );
    }
    await publisher.stop();
  });
});
