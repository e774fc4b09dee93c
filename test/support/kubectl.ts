import path from 'node:path';
import type { StreamPush } from '../../src/operator/api.js';
import { packageRoot } from '../../src/paths.js';
import { run, type RunResult } from './tools.js';

/**
 * The real kubectl against a test cluster; never throws, the caller asserts on the result.
 * Its discovery and OpenAPI cache lives beside the kubeconfig, so a test never reads another
 * cluster's cached schema from ~/.kube/cache, nor leaves anything there.
 */
export function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<RunResult> {
  const cacheDir = path.join(path.dirname(kubeconfig), 'kubectl-cache');
  return run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
    stdin,
    timeoutMs: 60_000,
  });
}

/**
 * What a cluster says about its pods and their last 25 events (one namespace, or all), for the message of a
 * failed wait.
 */
export async function podReport(kubeconfig: string, namespace?: string): Promise<string> {
  const where = namespace ? ['-n', namespace] : ['-A'];
  const pods = await kubectl(kubeconfig, [...where, 'get', 'pods', '-o', 'wide']);
  const events = await kubectl(kubeconfig, [...where, 'get', 'events', '--sort-by=.lastTimestamp']);
  return `${pods.stdout}${pods.stderr}\n${events.stdout.split('\n').slice(-25).join('\n')}${events.stderr}`;
}

/** Applies the StreamPush CRD (crds/) and waits until the API server serves it; throws if it cannot. */
export async function applyStreamPushCrd(kubeconfig: string): Promise<void> {
  for (const args of [
    ['apply', '-f', path.join(packageRoot, 'crds/streampush.yaml')],
    ['wait', '--for=condition=established', '--timeout=30s', 'crd/streampushes.streamfed.io'],
  ]) {
    const r = await kubectl(kubeconfig, args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  }
}

/** `kubectl apply` of one object (as JSON on stdin), with extra flags (e.g. `--dry-run=server`). */
export function applyObject(kubeconfig: string, object: object, ...flags: string[]): Promise<RunResult> {
  return kubectl(kubeconfig, ['apply', ...flags, '-f', '-'], JSON.stringify(object));
}

/** A StreamPush as the API server has it now; undefined when there is none. */
export async function getStreamPush(
  kubeconfig: string,
  name: string,
  namespace = 'default',
): Promise<StreamPush | undefined> {
  const r = await kubectl(kubeconfig, ['get', 'streampush', name, '-n', namespace, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as StreamPush) : undefined;
}
