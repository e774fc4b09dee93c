import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { kubectl } from './kubectl.js';
import { kubeBin, startKubeCluster, startProcess, type Child } from './kube-cluster.js';
import { freePort } from './ports.js';
import { run } from './tools.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real single-node Kubernetes on 127.0.0.1 (the recipe in ../shared/kubernetes-node.md): Debian's dockerd with
 * host networking only, the control plane of kube-cluster.ts (etcd, kube-apiserver, now with service-account
 * tokens and the Node authorizer), kube-controller-manager, kube-scheduler and a kubelet (dockershim) whose node
 * is named 127.0.0.1. Pods must use hostNetwork. Every process is detached, its pid in `<dir>/<name>.pid`, so the
 * node outlives the process that started it (`npm run cluster:up`) and stopKubeNode() stops it from any process.
 */
export interface KubeNode {
  dir: string;
  /** The admin kubeconfig (JSON). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port>: what in-cluster clients must be told (no Service network here). */
  server: string;
  /** unix:///run/streamfed-<hash>/docker.sock: the node's dockerd, for `docker` (DOCKER_HOST). */
  dockerHost: string;
}

/** Debian's docker client (a different, newer one may come first on PATH). */
export const dockerCli = '/usr/bin/docker';

/** Images and build cache of the node's dockerd: kept across cluster:down (like kind's node image). */
export const dockerDataRoot = (): string => {
  const dir = path.join(packageRoot, '.cache', 'docker');
  mkdirSync(dir, { recursive: true });
  return realpathSync(dir);
};

/** dockerd's exec root, socket and pid file: short (unix socket paths), one per node folder. */
function runDir(dir: string): string {
  return `/run/streamfed-${createHash('sha256').update(dir).digest('hex').slice(0, 8)}`;
}

export function dockerHostOf(dir: string): string {
  return `unix://${runDir(dir)}/docker.sock`;
}

const NODE_NAME = '127.0.0.1';
const USERS = {
  [`system:node:${NODE_NAME}`]: ['system:nodes'],
  'system:kube-controller-manager': [],
  'system:kube-scheduler': [],
} as const;

/** In stopping order: the kubelet first (it would restart what we remove), dockerd last. */
const PROCESSES = [
  'kubelet',
  'kube-controller-manager',
  'kube-scheduler',
  'kube-apiserver',
  'etcd',
  'dockerd',
] as const;
type ProcessName = (typeof PROCESSES)[number];

function pidOf(dir: string, name: ProcessName): number | undefined {
  const file = path.join(dir, `${name}.pid`);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether `pid` is a live (not zombie) process running `name`: a reused pid is never taken for ours. */
function isRunning(pid: number, name: ProcessName): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return path.basename(argv0) === name;
  } catch {
    return false;
  }
}

/** The node's processes that are still running, by name. */
export function runningProcesses(dir: string): ProcessName[] {
  const real = existsSync(dir) ? realpathSync(dir) : dir;
  return PROCESSES.filter((name) => {
    const pid = pidOf(real, name);
    return pid !== undefined && isRunning(pid, name);
  });
}

