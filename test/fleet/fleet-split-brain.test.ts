import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restUrlOf, waitFleetIdle, type FleetMember } from '../support/media-fleet.js';
import { metric } from '../support/metrics.js';
import { allocateMediaPorts, launchMedia, type MediaPorts } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const STREAM = 'split-brain';

/** The non-relayed copies of STREAM a member publishes. */
const origins = async (m: FleetMember): Promise<{ status: string }[]> => {
  const found = await rest(m.restUrl, '/rest-api/stream/find', { name: STREAM, published: true });
  return Array.isArray(found.body)
    ? (found.body as { status: string; relayed?: boolean }[]).filter((d) => !d.relayed)
    : [];
};

describe('split brain: two members that accepted one name while apart settle it when they meet again', () => {
  // m1 and m2 reach each other's REST only through a proxy: cutting both is a partition between them. m3
  // knows only m2 (and m2 it), directly: it relays m2's copy while they are apart.
  const proxies: TcpProxy[] = [];
  const members: FleetMember[] = [];

  beforeAll(async () => {
    const ports = [await allocateMediaPorts(), await allocateMediaPorts(), await allocateMediaPorts()];
    const [p1, p2, p3] = ports as [MediaPorts, MediaPorts, MediaPorts];
    for (const own of [p1, p2]) proxies.push(await startTcpProxy(own.rest));
    const [to1, to2] = proxies as [TcpProxy, TcpProxy];
    const peers = [
      [`http://127.0.0.1:${to2.port}`],
      [`http://127.0.0.1:${to1.port}`, restUrlOf(p3)],
      [restUrlOf(p2)],
    ];
    for (const [i, own] of ports.entries()) {
      const memberId = `m${i + 1}`;
      const args = ['--member-id', memberId, '--peers', (peers[i] as string[]).join(',')];
      const process = await launchMedia(own, [...args, '--relay-idle-seconds', '2'], {}, {});
      members.push({ process, restUrl: process.restUrl, wsUrl: process.wsUrl, memberId, ports: own });
    }
    for (const [i, m] of members.entries())
      await waitFor(
        async () =>
          (await metric(m.restUrl, 'streamfed_fleet_members', { state: 'up' })) === peers[i]?.length,
        `${m.memberId} sees its members up`,
      );
  }, 60_000);
  afterAll(async () => {
    await Promise.all(members.map((m) => m.process.stop()));
    await Promise.all(proxies.map((p) => p.close()));
  });

  it('the later publisher ends FAILED ("Stream name is already in use") with its players and relays; the earlier keeps PUBLISHING and plays on both', async () => {
    const [m1, m2, m3] = members as [FleetMember, FleetMember, FleetMember];
    for (const p of proxies) p.cut();
    for (const m of [m1, m2])
      await waitFor(
        async () => (await metric(m.restUrl, 'streamfed_fleet_members', { state: 'down' })) === 1,
        `${m.memberId} sees the other side of the cut down`,
      );

    // apart, each member accepts a publisher of the name: m1's first
    const first = await NodePeer.publish(m1.wsUrl, STREAM);
    await first.waitStatus('PUBLISHING');
    await new Promise((resolve) => setTimeout(resolve, 50)); // a later publish time, whatever the clock's grain
    const later = await NodePeer.publish(m2.wsUrl, STREAM);
    await later.waitStatus('PUBLISHING');
    const laterEvents: { status: string; info?: string }[] = [];
    later.client.on('status', (e) => {
      if (e.mediaSessionId === later.mediaSessionId) laterEvents.push(e);
    });
    const localPlayer = await NodePeer.play(m2.wsUrl, STREAM);
    await localPlayer.waitStatus('PLAYING');
    await waitFor(() => localPlayer.received > 20, "RTP at the player of m2's own copy");
    const relayPlayer = await NodePeer.play(m3.wsUrl, STREAM);
    await relayPlayer.waitStatus('PLAYING');
    await waitFor(() => relayPlayer.received > 20, "RTP at m3's player of m2's copy, relayed");
    for (const m of [m1, m2])
      expect(await origins(m)).toEqual([expect.objectContaining({ status: 'PUBLISHING' })]);

    // the link comes back: the members see each other up again and exchange their claims
    for (const p of proxies) p.restore();
    await later.waitStatus('FAILED', 20_000);
    expect(laterEvents.find((e) => e.status === 'FAILED')?.info).toBe('Stream name is already in use');
    for (const [player, where] of [
      [localPlayer, 'on m2'],
      [relayPlayer, 'relayed on m3'],
    ] as const)
      await waitFor(
        () => ['FAILED', 'STOPPED'].includes(player.lastStatus() ?? ''),
        `the player of m2's copy ${where} ended`,
      );
    await waitFor(
      async () => (await metric(m3.restUrl, 'streamfed_fleet_relays')) === 0,
      "m3's relay of m2's copy closed",
    );
    expect(first.lastStatus()).toBe('PUBLISHING');
    expect(m2.process.output()).toContain('publisher lost a fleet name claim');
    expect(m1.process.output()).not.toContain('publisher lost a fleet name claim');
    expect(await origins(m1)).toEqual([expect.objectContaining({ status: 'PUBLISHING' })]);
    await waitFor(async () => (await origins(m2)).length === 0, "m2's copy gone");

    // the survivor plays on both members: locally on m1, relayed from m1 on m2
    const players = [await NodePeer.play(m1.wsUrl, STREAM), await NodePeer.play(m2.wsUrl, STREAM)];
    for (const player of players) {
      await player.waitStatus('PLAYING');
      await waitFor(
        () => player.received > 20,
        `RTP at the player on ${player === players[0] ? 'm1' : 'm2'}`,
      );
    }
    const relayed = await rest(m2.restUrl, '/rest-api/stream/find', { name: STREAM, published: true });
    expect(relayed.body).toEqual([expect.objectContaining({ relayed: true, origin: 'm1' })]);

    for (const player of players) await player.stop();
    await first.stop();
    for (const ended of [later, localPlayer, relayPlayer]) await ended.close();
    await waitFleetIdle(members);
  });
});
