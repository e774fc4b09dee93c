import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { KubeCluster } from '../../test/support/kube-cluster.js';
import { MetricsPage } from '../../test/support/metrics.js';

/** Requests by "VERB resource[/subresource]". */
export type Counts = Record<string, number>;

/** kube-apiserver requests so far by "VERB resource[/subresource]" (apiserver_request_total, all clients). */
export async function apiRequests(c: KubeCluster): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) =>
    https
      .get(
        `${c.server}/metrics`,
        { headers: { authorization: `Bearer ${c.token}` }, ca: readFileSync(c.caFile) },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve(body));
        },
      )
      .on('error', reject),
  );
  const counts = new Map<string, number>();
  for (const { name, labels, value } of new MetricsPage(text).samples) {
    if (name !== 'apiserver_request_total') continue;
    const key = `${labels['verb']} ${labels['resource']}${labels['subresource'] ? `/${labels['subresource']}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

/** What was added between two apiRequests() reads, by key (only keys that moved). */
export function diffCounts(a: Map<string, number>, b: Map<string, number>): Counts {
  return Object.fromEntries(
    [...b]
      .map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort(([x], [y]) => (x < y ? -1 : 1)),
  );
}

/** Requests per object over `n` objects, with the three biggest kinds. */
export function perObject(c: Counts, n: number): string {
  const total = Object.values(c).reduce((x, y) => x + y, 0);
  const top = Object.entries(c)
    .sort(([, x], [, y]) => y - x)
    .slice(0, 3)
    .map(([k, v]) => `${k} ${(v / n).toFixed(2)}`)
    .join(', ');
  return `${(total / n).toFixed(2)} (${top})`;
}
