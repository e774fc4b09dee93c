import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupervisedInformer } from '../../src/kube/informer.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { waitFor } from '../support/media-server.js';

/**
 * The one informer-restart helper (the operator's StreamPush watch and the media pods' fleet watch use it),
 * against a real kube-apiserver that goes away for a while: restarts that fail are retried until one works,
 * and stop() ends it for good.
 */
describe('SupervisedInformer', () => {
  let cluster: KubeCluster;
  let core: CoreV1Api;
  let supervised: SupervisedInformer<V1ConfigMap> | undefined;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfigPath);
    core = config.makeApiClient(CoreV1Api);
  }, 120_000);
  afterAll(async () => {
    await supervised?.stop();
    await cluster?.stop();
  });

  it('restarts after the API server goes away, retries failed restarts, and stops for good', async () => {
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfigPath);
    const informer = makeInformer<V1ConfigMap>(config, '/api/v1/namespaces/default/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'default' }),
    );
    const seen = new Set<string>();
    informer.on('add', (cm) => seen.add(cm.metadata?.name ?? ''));
    const restarts: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void restarts.push(line) });
    supervised = new SupervisedInformer(informer, { what: 'configmap watch', log, restartDelayMs: 200 });
    await supervised.start();
    const create = (name: string) =>
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });

    await create('before');
    await waitFor(() => seen.has('before'), 'the informer to see a ConfigMap');
    expect(restarts).toEqual([]);

    await cluster.stopApiserver();
    // the watch breaks, and every restart fails while the API server is away: each is tried again
    await waitFor(() => restarts.length >= 3, 'restarts to fail and be retried', 20_000);
    expect(restarts.every((l) => l.includes('configmap watch failed; restarting'))).toBe(true);
    await cluster.startApiserver();
    await create('after');
    await waitFor(() => seen.has('after'), 'the informer to see a ConfigMap made after the outage', 30_000);

    await supervised.stop();
    const atStop = restarts.length;
    await create('stopped');
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen.has('stopped')).toBe(false);
    expect(restarts.length).toBe(atStop);
  });
});
