import { afterAll, beforeAll, it } from 'vitest';
import { spawnFleet, type FleetMember } from '../test/support/media-fleet.js';
import { metric } from '../test/support/metrics.js';
import { waitFor } from '../test/support/media-server.js';
import { NodePeer } from '../test/support/node-peer.js';
import { ms, record, stats } from './report.js';

const N = Number(process.env['BENCH_FLEET_PLAYS'] ?? 30);

/**
 * Play on a member that does not have the stream (the relay from the origin is set up by the play) → PLAYING,
 * against the same-run baseline of a play on the origin itself, and a play on the member while its relay is
 * already live (shared). Node WebRTC players (werift), video only.
 */
let fleet: FleetMember[];
let source: NodePeer;

beforeAll(async () => {
  fleet = await spawnFleet(2, ['--relay-idle-seconds', '1']);
  source = await NodePeer.publish(fleet[0]!.wsUrl, 'src');
  await source.waitStatus('PUBLISHING');
});
afterAll(async () => {
  await source?.stop();
  await Promise.all((fleet ?? []).map((m) => m.process.kill()));
});

async function timedPlay(wsUrl: string): Promise<{ ms: number; peer: NodePeer }> {
  const t0 = performance.now();
  const peer = await NodePeer.play(wsUrl, 'src', { kinds: ['video'] });
  await peer.waitStatus('PLAYING');
  return { ms: performance.now() - t0, peer };
}

it('play on a member without the stream vs on the origin', async () => {
  const [origin, member] = fleet as [FleetMember, FleetMember];
  const cold: number[] = [];
  const warm: number[] = [];
  const local: number[] = [];
  for (let i = 0; i < N; i++) {
    // no relay on the member: this play sets it up
    await waitFor(
      async () => (await metric(member.restUrl, 'streamfed_fleet_relays')) === 0,
      'relay idle-closed',
    );
    const first = await timedPlay(member.wsUrl);
    cold.push(first.ms);
    const second = await timedPlay(member.wsUrl);
    warm.push(second.ms);
    const onOrigin = await timedPlay(origin.wsUrl);
    local.push(onOrigin.ms);
    await Promise.all([first.peer.stop(), second.peer.stop(), onOrigin.peer.stop()]);
  }
  const c = stats(cold);
  const w = stats(warm);
  const l = stats(local);
  record(
    'fleet-play',
    { unit: 'ms', coldRelay: c, warmRelay: w, baselineOrigin: l, overheadP50Ms: c.p50 - l.p50 },
    [
      `play on a member without the stream (relay set up) → PLAYING: p50 ${ms(c.p50)}, p95 ${ms(c.p95)} over ${c.n}`,
      `play on the member with its relay live: p50 ${ms(w.p50)}, p95 ${ms(w.p95)}`,
      `baseline, play on the origin: p50 ${ms(l.p50)}, p95 ${ms(l.p95)}`,
      `relay set-up overhead at p50: ${ms(c.p50 - l.p50)}`,
    ],
  );
});
