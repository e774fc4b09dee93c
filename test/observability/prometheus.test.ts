import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { NodePeer } from '../support/node-peer.js';
import { freePort } from '../support/ports.js';
import { chartDir, run } from '../support/tools.js';
import { WcsSocket } from '../support/wcs-socket.js';
import { dashboardExprs, exportedNames, metricNames, ruleExprs } from './metric-names.js';

const rulesFile = path.join(chartDir, 'files/prometheus-rules.yaml');
const usedNames = (): string[] =>
  [...new Set([...dashboardExprs(), ...ruleExprs()].flatMap((e) => metricNames(e.expr)))].sort();

describe('dashboard and alert rules, checked offline', () => {
  it('finds metric names in PromQL, and only those', () => {
    expect(metricNames('sum by (kind) (rate(streamfed_errors_total{kind="x"}[5m]))')).toEqual([
      'streamfed_errors_total',
    ]);
    expect(
      metricNames('histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m]))) / clamp_min(b, 1)'),
    ).toEqual(['a_bucket', 'b']);
    expect(metricNames('up{job="streamfed-media"} == 0')).toEqual(['up']);
  });

  it('name only metrics the code exports', async () => {
    const exported = await exportedNames();
    exported.add('up'); // Prometheus's own per-target series
    const exprs = [...dashboardExprs(), ...ruleExprs()];
    expect(exprs.length).toBeGreaterThan(15);
    const unknown = exprs.flatMap((e) =>
      metricNames(e.expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${e.where}: ${n}`),
    );
    expect(unknown).toEqual([]);
  });

  it('pass promtool: rules check, rules unit tests, and every dashboard query parses', async () => {
    const check = await run('promtool', ['check', 'rules', rulesFile]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const unit = await run('promtool', [
      'test',
      'rules',
      path.join(packageRoot, 'test/observability/rules.test.yaml'),
    ]);
    expect(unit.code, unit.stdout + unit.stderr).toBe(0);
    const dir = mkdtempSync(path.join(tmpdir(), 'streamfed-promql-'));
    const file = path.join(dir, 'dashboard.yaml');
    const rules = dashboardExprs().map(
      (e, i) => `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(e.expr)}`,
    );
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
    const queries = await run('promtool', ['check', 'rules', file]);
    rmSync(dir, { recursive: true, force: true });
    expect(queries.code, queries.stdout + queries.stderr).toBe(0);
    expect(queries.stdout).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });
});

describe('a real Prometheus scraping two media servers and the operator', () => {
  let cluster: KubeCluster;
  let s1: MediaProcess;
  let s2: MediaProcess;
  let operator: OperatorProcess;
  let prometheus: ChildProcess;
  let promUrl: string;
  let dir: string;
  const peers: NodePeer[] = [];

  const query = async (q: string): Promise<unknown[]> => {
    const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await r.json()) as { status: string; data: { result: unknown[] } };
    return body.status === 'success' ? body.data.result : [];
  };

  beforeAll(async () => {
    [cluster, s1, s2] = await Promise.all([startKubeCluster(), spawnMedia(), spawnMedia()]);
    operator = await spawnOperator(cluster.kubeconfigPath, 'prom-test', 'streamfed-operator-prom');
    dir = mkdtempSync(path.join(tmpdir(), 'streamfed-prom-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const host = (u: string): string => new URL(u).host;
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(rulesFile)}]`,
        'scrape_configs:',
        `  - job_name: streamfed-media\n    static_configs: [{ targets: ["${host(s1.restUrl)}", "${host(s2.restUrl)}"] }]`,
        `  - job_name: streamfed-operator\n    static_configs: [{ targets: ["${host(operator.metricsUrl)}"] }]`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok,
      'Prometheus ready',
    );

    // activity behind every metric: a publisher and a player, a push, a failed push, a protocol error, a StreamPush
    const publisher = await NodePeer.publish(s1.wsUrl, 'cam');
    peers.push(publisher);
    await publisher.waitStatus('PUBLISHING');
    expect(
      (await rest(s1.restUrl, '/rest-api/pull/push', { uri: 'ws://127.0.0.1:9', localStreamName: 'cam' }))
        .status,
    ).toBe(500);
    const { ws } = await WcsSocket.established(s1.wsUrl);
    ws.sendRaw('not json');
    await ws.next('fail');
    ws.close();
    await applyStreamPushCrd(cluster.kubeconfigPath);
    const sp = {
      apiVersion: 'streamfed.io/v1alpha1',
      kind: 'StreamPush',
      metadata: { name: 'cam-to-s2', namespace: 'default' },
      spec: { source: { restUrl: s1.restUrl }, localStreamName: 'cam', target: { uri: s2.wsUrl } },
    };
    expect((await kubectl(cluster.kubeconfigPath, ['apply', '-f', '-'], JSON.stringify(sp))).code).toBe(0);
    await waitFor(
      async () => (await rest(s2.restUrl, '/rest-api/stream/find', { name: 'cam' })).status === 200,
      'pushed stream on s2',
      30_000,
    );
    const player = await NodePeer.play(s2.wsUrl, 'cam');
    peers.push(player);
    await player.waitStatus('PLAYING');
  }, 180_000);

  afterAll(async () => {
    for (const p of peers) await p.stop().catch(() => undefined);
    prometheus?.kill('SIGKILL');
    await Promise.all([s1?.kill(), s2?.kill(), operator?.kill(), cluster?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes all three targets', async () => {
    await waitFor(async () => (await query('up == 1')).length === 3, 'three targets up', 20_000);
  });

  it('has data for every metric the dashboard and the alert rules use', async () => {
    const names = usedNames();
    expect(names.length).toBeGreaterThan(15);
    const missing = async (): Promise<string[]> => {
      const empty: string[] = [];
      for (const name of names) if ((await query(name)).length === 0) empty.push(name);
      return empty;
    };
    let left: string[] = names;
    await waitFor(async () => (left = await missing()).length === 0, 'data for every metric', 40_000).catch(
      () => undefined,
    );
    expect(left).toEqual([]);
  });

  it('loads the alert rules and evaluates them', async () => {
    const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string }[] }[] };
    };
    const rules = r.data.groups.flatMap((g) => g.rules);
    expect(rules.map((x) => x.name).sort()).toEqual(
      ruleExprs()
        .map((e) => e.where.replace('alert ', ''))
        .sort(),
    );
    await waitFor(
      async () => {
        const again = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as typeof r;
        return again.data.groups.flatMap((g) => g.rules).every((x) => x.health === 'ok');
      },
      'rules evaluated without errors',
      20_000,
    );
  });
});
