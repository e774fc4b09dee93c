import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushFailureCode } from '../../src/contracts/pull-api.js';
import { spawnFleet, type FleetMember } from '../support/media-fleet.js';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

/** The publishers of a name on one server, read with find_all (a find by name would fetch it from the fleet). */
const publishersOf = async (restUrl: string, name: string): Promise<{ relayed?: boolean }[]> => {
  const found = await rest(restUrl, '/rest-api/stream/find_all');
  const all =
    found.status === 200 ? (found.body as { name: string; published: boolean; relayed?: boolean }[]) : [];
  return all.filter((d) => d.name === name && d.published);
};

describe('pushes meet the fleet: loops are refused, a push into one member plays on every member', () => {
  let fleet: FleetMember[];
  let outsider: MediaProcess;
  let publisher: NodePeer;

  beforeAll(async () => {
    fleet = await spawnFleet(2, ['--relay-idle-seconds', '2']);
    outsider = await spawnMedia();
    const [m1] = fleet as [FleetMember, FleetMember];
    publisher = await NodePeer.publish(m1.wsUrl, 'looped');
    await publisher.waitStatus('PUBLISHING');
  }, 60_000);
  afterAll(async () => {
    await publisher?.stop();
    await Promise.all([...(fleet ?? []).map((m) => m.process.stop()), outsider?.stop()]);
  });

  it('refuses a push to the server itself, however its address is spelled', async () => {
    const [m1] = fleet as [FleetMember, FleetMember];
    const port = new URL(m1.wsUrl).port;
    for (const uri of [m1.wsUrl, `ws://localhost:${port}/`, `ws://127.0.0.1:${port}/websocket`]) {
      const refused = await rest(m1.restUrl, '/rest-api/pull/push', { uri, localStreamName: 'looped' });
      expect(refused.status).toBe(409);
      expect((refused.body as { message: string }).message).toContain('is this server');
    }
    expect((await rest(m1.restUrl, '/rest-api/pull/find_all')).status).toBe(404);
  });

  it('refuses a push into its own fleet, where the stream already plays', async () => {
    const [m1, m2] = fleet as [FleetMember, FleetMember];
    const refused = await rest(m1.restUrl, '/rest-api/pull/push', {
      uri: m2.wsUrl,
      localStreamName: 'looped',
    });
    expect(refused.body).toMatchObject({ statusCode: 409, code: PushFailureCode.LOOP });
    expect((refused.body as { message: string }).message).toContain('member m2');
    expect(await publishersOf(m2.restUrl, 'looped')).toEqual([]);
  });

  it('refuses the way back of a 1 → 2 → 1 chain, and the first hop keeps working', async () => {
    const [m1, m2] = fleet as [FleetMember, FleetMember];
    const out = await rest(m1.restUrl, '/rest-api/pull/push', {
      uri: outsider.wsUrl,
      localStreamName: 'looped',
    });
    expect(out.status).toBe(200);
    await waitFor(async () => (await publishersOf(outsider.restUrl, 'looped')).length === 1, 'pushed out');
    for (const back of [m1, m2]) {
      const refused = await rest(outsider.restUrl, '/rest-api/pull/push', {
        uri: back.wsUrl,
        localStreamName: 'looped',
      });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ statusCode: 409, code: PushFailureCode.LOOP });
    }
    // the fleet still has the one original publisher; nothing came back in
    const origin = await publishersOf(m1.restUrl, 'looped');
    expect(origin).toHaveLength(1);
    expect(origin[0]).not.toHaveProperty('relayed');
    expect(await publishersOf(m2.restUrl, 'looped')).toEqual([]);
    expect(publisher.lastStatus()).toBe('PUBLISHING');
  });

  it('plays a stream pushed into one member on the other member too', async () => {
    const [m1, m2] = fleet as [FleetMember, FleetMember];
    // the outsider has 'looped' from the first hop; it pushes it into m2 under a name the fleet lacks
    const pushed = await rest(outsider.restUrl, '/rest-api/pull/push', {
      uri: m2.wsUrl,
      localStreamName: 'looped',
      remoteStreamName: 'imported',
    });
    expect(pushed.status).toBe(200);
    const player = await NodePeer.play(m1.wsUrl, 'imported', { kinds: ['video'] });
    await player.waitStatus('PLAYING');
    await waitFor(() => player.received > 20, 'media pushed into m2, played on m1');
    const onM1 = await publishersOf(m1.restUrl, 'imported');
    expect(onM1).toEqual([expect.objectContaining({ relayed: true, origin: 'm2' })]);
    await player.stop();
  });

  it('keeps the push chain across a fleet relay: pushing the relayed copy back where it came from is refused', async () => {
    const [m1] = fleet as [FleetMember, FleetMember];
    // 'imported' originates on m2, pushed in by the outsider, which has it as 'looped'; m1 relays it from m2
    const refused = await rest(m1.restUrl, '/rest-api/pull/push', {
      uri: outsider.wsUrl,
      localStreamName: 'imported',
      remoteStreamName: 'looped',
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ statusCode: 409, code: PushFailureCode.LOOP });
    expect(await publishersOf(outsider.restUrl, 'looped')).toHaveLength(1);
  });

  it('pushes a stream published on another member out of any member, and keeps its relay while it pushes', async () => {
    const m2 = fleet[1] as FleetMember;
    // m2 does not publish 'looped' (m1 does): a push from m2, as a Service in front of the fleet may land
    const pushed = await rest(m2.restUrl, '/rest-api/pull/push', {
      uri: outsider.wsUrl,
      localStreamName: 'looped',
      remoteStreamName: 'via-m2',
    });
    expect(pushed.status).toBe(200);
    const player = await NodePeer.play(outsider.wsUrl, 'via-m2', { kinds: ['video'] });
    await player.waitStatus('PLAYING');
    // past the relay idle time (2 s here): the push is a user of the relay, which stays
    await new Promise((r) => setTimeout(r, 3500));
    const after = player.received;
    await waitFor(() => player.received > after + 20, 'RTP still arriving past the relay idle time');
    expect(await publishersOf(m2.restUrl, 'looped')).toEqual([expect.objectContaining({ origin: 'm1' })]);
    await player.stop();
    await rest(m2.restUrl, '/rest-api/pull/terminate', { uri: outsider.wsUrl, localStreamName: 'looped' });
  });
});
