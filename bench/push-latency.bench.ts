import { afterAll, beforeAll, it } from 'vitest';
import { startMedia, type RunningMedia } from '../test/support/media-server.js';
import { NodePeer, TAG_OFFSET } from '../test/support/node-peer.js';
import { ms, record, stats, type Stats } from './report.js';
import { MediaHost } from './support/media-host-process.js';
import { pipeStream } from './support/pipe-baseline.js';
import { pushUntilPublishing, terminatePush } from './support/pushes.js';

const SECONDS = Number(process.env['BENCH_LATENCY_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_LATENCY_ROUNDS'] ?? 2);
const BITRATE = 1_000_000;

/**
 * Added latency of one push hop. A Node sender publishes 1 Mbps of tagged VP8-shaped RTP on server 1 (its
 * own process); a Node player on server 2 reads each packet's tag and looks up when it was sent (one
 * clock: both ends live here). Three paths, alternated in rounds so drift hits all alike:
 * - push: server 1 → /pull/push (mediasoup → UDP → Node → werift → SRTP) → server 2 → player
 * - pipe (baseline): server 1 → mediasoup PipeTransport → server 2 → player
 * - direct (floor): server 1 → player, no second server
 * Both ends' werift stacks are in every path, so push − pipe is what our hop adds.
 */
let host: MediaHost;
let s2: RunningMedia;
let source: NodePeer;
const sentAt = new Map<number, number>();

beforeAll(async () => {
  host = await MediaHost.start();
  s2 = await startMedia({ workers: 1 });
  source = await NodePeer.publish(host.wsUrl, 'lat', {
    videoBitrate: BITRATE,
    onSend: (tag) => {
      sentAt.set(tag, performance.now());
      sentAt.delete(tag - 5000);
    },
  });
  await source.waitStatus('PUBLISHING');
});
afterAll(async () => {
  await source?.stop();
  await s2?.stop();
  await host?.stop();
});

/** Plays `name` on `wsUrl` for SECONDS after a warm-up; returns each tagged packet's one-way time. */
async function measure(wsUrl: string, name: string): Promise<number[]> {
  const samples: number[] = [];
  let on = false;
  const player = await NodePeer.play(wsUrl, name, {
    kinds: ['video'],
    onRtp: (rtp) => {
      if (!on || rtp.payload.length < TAG_OFFSET + 4) return;
      const t = sentAt.get(rtp.payload.readUInt32BE(TAG_OFFSET));
      if (t !== undefined) samples.push(performance.now() - t);
    },
  });
  await player.waitStatus('PLAYING');
  await new Promise((r) => setTimeout(r, 2000));
  on = true;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  on = false;
  await player.stop();
  if (samples.length === 0) throw new Error(`no packets measured on ${name}`);
  return samples;
}

it('added latency per push hop vs a mediasoup PipeTransport', async () => {
  const samples = { push: [] as number[], pipe: [] as number[], direct: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    samples.direct.push(...(await measure(host.wsUrl, 'lat')));

    const pipe = await pipeStream(host, 'lat', s2.server, `pipe${round}`);
    samples.pipe.push(...(await measure(s2.wsUrl, `pipe${round}`)));
    await pipe.close();

    const id = await pushUntilPublishing(host.restUrl, {
      uri: s2.wsUrl,
      localStreamName: 'lat',
      remoteStreamName: `push${round}`,
    });
    samples.push.push(...(await measure(s2.wsUrl, `push${round}`)));
    await terminatePush(host.restUrl, id);
  }
  const [push, pipe, direct] = [stats(samples.push), stats(samples.pipe), stats(samples.direct)];
  const added = (q: keyof Stats): number => push[q] - pipe[q];
  const line = (what: string, s: Stats): string =>
    `${what}: p50 ${ms(s.p50)}, p95 ${ms(s.p95)}, p99 ${ms(s.p99)} (${s.n} packets)`;
  record(
    'push-latency',
    {
      unit: 'ms',
      bitrate: BITRATE,
      seconds: SECONDS * ROUNDS,
      push,
      baselinePipeTransport: pipe,
      floorOneServer: direct,
      addedByPushHop: { p50: added('p50'), p95: added('p95'), p99: added('p99') },
    },
    [
      line('sender → server 1 → push → server 2 → player', push),
      line('baseline, server 1 → mediasoup PipeTransport → server 2 → player', pipe),
      line('floor, sender → server 1 → player', direct),
      `added by the push hop over a PipeTransport: p50 ${ms(added('p50'))}, p95 ${ms(added('p95'))}, p99 ${ms(added('p99'))}`,
    ],
  );
});
