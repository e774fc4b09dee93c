import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamPush } from '../../src/operator/api.js';
import { startJanusWhip, type JanusWhip } from '../support/janus.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { applyObject, applyStreamPushCrd, getStreamPush, kubectl } from '../support/kubectl.js';
import { spawnOperator, type OperatorProcess } from '../support/media-process.js';
import { findPushes, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

describe('StreamPush with target.whip: Janus as the target, its token in a Secret (real kube-apiserver)', () => {
  let cluster: KubeCluster;
  let janus: JanusWhip;
  let media: RunningMedia;
  let publisher: NodePeer;
  let operator: OperatorProcess;
  const token = randomBytes(18).toString('base64url');

  const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, args);
  const apply = (manifest: object) => applyObject(cluster.kubeconfigPath, manifest);
  const get = (name: string) => getStreamPush(cluster.kubeconfigPath, name);
  const ready = (o: StreamPush | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');
  /** Janus's publisher handles: what a WHIP session is on its side. */
  const onJanus = () => janus.publishers();
  const pushes = () => findPushes(media.restUrl);
  const streamPush = (name: string, url: string, secret: string) => ({
    apiVersion: 'streamfed.io/v1alpha1',
    kind: 'StreamPush',
    metadata: { name, namespace: 'default' },
    spec: {
      source: { restUrl: media.restUrl },
      localStreamName: 'studio',
      target: { whip: { url, tokenSecretRef: { name: secret, key: 'token' } } },
      retry: { initialDelaySeconds: 1, maxDelaySeconds: 2 },
    },
  });
  /** Everything the API server holds that the operator wrote about a StreamPush: the object and its Events. */
  const writtenAbout = async (name: string): Promise<string> =>
    (await k('get', 'streampush', name, '-o', 'json')).stdout +
    (await k('get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'json')).stdout;

  beforeAll(async () => {
    [cluster, janus] = await Promise.all([startKubeCluster(), startJanusWhip()]);
    // Janus is in a network namespace of its own, on 198.18.0.0/15 (support/netns.ts): allowed too
    media = await startMedia({ push: { allow: ['127.0.0.0/8', '198.18.0.0/15'] } });
    await applyStreamPushCrd(cluster.kubeconfigPath);
    // debug: whatever the operator logs, the token must not be in it
    operator = await spawnOperator(cluster.kubeconfigPath, 'whip-operator', 'streamfed-operator-whip', [
      '--log-level',
      'debug',
    ]);
    publisher = await NodePeer.publish(media.wsUrl, 'studio');
    await publisher.waitStatus('PUBLISHING');
  }, 120_000);

  afterAll(async () => {
    await publisher?.stop();
    await operator?.kill();
    await media?.stop();
    await Promise.all([janus?.stop(), cluster?.stop()]);
  });

  it('reaches Ready and Janus receives the stream; deleting it deletes the session on Janus; the token is in no status, Event or log', async () => {
    const url = await janus.createEndpoint('studio-op', token);
    const secret = await k('create', 'secret', 'generic', 'janus-token', `--from-literal=token=${token}`);
    expect(secret.code, secret.stderr).toBe(0);
    const r = await apply(streamPush('studio-to-janus', url, 'janus-token'));
    expect(r.code, r.stderr).toBe(0);

    const active = await waitFor(
      async () => {
        const o = await get('studio-to-janus');
        return o?.status?.phase === 'Active' ? o : undefined;
      },
      'StreamPush Active',
      60_000,
      250,
    );
    expect(active.status).toMatchObject({ targetKind: 'whip', targetUri: url, pushStatus: 'PUBLISHING' });
    expect(ready(active)).toMatchObject({ status: 'True', reason: 'Publishing' });
    const [push] = await pushes();
    expect(push).toMatchObject({ uri: url, localMediaSessionId: active.status?.localMediaSessionId });
    // Janus's own account of it
    await waitFor(
      async () => {
        const [h, ...more] = await onJanus();
        return more.length === 0 && h?.ready && h.packetsIn.video > 50 && h.packetsIn.audio > 50;
      },
      'Janus to receive audio and video',
      30_000,
      250,
    );
    // the printer columns say which kind of target
    const columns = await k('get', 'spush', 'studio-to-janus');
    expect(columns.stdout).toMatch(/NAME\s+SOURCE\s+SOURCE POD\s+KIND\s+TARGET\s+PHASE\s+AGE/);
    expect(columns.stdout).toMatch(
      new RegExp(`studio-to-janus\\s+studio\\s+(<none>)?\\s*whip\\s+${url}\\s+Active`),
    );

    // delete: the finalizer terminates the push, which deletes the WHIP session: Janus's handle goes
    const deleted = await k('delete', 'streampush', 'studio-to-janus', '--timeout=30s');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await pushes()).toEqual([]);
    await waitFor(async () => (await onJanus()).length === 0, 'the Janus handle to go', 15_000, 250);

    // the token: only in the Secret
    expect(await writtenAbout('studio-to-janus')).not.toContain(token);
    expect(operator.output()).toContain('operator started'); // its output is captured
    expect(operator.output()).not.toContain(token);
  });

  it('a missing Secret: Ready=False SecretUnresolved naming it (no push made); once it exists, Active', async () => {
    const url = await janus.createEndpoint('late-secret', token);
    const r = await apply(streamPush('secret-later', url, 'janus-token-later'));
    expect(r.code, r.stderr).toBe(0);
    const failed = await waitFor(
      async () => {
        const o = await get('secret-later');
        return ready(o)?.reason === 'SecretUnresolved' ? o : undefined;
      },
      'Ready=False, SecretUnresolved',
      30_000,
      250,
    );
    expect(failed.status).toMatchObject({
      phase: 'Failed',
      targetKind: 'whip',
      lastError: 'Secret default/janus-token-later could not be read: not found',
    });
    expect(ready(failed)?.status).toBe('False');
    expect(await pushes()).toEqual([]);
    expect(await onJanus()).toEqual([]);

    // the same with the key missing from the Secret
    expect((await k('create', 'secret', 'generic', 'janus-token-later', '--from-literal=other=x')).code).toBe(
      0,
    );
    await waitFor(
      async () => (await get('secret-later'))?.status?.lastError?.includes('has no key "token"'),
      'the missing key reported',
      30_000,
      250,
    );
    // the token arrives (the backoff retries): pushed and Active
    const patched = await k(
      'patch',
      'secret',
      'janus-token-later',
      '--type=merge',
      '-p',
      JSON.stringify({ stringData: { token } }),
    );
    expect(patched.code, patched.stderr).toBe(0);
    await waitFor(
      async () => (await get('secret-later'))?.status?.phase === 'Active',
      'Active once the Secret has the token',
      30_000,
      250,
    );
    await waitFor(
      async () => (await onJanus()).some((h) => h.ready && h.packetsIn.video > 0),
      'media at Janus',
    );
    expect((await k('delete', 'streampush', 'secret-later', '--timeout=30s')).code).toBe(0);
    await waitFor(async () => (await onJanus()).length === 0, 'the Janus handle to go', 15_000, 250);
    expect(await writtenAbout('secret-later')).not.toContain(token);
    expect(operator.output()).not.toContain(token);
  });

  it('refuses a target with both uri and whip, and a tokenSecretRef without a key (API server schema)', async () => {
    const base = streamPush('bad', 'http://127.0.0.1:1/whip/endpoint/x', 's');
    for (const [target, message] of [
      [
        { uri: 'ws://127.0.0.1:1', whip: base.spec.target.whip },
        /spec.target in body should have at most 1 properties/,
      ],
      [{ whip: { url: 'ws://127.0.0.1:1/x' } }, /spec.target.whip.url/],
      [{ whip: { url: 'http://127.0.0.1:1/x', tokenSecretRef: { name: 's' } } }, /key: Required value/],
    ] as const) {
      const r = await kubectl(
        cluster.kubeconfigPath,
        ['apply', '--validate=false', '-f', '-'],
        JSON.stringify({ ...base, spec: { ...base.spec, target } }),
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
    expect((await k('get', 'streampush', 'bad')).code).not.toBe(0);
  });
});
