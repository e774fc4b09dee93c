import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { launchBrowser } from './browser.js';
import { spawnMedia, type MediaProcess } from './media-process.js';
import { rest, waitFor } from './media-server.js';
import { metric } from './metrics.js';
import { listPushes } from './pushes.js';
import { TwoWayStreamingPage } from './websdk-page.js';

/** Two streamfed servers of two fleets and a browser whose Two Way Streaming page publishes `cam` on s1. */
export interface TwoFleets {
  s1: MediaProcess;
  s2: MediaProcess;
  browser: Browser;
  /** What a test made and its teardown closes, last first, after each test. */
  closers: (() => Promise<unknown>)[];
}

/**
 * Registers the hooks of a describe block between two servers alone (each announces its own member id as its
 * fleet id), started with `args`: after each test its closers run and every push or pull left on `relaysOn`
 * is terminated; after all, the browser and both servers are stopped. The fields are set once beforeAll ran.
 */
export function twoFleets(args: { s1?: string[]; s2?: string[] }, relaysOn: 's1' | 's2'): TwoFleets {
  const fleets = { closers: [] as TwoFleets['closers'] } as TwoFleets;
  beforeAll(async () => {
    [fleets.s1, fleets.s2] = await Promise.all([spawnMedia(args.s1 ?? []), spawnMedia(args.s2 ?? [])]);
    fleets.browser = await launchBrowser();
    const publisher = await TwoWayStreamingPage.open(fleets.browser, fleets.s1.restUrl, fleets.s1.wsUrl);
    await publisher.publish('cam');
    await publisher.waitPublishStatus('PUBLISHING');
  });
  afterEach(async () => {
    for (const close of fleets.closers.splice(0).reverse()) await close();
    const { restUrl } = fleets[relaysOn];
    for (const p of await listPushes(restUrl))
      await rest(restUrl, '/rest-api/pull/terminate', { localMediaSessionId: p.localMediaSessionId });
  });
  afterAll(async () => {
    await fleets.browser?.close();
    await Promise.all([fleets.s1?.kill(), fleets.s2?.kill()]);
  });
  return fleets;
}

/** Live mediasoup objects of `type` on a server (streamfed_mediasoup_objects). */
export const objects = (restUrl: string, type: string): Promise<number> =>
  metric(restUrl, 'streamfed_mediasoup_objects', { type });

/** Waits until none of `servers` has a pipe transport left. */
export async function pipesFreed(...servers: MediaProcess[]): Promise<void> {
  for (const { restUrl } of servers)
    await waitFor(async () => (await objects(restUrl, 'pipe_transport')) === 0, `no pipe left on ${restUrl}`);
}