/** The last error lines of a log (klog's E/F lines, or any line saying error), else its last lines. */
function tail(file: string, lines = 12): string {
  try {
    const all = readFileSync(file, 'utf8').trimEnd().split('\n');
    const errors = all.filter((line) => /^[EF]\d{4} |level=(error|fatal)|"level":"(error|fatal)"/.test(line));
    return (errors.length > 0 ? errors : all).slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function mustRun(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(cmd, args, { env, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A CA and a client certificate signed by it (for kube-apiserver → kubelet). */
async function kubeletClientPki(dir: string): Promise<void> {
  const f = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await mustRun('openssl', [
    'req',
    '-x509',
    ...ec,
    '-days',
    '30',
    '-subj',
    '/CN=streamfed-kubelet-client-ca',
    '-keyout',
    f('kubelet-ca.key'),
    '-out',
    f('kubelet-ca.crt'),
  ]);
  await mustRun('openssl', [
    'req',
    ...ec,
    '-subj',
    '/O=system:masters/CN=kube-apiserver-kubelet-client',
    '-keyout',
    f('apiserver-kubelet-client.key'),
    '-out',
    f('apiserver-kubelet-client.csr'),
  ]);
  await mustRun('openssl', [
    'x509',
    '-req',
    '-in',
    f('apiserver-kubelet-client.csr'),
    '-CA',
    f('kubelet-ca.crt'),
    '-CAkey',
    f('kubelet-ca.key'),
    '-CAcreateserial',
    '-days',
    '30',
    '-out',
    f('apiserver-kubelet-client.crt'),
  ]);
}

function writeKubeconfig(file: string, server: string, caFile: string, token: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'user', user: { token } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: 'user' } }],
    'current-context': 'local',
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

/** Starts dockerd (host networking only, the oomScoreAdj runc wrapper); resolves once it answers. */
async function startDockerd(dir: string, log: (line: string) => void): Promise<Child> {
  const runRoot = runDir(dir);
  mkdirSync(runRoot, { recursive: true });
  const config = path.join(dir, 'daemon.json');
  const wrapper = path.join(packageRoot, 'scripts/cluster/runc-oom-wrapper');
  writeFileSync(
    config,
    `${JSON.stringify({ runtimes: { 'streamfed-runc': { path: wrapper } }, 'default-runtime': 'streamfed-runc' })}\n`,
  );
  const dockerd = startProcess(
    'dockerd',
    'dockerd',
    [
      `--host=${dockerHostOf(dir)}`,
      `--data-root=${dockerDataRoot()}`,
      `--exec-root=${runRoot}/exec`,
      `--pidfile=${runRoot}/docker.pid`,
      `--config-file=${config}`,
      // Its own containerd namespaces: where a system containerd runs, dockerd uses it, maybe beside a system dockerd.
      '--containerd-namespace=streamfed',
      '--containerd-plugins-namespace=streamfed-plugins',
      // Host networking only: no bridge, no iptables, no private-range addresses.
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
    ],
    path.join(dir, 'dockerd.log'),
    { cwd: dir, detached: true },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (dockerd.exited !== undefined)
      throw new Error(`dockerd ${dockerd.exited}\n${tail(path.join(dir, 'dockerd.log'))}`);
    const r = await run(dockerCli, ['version', '--format', '{{.Server.Version}}'], {
      env: { DOCKER_HOST: dockerHostOf(dir) },
      timeoutMs: 10_000,
    });
    if (r.code === 0) {
      log(`dockerd ${r.stdout.trim()} ready`);
      return dockerd;
    }
    if (Date.now() > deadline) throw new Error(`dockerd not ready after 60 s: ${r.stderr}`);
    await sleep(300);
  }
}

export interface StartKubeNodeOptions {
  /** The node's folder (kubeconfig, pki, logs, pid files, etcd data, kubelet root). */
  dir: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Before the kubelet starts, with dockerd up (e.g. load images); its DOCKER_HOST is passed. */
  beforeKubelet?: (dockerHost: string) => Promise<void>;
}

/**
 * Starts the node and waits until it is Ready. Refuses when a node of this folder is running; on failure,
 * stops whatever it started (and says which log to read).
 */
export async function startKubeNode(opts: StartKubeNodeOptions): Promise<KubeNode> {
  const log = opts.log ?? (() => {});
  mkdirSync(opts.dir, { recursive: true });
  const dir = realpathSync(opts.dir); // kubelet's mounts are compared by real path
  const running = runningProcesses(dir);
  if (running.length > 0)
    throw new Error(
      `a local cluster of ${dir} is running (${running.join(', ')}): stop it first ("npm run cluster:down")`,
    );
  try {
    await stopKubeNode(dir); // what a killed run left: mounts, containers, state
    mkdirSync(dir, { recursive: true });
    await kubeletClientPki(dir);
    const [, cluster] = await Promise.all([
      startDockerd(dir, log),
      startKubeCluster({
        dir,
        detached: true,
        serviceAccountAdmission: true,
        users: USERS,
        apiserverArgs: [
          '--authorization-mode=Node,RBAC',
          '--enable-admission-plugins=NodeRestriction',
          `--kubelet-client-certificate=${path.join(dir, 'apiserver-kubelet-client.crt')}`,
          `--kubelet-client-key=${path.join(dir, 'apiserver-kubelet-client.key')}`,
          '--kubelet-preferred-address-types=InternalIP,Hostname',
        ],
      }),
    ]);
    log(`kube-apiserver ready at ${cluster.server}`);
    const tokenOf = (user: keyof typeof USERS): string => {
      const token = cluster.tokens[user];
      if (!token) throw new Error(`no token for ${user}`);
      return token;
    };
    const kubeconfigOf = (name: string, user: keyof typeof USERS): string => {
      const file = path.join(dir, `${name}.kubeconfig`);
      writeKubeconfig(file, cluster.server, cluster.caFile, tokenOf(user));
      return file;
    };
    const start = (name: 'kubelet' | 'kube-controller-manager' | 'kube-scheduler', args: string[]): Child =>
      startProcess(name, kubeBin(name), args, path.join(dir, `${name}.log`), {
        cwd: dir,
        detached: true,
      });
    const controlPlane = [
      start('kube-controller-manager', [
        `--kubeconfig=${kubeconfigOf('controller-manager', 'system:kube-controller-manager')}`,
        // false: its controllers share one identity and get RBAC "forbidden"
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${path.join(dir, 'sa.key')}`,
        `--root-ca-file=${cluster.caFile}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--port=0',
        '--secure-port=0',
      ]),
      start('kube-scheduler', [
        `--kubeconfig=${kubeconfigOf('scheduler', 'system:kube-scheduler')}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        '--port=0',
        '--secure-port=0',
      ]),
    ];
    await opts.beforeKubelet?.(dockerHostOf(dir));
    const kubeletPort = await freePort();
    const kubeletConfig = path.join(dir, 'kubelet-config.json');
    writeFileSync(
      kubeletConfig,
      `${JSON.stringify(
        {
          kind: 'KubeletConfiguration',
          apiVersion: 'kubelet.config.k8s.io/v1beta1',
          address: '127.0.0.1',
          port: kubeletPort,
          readOnlyPort: 0,
          healthzPort: 0,
          authentication: {
            anonymous: { enabled: false },
            webhook: { enabled: false },
            x509: { clientCAFile: path.join(dir, 'kubelet-ca.crt') },
          },
          // Only the API server reaches it (client certificate from our own CA).
          authorization: { mode: 'AlwaysAllow' },
          cgroupDriver: 'cgroupfs',
          failSwapOn: false,
          // A developer's disk may be fuller than kubelet's defaults allow.
          evictionHard: {
            'memory.available': '50Mi',
            'nodefs.available': '1%',
            'nodefs.inodesFree': '1%',
            'imagefs.available': '1%',
          },
          imageGCHighThresholdPercent: 100,
          imageGCLowThresholdPercent: 99,
          serializeImagePulls: false,
        },
        null,
        2,
      )}\n`,
    );
    const runRoot = runDir(dir);
    const kubelet = start('kubelet', [
      `--config=${kubeletConfig}`,
      `--kubeconfig=${kubeconfigOf('kubelet', `system:node:${NODE_NAME}`)}`,
      `--root-dir=${path.join(dir, 'kubelet')}`,
      `--cert-dir=${path.join(dir, 'kubelet-pki')}`,
      '--container-runtime=docker',
      `--docker-endpoint=${dockerHostOf(dir)}`,
      `--container-runtime-endpoint=unix://${runRoot}/dockershim.sock`,
      `--image-service-endpoint=unix://${runRoot}/dockershim.sock`,
      `--experimental-dockershim-root-directory=${path.join(dir, 'dockershim')}`,
      `--volume-plugin-dir=${path.join(dir, 'volume-plugins')}`,
      `--seccomp-profile-root=${path.join(dir, 'kubelet', 'seccomp')}`,
      '--pod-infra-container-image=k8s.gcr.io/pause:3.2',
      // Node name and InternalIP 127.0.0.1 (--node-ip refuses loopback); no --network-plugin: Ready without CNI.
      `--hostname-override=${NODE_NAME}`,
      '--v=1',
    ]);
    const nodeReady = Date.now() + 120_000;
    for (;;) {
      const dead = [kubelet, ...controlPlane].find((c) => c.exited !== undefined);
      if (dead) throw new Error(`${dead.name} ${dead.exited}\n${tail(path.join(dir, `${dead.name}.log`))}`);
      const r = await kubectl(cluster.kubeconfigPath, [
        'get',
        'node',
        NODE_NAME,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]);
      if (r.code === 0 && r.stdout.trim() === 'True') break;
      if (Date.now() > nodeReady)
        throw new Error(
          `node ${NODE_NAME} not Ready after 120 s (${r.stdout || r.stderr})\n${tail(path.join(dir, 'kubelet.log'))}`,
        );
      await sleep(1000);
    }
    log(`node ${NODE_NAME} Ready`);
    return {
      dir,
      kubeconfigPath: cluster.kubeconfigPath,
      server: cluster.server,
      dockerHost: dockerHostOf(dir),
    };
  } catch (error) {
    await stopKubeNode(dir, { keepLogs: true }).catch(() => {});
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`startKubeNode: ${message}\n(logs in ${dir}/*.log)`, { cause: error });
  }
}

/** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process is gone. */
async function terminate(pid: number, name: ProcessName, graceMs: number): Promise<void> {
  if (!isRunning(pid, name)) return;
  try {
    process.kill(pid, name === 'kube-apiserver' ? 'SIGKILL' : 'SIGTERM'); // apiserver: ~19 s with open watches
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isRunning(pid, name)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL'); // kube-controller-manager ignores the first SIGTERM
      } catch {
        return;
      }
    }
    await sleep(100);
  }
}

/** Mount points at or below one of `roots`, deepest first (from /proc/self/mountinfo). */
function mountsUnder(roots: string[]): string[] {
  const unescape = (p: string) =>
    p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => unescape(line.split(' ')[4] ?? ''))
    .filter((mount) => roots.some((root) => mount === root || mount.startsWith(`${root}/`)))
    .sort((a, b) => b.length - a.length);
}

