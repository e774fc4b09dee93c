import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { GROUP, PLURAL, VERSION } from '../../src/operator/api.js';
import { packageRoot } from '../../src/paths.js';
import { waitFor } from '../../test/support/media-server.js';
import { rssBytes } from './proc.js';

/**
 * A process's memory for the operator benchmarks: RSS and peak from /proc, the live heap through its inspector;
 * and the memory baseline, a bare client-node informer process.
 */
export interface Memory {
  rss: number;
  /** VmHWM: the highest RSS so far. */
  peak: number;
  /** V8 heap in use after a full GC. */
  liveHeap: number;
}

/** RSS and peak from /proc, then the live heap after a GC forced through the process's inspector. */
export async function memory(p: { pid: number; inspector: string }): Promise<Memory> {
  const rss = rssBytes(p.pid);
  const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
  const peak = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
  const ws = new WebSocket(p.inspector);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const call = (method: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const mine = ++id;
      const onMessage = (data: Buffer): void => {
        const m = JSON.parse(String(data)) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: unknown;
        };
        if (m.id !== mine) return;
        ws.off('message', onMessage);
        if (m.error) reject(new Error(`${method}: ${JSON.stringify(m.error)}`));
        else resolve(m.result ?? {});
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: mine, method }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    const { usedSize } = (await call('Runtime.getHeapUsage')) as { usedSize: number };
    return { rss, peak, liveHeap: usedSize };
  } finally {
    ws.close();
  }
}

/** The inspector's WebSocket URL from a process's output (it runs with --inspect=127.0.0.1:0). */
export function inspectorUrl(output: string): string {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
  if (!url) throw new Error(`no inspector URL in: ${output.slice(0, 500)}`);
  return url;
}

/** A process that only caches the namespace's StreamPushes with client-node's informer: the memory baseline. */
export async function spawnInformerOnly(
  kubeconfig: string,
  namespace: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; output(): string }> {
  const clientNode = pathToFileURL(
    path.join(packageRoot, 'node_modules/@kubernetes/client-node/dist/index.js'),
  );
  const script = `
    const { KubeConfig, CustomObjectsApi, makeInformer } = await import(${JSON.stringify(clientNode.href)});
    const kc = new KubeConfig();
    kc.loadFromFile(process.env.BENCH_KUBECONFIG);
    const api = kc.makeApiClient(CustomObjectsApi);
    const ns = process.env.BENCH_NAMESPACE;
    const informer = makeInformer(kc, '/apis/${GROUP}/${VERSION}/namespaces/' + ns + '/${PLURAL}', () =>
      api.listNamespacedCustomObject({ group: '${GROUP}', version: '${VERSION}', plural: '${PLURAL}', namespace: ns }));
    informer.on('error', () => setTimeout(() => informer.start().catch(() => {}), 500));
    await informer.start();
    console.log('informer up');
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env, BENCH_KUBECONFIG: kubeconfig, BENCH_NAMESPACE: namespace },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  process.once('exit', () => child.kill('SIGKILL'));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`informer-only process exited: ${out}`);
      return out.includes('informer up');
    },
    'the informer-only process',
    30_000,
  );
  return { child, output: () => out };
}
