import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorPolicies, type KnownErrorCode } from '../../src/contracts/error-policy.js';
import { PushFailureCode, pushFailureCodes, pushFailureStatus } from '../../src/contracts/pull-api.js';
import { RestErrorCode } from '../../src/contracts/rest-error.js';
import { createLogger } from '../../src/log.js';
import type { StreamPush } from '../../src/operator/api.js';
import { Operator } from '../../src/operator/operator.js';
import {
  forwardTo,
  startResponder,
  type Answer,
  type Received,
  type Responder,
} from '../support/http-responder.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { applyStreamPushCrd, kubectl } from '../support/kubectl.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { testOperatorConfig } from '../support/operator-config.js';

interface Row {
  /** The StreamPush's name. */
  name: string;
  /** The code the operator meets: its policy (contracts/error-policy.ts, README's table) is what must happen. */
  code: KnownErrorCode;
  /** The source the StreamPush names: a recording front of a real server, or a scripted answer. */
  source: Responder;
  uri: string;
  remoteStreamName: string;
}

interface KubeEvent {
  reason: string;
  type: string;
  involvedObject: { name: string };
}

/** A media server that answers `push` to /pull/push and has no pushes to list or terminate. */
const scripted =
  (push: Answer) =>
  ({ path }: Received): Answer =>
    path === '/rest-api/pull/push' ? push : { status: 404 };

/** The REST error body a streamfed server sends for a code (pull-api.ts PushFailureBody). */
const failureBody = (code: PushFailureCode): Answer => {
  const statusCode = pushFailureStatus(code);
  return {
    status: statusCode,
    body: {
      statusCode,
      code,
      error: 'Push failed',
      message: `scripted ${code}`,
      push: { status: 'FAILED', code },
    },
  };
};

