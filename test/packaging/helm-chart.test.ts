import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { V1Pod } from '@kubernetes/client-node';
import { restUrlOf, wsUrlOf } from '../../src/kube/pod-endpoints.js';
import { packageRoot } from '../../src/paths.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { kubectl } from '../support/kubectl.js';
import { spawnOperator } from '../support/media-process.js';
import { rest, startMedia, waitFor } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { localValues } from '../support/local-cluster.js';
import { chartDir, helmBin, run } from '../support/tools.js';

const helm = (...args: string[]) => run(helmBin(), args);
/** `helm template` of the chart as release "streamfed" in namespace "streamfed". */
const render = (...args: string[]) =>
  helm('template', 'streamfed', chartDir, '--namespace', 'streamfed', ...args);
const kinds = (manifests: string): string[] =>
  parseAllDocuments(manifests)
    .map((d) => (d.toJS() as { kind?: string } | null)?.kind)
    .filter((k): k is string => Boolean(k));

const nonDefault = [
  '--set',
  'media.hostNetwork=true',
  '--set',
  'media.announcedIp=hostIP',
  '--set',
  'media.replicas=3',
  '--set',
  'media.workers=2',
  '--set',
  'media.tls.secretName=media-tls',
  '--set',
  'media.restTokenSecret=media-token',
  '--set',
  'media.hooks.url=http://auth.backend.example/hooks',
  '--set',
  'media.hooks.secretName=media-hooks',
  '--set',
  'media.pushAllow={wcs.partner.example,10.0.0.0/8}',
  '--set',
  'operator.watchNamespace=media',
  '--set',
  'operator.replicas=3',
  '--set',
  'operator.leaderElection=false',
  '--set',
  'operator.tokenSecrets.resourceNames={janus-token,cloud-whip}',
  '--set',
  'grafanaDashboard.enabled=false',
  '--set',
  'media.podDisruptionBudget.enabled=false',
];

