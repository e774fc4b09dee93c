import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { freePort } from './media-process.js';
import { waitFor } from './media-server.js';

export interface KubeCluster {
  kubeconfigPath: string;
  server: string;
  token: string;
  stop(): Promise<void>;
}

function apiserverBin(): string {
  const fromEnv = process.env['KUBE_APISERVER_BIN'];
  if (fromEnv) return fromEnv;
  const dir = path.join(packageRoot, '.cache/kube');
  const version = existsSync(dir)
    ? readdirSync(dir).find((d) => existsSync(path.join(dir, d, 'kube-apiserver')))
    : undefined;
  if (!version) throw new Error(`no kube-apiserver under ${dir}: run "npm run setup"`);
  return path.join(dir, version, 'kube-apiserver');
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '';
  }
}

function ready(server: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      { headers: { authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * A real control plane for tests: Debian's etcd and a kube-apiserver built from Debian's kubernetes source
 * package (scripts/build-kube-apiserver.sh), both on 127.0.0.1, token auth as system:masters, RBAC on.
 * No controller-manager or scheduler: objects are stored and validated, Deployments never get pods.
 */
export async function startKubeCluster(): Promise<KubeCluster> {
  const bin = apiserverBin();
  const dir = mkdtempSync(path.join(tmpdir(), 'streamfed-kube-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const token = randomBytes(16).toString('hex');
  writeFileSync(path.join(dir, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const etcdLog = path.join(dir, 'etcd.log');
  const apiLog = path.join(dir, 'apiserver.log');
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    // SIGTERM with an open watch takes ~19 s; nothing here needs a clean shutdown
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    children.push(
      spawn(
        'etcd',
        [
          '--name',
          'test',
          '--data-dir',
          path.join(dir, 'etcd'),
          '--listen-client-urls',
          etcdUrl,
          '--advertise-client-urls',
          etcdUrl,
          '--listen-peer-urls',
          peerUrl,
          '--initial-advertise-peer-urls',
          peerUrl,
          '--initial-cluster',
          `test=${peerUrl}`,
          '--unsafe-no-fsync',
        ],
        { stdio: ['ignore', openSync(etcdLog, 'a'), openSync(etcdLog, 'a')] },
      ),
    );
    children.push(
      spawn(
        bin,
        [
          `--etcd-servers=${etcdUrl}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          '--insecure-port=0',
          `--cert-dir=${path.join(dir, 'certs')}`,
          `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
          '--authorization-mode=RBAC',
          '--service-account-issuer=https://kubernetes.default.svc',
          `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
          `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
          '--api-audiences=https://kubernetes.default.svc',
          '--disable-admission-plugins=ServiceAccount',
          '--service-cluster-ip-range=10.96.0.0/16',
          '--allow-privileged=true',
        ],
        { stdio: ['ignore', openSync(apiLog, 'a'), openSync(apiLog, 'a')] },
      ),
    );
    const server = `https://127.0.0.1:${apiPort}`;
    await waitFor(
      async () => {
        for (const c of children) if (c.exitCode !== null) throw new Error(`control plane process exited`);
        return ready(server, token);
      },
      'kube-apiserver /readyz',
      60_000,
    );
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: test\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
        'users:',
        `- name: admin\n  user:\n    token: ${token}`,
        'contexts:',
        '- name: test\n  context:\n    cluster: test\n    user: admin\n    namespace: default',
        'current-context: test',
        '',
      ].join('\n'),
    );
    return { kubeconfigPath, server, token, stop };
  } catch (error) {
    const logs = `etcd:\n${tail(etcdLog)}\napiserver:\n${tail(apiLog)}`;
    await stop();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
}
