import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

/**
 * A real Kubernetes control plane for tests: Debian's etcd and a kube-apiserver built from Debian's
 * `kubernetes` source package by scripts/build-kube.sh (run by `npm run setup`), both on 127.0.0.1
 * with free ports, in a fresh temporary folder. The client authenticates with a bearer token in the group
 * system:masters; RBAC is on. There is no controller-manager, scheduler or kubelet: objects are validated
 * and stored (CRDs, custom resources, RBAC, Leases, watches all work), but Deployments never get pods.
 * test/support/kube-node.ts adds those (a real node) on top of this same control plane.
 */
export interface KubeCluster {
  /** A kubeconfig (JSON) with the server, its CA and the admin token; its context's namespace is `default`. */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The admin bearer token (group system:masters). */
  token: string;
  /** The bearer token of each of `options.users`, by user name. */
  tokens: Record<string, string>;
  /** The serving certificate (self-signed for 127.0.0.1 and localhost): the CA to trust. */
  caFile: string;
  /** The temporary folder: kubeconfig, certificates, etcd data and the logs (etcd.log, apiserver.log). */
  dir: string;
  /** SIGKILLs kube-apiserver and etcd and removes the temporary folder. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILLs kube-apiserver alone (etcd keeps the data): a control plane going away under its clients. */
  stopApiserver(): Promise<void>;
  /** Starts kube-apiserver again with the same flags, port and certificates, and waits until it is ready. */
  startApiserver(): Promise<void>;
}

export interface KubeClusterOptions {
  /** How long to wait for /readyz, in ms (default 60 000). */
  timeoutMs?: number | undefined;
  /** Extra kube-apiserver flags, appended; one named like a default flag replaces it. */
  apiserverArgs?: readonly string[] | undefined;
  /** Keep the temporary folder (and its logs) on stop() and on a failed start (default: env KUBE_KEEP_TMP). */
  keepDir?: boolean | undefined;
  /** Use this folder (created if missing, never removed) instead of a temporary one. */
  dir?: string | undefined;
  /**
   * Start etcd and kube-apiserver detached: they outlive this process, each with `<dir>/<name>.pid`
   * (stopDetached() stops them from any process). Default: they die with this process.
   */
  detached?: boolean | undefined;
  /** Keep the ServiceAccount admission plugin (pods get their service account's token); off by default. */
  serviceAccountAdmission?: boolean | undefined;
  /** More users for the token file, by name, with their groups (their tokens come back in `tokens`). */
  users?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** The repository root: the first folder above this module holding a package.json (works from dist/ too). */
function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(here, '../..');
  }
}

/**
 * A binary scripts/build-kube.sh built: the newest .cache/kube/<debian version>/<name>
 * ($KUBE_APISERVER_BIN overrides kube-apiserver).
 */
export function kubeBin(
  name: 'kube-apiserver' | 'kubelet' | 'kube-controller-manager' | 'kube-scheduler' | 'pause',
): string {
  const fromEnv = name === 'kube-apiserver' ? process.env['KUBE_APISERVER_BIN'] : undefined;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`KUBE_APISERVER_BIN=${fromEnv} does not exist`);
    return fromEnv;
  }
  const cache = path.join(repoRoot(), '.cache', 'kube');
  const found = (existsSync(cache) ? readdirSync(cache) : [])
    .map((version) => path.join(cache, version, name))
    .filter((file) => existsSync(file))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  const bin = found[0];
  if (!bin)
    throw new Error(
      `${name} not found (looked for ${cache}/*/${name}): ` +
        'run "npm run setup" (or just "bash scripts/build-kube.sh")',
    );
  return bin;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 30_000 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${cmd} ${args.join(' ')} failed: ${error.message}\n${stderr}`)) : resolve(),
    ),
  );
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** GET with the token, trusting only our CA; resolves to the status code, or 0 when the server is not up. */
function get(server: string, urlPath: string, token: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${server}${urlPath}`,
      { headers: { authorization: `Bearer ${token}` }, ca, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

export interface Child {
  name: string;
  child: ChildProcess;
  /** Why it is gone, once it is. */
  exited: string | undefined;
  spawnError: NodeJS.ErrnoException | undefined;
}

/**
 * Starts one control-plane or node process with stdout and stderr appended to `log`, in `cwd`. Detached, it
 * outlives this process and its pid goes to `<cwd>/<name>.pid` (stopDetached() reads it).
 */
export function startProcess(
  name: string,
  cmd: string,
  args: readonly string[],
  log: string,
  opts: { cwd: string; detached?: boolean | undefined },
): Child {
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, {
    stdio: ['ignore', fd, fd],
    cwd: opts.cwd,
    detached: opts.detached ?? false,
  });
  closeSync(fd); // the child has its own copy
  const entry: Child = { name, child, exited: undefined, spawnError: undefined };
  child.once('error', (error: NodeJS.ErrnoException) => {
    entry.spawnError = error;
    entry.exited ??= `could not be started: ${error.message}`;
  });
  child.once('exit', (code, signal) => {
    entry.exited ??= `exited (${signal ?? `code ${code}`})`;
  });
  if (opts.detached) {
    child.unref();
    if (child.pid !== undefined) writeFileSync(path.join(opts.cwd, `${name}.pid`), `${child.pid}\n`);
  }
  return entry;
}

