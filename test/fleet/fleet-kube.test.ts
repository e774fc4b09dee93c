import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ORDINAL_PORT_STRIDE_ANNOTATION,
  PORTS_ANNOTATION,
  REST_URL_ANNOTATION,
} from '../../src/kube/pod-endpoints.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { createReadyPod } from '../support/kube-pods.js';
import { fleetMembers } from '../support/media-fleet.js';
import { metric } from '../support/metrics.js';
import { allocateMediaPorts, launchMedia, spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { bindable } from '../support/ports.js';

const namespace = 'default';
const selector = 'app.kubernetes.io/name=streamfed,app.kubernetes.io/component=media';

/** A media pod as the StatefulSet would make it, pointing at a media process of this test. */
function pod(name: string, restUrl: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { 'app.kubernetes.io/name': 'streamfed', 'app.kubernetes.io/component': 'media' },
      annotations: { [REST_URL_ANNOTATION]: restUrl },
    },
    spec: {
      containers: [{ name: 'media', image: 'streamfed:dev', ports: [{ name: 'rest', containerPort: 8081 }] }],
    },
  };
}

describe('fleet membership from the media pods, through a real kube-apiserver', () => {
  let cluster: KubeCluster | undefined;
  let core: CoreV1Api;
  let origin: MediaProcess;
  let member: MediaProcess;

  const readyPod = (name: string, restUrl: string): Promise<void> =>
    createReadyPod(core, namespace, pod(name, restUrl));

  beforeAll(async () => {
    cluster = await startKubeCluster();
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfigPath);
    core = config.makeApiClient(CoreV1Api);
    // both find their members in the API: an origin serves only members it knows
    const discovery = [
      '--fleet-kube-selector',
      selector,
      '--fleet-kube-namespace',
      namespace,
      '--fleet-kubeconfig',
      cluster.kubeconfigPath,
    ];
    origin = await spawnMedia(['--member-id', 'pod-0', ...discovery]);
    member = await spawnMedia(['--member-id', 'pod-1', '--relay-idle-seconds', '1', ...discovery]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([origin?.stop(), member?.stop()]);
    await cluster?.stop();
  });

  it('follows pods appearing and leaving, across an API server restart: plays through a member that appeared, nothing hangs once it left', async () => {
    // its own pod is listed too: a server is never its own member
    await readyPod('media-1', member.restUrl);
    const publisher = await NodePeer.publish(origin.wsUrl, 'kube-stream');
    await publisher.waitStatus('PUBLISHING');
    expect(await metric(member.restUrl, 'streamfed_fleet_members', { state: 'up' })).toBe(0);
    const alone = await rest(member.restUrl, '/rest-api/stream/find', { name: 'kube-stream' });
    expect(alone.status).toBe(404);

    // a pod that is not Ready is no member yet
    await core.createNamespacedPod({ namespace, body: pod('media-0', origin.restUrl) });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await metric(member.restUrl, 'streamfed_fleet_members')).toBe(0);
    await core.deleteNamespacedPod({ name: 'media-0', namespace, gracePeriodSeconds: 0 });
    await waitFor(async () => {
      try {
        await core.readNamespacedPod({ name: 'media-0', namespace });
        return false;
      } catch {
        return true;
      }
    }, 'pod deleted');

    await readyPod('media-0', origin.restUrl);
    await waitFor(
      async () => (await metric(member.restUrl, 'streamfed_fleet_members', { state: 'up' })) === 1,
      'the origin pod is a member',
    );
    const player = await NodePeer.play(member.wsUrl, 'kube-stream');
    await player.waitStatus('PLAYING');
    await waitFor(() => player.received > 20, 'relayed RTP');
    await player.stop();
    // the relay follows its origin, not the pod list: it closes when idle
    await waitFor(
      async () => (await metric(member.restUrl, 'streamfed_fleet_relays')) === 0,
      'idle relay closed',
    );

    // the API server going away and back: the watch starts again, and the member keeps serving meanwhile
    await cluster!.stopApiserver();
    const local = await NodePeer.publish(member.wsUrl, 'while-the-api-is-down');
    await local.waitStatus('PUBLISHING');
    await local.stop();
    await cluster!.startApiserver();

    await core.deleteNamespacedPod({ name: 'media-0', namespace, gracePeriodSeconds: 0 });
    await waitFor(
      async () => (await metric(member.restUrl, 'streamfed_fleet_members')) === 0,
      'the member is gone',
    );
    const gone = await rest(member.restUrl, '/rest-api/stream/find', { name: 'kube-stream' });
    expect(gone.status).toBe(404);
    await expect(NodePeer.play(member.wsUrl, 'kube-stream')).rejects.toThrow('Stream not found');
    await publisher.stop();
  });
  it('finds pods started with --ordinal-port-stride at the REST port their ordinal gives them (no container ports)', async () => {
    // what the chart renders with media.ordinalPortStride: the same base ports for every pod, which adds
    // ordinal × stride itself; the pods declare no ports, their annotations the stride and the base ports
    const base = await allocateMediaPorts();
    await allocateMediaPorts(); // reserves the next RTC block, which pod 1's range moves into
    const tcp = [base.ws, base.wss, base.rest, base.restTls];
    let stride = 0;
    for (let s = 100; s < 2000 && !stride; s += 7)
      if ((await Promise.all(tcp.map((p) => bindable(p + s)))).every(Boolean)) stride = s;
    expect(stride).toBeGreaterThan(0);
    const labels = { 'app.kubernetes.io/name': 'streamfed', 'app.kubernetes.io/component': 'media-ordinal' };
    const ordinalSelector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const restUrl = (ordinal: number) => `http://127.0.0.1:${base.rest + ordinal * stride}`;
    const pods: MediaProcess[] = [];
    try {
      for (const ordinal of [0, 1]) {
        const name = `ordinal-${ordinal}`;
        pods.push(
          await launchMedia(
            base,
            [
              ...['--member-id', name, '--pod-name', name, '--ordinal-port-stride', String(stride)],
              ...['--fleet-kube-selector', ordinalSelector, '--fleet-kube-namespace', namespace],
              ...['--fleet-kubeconfig', cluster!.kubeconfigPath],
            ],
            {},
            {},
          ),
        );
        await createReadyPod(core, namespace, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name,
            labels,
            annotations: {
              [ORDINAL_PORT_STRIDE_ANNOTATION]: String(stride),
              [PORTS_ANNOTATION]: JSON.stringify({ ws: base.ws, wss: base.wss, rest: base.rest }),
            },
          },
          spec: { containers: [{ name: 'media', image: 'streamfed:dev' }] },
        });
      }
      for (const [own, other] of [
        [0, 1],
        [1, 0],
      ] as const) {
        await waitFor(
          async () => {
            const members = await fleetMembers(restUrl(own));
            return members.some(
              (m) => m.up && m.memberId === `ordinal-${other}` && m.restUrl === restUrl(other),
            );
          },
          `ordinal-${own} finds ordinal-${other} at ${restUrl(other)}`,
        );
      }
      const publisher = await NodePeer.publish(`ws://127.0.0.1:${base.ws}`, 'ordinal-stream');
      await publisher.waitStatus('PUBLISHING');
      const player = await NodePeer.play(`ws://127.0.0.1:${base.ws + stride}`, 'ordinal-stream');
      await player.waitStatus('PLAYING');
      await waitFor(() => player.received > 20, 'relayed RTP on pod 1');
      await player.stop();
      await publisher.stop();
    } finally {
      await Promise.all(pods.map((p) => p.stop()));
      for (const name of ['ordinal-0', 'ordinal-1'])
        await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
  });
});
