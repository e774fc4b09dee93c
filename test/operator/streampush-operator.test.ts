import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { StreamPush } from '../../src/operator/api.js';
import { Operator, type OperatorConfig } from '../../src/operator/operator.js';
import { packageRoot } from '../../src/paths.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { applyStreamPushCrd, kubectl } from '../support/kubectl.js';
import {
  spawnMedia,
  spawnOperator,
  type MediaProcess,
  type OperatorProcess,
} from '../support/media-process.js';
import { rest, waitFor } from '../support/media-server.js';
import { metric, scrapeMetrics } from '../support/metrics.js';
import { FakeWcs } from '../support/fake-wcs.js';
import { NodePeer } from '../support/node-peer.js';
import { testOperatorConfig } from '../support/operator-config.js';
import { listPushes } from '../support/pushes.js';
import { getStreamPush, isActive, waitStreamPush } from '../support/stream-pushes.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

describe('StreamPush operator against a real kube-apiserver and real media servers', () => {
  let cluster: KubeCluster;
  let s1: MediaProcess;
  let s2: MediaProcess;
  let publisher: NodePeer;
  let leaderProcess: OperatorProcess;
  const operators: Operator[] = [];
  const log = createLogger('warn', 'test-operator');

  const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, args);
  const apply = (manifest: object, ...flags: string[]) =>
    kubectl(cluster.kubeconfigPath, ['apply', ...flags, '-f', '-'], JSON.stringify(manifest));
  const get = (name: string) => getStreamPush(cluster.kubeconfigPath, name);
  /** The StreamPush once it is Active (and `also` holds for it). */
  const waitActive = (name: string, what: string, also: (o: StreamPush) => boolean = () => true) =>
    waitStreamPush(cluster.kubeconfigPath, name, what, (o) => isActive(o) && also(o));
  const pushesOn = (m: MediaProcess) => listPushes(m.restUrl);
  const manifest = (
    name: string,
    remoteStreamName: string | undefined,
    spec: Partial<StreamPush['spec']> = {},
  ) => ({
    apiVersion: 'streamfed.io/v1alpha1',
    kind: 'StreamPush',
    metadata: { name, namespace: 'default' },
    spec: {
      source: { restUrl: s1.restUrl },
      localStreamName: 'studio',
      target: { uri: s2.wsUrl },
      remoteStreamName,
      retry: { initialDelaySeconds: 1, maxDelaySeconds: 2 },
      ...spec,
    },
  });
  const startOperator = async (
    identity: string,
    overrides: Partial<OperatorConfig> = {},
  ): Promise<Operator> => {
    const config = testOperatorConfig(cluster.kubeconfigPath, {
      leaderElection: true,
      identity,
      leaseDurationSeconds: 3,
      ...overrides,
    });
    const operator = new Operator(config, log);
    await operator.start();
    operators.push(operator);
    return operator;
  };

  beforeAll(async () => {
    [cluster, s1, s2] = await Promise.all([startKubeCluster(), spawnMedia(), spawnMedia()]);
    leaderProcess = await spawnOperator(cluster.kubeconfigPath, 'replica-a', 'streamfed-operator-test');
    await applyStreamPushCrd(cluster.kubeconfigPath);
    publisher = await NodePeer.publish(s1.wsUrl, 'studio');
    await publisher.waitStatus('PUBLISHING');
  }, 120_000);

  afterAll(async () => {
    await publisher?.stop().catch(() => undefined); // bounded: it waits at most 10 s for UNPUBLISHED
    // then the processes: nothing below may keep them alive if it hangs
    await Promise.all([leaderProcess?.kill(), s1?.kill(), s2?.kill()]);
    for (const o of operators) await o.stop().catch(() => undefined);
    await cluster?.stop();
  });

  it('rejects invalid StreamPush manifests with the API server schema (kubectl)', async () => {
    const base = manifest('bad', 'x');
    // [manifest, the API server's own refusal, the field any refusal must name]
    const cases: [object, RegExp, RegExp][] = [
      [
        { ...base, spec: { ...base.spec, localStreamName: undefined } },
        /localStreamName: Required value/,
        /localStreamName/,
      ],
      [{ ...base, spec: { ...base.spec, target: { uri: 'http://nope:8080' } } }, /spec.target.uri/, /uri/],
      [
        { ...base, spec: { ...base.spec, target: { uri: s2.wsUrl, service: { name: 'x' } } } },
        /spec.target in body should have at most 1 properties/,
        /target/,
      ],
      // the one stream-name rule (src/contracts/stream-name.ts), as the API server reads it
      [
        { ...base, spec: { ...base.spec, localStreamName: 'line\nbreak' } },
        /spec.localStreamName/,
        /localStreamName/,
      ],
      [
        { ...base, spec: { ...base.spec, remoteStreamName: 'x'.repeat(257) } },
        /spec.remoteStreamName/,
        /remoteStreamName/,
      ],
      [
        { ...base, spec: { ...base.spec, retry: { initialDelaySeconds: 0 } } },
        /initialDelaySeconds/,
        /initialDelaySeconds/,
      ],
      [
        { ...base, spec: { ...base.spec, target: { service: { name: 'm', scheme: 'http' } } } },
        /scheme/,
        /scheme/,
      ],
    ];
    for (const [bad, serverMessage, field] of cases) {
      // The server's schema itself: kubectl's client-side check switched off.
      const server = await apply(bad, '--validate=false');
      expect(server.code).not.toBe(0);
      expect(server.stderr).toMatch(serverMessage);
      // What a user sees: kubectl validates against the schema the API server publishes in its
      // OpenAPI once the CRD is established (a few seconds later), so either check may refuse first.
      const user = await apply(bad);
      expect(user.code).not.toBe(0);
      expect(user.stderr).toMatch(field);
    }
    // and every name the rule allows is a valid spec (spaces, emoji, markup, 256 characters)
    for (const name of ['has space', '🎥 <b>live</b>', '../a%20b', 'n'.repeat(256)]) {
      const ok = await apply(
        { ...base, spec: { ...base.spec, localStreamName: name, remoteStreamName: name } },
        '--dry-run=server',
      );
      expect({ name, code: ok.code, stderr: ok.stderr }).toEqual({ name, code: 0, stderr: '' });
    }
    expect((await k('get', 'streampushes', '-o', 'name')).stdout.trim()).toBe('');
  });

  it('accepts the example manifests and reports their missing Services as a condition', async () => {
    const ns = await k('create', 'namespace', 'examples');
    expect(ns.code, ns.stderr).toBe(0);
    const r = await k('apply', '-n', 'examples', '-f', path.join(packageRoot, 'deploy/examples'));
    expect(r.code, r.stderr).toBe(0);
    const status = await waitFor(
      async () => {
        const o = JSON.parse(
          (await k('get', '-n', 'examples', 'streampush', 'lobby-to-eu', '-o', 'json')).stdout,
        ) as StreamPush;
        return o.status?.phase === 'Failed' ? o.status : undefined;
      },
      'example to report Failed',
      30_000,
    );
    expect(status.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'ServiceUnresolved',
    });
    // the Services are read through the API (not resolved by DNS): there is no Service "media" here
    expect(status.lastError).toBe('Service examples/media could not be read: not found');
    expect(status.sourceUrl).toBeUndefined();
    const columns = await k('get', '-n', 'examples', 'spush');
    expect(columns.stdout).toMatch(/NAME\s+SOURCE\s+SOURCE POD\s+KIND\s+TARGET\s+PHASE\s+AGE/);
    expect((await k('delete', 'namespace', 'examples', '--wait=false')).code).toBe(0);
  });

  it('create → pushed and playable; drift repaired; spec change re-pushed; orphan removed; delete → terminated', async () => {
    expect((await apply(manifest('studio-to-s2', 'studio-copy'))).code).toBe(0);
    const active = await waitActive('studio-to-s2', 'StreamPush Active');
    expect(active.metadata?.finalizers).toContain('streamfed.io/terminate-push');
    expect(active.status).toMatchObject({
      observedGeneration: active.metadata?.generation,
      pushStatus: 'PUBLISHING',
      sourceUrl: s1.restUrl,
      targetUri: s2.wsUrl,
    });
    expect(active.status?.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Publishing' }),
    ]);
    const [push] = await pushesOn(s1);
    expect(push).toMatchObject({
      localMediaSessionId: active.status?.localMediaSessionId,
      remoteStreamName: 'studio-copy',
      status: 'PUBLISHING',
      // listed with who asked for it (the console's Owner column)
      owner: expect.stringMatching(/^StreamPush [^/]+\/studio-to-s2$/),
    });
    const player = await NodePeer.play(s2.wsUrl, 'studio-copy');
    await player.waitStatus('PLAYING');
    await waitFor(() => player.received > 20, 'RTP on server 2');
    await player.stop();

    // drift: someone kills the push on the media server
    expect(
      (await rest(s1.restUrl, '/rest-api/pull/terminate', { localMediaSessionId: push!.localMediaSessionId }))
        .status,
    ).toBe(200);
    const repaired = await waitActive(
      'studio-to-s2',
      'push repaired',
      (o) => o.status?.localMediaSessionId !== push!.localMediaSessionId,
    );
    expect((await pushesOn(s1)).map((p) => p.localMediaSessionId)).toEqual([
      repaired.status?.localMediaSessionId,
    ]);

    // spec change: a new remote name means terminate + push
    const patched = await k(
      'patch',
      'streampush',
      'studio-to-s2',
      '--type=merge',
      '-p',
      '{"spec":{"remoteStreamName":"studio-renamed"}}',
    );
    expect(patched.code, patched.stderr).toBe(0);
    await waitActive(
      'studio-to-s2',
      're-pushed after the spec change',
      (o) => o.status?.observedGeneration === o.metadata?.generation,
    );
    await waitFor(async () => {
      const names = (await pushesOn(s1)).map((p) => p.remoteStreamName);
      return names.length === 1 && names[0] === 'studio-renamed';
    }, 'only the renamed push left');
    expect((await rest(s2.restUrl, '/rest-api/stream/find', { name: 'studio-copy' })).status).toBe(404);

    // an orphan: a push no StreamPush owns goes away at the next resync
    expect(
      (
        await rest(s1.restUrl, '/rest-api/pull/push', {
          uri: s2.wsUrl,
          localStreamName: 'studio',
          remoteStreamName: 'stray',
        })
      ).status,
    ).toBe(200);
    await waitFor(
      async () => !(await pushesOn(s1)).some((p) => p.remoteStreamName === 'stray'),
      'orphan terminated',
      15_000,
    );

    const events = await k(
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=studio-to-s2',
      '-o',
      'json',
    );
    const reasons = (JSON.parse(events.stdout) as { items: { reason: string }[] }).items.map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Pushed', 'Publishing']));

    // delete: the finalizer terminates the push before the object goes
    expect((await k('delete', 'streampush', 'studio-to-s2', '--timeout=30s')).code).toBe(0);
    expect(await get('studio-to-s2')).toBeUndefined();
    expect(await pushesOn(s1)).toEqual([]);
    expect((await rest(s2.restUrl, '/rest-api/stream/find', { name: 'studio-renamed' })).status).toBe(404);
    const metrics = await scrapeMetrics(leaderProcess.metricsUrl);
    expect(metrics.value('streamfed_operator_reconciles_total', { result: 'success' })).toBeGreaterThan(0);
    expect(metrics.value('streamfed_operator_orphan_pushes_terminated_total')).toBeGreaterThan(0);
    expect(metrics.value('streamfed_operator_leader')).toBe(1);
  });

  it('a push its target never acknowledges is never Active, one whose delivery stalls is pushed again, and spec.custom reaches the target', async () => {
    // its own source server, with a short media deadline (also the stall window)
    const s3 = await spawnMedia(['--push-media-timeout-ms', '3000']);
    const silent = await FakeWcs.start('media');
    const stalling = await FakeWcs.start('stall-later', 1500);
    const studio3 = await NodePeer.publish(s3.wsUrl, 'studio3');
    const names = ['silent-target', 'stalling-target'];
    try {
      await studio3.waitStatus('PUBLISHING');
      for (const [name, uri] of [
        [names[0]!, silent.url],
        [names[1]!, stalling.url],
      ] as const) {
        const m = manifest(name, undefined, {
          source: { restUrl: s3.restUrl },
          localStreamName: 'studio3',
          target: { uri },
          custom: { token: 'hook-token' },
        });
        const r = await apply(m);
        expect(r.code, r.stderr).toBe(0);
      }
      const seen = new Set<string>();
      await waitFor(
        async () => {
          const objects = await Promise.all(names.map((n) => get(n)));
          objects.forEach((o, i) => {
            const reason = o?.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
            if (o?.status?.phase) seen.add(`${names[i]}:${o.status.phase}:${reason ?? ''}`);
          });
          return (
            objects.every((o) => (o?.status?.attempts ?? 0) >= 2) &&
            seen.has('stalling-target:Failed:PushNotDelivering')
          );
        },
        'both pushed again',
        60_000,
        250,
      );
      // PUBLISHING on the source, but nothing acknowledged: never Active
      expect([...seen].filter((s) => s.startsWith('silent-target:Active'))).toEqual([]);
      expect(seen).toContain('silent-target:Pending:AwaitingDelivery');
      expect(silent.received('connection')[0]).toMatchObject({ custom: { token: 'hook-token' } });
      expect(stalling.received('publishStream')[0]).toMatchObject({ custom: { token: 'hook-token' } });
    } finally {
      for (const n of names) await k('delete', 'streampush', n, '--timeout=30s');
      await studio3.stop();
      await s3.kill();
      await Promise.all([silent.close(), stalling.close()]);
    }
  });

  it('pushes again when the target or the source media server restarts in place', async () => {
    const activeWithNewPush = (previous: string | undefined, what: string) =>
      waitActive('survives-restarts', what, (o) => {
        const id = o.status?.localMediaSessionId;
        return id !== undefined && id !== previous;
      });
    const playsOnS2 = async (): Promise<void> => {
      const player = await NodePeer.play(s2.wsUrl, 'studio-restarts');
      await player.waitStatus('PLAYING');
      await waitFor(() => player.received > 20, 'RTP on server 2');
      await player.stop();
    };
    expect((await apply(manifest('survives-restarts', 'studio-restarts'))).code).toBe(0);
    const first = await activeWithNewPush(undefined, 'StreamPush Active');

    // the target restarts: the push on server 1 fails with it, and a new one goes out once it is back
    s2 = await s2.restart();
    const afterTarget = await activeWithNewPush(
      first.status?.localMediaSessionId,
      'pushed again after the target restarted',
    );
    expect(await pushesOn(s1)).toEqual([
      expect.objectContaining({
        localMediaSessionId: afterTarget.status?.localMediaSessionId,
        status: 'PUBLISHING',
        // two streamfed servers of different fleets: the push the operator makes again is a pipe push too
        transport: 'pipe',
      }),
    ]);
    await playsOnS2();

    // the source restarts: its pushes and its publisher are gone; the status says so until the stream is back
    s1 = await s1.restart();
    // (SourceUnreachable while it was down, then StreamNotFound once it answers without the stream)
    await waitFor(
      async () => {
        const ready = (await get('survives-restarts'))?.status?.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === 'False' && ready.reason === 'StreamNotFound';
      },
      'Ready=False, StreamNotFound, while the restarted source has no stream',
      30_000,
    );
    await publisher.stop();
    publisher = await NodePeer.publish(s1.wsUrl, 'studio');
    await publisher.waitStatus('PUBLISHING');
    const afterSource = await activeWithNewPush(
      afterTarget.status?.localMediaSessionId,
      'pushed again after the source restarted',
    );
    expect((await pushesOn(s1)).map((p) => p.localMediaSessionId)).toEqual([
      afterSource.status?.localMediaSessionId,
    ]);
    await playsOnS2();

    expect((await k('delete', 'streampush', 'survives-restarts', '--timeout=30s')).code).toBe(0);
    expect(await pushesOn(s1)).toEqual([]);
  });

  it('rides out an API server restart: its pushes stay, it leads again and reconciles what comes next', async () => {
    const leaderGauge = (): Promise<number> => metric(leaderProcess.metricsUrl, 'streamfed_operator_leader');
    expect((await apply(manifest('across-outage', 'across-outage'))).code).toBe(0);
    const before = await waitActive('across-outage', 'StreamPush Active');

    // the control plane goes away longer than the 3 s Lease: the leader steps down and keeps running
    await cluster.stopApiserver();
    await waitFor(async () => (await leaderGauge()) === 0, 'the leader to step down', 10_000);
    await cluster.startApiserver();
    await waitFor(async () => (await leaderGauge()) === 1, 'the operator to lead again', 20_000);
    expect(leaderProcess.child.exitCode).toBeNull();

    // nothing was re-pushed: the push it made before the outage is the one it still reports
    const after = await get('across-outage');
    expect(after?.status?.localMediaSessionId).toBe(before.status?.localMediaSessionId);
    expect((await pushesOn(s1)).map((p) => [p.localMediaSessionId, p.status])).toEqual([
      [before.status?.localMediaSessionId, 'PUBLISHING'],
    ]);

    // its informer watches again: a StreamPush created now is pushed
    expect((await apply(manifest('after-outage', 'after-outage'))).code).toBe(0);
    await waitActive('after-outage', 'a StreamPush created after the outage Active');
    for (const name of ['across-outage', 'after-outage'])
      expect((await k('delete', 'streampush', name, '--timeout=30s')).code).toBe(0);
    expect(await pushesOn(s1)).toEqual([]);
  });

  it('keeps a second replica passive until the leader Lease expires', async () => {
    const standby = await startOperator('replica-b');
    await new Promise((r) => setTimeout(r, 4000));
    expect(standby.leading).toBe(false);
    expect(await metric(leaderProcess.metricsUrl, 'streamfed_operator_leader')).toBe(1);

    // the leader process dies without releasing the Lease: the standby takes over once it expires (3 s)
    await leaderProcess.kill();
    const killedAt = Date.now();
    await waitFor(() => standby.leading, 'standby to lead', 15_000);
    expect(Date.now() - killedAt).toBeGreaterThan(1000);
    expect((await apply(manifest('after-failover', 'failover'))).code).toBe(0);
    await waitActive('after-failover', 'new leader reconciles');
    expect((await k('delete', 'streampush', 'after-failover', '--timeout=30s')).code).toBe(0);
    expect(await pushesOn(s1)).toEqual([]);
  });

  it('a leader whose API server goes silent steps down before a standby can take the Lease, and can lead again', async () => {
    // replica-c reaches the API server through a proxy that can go silent (no error, no close): a network
    // partition. Both replicas watch their own namespace under their own Lease, apart from the tests above.
    const proxy = await startTcpProxy(Number(new URL(cluster.server).port));
    const kubeconfigPath = path.join(cluster.dir, 'kubeconfig-via-proxy.json');
    const kubeconfig = JSON.parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    for (const c of kubeconfig.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
    writeFileSync(kubeconfigPath, JSON.stringify(kubeconfig));
    const apart = { namespace: 'partition-test', leaseName: 'streamfed-operator-partition' };
    // the replicas of the tests above watch every namespace: only the two below may reconcile here
    await leaderProcess.kill();
    for (const o of operators.splice(0)) await o.stop();
    try {
      const cut = await startOperator('replica-c', { ...apart, kubeconfig: kubeconfigPath });
      await waitFor(() => cut.leading, 'replica-c to lead', 10_000);
      const standby = await startOperator('replica-d', apart);
      await new Promise((r) => setTimeout(r, 1500)); // two more renewals, a read and a write each
      expect([cut.leading, standby.leading]).toEqual([true, false]);
      // client-node alone opens a connection per request (8 by now): ours are kept alive, plus the watch
      expect(proxy.connections).toBeLessThanOrEqual(4);

      proxy.freeze();
      const frozenAt = Date.now();
      const both: number[] = [];
      let steppedDownAt = 0;
      await waitFor(
        () => {
          if (cut.leading && standby.leading) both.push(Date.now() - frozenAt);
          if (!cut.leading && !steppedDownAt) steppedDownAt = Date.now();
          return standby.leading;
        },
        'standby to lead',
        15_000,
        20,
      );
      // its renew deadline (2 s of the 3 s lease, from its last renewal) ends before the Lease expires
      expect(steppedDownAt, 'the silent leader kept leading').toBeGreaterThan(0);
      expect(both, 'ms after the freeze at which both replicas led').toEqual([]);

      // the network comes back: the Lease is the standby's now, replica-c stays passive
      proxy.thaw();
      await new Promise((r) => setTimeout(r, 2000));
      expect([cut.leading, standby.leading]).toEqual([false, true]);

      // the standby leaves: replica-c leads again, and the controller it stopped reconciles again
      await standby.stop();
      await waitFor(() => cut.leading, 'replica-c to lead again', 10_000);
      expect((await k('create', 'namespace', apart.namespace)).code).toBe(0);
      const own = manifest('after-partition', 'after-partition');
      expect((await apply({ ...own, metadata: { ...own.metadata, namespace: apart.namespace } })).code).toBe(
        0,
      );
      const phase = () =>
        k('get', 'streampush', 'after-partition', '-n', apart.namespace, '-o', 'jsonpath={.status.phase}');
      await waitFor(async () => (await phase()).stdout === 'Active', 'replica-c to reconcile', 30_000);
      expect(
        (await k('delete', 'streampush', 'after-partition', '-n', apart.namespace, '--timeout=30s')).code,
      ).toBe(0);
    } finally {
      proxy.thaw();
      await proxy.close();
    }
  });
});
