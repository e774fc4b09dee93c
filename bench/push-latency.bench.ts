import { afterAll, beforeAll, it } from 'vitest';
import { startMedia, type RunningMedia } from '../test/support/media-server.js';
import { latencyLine as line, ms, record, stats, type Stats } from './report.js';
import { MediaHost } from './support/media-host-process.js';
import { TaggedSource } from './support/one-way.js';
import { pipeStream } from './support/pipe-baseline.js';
import { pushUntilPublishing, terminatePush } from './support/pushes.js';
import { startWcsProxyHiding, type WcsProxy } from '../test/support/pipe-blocker.js';

const SECONDS = Number(process.env['BENCH_LATENCY_SECONDS'] ?? 10);
const ROUNDS = Number(process.env['BENCH_LATENCY_ROUNDS'] ?? 2);
const BITRATE = 1_000_000;

/**
 * Added latency of one push hop. A Node sender publishes 1 Mbps of tagged VP8-shaped RTP on server 1 (its
 * own process); a Node player on server 2 reads each packet's tag and looks up when it was sent (one
 * clock: both ends live here). Three paths, alternated in rounds so drift hits all alike:
 * - push: server 1 → /pull/push (mediasoup → UDP → Node → werift → SRTP) → server 2 → player (server 2
 *   reached through a signalling proxy that hides its pipe extension, as a foreign WCS)
 * - pipe push: server 1 → /pull/push over a PipeTransport pair (streamfed to streamfed) → server 2 → player
 * - pipe (baseline): server 1 → mediasoup PipeTransport → server 2 → player
 * - direct (floor): server 1 → player, no second server
 * Both ends' werift stacks are in every path, so push − pipe is what our hop adds.
 */
let host: MediaHost;
let s2: RunningMedia;
let source: TaggedSource;
/** Server 2 without its pipe extension: WCS pushes to it go over werift. */
let foreign: WcsProxy;

beforeAll(async () => {
  host = await MediaHost.start();
  s2 = await startMedia({ listen: { workers: 1 } });
  foreign = await startWcsProxyHiding(s2.wsUrl, ['streamfedPipe']);
  source = await TaggedSource.publish(host.wsUrl, 'lat', BITRATE);
});
afterAll(async () => {
  await source?.stop();
  await foreign?.close();
  await s2?.stop();
  await host?.stop();
});

it('added latency per push hop vs a mediasoup PipeTransport', async () => {
  const samples = {
    push: [] as number[],
    pipePush: [] as number[],
    pipe: [] as number[],
    direct: [] as number[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    samples.direct.push(...(await source.oneWay(host.wsUrl, 'lat', SECONDS)));

    const pipe = await pipeStream(host, 'lat', s2.server, `pipe${round}`);
    samples.pipe.push(...(await source.oneWay(s2.wsUrl, `pipe${round}`, SECONDS)));
    await pipe.close();

    for (const [kind, uri] of [
      ['push', foreign.url],
      ['pipePush', s2.wsUrl],
    ] as const) {
      const name = `${kind}${round}`;
      const id = await pushUntilPublishing(host.restUrl, {
        uri,
        localStreamName: 'lat',
        remoteStreamName: name,
      });
      samples[kind].push(...(await source.oneWay(s2.wsUrl, name, SECONDS)));
      await terminatePush(host.restUrl, id);
    }
  }
  const [push, pipePush, pipe, direct] = [
    stats(samples.push),
    stats(samples.pipePush),
    stats(samples.pipe),
    stats(samples.direct),
  ];
  const added = (q: keyof Stats): number => push[q] - pipe[q];
  const addedByPipePush = (q: keyof Stats): number => pipePush[q] - pipe[q];
  record(
    'push-latency',
    {
      unit: 'ms',
      bitrate: BITRATE,
      seconds: SECONDS * ROUNDS,
      push,
      pipePush,
      baselinePipeTransport: pipe,
      floorOneServer: direct,
      addedByPushHop: { p50: added('p50'), p95: added('p95'), p99: added('p99') },
      addedByPipePushHop: {
        p50: addedByPipePush('p50'),
        p95: addedByPipePush('p95'),
        p99: addedByPipePush('p99'),
      },
    },
    [
      line('sender → server 1 → push → server 2 → player', push),
      line('sender → server 1 → push over a PipeTransport pair → server 2 → player', pipePush),
      line('baseline, server 1 → mediasoup PipeTransport → server 2 → player', pipe),
      line('floor, sender → server 1 → player', direct),
      `added by the push hop over a PipeTransport: p50 ${ms(added('p50'))}, p95 ${ms(added('p95'))}, p99 ${ms(added('p99'))}`,
      `added by the pipe push over a PipeTransport: p50 ${ms(addedByPipePush('p50'))}, p95 ${ms(addedByPipePush('p95'))}, p99 ${ms(addedByPipePush('p99'))}`,
    ],
  );
});
