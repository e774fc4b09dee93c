import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, waitFor } from '../support/media-server.js';
import { spawnFleet, waitFleetIdle, type FleetMember } from '../support/media-fleet.js';
import { metric } from '../support/metrics.js';
import { NodePeer } from '../support/node-peer.js';
import { WcsSocket } from '../support/wcs-socket.js';

const get = async (url: string): Promise<{ status: number; body: unknown }> => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as unknown };
};

/** Open sockets of a process and its children (the mediasoup workers). */
function sockets(pid: number): number {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((t) =>
    readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
  let n = 0;
  for (const p of [pid, ...children]) {
    for (const fd of readdirSync(`/proc/${p}/fd`)) {
      try {
        if (readlinkSync(`/proc/${p}/fd/${fd}`).startsWith('socket:')) n++;
      } catch {
        // closed while we looked
      }
    }
  }
  return n;
}

const mediasoupObjects = (m: FleetMember, type: string): Promise<number> =>
  metric(m.restUrl, 'streamfed_mediasoup_objects', { type });

/** Closes a peer whose stream already ended (nothing to stop on the server). */
async function dropped(peer: NodePeer): Promise<void> {
  peer.client.close();
  await peer.peer.close();
}

describe('a fleet of three media servers joined by --peers (Node WebRTC peers)', () => {
  let fleet: FleetMember[];

  beforeAll(async () => {
    fleet = await spawnFleet(3, ['--relay-idle-seconds', '2']);
  }, 60_000);
  afterAll(async () => {
    await Promise.all((fleet ?? []).map((m) => m.process.stop()));
  });

  it('plays a stream published on member 1 from member 2, through one relay, closed when idle', async () => {
    const [m1, m2, m3] = fleet as [FleetMember, FleetMember, FleetMember];
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
    // availableStream on a member without a relay yet: available, as on the origin
    const { ws } = await WcsSocket.established(m3.wsUrl);
    for (const [name, status] of [
      ['fleet-a', 'true'],
      ['nobody-has-this', 'false'],
    ] as const) {
      ws.send('availableStream', { name, mediaSessionId: `available-${name}` });
      expect((await ws.next('availableStream')).data[0]).toMatchObject({ name, status });
    }
    ws.close();
    const found = await rest(m2.restUrl, '/rest-api/stream/find', { name: 'fleet-a', published: true });
    expect(found.body).toEqual([expect.objectContaining({ name: 'fleet-a', relayed: true, origin: 'm1' })]);
    const relays = await get(`${m2.restUrl}/rest-api/fleet/relays`);
    expect(relays.body).toMatchObject({
      fetched: [{ name: 'fleet-a', state: 'live', origin: 'm1', players: 2 }],
    });
    // the origin serves m2's players and m3 (whose availableStream fetched the stream); m2's players'
    // key-frame requests came back over the hop to the origin's side of the relay
    const { served } = (await get(`${m1.restUrl}/rest-api/fleet/relays`)).body as {
      served: { name: string; memberId: string; keyFrameRequests: number }[];
    };
    expect(served.map((r) => `${r.name}→${r.memberId}`).sort()).toEqual(['fleet-a→m2', 'fleet-a→m3']);
    expect(served.find((r) => r.memberId === 'm2')!.keyFrameRequests).toBeGreaterThanOrEqual(1);

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

  it('settles two members accepting one name at once: exactly one publisher survives, the other FAILED', async () => {
    const [m1, , m3] = fleet as [FleetMember, FleetMember, FleetMember];
    for (let round = 0; round < 3; round++) {
      const name = `race-${round}`;
      const attempts = await Promise.allSettled([
        NodePeer.publish(m1.wsUrl, name),
        NodePeer.publish(m3.wsUrl, name),
      ]);
      const peers = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
      // a publisher refused at once never got a session; one accepted and then losing the claim ends FAILED
      await waitFor(async () => {
        const live = (
          await Promise.all(
            [m1, m3].map(
              async (m) => (await rest(m.restUrl, '/rest-api/stream/find', { name, published: true })).body,
            ),
          )
        ).flatMap((b) => (Array.isArray(b) ? b.filter((d: { relayed?: boolean }) => !d.relayed) : []));
        return live.length === 1 && peers.filter((p) => p.lastStatus() === 'PUBLISHING').length === 1;
      }, 'one publisher left');
      for (const refused of attempts.filter((a) => a.status === 'rejected'))
        expect(String((refused as PromiseRejectedResult).reason)).toContain('Stream name is already in use');
      for (const loser of peers.filter((p) => p.lastStatus() !== 'PUBLISHING')) {
        expect(loser.lastStatus()).toBe('FAILED');
      }
      // the loser's member says which claim beat its own: the earlier, or on a tie the lower member id
      let settled = 0;
      for (const m of [m1, m3]) {
        for (const line of m.process.output().split('\n')) {
          if (!line.includes('lost a fleet name claim') || !line.includes(`"${name}"`)) continue;
          const { claim, winner } = JSON.parse(line) as Record<
            string,
            { memberId: string; publishedAt: number }
          >;
          expect(claim!.memberId).toBe(m.memberId);
          expect(
            winner!.publishedAt < claim!.publishedAt ||
              (winner!.publishedAt === claim!.publishedAt && winner!.memberId < claim!.memberId),
          ).toBe(true);
          settled++;
        }
      }
      // both accepted (neither refused at once): the claims settled it
      if (peers.length === 2) expect(settled).toBeGreaterThanOrEqual(1);
      await Promise.all(peers.map((p) => (p.lastStatus() === 'PUBLISHING' ? p.stop() : dropped(p))));
    }
  });

  it('applies the claim order over the contract, and only to claims and offers from members', async () => {
    const [m1] = fleet as [FleetMember, FleetMember, FleetMember];
    const publisher = await NodePeer.publish(m1.wsUrl, 'claimed');
    await publisher.waitStatus('PUBLISHING');
    const [own] = (await rest(m1.restUrl, '/rest-api/stream/find', { name: 'claimed' })).body as {
      createDate: number;
    }[];
    const post = async (path: string, body: object): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${m1.restUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    };
    const claim = (memberId: string, publishedAt: number): Promise<{ status: number; body: unknown }> =>
      post('/rest-api/fleet/claims', { name: 'claimed', memberId, publishedAt });
    const at = own!.createDate;
    const ours = { name: 'claimed', memberId: 'm1', publishedAt: at };
    // a later claim loses; on the same time the lower member id wins ('m1' < 'm2')
    expect(await claim('m2', at + 1)).toEqual({ status: 200, body: ours });
    expect(await claim('m2', at)).toEqual({ status: 200, body: ours });
    expect(publisher.lastStatus()).toBe('PUBLISHING');
    // nobody outside the fleet can end a publisher by a claim, nor point the origin's media elsewhere
    expect(await claim('intruder', at - 1000)).toMatchObject({
      status: 403,
      body: { code: 'FLEET_NOT_MEMBER' },
    });
    const offer = {
      name: 'claimed',
      ip: '127.0.0.1',
      port: 9,
      srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: 'a'.repeat(60) },
    };
    expect(await post('/rest-api/fleet/relay-offers', { ...offer, memberId: 'intruder' })).toMatchObject({
      status: 403,
      body: { code: 'FLEET_NOT_MEMBER' },
    });
    expect(
      await post('/rest-api/fleet/relay-offers', { ...offer, memberId: 'm2', ip: '192.0.2.1' }),
    ).toMatchObject({ status: 403, body: { code: 'FLEET_NOT_MEMBER' } });
    expect(await mediasoupObjects(m1, 'pipe_transport')).toBe(0);
    expect(publisher.lastStatus()).toBe('PUBLISHING');
    // an earlier claim from a member wins: our publisher ends FAILED
    expect(await claim('m3', at - 1)).toEqual({
      status: 200,
      body: { name: 'claimed', memberId: 'm3', publishedAt: at - 1 },
    });
    await publisher.waitStatus('FAILED');
    await dropped(publisher);
  });

  it('refuses a relay of a relayed stream: members only fetch from the origin', async () => {
    const [m1, m2, m3] = fleet as [FleetMember, FleetMember, FleetMember];
    const publisher = await NodePeer.publish(m1.wsUrl, 'origin-only');
    await publisher.waitStatus('PUBLISHING');
    const player = await NodePeer.play(m2.wsUrl, 'origin-only');
    await player.waitStatus('PLAYING');
    const asked = await get(`${m2.restUrl}/rest-api/fleet/origin/origin-only`);
    expect(asked).toMatchObject({ status: 404, body: { code: 'FLEET_NOT_ORIGIN' } });
    const third = await NodePeer.play(m3.wsUrl, 'origin-only');
    await third.waitStatus('PLAYING');
    const relays = (await get(`${m3.restUrl}/rest-api/fleet/relays`)).body;
    expect(relays).toMatchObject({ fetched: [{ name: 'origin-only', origin: 'm1' }] });
    expect((await get(`${m1.restUrl}/rest-api/fleet/relays`)).body).toMatchObject({
      served: [{ name: 'origin-only' }, { name: 'origin-only' }],
    });
    await Promise.all([player.stop(), third.stop(), publisher.stop()]);
    await waitFleetIdle(fleet);
  });

  it('fails players within 5 s when the origin freezes (no FIN: the heartbeats stop), and skips it meanwhile', async () => {
    const [m1, m2] = fleet as [FleetMember, FleetMember, FleetMember];
    const publisher = await NodePeer.publish(m1.wsUrl, 'frozen');
    await publisher.waitStatus('PUBLISHING');
    const player = await NodePeer.play(m2.wsUrl, 'frozen', { kinds: ['video'] });
    await player.waitStatus('PLAYING');
    m1.process.child.kill('SIGSTOP');
    try {
      const frozenAt = Date.now();
      await player.waitStatus('FAILED', 5_000);
      expect(Date.now() - frozenAt).toBeLessThanOrEqual(5_000);
      // a member that does not answer is skipped: publishing and playing on m2 go on without it
      const local = await NodePeer.publish(m2.wsUrl, 'while-frozen');
      await local.waitStatus('PUBLISHING');
      const viewer = await NodePeer.play(m2.wsUrl, 'while-frozen', { kinds: ['video'] });
      await viewer.waitStatus('PLAYING');
      await Promise.all([viewer.stop(), local.stop()]);
    } finally {
      m1.process.child.kill('SIGCONT');
    }
    await dropped(player);
    await publisher.stop();
    await waitFleetIdle(fleet);
  });

  it('runs 200 play/stop cycles across members without leaking pipes, consumers or sockets', async () => {
    const [m1, m2, m3] = fleet as [FleetMember, FleetMember, FleetMember];
    await waitFleetIdle(fleet);
    const before = fleet.map((m) => sockets(m.process.child.pid!));
    const publisher = await NodePeer.publish(m1.wsUrl, 'cycles');
    await publisher.waitStatus('PUBLISHING');
    for (let i = 0; i < 200; i++) {
      const player = await NodePeer.play((i % 2 ? m3 : m2).wsUrl, 'cycles', { kinds: ['video'] });
      await player.waitStatus('PLAYING');
      await player.stop();
    }
    await publisher.stop();
    await waitFleetIdle(fleet);
    for (const m of fleet) {
      await waitFor(
        async () =>
          (await mediasoupObjects(m, 'consumer')) === 0 && (await mediasoupObjects(m, 'transport')) === 0,
        `no consumers or transports on ${m.memberId}`,
      );
    }
    // a few keep-alive HTTP connections between members come and go; 200 leaked sockets would not
    const after = fleet.map((m) => sockets(m.process.child.pid!));
    after.forEach((n, i) => expect(n).toBeLessThanOrEqual(before[i]! + 6));
  }, 240_000);
});