describe('Helm chart and plain manifests', () => {
  let cluster: KubeCluster;
  beforeAll(async () => {
    cluster = await startKubeCluster();
  }, 120_000);
  afterAll(async () => cluster?.stop());

  it('lints with default and non-default values', async () => {
    const lintDefault = await helm('lint', chartDir, '--strict');
    expect(lintDefault.code, lintDefault.stdout + lintDefault.stderr).toBe(0);
    const lintOther = await helm('lint', chartDir, '--strict', ...nonDefault);
    expect(lintOther.code, lintOther.stdout + lintOther.stderr).toBe(0);
  });

  it('refuses values that break the schema', async () => {
    for (const bad of [
      ['media.replicas=-1'],
      ['media.logLevel=loud'],
      ['nonsense=1'],
      ['image.pullPolicy=Sometimes'],
      ['media.ordinalPortStride=-1'],
      ['media.listenAddress='],
      ['operator.extraEnv[0].value=no-name'],
      ['apiServer.port=0'],
    ]) {
      const r = await helm('template', 't', chartDir, '--set', bad[0]!);
      expect(r.code, bad[0]).not.toBe(0);
      expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    }
    const strideAlone = await helm('template', 't', chartDir, '--set', 'media.ordinalPortStride=10');
    expect(strideAlone.code).not.toBe(0);
    expect(strideAlone.stderr).toMatch(/media.ordinalPortStride is for several hostNetwork pods per node/);
  });

  it("several hostNetwork media pods per node (the local values): no hostPorts, exec probes of each pod's own port; the operator and the fleet's media pods told the API server address", async () => {
    const rendered = await render(
      '--values',
      localValues,
      '--set',
      'apiServer.port=6443',
      '--set',
      'media.pipePeers={198.18.0.0/15,198.19.1.2}',
    );
    expect(rendered.code, rendered.stderr).toBe(0);
    type Container = {
      env?: { name: string; value?: string }[];
      ports?: unknown[];
      readinessProbe?: { exec?: { command: string[] }; httpGet?: unknown };
      livenessProbe?: { exec?: { command: string[] }; httpGet?: unknown };
    };
    type Workload = {
      kind?: string;
      metadata?: { name?: string };
      spec?: {
        template: {
          metadata?: { annotations?: Record<string, string> };
          spec: { hostNetwork?: boolean; containers: Container[] };
        };
      };
    };
    const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Workload | null);
    const container = (kind: string) => {
      const spec = docs.find((d) => d?.kind === kind)?.spec?.template.spec;
      expect(spec?.hostNetwork, kind).toBe(true);
      const c = spec?.containers[0] as Container;
      return { c, env: Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value])) };
    };
    const media = container('StatefulSet');
    expect(media.c.ports).toBeUndefined();
    expect(media.c.readinessProbe?.exec?.command).toEqual([
      'node',
      '/app/dist/cli.js',
      'probe',
      '--path',
      '/readyz',
    ]);
    expect(media.c.livenessProbe?.exec?.command).toEqual([
      'node',
      '/app/dist/cli.js',
      'probe',
      '--path',
      '/healthz',
    ]);
    expect(media.env).toMatchObject({
      STREAMFED_ORDINAL_PORT_STRIDE: '10',
      STREAMFED_LISTEN_IP: '127.0.0.1',
      STREAMFED_ANNOUNCED_IP: '127.0.0.1',
      // the fleet is on: the media pods find each other through the API server, at its address
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: '6443',
      // pipe offers from these besides the signalling peer (media/push/pipe-peers.ts)
      STREAMFED_PIPE_PEERS: '198.18.0.0/15,198.19.1.2',
    });
    expect(Object.keys(media.env)).toContain('POD_NAME');
    expect(media.env.STREAMFED_FLEET_ID).toMatch(/^[a-z0-9-]+\/[a-z0-9-]+-media$/);
    // whoever finds the pods through the API (fleet members, the operator) finds pod 1 where it listens:
    // the pod as the API would show it, from the rendered template, through the one URL rule
    const set = docs.find((d) => d?.kind === 'StatefulSet');
    const podOne = {
      metadata: {
        name: `${set?.metadata?.name ?? ''}-1`,
        annotations: set?.spec?.template.metadata?.annotations,
      },
      spec: set?.spec?.template.spec,
      status: { podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    } as V1Pod;
    expect(restUrlOf(podOne)).toBe('http://127.0.0.1:28091');
    expect(wsUrlOf(podOne)).toBe('ws://127.0.0.1:28090');
    const operator = container('Deployment');
    expect(operator.env).toMatchObject({
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: '6443',
      STREAMFED_METRICS_HOST: '127.0.0.1',
    });
    const extra = await render(
      '--set',
      'operator.extraEnv[0].name=STREAMFED_LEASE_DURATION_SECONDS',
      '--set-string',
      'operator.extraEnv[0].value=30',
      '--set',
      'media.extraEnv[0].name=STREAMFED_PING_PROBES',
      '--set-string',
      'media.extraEnv[0].value=3',
    );
    expect(extra.code, extra.stderr).toBe(0);
    expect(extra.stdout).toMatch(/- name: STREAMFED_LEASE_DURATION_SECONDS\n\s+value: "30"/);
    expect(extra.stdout).toMatch(/- name: STREAMFED_PING_PROBES\n\s+value: "3"/);
    // the default stays one pod per node with hostNetwork: declared ports are hostPorts the scheduler checks
    const plain = await render('--set', 'media.hostNetwork=true');
    expect(plain.stdout).toMatch(/containerPort: 8080/);
    expect(plain.stdout).toMatch(/httpGet: \{ path: \/readyz, port: rest \}/);
  });

  it("the operator's Secret rule: get only, limited to operator.tokenSecrets.resourceNames, or none", async () => {
    type Rule = { resources: string[]; verbs: string[]; resourceNames?: string[] };
    const secretRules = async (...values: string[]): Promise<Rule[]> => {
      const rendered = await render(...values);
      expect(rendered.code, rendered.stderr).toBe(0);
      return parseAllDocuments(rendered.stdout)
        .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; rules?: Rule[] } | null)
        .filter((d) => /Role$/.test(d?.kind ?? '') && d?.metadata?.name === 'streamfed-operator')
        .flatMap((d) => d?.rules ?? [])
        .filter((r) => r.resources.includes('secrets'));
    };
    expect(await secretRules()).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
    expect(await secretRules(...nonDefault)).toEqual([
      {
        apiGroups: [''],
        resources: ['secrets'],
        verbs: ['get'],
        resourceNames: ['janus-token', 'cloud-whip'],
      },
    ]);
    expect(await secretRules('--set', 'operator.tokenSecrets.enabled=false')).toEqual([]);
  });

  it('renders manifests the real API server accepts (server-side dry run), CRDs first', async () => {
    const crd = await kubectl(cluster.kubeconfigPath, ['apply', '-f', path.join(chartDir, 'crds')]);
    expect(crd.code, crd.stderr).toBe(0);
    for (const ns of ['streamfed', 'media'])
      expect((await kubectl(cluster.kubeconfigPath, ['create', 'namespace', ns])).code).toBe(0);
    for (const values of [[], nonDefault, ['--values', localValues, '--set', 'apiServer.port=6443']]) {
      const rendered = await render('--kube-version', '1.20.2', ...values);
      expect(rendered.code, rendered.stderr).toBe(0);
      const applied = await kubectl(
        cluster.kubeconfigPath,
        ['apply', '--dry-run=server', '-f', '-'],
        rendered.stdout,
      );
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout).toMatch(/statefulset.apps\/streamfed-media created \(server dry run\)/);
      expect(applied.stdout).toMatch(/deployment.apps\/streamfed-operator created \(server dry run\)/);
    }
    const defaults = kinds(
      (await helm('template', 'streamfed', chartDir, '--kube-version', '1.20.2')).stdout,
    );
    expect(defaults.sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'Deployment',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        // the media pods' fleet membership: read their own pods
        'Role',
        'RoleBinding',
        'ServiceAccount',
        'Service',
        'Service',
        'Service',
        'ServiceAccount',
        'StatefulSet',
      ].sort(),
    );
    const scoped = kinds((await helm('template', 'streamfed', chartDir, ...nonDefault)).stdout);
    expect(scoped).toContain('Role');
    expect(scoped).not.toContain('ClusterRole');
  });

  it("installs with helm; the operator runs on the chart's service account, which grants what it needs and no more", async () => {
    const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, args);
    for (const ns of ['streamfed', 'media'])
      // (made by the dry-run test too, when it runs first)
      if ((await k('get', 'namespace', ns)).code !== 0)
        expect((await k('create', 'namespace', ns)).code).toBe(0);
    // what a user runs; helm finds the API server's version itself (1.20: a policy/v1beta1 PDB) and
    // installs the CRD when it is missing; its cache, config and data stay in the test's folder
    const helmEnv = Object.fromEntries(
      ['CACHE', 'CONFIG', 'DATA'].map((d) => [`HELM_${d}_HOME`, path.join(cluster.dir, `helm-${d}`)]),
    );
    const helmHere = (...args: string[]) =>
      run(helmBin(), [...args, '--namespace', 'streamfed', '--kubeconfig', cluster.kubeconfigPath], {
        env: helmEnv,
      });
    const installed = await helmHere('install', 'streamfed', chartDir);
    expect(installed.code, installed.stderr).toBe(0);
    const manifest = await helmHere('get', 'manifest', 'streamfed');
    expect(manifest.code, manifest.stderr).toBe(0);
    /** What a service account may do, asked as kubectl auth can-i asks. */
    const expectRights = async (
      who: string,
      table: readonly (readonly [string, string])[],
    ): Promise<void> => {
      for (const [question, allowed] of table) {
        const r = await k('auth', 'can-i', `--as=${who}`, ...question.split(' '));
        expect(`${question}: ${r.stdout.trim()}`).toBe(`${question}: ${allowed}`);
      }
    };
    const sa = 'system:serviceaccount:streamfed:streamfed-operator';
    // least privilege: its own kind, Events, its Lease in its own namespace, the Services a StreamPush names
    // and their pods (read only); nothing else
    await expectRights(sa, [
      ['watch streampushes.streamfed.io -A', 'yes'],
      ['patch streampushes.streamfed.io -A', 'yes'],
      ['patch streampushes.streamfed.io --subresource=status -A', 'yes'],
      ['create events -A', 'yes'],
      ['update leases.coordination.k8s.io -n=streamfed', 'yes'],
      ['update leases.coordination.k8s.io -n=default', 'no'],
      ['delete streampushes.streamfed.io -A', 'no'],
      // the bearer tokens of WHIP targets: one Secret at a time, by the name a StreamPush gives
      ['get secrets -A', 'yes'],
      ['list secrets -A', 'no'],
      ['watch secrets -A', 'no'],
      ['patch secrets -A', 'no'],
      ['get services -A', 'yes'],
      ['list pods -A', 'yes'],
      ['list services -A', 'no'],
      ['watch pods -A', 'no'],
      ['patch pods -A', 'no'],
      ['get endpoints -A', 'no'],
    ]);
    // the media pods read their own pods to find the other members of their fleet; nothing else
    await expectRights('system:serviceaccount:streamfed:streamfed-media', [
      ['watch pods -n=streamfed', 'yes'],
      ['list pods -n=streamfed', 'yes'],
      ['list pods -n=default', 'no'],
      ['patch pods -n=streamfed', 'no'],
      ['list endpoints -n=streamfed', 'no'],
      ['get secrets -n=streamfed', 'no'],
    ]);

    // the operator with that service account's token (what a pod mounts) and the Deployment's settings
    const token = await k('create', 'token', 'streamfed-operator', '-n', 'streamfed');
    expect(token.code, token.stderr).toBe(0);
    // credentials as a pod holds them, and as client-node's in-cluster config reads them: the token and the
    // CA as files, the token re-read by the tokenFile provider (projected tokens rotate)
    const tokenFile = path.join(cluster.dir, 'operator-sa-token');
    writeFileSync(tokenFile, token.stdout.trim(), { mode: 0o600 });
    const saKubeconfig = path.join(cluster.dir, 'kubeconfig-operator-sa.json');
    const inCluster = { name: 'in-cluster', config: { tokenFile } };
    writeFileSync(
      saKubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'c', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } },
        ],
        users: [{ name: 'sa', user: { 'auth-provider': inCluster } }],
        contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa' } }],
        'current-context': 'sa',
      }),
      { mode: 0o600 },
    );
    const deployment = parseAllDocuments(manifest.stdout)
      .map(
        (d) =>
          d.toJS() as {
            kind?: string;
            spec?: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
          } | null,
      )
      .find((d) => d?.kind === 'Deployment');
    const env = Object.fromEntries(
      (deployment?.spec?.template.spec.containers[0]?.env ?? [])
        .filter((e) => e.value !== undefined && !e.name.startsWith('STREAMFED_METRICS'))
        .map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({ STREAMFED_LEADER_ELECT: 'true', STREAMFED_WATCH_NAMESPACE: '' });

    const [s1, s2] = await Promise.all([
      startMedia({ listen: { workers: 1 } }),
      startMedia({ listen: { workers: 1 } }),
    ]);
    const operator = await spawnOperator(
      saKubeconfig,
      'streamfed-operator-pod',
      'streamfed-operator',
      ['--lease-namespace', 'streamfed'],
      env,
    );
    let publisher: NodePeer | undefined;
    try {
      publisher = await NodePeer.publish(s1.wsUrl, 'lobby');
      await publisher.waitStatus('PUBLISHING');
      const created = await kubectl(
        cluster.kubeconfigPath,
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'streamfed.io/v1alpha1',
          kind: 'StreamPush',
          metadata: { name: 'with-packaged-rbac', namespace: 'media' },
          spec: { source: { restUrl: s1.restUrl }, localStreamName: 'lobby', target: { uri: s2.wsUrl } },
        }),
      );
      expect(created.code, created.stderr).toBe(0);
      const phase = () =>
        k('get', 'streampush', 'with-packaged-rbac', '-n', 'media', '-o', 'jsonpath={.status.phase}');
      await waitFor(async () => (await phase()).stdout === 'Active', 'StreamPush Active', 30_000);
      const holder = await k(
        'get',
        'lease',
        'streamfed-operator',
        '-n',
        'streamfed',
        '-o',
        'jsonpath={.spec.holderIdentity}',
      );
      expect(holder.stdout).toBe(`streamfed-operator-pod-${operator.child.pid}`);
      const events = await k('get', 'events', '-n', 'media', '-o', 'jsonpath={.items[*].reason}');
      expect(events.stdout.split(' ')).toContain('Pushed');
      expect((await rest(s2.restUrl, '/rest-api/stream/find', { name: 'lobby' })).status).toBe(200);

      // delete: the finalizer is its to remove
      const deleted = await k('delete', 'streampush', 'with-packaged-rbac', '-n', 'media', '--timeout=30s');
      expect(deleted.code, deleted.stderr).toBe(0);
      expect((await rest(s1.restUrl, '/rest-api/pull/find_all')).status).toBe(404);
      expect(operator.output()).not.toMatch(/forbidden/i);
      const uninstalled = await helmHere('uninstall', 'streamfed');
      expect(uninstalled.code, uninstalled.stderr).toBe(0);
      expect(
        (await k('get', 'deployment,statefulset,serviceaccount', '-n', 'streamfed', '-o', 'name')).stdout,
      ).toBe('');
    } finally {
      await publisher?.stop();
      await operator.kill();
      await Promise.all([s1.stop(), s2.stop()]);
    }
  });

  describe('exposure modes of the media pods', () => {
    interface Port {
      name?: string;
      containerPort?: number;
      hostPort?: number;
      protocol?: string;
      port?: number;
      nodePort?: number;
    }
    interface Doc {
      kind?: string;
      metadata?: { name?: string };
      spec?: {
        type?: string;
        selector?: Record<string, string>;
        ports?: Port[];
        template?: {
          spec: {
            hostNetwork?: boolean;
            containers: { env?: { name: string; value?: string }[]; ports?: Port[] }[];
          };
        };
      };
      rules?: { resources: string[]; verbs: string[] }[];
    }
    const renderDocs = async (...values: string[]): Promise<Doc[]> => {
      const rendered = await render(...values);
      expect(rendered.code, rendered.stderr).toBe(0);
      return parseAllDocuments(rendered.stdout)
        .map((d) => d.toJS() as Doc | null)
        .filter((d): d is Doc => d !== null);
    };
    const media = (docs: Doc[]) => {
      const spec = docs.find((d) => d.kind === 'StatefulSet')?.spec?.template?.spec;
      const c = spec?.containers[0];
      return {
        hostNetwork: spec?.hostNetwork,
        env: Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value])),
        rtcPorts: (c?.ports ?? []).filter((p) => p.name?.startsWith('rtc-')),
      };
    };
    const rtcServices = (docs: Doc[]) =>
      docs.filter((d) => d.kind === 'Service' && d.metadata?.name?.endsWith('-rtc'));
    const nodeRbac = (docs: Doc[]) =>
      docs.filter((d) => d.kind?.startsWith('ClusterRole') && d.metadata?.name?.endsWith('-node-reader'));
    const ws = ['--set', 'media.rtcPort=41000', '--set', 'media.workers=2'];

    it('hostPort: the WebRtcServer ports per worker, UDP and TCP, as hostPorts; no RTC Services, no node RBAC', async () => {
      const docs = await renderDocs('--set', 'media.exposure=hostPort', ...ws);
      const m = media(docs);
      expect(m.hostNetwork).toBe(false);
      expect(m.env['STREAMFED_RTC_PORT']).toBe('41000');
      expect(m.env['STREAMFED_INTERNAL_IP']).toBe('$(POD_IP)');
      expect(m.env['STREAMFED_ANNOUNCED_IP']).toBe('$(POD_IP)');
      expect(m.rtcPorts).toEqual([
        { name: 'rtc-udp-0', containerPort: 41000, protocol: 'UDP', hostPort: 41000 },
        { name: 'rtc-tcp-0', containerPort: 41000, protocol: 'TCP', hostPort: 41000 },
        { name: 'rtc-udp-1', containerPort: 41001, protocol: 'UDP', hostPort: 41001 },
        { name: 'rtc-tcp-1', containerPort: 41001, protocol: 'TCP', hostPort: 41001 },
      ]);
      expect(rtcServices(docs)).toEqual([]);
      expect(nodeRbac(docs)).toEqual([]);
    });

    it('hostNetwork with the node ExternalIP: the pod on the node network, NODE_NAME, get-nodes RBAC only', async () => {
      const docs = await renderDocs(
        '--set',
        'media.exposure=hostNetwork',
        '--set',
        'media.announcedAddress.from=nodeExternalIP',
        ...ws,
      );
      const m = media(docs);
      expect(m.hostNetwork).toBe(true);
      expect(m.env['STREAMFED_ANNOUNCED_NODE_ADDRESS']).toBe('ExternalIP');
      expect('NODE_NAME' in m.env && !('STREAMFED_ANNOUNCED_IP' in m.env)).toBe(true);
      expect(m.rtcPorts.map((p) => [p.containerPort, p.protocol, p.hostPort])).toEqual([
        [41000, 'UDP', undefined],
        [41000, 'TCP', undefined],
        [41001, 'UDP', undefined],
        [41001, 'TCP', undefined],
      ]);
      const [role] = nodeRbac(docs).filter((d) => d.kind === 'ClusterRole');
      expect(role?.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]);
      expect(nodeRbac(docs).map((d) => d.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding']);
    });

    it('service: a Service per pod selecting it by pod name, NodePort ports moved by the ordinal stride', async () => {
      const docs = await renderDocs(
        '--set',
        'media.exposure=service',
        '--set',
        'media.service.type=NodePort',
        '--set',
        'media.ordinalPortStride=10',
        '--set',
        'media.rtcPort=30100',
        '--set',
        'media.workers=1',
        '--set',
        'media.announcedAddress.from=nodeInternalIP',
      );
      const services = rtcServices(docs);
      expect(services.map((s) => [s.metadata?.name, s.spec?.type, s.spec?.selector])).toEqual([
        ['streamfed-media-0-rtc', 'NodePort', { 'statefulset.kubernetes.io/pod-name': 'streamfed-media-0' }],
        ['streamfed-media-1-rtc', 'NodePort', { 'statefulset.kubernetes.io/pod-name': 'streamfed-media-1' }],
      ]);
      expect(services.map((s) => s.spec?.ports?.map((p) => [p.protocol, p.port, p.nodePort]))).toEqual([
        [
          ['UDP', 30100, 30100],
          ['TCP', 30100, 30100],
        ],
        [
          ['UDP', 30110, 30110],
          ['TCP', 30110, 30110],
        ],
      ]);
      expect(nodeRbac(docs)).toHaveLength(2);
      const lb = await renderDocs('--set', 'media.exposure=service', ...ws);
      expect(rtcServices(lb).map((s) => s.spec?.type)).toEqual(['LoadBalancer', 'LoadBalancer']);
      expect(rtcServices(lb)[1]?.spec?.ports?.map((p) => p.port)).toEqual([41000, 41000, 41001, 41001]);
    });

    it('turnOnly with a literal address: nothing exposed, no RTC Services, no node RBAC', async () => {
      const docs = await renderDocs(
        '--set',
        'media.exposure=turnOnly',
        '--set',
        'media.announcedAddress.from=literal',
        '--set',
        'media.announcedAddress.value=198.51.100.9',
      );
      const m = media(docs);
      expect([m.hostNetwork, m.env['STREAMFED_ANNOUNCED_IP'], m.rtcPorts]).toEqual([
        false,
        '198.51.100.9',
        [],
      ]);
      expect(rtcServices(docs)).toEqual([]);
      expect(nodeRbac(docs)).toEqual([]);
    });

    it('refuses contradicting exposure values with a clear message', async () => {
      for (const [values, message] of [
        [
          ['media.exposure=hostPort'],
          /media.exposure=hostPort exposes the WebRtcServer ports: set media.rtcPort/,
        ],
        [['media.rtcPort=41000'], /media.rtcPort needs media.workers/],
        [['media.hostNetwork=true', 'media.exposure=hostPort'], /contradicts media.exposure=hostPort/],
        [['media.announcedAddress.from=literal'], /needs media.announcedAddress.value/],
        [
          ['media.exposure=service', 'media.service.type=NodePort', 'media.rtcPort=30100', 'media.workers=1'],
          /set media.ordinalPortStride/,
        ],
      ] as const) {
        const r = await render(...values.flatMap((v) => ['--set', v]));
        expect(r.code, values.join(' ')).not.toBe(0);
        expect(r.stderr).toMatch(message);
      }
    });

    it('the media service account may get nodes only when a node address is chosen (kubectl auth can-i)', async () => {
      await kubectl(cluster.kubeconfigPath, ['create', 'namespace', 'exposure']);
      const canGetNodes = async (...values: string[]): Promise<string> => {
        const rendered = await helm('template', 'edge', chartDir, '--namespace', 'exposure', ...values);
        expect(rendered.code, rendered.stderr).toBe(0);
        const rbac = parseAllDocuments(rendered.stdout)
          .map((d) => d.toJS() as Doc | null)
          .filter((d) => d?.kind?.startsWith('ClusterRole') || d?.kind === 'ServiceAccount');
        if (rbac.length) {
          const applied = await kubectl(
            cluster.kubeconfigPath,
            ['apply', '-f', '-'],
            JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }),
          );
          expect(applied.code, applied.stderr).toBe(0);
        }
        const asMedia = '--as=system:serviceaccount:exposure:edge-streamfed-media';
        const r = await kubectl(cluster.kubeconfigPath, ['auth', 'can-i', 'get', 'nodes', asMedia]);
        const list = await kubectl(cluster.kubeconfigPath, ['auth', 'can-i', 'list', 'nodes', asMedia]);
        return `get ${r.stdout.trim()}, list ${list.stdout.trim()}`;
      };
      expect(await canGetNodes('--set', 'media.announcedAddress.from=podIP')).toBe('get no, list no');
      expect(await canGetNodes('--set', 'media.announcedAddress.from=nodeExternalIP')).toBe(
        'get yes, list no',
      );
    });
  });

  it('renders the ServiceMonitors and the PrometheusRule from the same rules file', async () => {
    const r = await helm(
      'template',
      'streamfed',
      chartDir,
      '--set',
      'serviceMonitor.enabled=true',
      '--set',
      'prometheusRule.enabled=true',
    );
    expect(r.code, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map(
      (d) =>
        d.toJS() as {
          kind: string;
          spec: { groups?: unknown; endpoints?: { relabelings: { replacement: string }[] }[] };
        },
    );
    const rule = docs.find((d) => d.kind === 'PrometheusRule');
    const rulesFile = parseAllDocuments(
      readFileSync(path.join(chartDir, 'files/prometheus-rules.yaml'), 'utf8'),
    )[0]!.toJS() as { groups: unknown };
    expect(rule?.spec.groups).toEqual(rulesFile.groups);
    const jobs = docs
      .filter((d) => d.kind === 'ServiceMonitor')
      .map((d) => d.spec.endpoints?.[0]?.relabelings[0]?.replacement);
    expect(jobs.sort()).toEqual(['streamfed-media', 'streamfed-operator']);
  });

  it('keeps one CRD: the chart copy and deploy/streamfed.yaml match crds/ and the chart', async () => {
    const crd = readFileSync(path.join(packageRoot, 'crds/streampush.yaml'), 'utf8');
    expect(readFileSync(path.join(chartDir, 'crds/streampush.yaml'), 'utf8')).toBe(crd);
    const rendered = await render('--include-crds');
    const committed = readFileSync(path.join(packageRoot, 'deploy/streamfed.yaml'), 'utf8');
    expect(committed).toBe(
      `# Rendered from charts/streamfed by scripts/render-manifests.sh; do not edit by hand.\n${rendered.stdout}`,
    );
    const kustomized = await kubectl(cluster.kubeconfigPath, ['kustomize', path.join(packageRoot, 'deploy')]);
    expect(kustomized.code, kustomized.stderr).toBe(0);
    expect(kinds(kustomized.stdout)).toContain('CustomResourceDefinition');
  });

  it('ships the dashboard rendered from its typed source', async () => {
    const { dashboard } = await import('../../src/observability/grafana-dashboard.js');
    const committed = readFileSync(path.join(chartDir, 'files/grafana-dashboard.json'), 'utf8');
    expect(committed).toBe(`${JSON.stringify(dashboard, null, 2)}\n`);
  });

  it('builds the image with the same install steps as the README', () => {
    const dockerfile = readFileSync(path.join(packageRoot, 'Dockerfile'), 'utf8');
    const setup = readFileSync(path.join(packageRoot, 'scripts/setup.sh'), 'utf8');
    for (const step of [
      'scripts/install-system-packages.sh',
      'npm ci',
      'scripts/build-mediasoup-worker.sh',
    ]) {
      expect(dockerfile).toContain(step);
      expect(setup).toContain(step);
    }
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^FROM .* AS build$/m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "\/app\/dist\/cli.js"\]/);
  });
});
