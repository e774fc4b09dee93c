import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, it } from 'vitest';
import { spawnMedia, type MediaProcess } from '../test/support/media-process.js';
import { freePort } from '../test/support/ports.js';
import { waitFor } from '../test/support/media-server.js';
import { metric } from '../test/support/metrics.js';
import { WcsSocket } from '../test/support/wcs-socket.js';
import { record } from './report.js';
import { rssBytes } from './support/proc.js';

const STEPS = (process.env['BENCH_SESSIONS'] ?? '1000,2500,5000').split(',').map(Number);

/**
 * Idle WCS sessions held (handshake done, keep-alive on) and server memory per session, against the
 * same-run baseline of a bare `ws` server process holding the same number of sockets.
 */
let server: MediaProcess | undefined;
afterAll(async () => server?.kill());

async function hold(url: string, n: number, handshake: boolean): Promise<WcsSocket[]> {
  const sockets: WcsSocket[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, n - i) }, async () =>
        handshake ? (await WcsSocket.established(url)).ws : WcsSocket.open(url),
      ),
    );
    sockets.push(...batch);
  }
  return sockets;
}

async function startBare(): Promise<{ pid: number; url: string; kill(): void }> {
  const port = await freePort();
  const bare = spawn(
    process.execPath,
    [
      '-e',
      `
    const { WebSocketServer } = require(${JSON.stringify(createRequire(import.meta.url).resolve('ws'))});
    new WebSocketServer({ host: '127.0.0.1', port: ${port} }).on('listening', () => console.log('up'));
  `,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((r) => bare.stdout.once('data', r));
  return { pid: bare.pid!, url: `ws://127.0.0.1:${port}`, kill: () => bare.kill('SIGKILL') };
}

it('idle sessions and memory per session', async () => {
  const rows: Record<string, unknown>[] = [];
  const summary: string[] = [];
  // fresh processes per step: memory a process once used is not given back, so steps must not share one
  for (const n of STEPS) {
    server = await spawnMedia(['--workers', '1']);
    const bare = await startBare();
    try {
      await sleep(1000);
      const baseOurs = rssBytes(server.child.pid!);
      const baseBare = rssBytes(bare.pid);
      const ours = await hold(server.wsUrl, n, true);
      const theirs = await hold(bare.url, n, false);
      await sleep(6000); // one keep-alive round
      await waitFor(
        async () => (await metric(server!.restUrl, 'streamfed_ws_sessions')) === n,
        'sessions counted',
        30_000,
      );
      const perOurs = (rssBytes(server.child.pid!) - baseOurs) / n;
      const perBare = (rssBytes(bare.pid) - baseBare) / n;
      rows.push({
        sessions: n,
        bytesPerSession: Math.round(perOurs),
        baselineBareWsBytesPerSocket: Math.round(perBare),
      });
      summary.push(
        `${n} idle sessions held: ${(perOurs / 1024).toFixed(1)} KiB per WCS session vs ${(perBare / 1024).toFixed(1)} KiB per bare ws socket`,
      );
      for (const s of [...ours, ...theirs]) s.close();
    } finally {
      bare.kill();
      await server.kill();
      server = undefined;
    }
  }
  record('signalling-sessions', { steps: rows }, summary);
});
