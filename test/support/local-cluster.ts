import { spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { podReport } from './kubectl.js';
import { dockerCli, startKubeNode, stopKubeNode, type KubeNode } from './kube-node.js';
import { helmBin, run } from './tools.js';

/**
 * The local dev loop (`npm run cluster:up` / `cluster:down`) and the in-pod tests use this one sequence: build
 * what is missing (kube binaries, base images, the image from the project's Dockerfile), start the single node
 * (kube-node.ts), `helm install --wait` the chart with test/cluster/values.local.yaml.
 */
export const clusterDir = path.join(packageRoot, '.cache', 'cluster');
export const localValues = path.join(packageRoot, 'test/cluster/values.local.yaml');
export const imageName = 'streamfed:dev';
export const releaseName = 'streamfed';
export const releaseNamespace = 'streamfed';

export interface LocalCluster extends KubeNode {
  /** Seconds each step took, in order (printed by cluster:up, reported by the test). */
  timings: [step: string, seconds: number][];
  /** The image's size in bytes. */
  imageBytes: number;
}

/** Runs a script, its output streamed to `log` line by line; returns its last stdout line. */
function script(
  file: string,
  args: string[],
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '10', 'bash', path.join(packageRoot, file), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let last = '';
    const recent: string[] = []; // for the error
    const lines = (chunk: Buffer, keep: boolean) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        if (keep) last = line;
        recent.push(line);
        if (recent.length > 25) recent.shift();
        log(`  ${line}`);
      }
    };
    child.stdout.on('data', (c: Buffer) => lines(c, true));
    child.stderr.on('data', (c: Buffer) => lines(c, false));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(last.trim())
        : reject(new Error(`${file} ${args.join(' ')} failed (exit ${code}):\n${recent.join('\n')}`)),
    );
  });
}

async function timed<T>(
  timings: LocalCluster['timings'],
  step: string,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const t0 = Date.now();
  log(`${step}...`);
  const result = await fn();
  const seconds = Math.round((Date.now() - t0) / 100) / 10;
  timings.push([step, seconds]);
  log(`${step}: ${seconds} s`);
  return result;
}

/**
 * Brings the local cluster up, from whatever is cached. On failure everything started is stopped again.
 * `log` gets progress lines.
 */
export async function clusterUp(log: (line: string) => void = () => {}): Promise<LocalCluster> {
  const timings: LocalCluster['timings'] = [];
  const kubeDir = await timed(timings, 'kube binaries (scripts/build-kube.sh)', log, () =>
    script('scripts/build-kube.sh', [], log),
  );
  await timed(timings, 'helm (scripts/install-helm.sh)', log, () =>
    script('scripts/install-helm.sh', [], log),
  );
  let imageBytes = 0;
  let node: KubeNode | undefined;
  try {
    node = await timed(timings, 'node (dockerd, control plane, kubelet) Ready, with images', log, () =>
      startKubeNode({
        dir: clusterDir,
        log,
        beforeKubelet: async (dockerHost) => {
          const env = { DOCKER_HOST: dockerHost };
          await timed(timings, 'base images (scripts/cluster/base-images.sh)', log, () =>
            script('scripts/cluster/base-images.sh', [kubeDir], log, env),
          );
          await timed(timings, `image ${imageName} (scripts/cluster/build-image.sh)`, log, () =>
            script('scripts/cluster/build-image.sh', [imageName], log, env),
          );
          const size = await run(dockerCli, ['image', 'inspect', '-f', '{{.Size}}', imageName], {
            env,
          });
          imageBytes = Number(size.stdout.trim());
        },
      }),
    );
    const port = new URL(node.server).port;
    const kubeconfig = node.kubeconfigPath;
    await timed(timings, 'helm install --wait', log, async () => {
      const r = await run(
        helmBin(),
        [
          'install',
          releaseName,
          path.join(packageRoot, 'charts/streamfed'),
          '--kubeconfig',
          kubeconfig,
          '--namespace',
          releaseNamespace,
          '--create-namespace',
          '--values',
          localValues,
          '--set',
          `apiServer.port=${port}`,
          '--wait',
          '--timeout',
          '5m',
        ],
        { timeoutMs: 360_000 },
      );
      if (r.code !== 0) {
        throw new Error(`helm install failed: ${r.stderr}\n${await podReport(kubeconfig)}`);
      }
    });
    return { ...node, timings, imageBytes };
  } catch (error) {
    await stopKubeNode(clusterDir, { keepLogs: true }).catch(() => {});
    throw error;
  }
}

/** Stops everything clusterUp() started; returns what it stopped. */
export function clusterDown(): Promise<string[]> {
  return stopKubeNode(clusterDir);
}