/** Starts etcd and kube-apiserver; resolves once /readyz answers 200 and the `default` namespace exists. */
export async function startKubeCluster(opts: KubeClusterOptions = {}): Promise<KubeCluster> {
  const bin = kubeBin('kube-apiserver');
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const keepDir = opts.dir !== undefined || (opts.keepDir ?? Boolean(process.env['KUBE_KEEP_TMP']));
  const detached = opts.detached ?? false;
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'streamfed-kube-'));
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  const etcdLog = file('etcd.log');
  const apiLog = file('apiserver.log');
  const children: Child[] = [];

  const killAll = () => {
    for (const c of children) if (c.exited === undefined) c.child.kill('SIGKILL');
  };
  if (!detached) process.once('exit', killAll); // never leave a control plane behind when the test process ends
  const killChild = (c: Child): Promise<void> =>
    new Promise<void>((resolve) => {
      if (c.exited !== undefined) return resolve();
      c.child.once('exit', () => resolve());
      c.child.kill('SIGKILL');
    });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      process.removeListener('exit', killAll);
      // SIGKILL: with an open watch, SIGTERM takes ~19 s, and nothing here needs a clean shutdown.
      await Promise.all(children.map(killChild));
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    })());

  const start = (name: string, cmd: string, args: string[], log: string): void => {
    children.push(startProcess(name, cmd, args, log, { cwd: dir, detached }));
  };

  try {
    // Credentials: the admin token, the service-account key pair, a self-signed serving certificate.
    const token = randomBytes(24).toString('hex');
    const tokens: Record<string, string> = {};
    const lines = [`${token},admin,admin,"system:masters"`];
    for (const [user, groups] of Object.entries(opts.users ?? {})) {
      tokens[user] = randomBytes(24).toString('hex');
      lines.push(`${tokens[user]},${user},${user}${groups.length ? `,"${groups.join(',')}"` : ''}`);
    }
    writeFileSync(file('tokens.csv'), `${lines.join('\n')}\n`, { mode: 0o600 });
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(file('sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(file('sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
    const caFile = file('serving.crt');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      file('serving.key'),
      '-out',
      caFile,
    ]);
    const ca = readFileSync(caFile);

    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    start(
      'etcd',
      'etcd',
      [
        '--name=test',
        `--data-dir=${file('etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=test=${peerUrl}`,
        '--unsafe-no-fsync',
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=warn',
      ],
      etcdLog,
    );
    // kube-apiserver retries etcd until it answers: no need to wait for etcd first.
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      '--insecure-port=0',
      `--tls-cert-file=${caFile}`,
      `--tls-private-key-file=${file('serving.key')}`,
      `--cert-dir=${file('certs')}`,
      `--token-auth-file=${file('tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${file('sa.pub')}`,
      `--service-account-signing-key-file=${file('sa.key')}`,
      '--api-audiences=https://kubernetes.default.svc.cluster.local',
      ...(opts.serviceAccountAdmission ? [] : ['--disable-admission-plugins=ServiceAccount']),
      '--service-cluster-ip-range=10.96.0.0/16',
      // The `kubernetes` Service's endpoints may not be a loopback address: do not maintain them.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
    ];
    // A flag in opts.apiserverArgs replaces the default of the same name (list flags would append instead).
    const extra = opts.apiserverArgs ?? [];
    const flagName = (arg: string): string => arg.split('=')[0] ?? arg;
    const overridden = new Set(extra.map(flagName));
    apiserverArgs.splice(
      0,
      apiserverArgs.length,
      ...apiserverArgs.filter((a) => !overridden.has(flagName(a))),
      ...extra,
    );
    const startApiserver = async (): Promise<void> => {
      start('kube-apiserver', bin, apiserverArgs, apiLog);
      await waitReady();
    };

    const waitReady = async (): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      let readyz = 0;
      let defaultNs = 0;
      for (;;) {
        const dead = children.find((c) => c.exited !== undefined);
        if (dead) {
          const hint =
            dead.spawnError?.code !== 'ENOENT'
              ? ''
              : dead.name === 'etcd'
                ? `: etcd is not on PATH; install Debian's etcd-server ("npm run setup")`
                : ': run "npm run setup"';
          throw new Error(`${dead.name} ${dead.exited}${hint}`);
        }
        readyz = await get(server, '/readyz', token, ca);
        if (readyz === 200) {
          // The bootstrap controller creates `default` just after start; tests may use it at once.
          defaultNs = await get(server, '/api/v1/namespaces/default', token, ca);
          if (defaultNs === 200) break;
        }
        if (Date.now() > deadline)
          throw new Error(
            `kube-apiserver not ready after ${timeoutMs} ms (/readyz: ${readyz || 'no answer'}` +
              `${readyz === 200 ? `, namespace default: ${defaultNs}` : ''})`,
          );
        await sleep(100);
      }
    };
    await startApiserver();
    const stopApiserver = async (): Promise<void> => {
      const running = children.filter((c) => c.name === 'kube-apiserver');
      await Promise.all(running.map(killChild));
      children.splice(0, children.length, ...children.filter((c) => !running.includes(c)));
    };

    const kubeconfigPath = file('kubeconfig');
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin', namespace: 'default' } }],
      'current-context': 'test',
      preferences: {},
    };
    writeFileSync(kubeconfigPath, `${JSON.stringify(kubeconfig, null, 2)}\n`, { mode: 0o600 });
    return { kubeconfigPath, server, token, tokens, caFile, dir, stop, stopApiserver, startApiserver };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const logs = [
      `--- etcd stderr (${etcdLog}), last lines:`,
      tail(etcdLog),
      `--- kube-apiserver stderr (${apiLog}), last lines:`,
      tail(apiLog),
    ].join('\n');
    await stop();
    throw new Error(`startKubeCluster: ${message}\n${logs}`, { cause: error });
  }
}
