import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PushFailureCode } from '../../src/contracts/pull-api.js';
import { REST_URL_ANNOTATION, WS_URL_ANNOTATION } from '../../src/kube/pod-endpoints.js';
import { createLogger } from '../../src/log.js';
import type { StreamPush } from '../../src/operator/api.js';
import { Operator } from '../../src/operator/operator.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { createReadyPod, setPodReady } from '../support/kube-pods.js';
import { applyStreamPushCrd, kubectl } from '../support/kubectl.js';
import { spawnFleet, type FleetMember } from '../support/media-fleet.js';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { testOperatorConfig } from '../support/operator-config.js';
import { listPushes } from '../support/pushes.js';
import { getStreamPush, waitStreamPush } from '../support/stream-pushes.js';
import { rest, waitFor } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

const namespace = 'default';
const token = 'fleet-rest-token-for-the-operator-test';
const auth = { authorization: `Bearer ${token}` };

/**
 * The operator over fleets of media servers, through a real kube-apiserver: fleet A is two media processes
 * joined by --peers, described to the API by Pods (Ready through the status subresource, their REST and
 * WebSocket URLs in annotations, as no pod network exists here) and a Service selecting them; B is one more
 * media server. Every REST call (the operator's too) carries the fleet's token.
 */
describe('StreamPush over a media fleet (source.service, target.service)', () => {
  let cluster: KubeCluster;
  let core: CoreV1Api;
  let a1: FleetMember;
  let a2: FleetMember;
  let b: MediaProcess;
  let operator: Operator;
  const publishers: NodePeer[] = [];
  const players: NodePeer[] = [];

  const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, args);
  const apply = (manifest: object) =>
    kubectl(cluster.kubeconfigPath, ['apply', '-f', '-'], JSON.stringify(manifest));
  const get = (name: string) => getStreamPush(cluster.kubeconfigPath, name);
  const waitStatus = (name: string, what: string, check: (o: StreamPush) => boolean) =>
    waitStreamPush(cluster.kubeconfigPath, name, what, check, { timeoutMs: 45_000 });
  const pushesOn = (restUrl: string) => listPushes(restUrl, auth);
  const streamPush = (name: string, spec: Partial<StreamPush['spec']>) => ({
    apiVersion: 'streamfed.io/v1alpha1',
    kind: 'StreamPush',
    metadata: { name, namespace },
    spec: { retry: { initialDelaySeconds: 1, maxDelaySeconds: 2 }, ...spec },
  });
  /** Applies a StreamPush (kubectl apply). */
  const create = async (name: string, spec: Partial<StreamPush['spec']>): Promise<void> => {
    const r = await apply(streamPush(name, spec));
    expect(r.code, r.stderr).toBe(0);
  };
  const remove = async (name: string): Promise<void> => {
    const r = await k('delete', 'streampush', name, '--timeout=30s');
    expect(r.code, r.stderr).toBe(0);
  };
  const publish = async (wsUrl: string, name: string): Promise<NodePeer> => {
    const p = await NodePeer.publish(wsUrl, name);
    publishers.push(p);
    await p.waitStatus('PUBLISHING');
    return p;
  };
  /** A Node WebRTC player of the stream on that server, once it received media. */
  const expectPlays = async (wsUrl: string, name: string): Promise<void> => {
    const player = await NodePeer.play(wsUrl, name);
    players.push(player);
    await player.waitStatus('PLAYING', 20_000);
    await waitFor(() => player.received > 20, `RTP of ${name} on ${wsUrl}`, 20_000);
    await player.stop();
  };
  const eventReasons = async (name: string): Promise<string[]> =>
    (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items.map(
      (e) => `${e.reason}: ${e.message}`,
    );

  /** A media pod of fleet A as its StatefulSet would make it, pointing at a process of this test. */
  const readyPod = async (name: string, urls: { restUrl: string; wsUrl: string }): Promise<void> => {
    const body: V1Pod = {
      metadata: {
        name,
        labels: { app: 'fleet-a' },
        annotations: { [REST_URL_ANNOTATION]: urls.restUrl, [WS_URL_ANNOTATION]: urls.wsUrl },
      },
      spec: {
        containers: [
          {
            name: 'media',
            image: 'streamfed:dev',
            ports: [
              { name: 'ws', containerPort: 8080 },
              { name: 'rest', containerPort: 8081 },
            ],
          },
        ],
      },
    };
    await createReadyPod(core, namespace, body);
  };

  beforeAll(async () => {
    const restToken = ['--rest-token', token];
    let fleet: FleetMember[];
    [cluster, fleet, b] = await Promise.all([
      startKubeCluster(),
      spawnFleet(2, restToken),
      spawnMedia(restToken),
    ]);
    [a1, a2] = fleet as [FleetMember, FleetMember];
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfigPath);
    core = config.makeApiClient(CoreV1Api);
    await applyStreamPushCrd(cluster.kubeconfigPath);
    await readyPod('fleet-a-0', a1);
    await readyPod('fleet-a-1', a2);
    // Ready, selected, but its annotations are no URLs of the right kind: it is never asked, never pushed into
    await readyPod('fleet-a-2', { restUrl: 'file:///etc/passwd', wsUrl: 'http://127.0.0.1:1' });
    const ports = [
      { name: 'ws', port: 8080, targetPort: 'ws' },
      { name: 'rest', port: 8081, targetPort: 'rest' },
    ];
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'fleet-a' }, spec: { selector: { app: 'fleet-a' }, ports } },
    });
    // a Service without a selector (its endpoints are someone else's business): the cluster DNS name is used
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: 'no-selector' }, spec: { ports } },
    });
    operator = new Operator(
      testOperatorConfig(cluster.kubeconfigPath, { mediaToken: token, identity: 'fleet-test' }),
      createLogger('warn', 'test-operator'),
    );
    await operator.start();
  }, 120_000);

  // a case that fails midway leaves no StreamPush (nor its push) behind for the next one
  afterEach(async () => {
    if (cluster) await k('delete', 'streampush', '--all', '--timeout=30s');
  });
  afterAll(async () => {
    for (const p of [...players, ...publishers]) await p.stop().catch(() => undefined);
    await operator?.stop();
    await Promise.all([a1?.process.kill(), a2?.process.kill(), b?.kill()]);
    await cluster?.stop();
  });

  it('source.service pushes from the member that publishes the stream, and follows it when it is republished on another', async () => {
    let publisher = await publish(a2.wsUrl, 'moving');
    await create('follow', {
      source: { service: { name: 'fleet-a' } },
      localStreamName: 'moving',
      target: { uri: b.wsUrl },
      remoteStreamName: 'from-fleet',
    });
    const first = await waitStatus(
      'follow',
      'pushed from the pod that publishes the stream',
      (o) => o.status?.phase === 'Active',
    );
    expect(first.status).toMatchObject({ sourcePod: 'fleet-a-1', sourceUrl: a2.restUrl, targetUri: b.wsUrl });
    expect((await pushesOn(a2.restUrl)).map((p) => p.localMediaSessionId)).toEqual([
      first.status?.localMediaSessionId,
    ]);
    expect(await pushesOn(a1.restUrl)).toEqual([]);
    const column = await k('get', 'spush', 'follow');
    expect(column.stdout).toMatch(/NAME\s+SOURCE\s+SOURCE POD\s+KIND\s+TARGET\s+PHASE\s+AGE/);
    expect(column.stdout).toMatch(/follow\s+moving\s+fleet-a-1\s+wcs\s/);
    await expectPlays(b.wsUrl, 'from-fleet');

    // the publisher moves to the other member: the push follows, the one on the old member is gone
    await publisher.stop();
    publisher = await publish(a1.wsUrl, 'moving');
    const moved = await waitStatus(
      'follow',
      'pushed from the new origin',
      (o) => o.status?.phase === 'Active' && o.status.sourcePod === 'fleet-a-0',
    );
    expect(moved.status?.sourceUrl).toBe(a1.restUrl);
    await waitFor(async () => (await pushesOn(a2.restUrl)).length === 0, 'no push left on the old origin');
    expect((await pushesOn(a1.restUrl)).map((p) => p.localMediaSessionId)).toEqual([
      moved.status?.localMediaSessionId,
    ]);
    await expectPlays(b.wsUrl, 'from-fleet');
    // told as an Event: moved outright, or lost (no member had it for a moment) and pushed from the new pod
    await waitFor(async () => {
      const reasons = await eventReasons('follow');
      return (
        reasons.some((r) => /^Source(Moved|Lost): .*fleet-a-1/.test(r)) &&
        reasons.filter((r) => r.startsWith('Pushed')).length >= 2
      );
    }, 'Events telling the source moved and the push was made again');

    // the orphan sweep covers every member behind the Service: a push there that no StreamPush owns is ended
    const orphans = async () => (await operator.metrics.orphansTerminated.get()).values[0]?.value ?? 0;
    const orphansBefore = await orphans();
    const stray = await rest(
      a2.restUrl,
      '/rest-api/pull/push',
      { uri: b.wsUrl, localStreamName: 'moving', remoteStreamName: 'stray' },
      auth,
    );
    // the sweep may end the stray push while it is still connecting (its request then answers that it was
    // terminated) or after it answered 200: either way the sweep ended it and counted it once
    const strayCode = (stray.body as { code?: string }).code;
    expect(
      stray.status === 200 || (stray.status === 500 && strayCode === PushFailureCode.LOCAL_ENDED),
      JSON.stringify(stray.body),
    ).toBe(true);
    await waitFor(
      async () => (await pushesOn(a2.restUrl)).length === 0,
      'the stray push on a fleet member terminated',
    );
    expect(await orphans()).toBe(orphansBefore + 1);
    expect((await pushesOn(a1.restUrl)).map((p) => p.localMediaSessionId)).toEqual([
      moved.status?.localMediaSessionId,
    ]);

    await remove('follow');
    expect(await pushesOn(a1.restUrl)).toEqual([]);
    await publisher.stop();
  });

  it('target.service pushes into one member of the fleet, and the stream plays on every member', async () => {
    const publisher = await publish(b.wsUrl, 'outside');
    await create('into-fleet', {
      source: { restUrl: b.restUrl },
      localStreamName: 'outside',
      target: { service: { name: 'fleet-a' } },
      remoteStreamName: 'inside',
    });
    const active = await waitStatus(
      'into-fleet',
      'pushed into the fleet',
      (o) => o.status?.phase === 'Active',
    );
    // the first Ready pod by name
    expect(active.status).toMatchObject({
      targetPod: 'fleet-a-0',
      targetUri: a1.wsUrl,
      sourceUrl: b.restUrl,
    });
    expect(active.status?.sourcePod).toBeUndefined();
    const pushes = await pushesOn(b.restUrl);
    expect(pushes.map((p) => [p.uri, p.remoteStreamName])).toEqual([[a1.wsUrl, 'inside']]);
    await expectPlays(a1.wsUrl, 'inside');
    await expectPlays(a2.wsUrl, 'inside');
    // several resyncs later: still that one push
    await new Promise((r) => setTimeout(r, 3000));
    expect((await pushesOn(b.restUrl)).map((p) => p.localMediaSessionId)).toEqual([
      active.status?.localMediaSessionId,
    ]);

    // the target pod stops being Ready: the push moves to the other member, still once
    await setPodReady(core, namespace, 'fleet-a-0', false);
    try {
      const moved = await waitStatus(
        'into-fleet',
        'pushed into the other member',
        (o) => o.status?.phase === 'Active' && o.status.targetPod === 'fleet-a-1',
      );
      expect(moved.status?.targetUri).toBe(a2.wsUrl);
      await waitFor(async () => {
        const now = await pushesOn(b.restUrl);
        return now.length === 1 && now[0]?.uri === a2.wsUrl;
      }, 'one push, into the other member');
      await expectPlays(a2.wsUrl, 'inside');
      expect(await eventReasons('into-fleet')).toContainEqual(
        'TargetMoved: target pod fleet-a-0 is no longer Ready: pushing into fleet-a-1',
      );
    } finally {
      await setPodReady(core, namespace, 'fleet-a-0', true);
    }
    // Ready again, the first pod does not take the push back: the target stays where it is while Ready
    await new Promise((r) => setTimeout(r, 2500));
    expect((await get('into-fleet'))?.status?.targetPod).toBe('fleet-a-1');
    expect((await pushesOn(b.restUrl)).map((p) => p.uri)).toEqual([a2.wsUrl]);
    await expectPlays(a1.wsUrl, 'inside');

    await remove('into-fleet');
    expect(await pushesOn(b.restUrl)).toEqual([]);
    await publisher.stop();
  });

  it('no member publishes the stream: not Active, the reason says so, nothing is pushed', async () => {
    await create('nobody', {
      source: { service: { name: 'fleet-a' } },
      localStreamName: 'nobody-has-it',
      target: { uri: b.wsUrl },
    });
    const failed = await waitStatus(
      'nobody',
      'StreamNotFound',
      (o) => o.status?.conditions?.[0]?.reason === 'StreamNotFound',
    );
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.lastError).toBe(
      'no member of Service default/fleet-a (fleet-a-0, fleet-a-1) publishes "nobody-has-it"',
    );
    expect(failed.status?.sourcePod).toBeUndefined();
    // retried with backoff: attempts to resolve go on, and still nothing is pushed anywhere
    await new Promise((r) => setTimeout(r, 2500));
    for (const m of [a1.restUrl, a2.restUrl]) expect(await pushesOn(m)).toEqual([]);
    expect((await get('nobody'))?.status?.phase).toBe('Failed');
    await remove('nobody');
  });

  it('a Service without a selector: the cluster DNS name, as before', async () => {
    await create('dns', {
      source: { service: { name: 'no-selector' } },
      localStreamName: 'x',
      target: { service: { name: 'no-selector' } },
    });
    const failed = await waitStatus('dns', 'the DNS name tried', (o) => o.status?.phase === 'Failed');
    expect(failed.status).toMatchObject({
      sourceUrl: 'http://no-selector.default.svc.cluster.local:8081',
      targetUri: 'ws://no-selector.default.svc.cluster.local:8080',
    });
    expect(failed.status?.conditions?.[0]?.reason).toBe('SourceUnreachable');
    await remove('dns');
  });
});
