import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { MediaMetrics } from '../../src/media/metrics.js';
import { OperatorMetrics } from '../../src/operator/operator-metrics.js';
import { chartDir } from '../support/tools.js';

/** Every series name our code can export (histograms expand to _bucket, _sum, _count). */
export async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const registry of [new MediaMetrics().registry, new OperatorMetrics().registry]) {
    for (const m of await registry.getMetricsAsJSON()) {
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
      else names.add(m.name);
    }
  }
  return names;
}

export interface Expr {
  where: string;
  expr: string;
}

export function dashboardExprs(): Expr[] {
  const dash = JSON.parse(readFileSync(path.join(chartDir, 'files/grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  return dash.panels.flatMap((p) =>
    p.targets.map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr })),
  );
}

export function ruleExprs(): Expr[] {
  const file = parseAllDocuments(
    readFileSync(path.join(chartDir, 'files/prometheus-rules.yaml'), 'utf8'),
  )[0]!.toJS() as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return file.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

/** Metric names an expression reads: identifiers that are not functions, keywords or label names. */
export function metricNames(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/"[^"]*"/g, '');
  const words = withoutLabels.match(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g) ?? [];
  const grouping = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
  const labels = new Set([...expr.matchAll(grouping)].flatMap((m) => m[1]!.split(',').map((s) => s.trim())));
  // aggregations may put their grouping before the parenthesis: `sum by (x) (...)`
  const aggregations = [
    'sum',
    'min',
    'max',
    'avg',
    'count',
    'stddev',
    'stdvar',
    'topk',
    'bottomk',
    'quantile',
    'count_values',
    'group',
  ];
  const keywords = new Set([
    ...aggregations,
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'and',
    'or',
    'unless',
    'bool',
    'offset',
    'inf',
    'nan',
  ]);
  return [
    ...new Set(
      words.filter((w) => !keywords.has(w) && !labels.has(w) && !/^\d/.test(w) && !/^[smhdwy]$/.test(w)),
    ),
  ];
}
