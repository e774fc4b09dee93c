/** One series of a Prometheus text page: its name, its labels and its value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The series as the page writes it, `name{labels}` (or `name` alone). */
  key: string;
}

/** A /metrics page (Prometheus text format), read into its series. */
export class MetricsPage {
  readonly samples: Sample[] = [];
  readonly #families = new Set<string>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      const family = /^# TYPE (\S+)/.exec(line)?.[1];
      if (family) this.#families.add(family);
      const m = /^(([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?)\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries(
        [...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]),
      );
      this.samples.push({ key: m[1]!, name: m[2]!, labels, value: Number(m[4]) });
    }
  }

  /**
   * The sum of the series of `name` whose labels include `labels` (0 when the family has no such series
   * yet); throws when the page does not know `name` at all, so a renamed metric fails the caller.
   */
  value(name: string, labels: Record<string, string> = {}): number {
    const family = name.replace(/_(count|sum|bucket)$/, '');
    if (
      !this.#families.has(name) &&
      !this.#families.has(family) &&
      !this.samples.some((s) => s.name === name)
    )
      throw new Error(`no metric ${name} on the page`);
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  }

  /** Every series by its key as the page writes it (`name{labels}`), e.g. for differences between two reads. */
  series(): Map<string, number> {
    return new Map(this.samples.map((s) => [s.key, s.value]));
  }
}

/** GET `${baseUrl}/metrics`, read; throws unless it answers 200. */
export async function scrapeMetrics(baseUrl: string): Promise<MetricsPage> {
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${baseUrl}/metrics answered ${response.status}: ${text}`);
  return new MetricsPage(text);
}

/** One metric's value from a server's /metrics, summed over the label sets that include `labels`. */
export async function metric(
  baseUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return (await scrapeMetrics(baseUrl)).value(name, labels);
}
