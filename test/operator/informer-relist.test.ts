import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Operator } from '../../src/operator/operator.js';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import { applyStreamPushCrd, kubectl } from '../support/kubectl.js';
import { freePort } from '../support/ports.js';
import { testOperatorConfig } from '../support/operator-config.js';
import { waitFor } from '../support/media-server.js';

interface AuditEvent {
  stage: string;
  verb: string;
  userAgent?: string;
  objectRef?: { resource?: string };
  responseStatus?: { code?: number };
}

/**
 * An API server that forgets history fast: no watch cache, etcd compacted every second, watches ended
 * after 2–4 s. The operator's watch then resumes from a compacted resourceVersion and is told 410 Gone,
 * which client-node's informer answers by listing again. What the operator must do across that: keep
 * every object it had, and go on seeing new ones and deletions.
 */
describe('operator informer across 410 Gone (compacted history)', () => {
  let cluster: KubeCluster;
  let operator: Operator;
  const auditDir = mkdtempSync(path.join(tmpdir(), 'streamfed-audit-'));
  const auditLog = path.join(auditDir, 'audit.log');
  const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, args);
  /** The operator's (not kubectl's) completed list and watch requests on StreamPushes. */
  const operatorRequests = (): AuditEvent[] =>
    readFileSync(auditLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter(
        (e) =>
          e.stage === 'ResponseComplete' &&
          e.objectRef?.resource === 'streampushes' &&
          !e.userAgent?.startsWith('kubectl'),
      );
  const readyReason = async (name: string): Promise<string | undefined> => {
    const r = await k('get', 'streampush', name, '-o', 'jsonpath={.status.conditions[0].reason}');
    return r.code === 0 ? r.stdout : undefined;
  };
  /** Creates a StreamPush whose source does not answer, and waits for the operator to report just that. */
  const createAndSeeReconciled = async (name: string, what: string): Promise<void> => {
    const created = await kubectl(
      cluster.kubeconfigPath,
      ['apply', '-f', '-'],
      JSON.stringify(await unreachable(name)),
    );
    expect(created.code, created.stderr).toBe(0);
    await waitFor(async () => (await readyReason(name)) === 'SourceUnreachable', what, 15_000);
  };
  const unreachable = async (name: string) => ({
    apiVersion: 'streamfed.io/v1alpha1',
    kind: 'StreamPush',
    metadata: { name, namespace: 'default' },
    spec: {
      // nothing listens there: the operator reports it, which is all this test needs from a reconcile
      source: { restUrl: `http://127.0.0.1:${await freePort()}` },
      localStreamName: 'studio',
      target: { uri: 'ws://127.0.0.1:9' },
    },
  });

  beforeAll(async () => {
    const policy = path.join(auditDir, 'policy.yaml');
    writeFileSync(
      policy,
      [
        'apiVersion: audit.k8s.io/v1',
        'kind: Policy',
        'omitStages: [RequestReceived]',
        'rules:',
        '  - level: Metadata',
        '    verbs: [list, watch]',
        '    resources: [{ group: streamfed.io, resources: [streampushes] }]',
        '  - level: None',
        '',
      ].join('\n'),
    );
    cluster = await startKubeCluster({
      apiserverArgs: [
        '--watch-cache=false',
        '--etcd-compaction-interval=1s',
        '--min-request-timeout=2',
        `--audit-policy-file=${policy}`,
        `--audit-log-path=${auditLog}`,
      ],
    });
    await applyStreamPushCrd(cluster.kubeconfigPath);
    operator = new Operator(
      testOperatorConfig(cluster.kubeconfigPath, {
        resyncMs: 60_000, // a resync would hide a missed event: keep it out of this test
        defaultRetry: { initialMs: 1000, maxMs: 60_000 },
        identity: 'relist-test',
        pendingRecheckMs: 1000,
      }),
      createLogger('warn', 'test-operator'),
    );
    await operator.start();
  }, 120_000);

  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
    rmSync(auditDir, { recursive: true, force: true });
  });

  it('lists again after 410 Gone, and keeps seeing creations and deletions', async () => {
    await createAndSeeReconciled('before', 'first StreamPush reconciled');
    const lists = () =>
      operatorRequests().filter((e) => e.verb === 'list' && e.responseStatus?.code === 200).length;
    const listsBefore = lists();

    // the premise: a watch resuming from that object's revision is soon told 410 Gone
    const revision = (await k('get', 'streampush', 'before', '-o', 'jsonpath={.metadata.resourceVersion}'))
      .stdout;
    const resumeFrom = `/apis/streamfed.io/v1alpha1/streampushes?watch=1&resourceVersion=${revision}&timeoutSeconds=1`;
    await waitFor(
      async () => (await k('get', '--raw', resumeFrom)).stdout.includes('"code":410'),
      'the revision to be compacted',
      15_000,
    );
    // the operator's watches end every few seconds and resume from a compacted revision
    await waitFor(() => lists() >= listsBefore + 2, 'the informer to list again after 410 Gone', 30_000);

    await createAndSeeReconciled('after', 'a StreamPush created after the relists reconciled');
    // deletion needs the operator to see the deletionTimestamp and remove its finalizer
    expect((await k('delete', 'streampush', 'before', '--timeout=20s')).code).toBe(0);
    expect((await k('delete', 'streampush', 'after', '--timeout=20s')).code).toBe(0);
    expect((await k('get', 'streampushes', '-o', 'name')).stdout).toBe('');
  });
});