/**
 * Stops the node of `dir` from any process (kubelet first, then its pod containers, the control plane and
 * dockerd), unmounts what kubelet and dockerd mounted, and removes `dir` (docker's images stay; with keepLogs,
 * only what is not a log). Idempotent. Returns what it stopped.
 */
export async function stopKubeNode(dirArg: string, opts: { keepLogs?: boolean } = {}): Promise<string[]> {
  if (!existsSync(dirArg)) return [];
  const dir = realpathSync(dirArg);
  const done: string[] = [];
  const dockerHost = dockerHostOf(dir);
  for (const name of PROCESSES) {
    const pid = pidOf(dir, name);
    if (name === 'dockerd' && pid !== undefined && isRunning(pid, name)) {
      // Pod containers (and their sandboxes) go before dockerd, so it never restarts them later.
      const env = { DOCKER_HOST: dockerHost };
      const ids = await run(dockerCli, ['ps', '-aq', '--filter', 'label=io.kubernetes.pod.uid'], { env });
      const list = ids.stdout.split('\n').filter(Boolean);
      if (list.length > 0) {
        await run(dockerCli, ['rm', '-f', ...list], { env, timeoutMs: 120_000 });
        done.push(`${list.length} pod containers`);
      }
    }
    if (pid !== undefined && isRunning(pid, name)) {
      await terminate(pid, name, name === 'dockerd' ? 30_000 : 5_000);
      done.push(name);
    }
  }
  const runRoot = runDir(dir);
  for (const mount of mountsUnder([dir, runRoot, dockerDataRoot()])) {
    const r = await run('umount', [mount]);
    if (r.code !== 0) await run('umount', ['-l', mount]);
    done.push(`umount ${mount}`);
  }
  rmSync(runRoot, { recursive: true, force: true });
  // The pod logs kubelet keeps under /var/log/pods (<namespace>_<pod>_<uid>/) and its links to them in
  // /var/log/containers: those of this node's pods.
  const kubeletPods = path.join(dir, 'kubelet', 'pods');
  const ours = (name: string): boolean =>
    existsSync(kubeletPods) && readdirSync(kubeletPods).some((uid) => name.includes(uid));
  const links = existsSync('/var/log/containers') ? readdirSync('/var/log/containers') : [];
  for (const link of links) {
    const file = path.join('/var/log/containers', link);
    let target = '';
    try {
      target = readlinkSync(file);
    } catch {
      continue;
    }
    if (ours(target)) rmSync(file, { force: true });
  }
  for (const entry of existsSync('/var/log/pods') ? readdirSync('/var/log/pods') : [])
    if (ours(entry)) rmSync(path.join('/var/log/pods', entry), { recursive: true, force: true });
  for (const entry of opts.keepLogs ? readdirSync(dir) : [])
    if (!entry.endsWith('.log')) rmSync(path.join(dir, entry), { recursive: true, force: true });
  if (!opts.keepLogs) rmSync(dir, { recursive: true, force: true });
  return done;
}
