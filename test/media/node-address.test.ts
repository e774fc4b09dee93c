import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_ADDRESS_UNAVAILABLE, readNodeAddress } from '../../src/media/node-address.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { kubectl } from '../support/kubectl.js';

/** The announced address read from the server's Node object, on the real kube-apiserver. */
describe('node-address: the address of this server’s Node', () => {
  let cluster: KubeCluster;
  beforeAll(async () => {
    cluster = await startKubeCluster();
    const node = (name: string, addresses: { type: string; address: string }[], annotations = {}) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, annotations },
      status: { addresses },
    });
    const created = await kubectl(
      cluster.kubeconfigPath,
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          node(
            'edge-1',
            [
              { type: 'InternalIP', address: '10.0.0.7' },
              { type: 'ExternalIP', address: '198.51.100.7' },
              { type: 'Hostname', address: 'edge-1' },
            ],
            { 'streamfed.io/public-ip': '203.0.113.7' },
          ),
          node('private-1', [{ type: 'InternalIP', address: '10.0.0.8' }]),
        ],
      }),
    );
    expect(created.code, created.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => cluster?.stop());

  const read = (nodeName: string, source: Parameters<typeof readNodeAddress>[0]['source']) =>
    readNodeAddress({ nodeName, source, kubeconfig: cluster.kubeconfigPath });

  it('reads the InternalIP, the ExternalIP or an annotation of the Node, each as asked', async () => {
    expect(await read('edge-1', { type: 'InternalIP' })).toBe('10.0.0.7');
    expect(await read('edge-1', { type: 'ExternalIP' })).toBe('198.51.100.7');
    expect(await read('edge-1', { annotation: 'streamfed.io/public-ip' })).toBe('203.0.113.7');
  });

  it('fails closed with a clear error when the Node has no such address, or does not exist', async () => {
    await expect(read('private-1', { type: 'ExternalIP' })).rejects.toMatchObject({
      code: NODE_ADDRESS_UNAVAILABLE,
      message: 'node private-1 has no ExternalIP address',
    });
    await expect(read('private-1', { annotation: 'streamfed.io/public-ip' })).rejects.toMatchObject({
      code: NODE_ADDRESS_UNAVAILABLE,
    });
    await expect(read('nowhere', { type: 'InternalIP' })).rejects.toMatchObject({
      code: NODE_ADDRESS_UNAVAILABLE,
      message: expect.stringContaining('cannot read node nowhere'),
    });
  });
});
