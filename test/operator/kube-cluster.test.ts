import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { kubectl } from '../support/kubectl.js';

// The test control plane itself: etcd + a kube-apiserver built from Debian's kubernetes source package,
// driven by the real @kubernetes/client-node and the real kubectl. Custom resources matter most: the
// vendored reflect2 1.0.1 crashed the Go 1.19 build on the first custom-resource create.

interface Widget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
  spec: { size: number; color?: string };
}

const group = 'probe.streamfed.io';
const version = 'v1';
const plural = 'widgets';

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                properties: {
                  size: { type: 'integer', minimum: 1 },
                  color: { type: 'string', enum: ['red', 'green', 'blue'] },
                },
              },
            },
          },
        },
      },
    ],
  },
};

describe('test control plane: etcd + kube-apiserver from Debian sources', () => {
  let cluster: KubeCluster | undefined;
  let kubeconfig = '';
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const namespace = `kc-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const started = Date.now();
    cluster = await startKubeCluster();
    console.info(`kube-apiserver ready in ${Date.now() - started} ms at ${cluster.server}`);
    kubeconfig = cluster.kubeconfigPath;
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 30_000);

  it('serves Kubernetes 1.20 over TLS with the admin token', async () => {
    const r = await kubectl(kubeconfig, ['version', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const versions = JSON.parse(r.stdout) as { serverVersion?: { major: string; minor: string } };
    expect(versions.serverVersion).toMatchObject({ major: '1', minor: '20' });
    const auth = await kubectl(kubeconfig, ['auth', 'can-i', '*', '*', '--all-namespaces']);
    expect(auth.stdout.trim()).toBe('yes');
  });

  it('creates a namespace with client-node that kubectl then lists', async () => {
    const created = await core.createNamespace({
      body: { metadata: { name: namespace, labels: { 'streamfed.io/test': 'kube-cluster' } } },
    });
    expect(created.metadata?.name).toBe(namespace);
    expect(created.metadata?.uid).toBeTruthy();

    const r = await kubectl(kubeconfig, ['get', 'ns', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as { items: { metadata: { name: string; uid: string } }[] };
    const names = list.items.map((ns) => ns.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', namespace]));
    expect(list.items.find((ns) => ns.metadata.name === namespace)?.metadata.uid).toBe(created.metadata?.uid);

    const read = await core.readNamespace({ name: namespace });
    expect(read.metadata?.labels).toMatchObject({ 'streamfed.io/test': 'kube-cluster' });
  });

  it('applies a CRD with kubectl and stores, validates and lists custom objects with client-node', async () => {
    const crdFile = path.join(cluster!.dir, 'widget-crd.json');
    writeFileSync(crdFile, JSON.stringify(crd));
    const applied = await kubectl(kubeconfig, ['apply', '-f', crdFile]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`${plural}.${group}`);
    const established = await kubectl(kubeconfig, [
      'wait',
      '--for=condition=Established',
      `crd/${plural}.${group}`,
      '--timeout=30s',
    ]);
    expect(established.code, established.stderr).toBe(0);

    const widget: Widget = {
      apiVersion: `${group}/${version}`,
      kind: 'Widget',
      metadata: { name: 'first', namespace },
      spec: { size: 3, color: 'blue' },
    };
    const created = (await custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: widget,
    })) as Widget;
    expect(created.metadata.uid).toBeTruthy();
    expect(created.spec).toEqual({ size: 3, color: 'blue' });

    const read = (await custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name: 'first',
    })) as Widget;
    expect(read.metadata.uid).toBe(created.metadata.uid);
    expect(read.spec.size).toBe(3);

    // The structural schema is enforced: size must be >= 1, colour one of the enum.
    await expect(
      custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: { ...widget, metadata: { name: 'bad', namespace }, spec: { size: 0, color: 'pink' } },
      }),
    ).rejects.toMatchObject({ code: 422 });

    const kubectlView = await kubectl(kubeconfig, ['get', 'widgets', '-n', namespace, '-o', 'json']);
    expect(kubectlView.code, kubectlView.stderr).toBe(0);
    const items = (JSON.parse(kubectlView.stdout) as { items: Widget[] }).items;
    expect(items.map((w) => w.metadata.name)).toEqual(['first']);

    const list = (await custom.listNamespacedCustomObject({ group, version, namespace, plural })) as {
      items: Widget[];
    };
    expect(list.items.map((w) => w.metadata.uid)).toEqual([created.metadata.uid]);
  });
});
