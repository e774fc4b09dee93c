import { afterAll, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../test/support/browser.js';
import { allocateMediaPorts, launchMedia, type MediaProcess } from '../test/support/media-process.js';
import { waitFor } from '../test/support/media-server.js';
import { NodePeer } from '../test/support/node-peer.js';
import { inBatches } from './support/batches.js';
import { perSecond, serverCpu } from './support/proc.js';
import { record } from './report.js';

const STREAMS = Number(process.env['BENCH_CONSOLE_STREAMS'] ?? 500);
const WINDOW_S = Number(process.env['BENCH_CONSOLE_SECONDS'] ?? 10);

/**
 * What the console costs its server. One `streamfed media` process with STREAMS published streams (Node
 * sources, 50 small packets/s each); two windows of the server's CPU (its Node process and its worker): idle
 * (nobody looks), with the console open in Chromium refreshing every 2 s (one /rest-api/console/state a
 * refresh), idle again. The open window minus the mean of the idle ones is the console's cost. Also: how long the state call takes and how big it is.
 */
let server: MediaProcess | undefined;
let browser: Browser | undefined;
let sources: NodePeer[] = [];

afterAll(async () => {
  await browser?.close();
  await Promise.all(sources.map((s) => s.close()));
  await server?.kill();
});

it(`console: ${STREAMS} streams, server CPU idle vs. with the console open`, async () => {
  const ports = await allocateMediaPorts();
  // one WebRTC transport per stream: a port range wide enough for all of them
  server = await launchMedia(
    { ...ports, rtcMin: 52000 },
    ['--rtc-max-port', String(52000 + STREAMS + 100)],
    {},
    {},
  );
  sources = await inBatches(STREAMS, (i) => NodePeer.publish(server!.wsUrl, `s${i}`), 20);
  await Promise.all(sources.map((s) => s.waitStatus('PUBLISHING', 60_000)));
  const pid = server.child.pid as number;
  await new Promise((r) => setTimeout(r, 3000));
  const idle = await perSecond(WINDOW_S, () => serverCpu(pid));

  browser = await launchBrowser();
  const page = await browser.newPage();
  await page.goto(`${server.restUrl}/`);
  await waitFor(
    async () => (await page.locator('#streams tbody tr').count()) === STREAMS,
    `${STREAMS} rows in the console`,
    60_000,
  );
  await new Promise((r) => setTimeout(r, 3000));
  const open = await perSecond(WINDOW_S, () => serverCpu(pid));
  // the state call as the page makes it, while the page keeps refreshing
  const timings: number[] = [];
  let size = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const text = await (await fetch(`${server.restUrl}/rest-api/console/state`)).text();
    timings.push(performance.now() - t0);
    size = text.length;
    await new Promise((r) => setTimeout(r, 1100));
  }
  // nobody looking again: the two idle windows frame the open one (the load drifts on a shared machine)
  await page.close();
  await new Promise((r) => setTimeout(r, 3000));
  const idleAfter = await perSecond(WINDOW_S, () => serverCpu(pid));
  const pct = (cores: number): string => `${(cores * 100).toFixed(1)}%`;
  const idleTotal = (idle.node + idle.workers + idleAfter.node + idleAfter.workers) / 2;
  const openTotal = open.node + open.workers;
  record(
    'console',
    {
      unit: 'cores (CPU seconds per second) of the server process and its worker',
      streams: STREAMS,
      windowSeconds: WINDOW_S,
      idle,
      idleAfter,
      consoleOpen: open,
      consoleCost: openTotal - idleTotal,
      stateCallMs: timings,
      stateBytes: size,
    },
    [
      `${STREAMS} streams, ${WINDOW_S} s windows: server CPU idle ${pct(idle.node + idle.workers)} before and ${pct(idleAfter.node + idleAfter.workers)} after (node ${pct(idle.node)}/${pct(idleAfter.node)}), console open ${pct(openTotal)} (node ${pct(open.node)}, worker ${pct(open.workers)}): the console costs ${pct(openTotal - idleTotal)} of one core`,
      `/rest-api/console/state: ${Math.round(Math.min(...timings))}–${Math.round(Math.max(...timings))} ms, ${Math.round(size / 1024)} KiB`,
    ],
  );
}, 600_000);
