import { afterAll, beforeAll, it } from 'vitest';
import { spawnFleet, type FleetMember } from '../test/support/media-fleet.js';
import { latencyLine, ms, record, stats, type Stats } from './report.js';
import { TaggedSource } from './support/one-way.js';

const SECONDS = Number(process.env['BENCH_FLEET_LATENCY_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_FLEET_LATENCY_ROUNDS'] ?? 2);
const BITRATE = 1_000_000;

/**
 * One-way latency a fleet hop adds. Two `streamfed media` processes joined by `--peers`; a Node sender here
 * publishes 1 Mbps of tagged VP8-shaped RTP on the origin; a Node player here reads each packet's tag
 * (bench/support/one-way.ts). Two paths, alternated in rounds so drift hits both alike:
 * - local (baseline): sender → origin → player
 * - fleet: sender → origin → SRTP PipeTransport → member → player (the member's relay, set up by the play)
 */
let fleet: FleetMember[];
let source: TaggedSource;

beforeAll(async () => {
  fleet = await spawnFleet(2);
  source = await TaggedSource.publish(fleet[0]!.wsUrl, 'lat', BITRATE);
});
afterAll(async () => {
  await source?.stop();
  await Promise.all((fleet ?? []).map((m) => m.process.kill()));
});

it('one-way latency added by a fleet hop vs a local play', async () => {
  const [origin, member] = fleet as [FleetMember, FleetMember];
  const samples = { local: [] as number[], fleet: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    samples.local.push(...(await source.oneWay(origin.wsUrl, 'lat', SECONDS)));
    samples.fleet.push(...(await source.oneWay(member.wsUrl, 'lat', SECONDS)));
  }
  const [hop, local] = [stats(samples.fleet), stats(samples.local)];
  const added = (q: keyof Stats): number => hop[q] - local[q];
  record(
    'fleet-latency',
    {
      unit: 'ms',
      bitrate: BITRATE,
      seconds: SECONDS * ROUNDS,
      fleetHop: hop,
      baselineLocalPlay: local,
      addedByFleetHop: { p50: added('p50'), p95: added('p95'), p99: added('p99') },
    },
    [
      latencyLine('sender → origin → fleet hop (SRTP PipeTransport) → member → player', hop),
      latencyLine('baseline, sender → origin → player', local),
      `added by the fleet hop: p50 ${ms(added('p50'))}, p95 ${ms(added('p95'))}, p99 ${ms(added('p99'))}`,
    ],
  );
});
