import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, it } from 'vitest';
import { startMedia, type RunningMedia } from '../test/support/media-server.js';
import { NodePeer } from '../test/support/node-peer.js';
import { WhipPeer } from '../test/support/whip-peer.js';
import { ms, record, stats, type Stats } from './report.js';

const ROUNDS = Number(process.env['BENCH_WHIP_ROUNDS'] ?? 20);
const DEADLINE_MS = 15_000;

/**
 * Time to first frame of a WHIP publish, played by a WHEP player and by an SDK (WCS WebSocket) player, beside
 * the baseline of an SDK publish played by an SDK player; one in-process media server, Node werift peers
 * (test/support/node-peer.ts, whip-peer.ts) sending the same synthetic media (every video packet a VP8 key
 * frame start, 50/s, plus opus-sized audio). The same clock for all three paths, per round:
 *
 * - t0: just before the publish call (WHIP: the POST, HTTP connection included; SDK: the WebSocket connect,
 *   then publishStream);
 * - up: the server's stream registry announces the name published (its `published` event: PUBLISHING,
 *   i.e. the publisher's DTLS is up), whichever of that and the publish call's return comes last;
 * - the player starts right then (WHEP: the POST; SDK: the WebSocket connect, then playStream);
 * - first frame: the first video RTP packet the player receives (a key frame start, as all of them are).
 *
 * Records t(first frame) − t0 and its two parts (t0 → up, up → first frame), p50/p95 over the rounds; the
 * paths take turns within each round, each round on fresh names (a WHIP name is bound to its first publish).
 */
type Publish = 'sdk' | 'whip';
type Play = 'sdk' | 'whep';
const PATHS: { publish: Publish; play: Play }[] = [
  { publish: 'sdk', play: 'sdk' },
  { publish: 'whip', play: 'whep' },
  { publish: 'whip', play: 'sdk' },
];

let media: RunningMedia;
const published = new Map<string, () => void>();

beforeAll(async () => {
  media = await startMedia();
  media.server.streams.on('published', (publisher) => published.get(publisher.name)?.());
});
afterAll(async () => {
  await media?.stop();
});

/** What a round ends: a WHIP/WHEP session by DELETE, an SDK one by unpublish/stop. */
interface Peer {
  stop(): Promise<unknown>;
}

async function publish(kind: Publish, name: string): Promise<Peer> {
  if (kind === 'sdk') return NodePeer.publish(media.wsUrl, name);
  const peer = await WhipPeer.publish(`${media.restUrl}/whip/${name}`);
  return { stop: () => peer.delete() };
}

async function play(kind: Play, name: string, onVideo: () => void): Promise<Peer> {
  if (kind === 'sdk') return NodePeer.play(media.wsUrl, name, { kinds: ['video'], onRtp: onVideo });
  const peer = await WhipPeer.play(`${media.restUrl}/whep/${name}`, {}, (_rtp, kind) => {
    if (kind === 'video') onVideo();
  });
  return { stop: () => peer.delete() };
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  const timeout = sleep(DEADLINE_MS, undefined, { ref: false }).then(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
  return Promise.race([promise, timeout]);
}

interface Round {
  up: number;
  firstFrame: number;
}

async function round(path: { publish: Publish; play: Play }, name: string): Promise<Round> {
  const peers: Peer[] = [];
  const up = new Promise<void>((resolve) => published.set(name, resolve));
  let frame = (): void => undefined;
  const firstFrame = new Promise<number>((resolve) => {
    frame = () => resolve(performance.now());
  });
  try {
    const t0 = performance.now();
    peers.push(await publish(path.publish, name));
    await within(up, `${name} published`);
    const tUp = performance.now();
    peers.push(await play(path.play, name, () => frame()));
    const tFrame = await within(firstFrame, `the first frame of ${name}`);
    return { up: tUp - t0, firstFrame: tFrame - t0 };
  } finally {
    published.delete(name);
    for (const peer of peers.reverse()) await peer.stop().catch(() => undefined);
  }
}

it('WHIP publish → first frame on WHEP and SDK players vs SDK publish → SDK play', async () => {
  const samples = PATHS.map(() => ({ up: [] as number[], firstFrame: [] as number[] }));
  for (let i = 0; i < ROUNDS; i++) {
    for (const [p, path] of PATHS.entries()) {
      const r = await round(path, `${path.publish}-${path.play}-${i}`);
      samples[p]!.up.push(r.up);
      samples[p]!.firstFrame.push(r.firstFrame);
    }
  }
  const results = PATHS.map((path, p) => {
    const firstFrame = stats(samples[p]!.firstFrame);
    const up = stats(samples[p]!.up);
    const toFrame = stats(samples[p]!.firstFrame.map((f, i) => f - samples[p]!.up[i]!));
    return { ...path, firstFrame, publishToUp: up, upToFirstFrame: toFrame };
  });
  const line = (what: string, s: Stats): string => `${what}: p50 ${ms(s.p50)}, p95 ${ms(s.p95)}`;
  const [baseline] = results;
  const signed = (x: number): string => `${x >= 0 ? '+' : ''}${ms(x)}`;
  record(
    'whip-latency',
    { unit: 'ms', rounds: ROUNDS, results },
    results.map(
      (r) =>
        `${line(`${r.publish} publish → first frame on a ${r.play} player`, r.firstFrame)} over ${r.firstFrame.n}` +
        ` (publish → up p50 ${ms(r.publishToUp.p50)}, play → first frame p50 ${ms(r.upToFirstFrame.p50)})` +
        (r === baseline
          ? ' [baseline]'
          : `; ${signed(r.firstFrame.p50 - baseline!.firstFrame.p50)} vs the baseline at p50`),
    ),
  );
});
