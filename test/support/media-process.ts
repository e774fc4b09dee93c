import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/paths.js';
import { waitFor } from './media-server.js';
import { freePort } from './ports.js';
import { cliScript } from './tools.js';

export interface MediaProcess {
  child: ChildProcess;
  wsUrl: string;
  wssUrl?: string;
  restUrl: string;
  output(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  /** Like a pod restarted in place: SIGKILL, then a new process with the same arguments and addresses. */
  restart(): Promise<MediaProcess>;
  /** Asks the resource probe (started with NodeOptions.probe) for handles and heap after GC. */
  probe(): Promise<ProbeReport>;
}

let nextRtcPort = 46000;

/** A child outlives neither a failed hook nor the test process: SIGKILL it when this process exits. */
export function killOnExit(child: ChildProcess): void {
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

/** Waits for `started`; a child that does not get there is killed, not left running after a failed start. */
async function killedUnless(child: ChildProcess, started: () => Promise<unknown>): Promise<void> {
  try {
    await started();
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
}

/** How to run node for a media process (benchmarks: profiling flags, another build to compare with). */
export interface NodeOptions {
  /** Flags for node itself, before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** The CLI script; dist/cli.js by default. */
  cli?: string;
  /**
   * Load the test-only resource probe (test/support/resource-probe.mjs) over an IPC channel, with
   * --expose-gc: MediaProcess.probe() then reports the process's active handles and heap after GC.
   */
  probe?: boolean;
}

/** What a media process reports of itself through the resource probe. */
export interface ProbeReport {
  /** process.getActiveResourcesInfo(): one entry per active handle or request, by type. */
  resources: string[];
  /** Heap used after two full GCs, in bytes. */
  heapUsed: number;
}

export interface MediaPorts {
  ws: number;
  rest: number;
  wss: number;
  restTls: number;
  rtcMin: number;
}

/** `streamfed media` as its own process (the built dist/cli.js), on 127.0.0.1 with free ports. */
export async function spawnMedia(
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
  node: NodeOptions = {},
): Promise<MediaProcess> {
  return launchMedia(await allocateMediaPorts(), extraArgs, env, node);
}

/** Free ports for one media process (to know its addresses before it starts, e.g. for --peers). */
export async function allocateMediaPorts(): Promise<MediaPorts> {
  const ports: MediaPorts = {
    ws: await freePort(),
    rest: await freePort(),
    wss: await freePort(),
    restTls: await freePort(),
    rtcMin: nextRtcPort,
  };
  nextRtcPort += 400;
  return ports;
}

/** One media process on the given ports (a restart launches another on the same ones). */
export async function launchMedia(
  ports: MediaPorts,
  extraArgs: string[],
  env: NodeJS.ProcessEnv,
  node: NodeOptions,
): Promise<MediaProcess> {
  const args = [
    ...(node.probe
      ? [
          '--expose-gc',
          '--import',
          pathToFileURL(path.join(packageRoot, 'test/support/resource-probe.mjs')).href,
        ]
      : []),
    ...(node.nodeArgs ?? []),
    node.cli ?? cliScript,
    'media',
    '--listen-ip',
    '127.0.0.1',
    '--announced-ip',
    '127.0.0.1',
    '--ws-port',
    String(ports.ws),
    '--wss-port',
    String(ports.wss),
    '--rest-port',
    String(ports.rest),
    '--rest-tls-port',
    String(ports.restTls),
    '--rtc-port',
    '0',
    '--rtc-min-port',
    String(ports.rtcMin),
    '--rtc-max-port',
    String(ports.rtcMin + 399),
    '--workers',
    '1',
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: node.probe ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  killOnExit(child);
  await killedUnless(child, () =>
    // generous: several servers start at once on a loaded machine
    waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`media server exited: ${out}`);
        return out.includes('media server listening');
      },
      'media server to listen',
      60_000,
    ),
  );
  const tls = extraArgs.includes('--tls-cert');
  const kill = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    child,
    wsUrl: `ws://127.0.0.1:${ports.ws}`,
    ...(tls ? { wssUrl: `wss://127.0.0.1:${ports.wss}` } : {}),
    restUrl: `http://127.0.0.1:${ports.rest}`,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill,
    restart: async () => {
      await kill();
      return launchMedia(ports, extraArgs, env, node);
    },
    probe: () => probe(child),
  };
}

let probeIds = 0;

function probe(child: ChildProcess): Promise<ProbeReport> {
  if (!child.send) return Promise.reject(new Error('started without the resource probe'));
  const id = ++probeIds;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', listener);
      reject(new Error('resource probe did not answer'));
    }, 10_000);
    const listener = (message: unknown): void => {
      const m = message as ProbeReport & { probe?: string; id?: number };
      if (m?.probe !== 'resources' || m.id !== id) return;
      clearTimeout(timer);
      child.off('message', listener);
      resolve({ resources: m.resources, heapUsed: m.heapUsed });
    };
    child.on('message', listener);
    child.send!({ probe: 'resources', id });
  });
}

export interface OperatorProcess {
  child: ChildProcess;
  metricsUrl: string;
  output(): string;
  kill(): Promise<void>;
}

/**
 * `streamfed operator` as its own process with a short Lease and resync, for failover tests; `extraArgs` come
 * last, so a repeated flag overrides these (e.g. `--resync-seconds 30`).
 */
export async function spawnOperator(
  kubeconfig: string,
  identity: string,
  leaseName: string,
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      cliScript,
      'operator',
      '--kubeconfig',
      kubeconfig,
      '--metrics-host',
      '127.0.0.1',
      '--metrics-port',
      String(metricsPort),
      '--resync-seconds',
      '1',
      '--lease-name',
      leaseName,
      '--lease-namespace',
      'default',
      '--lease-duration-seconds',
      '3',
      '--identity',
      identity,
      '--log-level',
      'info',
      ...extraArgs,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killOnExit(child);
  await killedUnless(child, () =>
    waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`operator exited: ${out}`);
        return out.includes('operator started');
      },
      'operator to start',
      20_000,
    ),
  );
  return {
    child,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    output: () => out,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