describe('StreamPush conditions, Events and retries follow the code the media server sends', () => {
  const token = 'operator-token';
  const log = createLogger('warn', 'test-error-codes');
  let cluster: KubeCluster;
  let source: RunningMedia;
  let target: RunningMedia;
  let locked: RunningMedia;
  let publisher: NodePeer;
  let operator: Operator;
  const rows: Row[] = [];
  const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, args);
  /** Every StreamPush, by name. */
  const streamPushes = async (): Promise<Map<string, StreamPush>> => {
    const r = await k('get', 'streampushes', '-o', 'json');
    const items = r.code === 0 ? (JSON.parse(r.stdout) as { items: StreamPush[] }).items : [];
    return new Map(items.map((o) => [o.metadata?.name ?? '', o]));
  };
  /** Every Event of a StreamPush, by the object's name. */
  const events = async (): Promise<Map<string, KubeEvent[]>> => {
    const r = await k('get', 'events', '--field-selector', 'involvedObject.kind=StreamPush', '-o', 'json');
    const items = r.code === 0 ? (JSON.parse(r.stdout) as { items: KubeEvent[] }).items : [];
    const byName = new Map<string, KubeEvent[]>();
    for (const e of items)
      byName.set(e.involvedObject.name, [...(byName.get(e.involvedObject.name) ?? []), e]);
    return byName;
  };

  beforeAll(async () => {
    [cluster, source, target, locked] = await Promise.all([
      startKubeCluster(),
      startMedia({ rest: { token }, listen: { workers: 1 } }),
      startMedia({ listen: { workers: 1 } }),
      // a real server whose token is not the operator's
      startMedia({ rest: { token: 'not-the-operators-token' }, listen: { workers: 1 } }),
    ]);
    await applyStreamPushCrd(cluster.kubeconfigPath);
    publisher = await NodePeer.publish(source.wsUrl, 'cam');
    await publisher.waitStatus('PUBLISHING');
    // resync far away: what comes again within the test is the controller's retry, nothing else
    operator = new Operator(
      testOperatorConfig(cluster.kubeconfigPath, {
        mediaToken: token,
        resyncMs: 120_000,
        defaultRetry: { initialMs: 1000, maxMs: 2000 },
      }),
      log,
    );
    await operator.start();
  }, 120_000);

  afterAll(async () => {
    if (cluster) await k('delete', 'streampushes', '--all', '--timeout=60s');
    await operator?.stop();
    await publisher?.stop().catch(() => undefined);
    for (const row of rows) await row.source.close();
    await Promise.all([source?.stop(), target?.stop(), locked?.stop()]);
    await cluster?.stop();
  });

  it('each code: its condition reason, its Event, retried with backoff or never', async () => {
    const forward = (base: string) => (request: Received) => forwardTo(base, request);
    let duplicated = false;
    // real servers where the situation can be made for real
    rows.push(
      {
        name: 'wrong-token',
        code: RestErrorCode.UNAUTHORIZED,
        source: await startResponder(forward(locked.restUrl)),
        uri: target.wsUrl,
        remoteStreamName: 'wrong-token',
      },
      {
        name: 'loop',
        code: PushFailureCode.LOOP,
        // a push of the source's stream into the source itself
        source: await startResponder(forward(source.restUrl)),
        uri: source.wsUrl,
        remoteStreamName: 'loop',
      },
      {
        name: 'duplicate',
        code: RestErrorCode.CONFLICT,
        // another client pushes the same target between the operator's find_all and its push (the one
        // moment a duplicate can reach the operator: it adopts every push of its identity it sees listed)
        source: await startResponder(async (request) => {
          if (request.path === '/rest-api/pull/push' && !duplicated) {
            duplicated = true;
            const other = await rest(source.restUrl, request.path, request.body, {
              authorization: `Bearer ${token}`,
            });
            expect(other.status).toBe(200);
          }
          return forwardTo(source.restUrl, request);
        }),
        uri: target.wsUrl,
        remoteStreamName: 'duplicate',
      },
    );
    // every push failure code, as a streamfed server sends it
    for (const code of pushFailureCodes) {
      rows.push({
        name: `code-${code.toLowerCase().replace(/_/g, '-')}`,
        code,
        source: await startResponder(scripted(failureBody(code))),
        uri: target.wsUrl,
        remoteStreamName: code,
      });
    }
    // a foreign server that sends no code: its status stands for one
    for (const [status, code] of [
      [401, RestErrorCode.UNAUTHORIZED],
      [409, RestErrorCode.CONFLICT],
      [500, RestErrorCode.INTERNAL],
    ] as const) {
      rows.push({
        name: `foreign-${status}`,
        code,
        source: await startResponder(({ path }) =>
          status === 401 || path === '/rest-api/pull/push' ? { status } : { status: 404 },
        ),
        uri: target.wsUrl,
        remoteStreamName: `foreign-${status}`,
      });
    }

    const manifests = rows.map((row) => ({
      apiVersion: 'streamfed.io/v1alpha1',
      kind: 'StreamPush',
      metadata: { name: row.name, namespace: 'default' },
      spec: {
        source: { restUrl: row.source.url },
        localStreamName: 'cam',
        target: { uri: row.uri },
        remoteStreamName: row.remoteStreamName,
        retry: { initialDelaySeconds: 1, maxDelaySeconds: 2 },
      },
    }));
    const applied = await kubectl(
      cluster.kubeconfigPath,
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
    );
    expect(applied.code, applied.stderr).toBe(0);

    // every row's code reached the StreamPush: its Event, with the reason and type of the code's policy
    const expected = rows.map((row) => {
      const { reason, event } = errorPolicies[row.code];
      return { name: row.name, reason, type: event };
    });
    const seen = await waitFor(
      async () => {
        const all = await events();
        const found = expected.map((e) =>
          (all.get(e.name) ?? []).some((ev) => ev.reason === e.reason && ev.type === e.type)
            ? e
            : { ...e, missing: true },
        );
        return found.every((f) => !('missing' in f)) ? found : undefined;
      },
      'every code to show as its Event',
      90_000,
      1000,
    );
    expect(seen).toEqual(expected);

    // retries: a code whose policy is `never` brings no request more; `backoff` comes back (1 s, then 2 s).
    // (The duplicate was retried already: adopted, see below.)
    const failing = rows.filter((row) => row.name !== 'duplicate');
    const before = failing.map((row) => row.source.received.length);
    await new Promise((r) => setTimeout(r, 6000));
    expect(
      failing.map((row, i) => ({
        name: row.name,
        retry: row.source.received.length > before[i]! ? 'backoff' : 'never',
      })),
    ).toEqual(failing.map((row) => ({ name: row.name, retry: errorPolicies[row.code].retry })));

    // the condition says the same as the Event
    const objects = await streamPushes();
    for (const row of failing) {
      const ready = objects.get(row.name)?.status?.conditions?.find((c) => c.type === 'Ready');
      expect({ name: row.name, status: ready?.status, reason: ready?.reason }).toEqual({
        name: row.name,
        status: 'False',
        reason: errorPolicies[row.code].reason,
      });
    }
    // the duplicate, retried with backoff, found the other client's push listed and adopted it
    const duplicate = await waitFor(
      async () => {
        const o = (await streamPushes()).get('duplicate');
        return o?.status?.phase === 'Active' ? o : undefined;
      },
      'the duplicate adopted and Active',
      30_000,
    );
    expect(duplicate.status?.attempts).toBe(1);
    // the loop was pushed once, never again
    const loop = rows.find((r) => r.name === 'loop')!;
    expect(loop.source.received.filter((r) => r.path === '/rest-api/pull/push')).toHaveLength(1);
  });
});
