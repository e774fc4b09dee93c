import { mkdirSync, writeFileSync, appendFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/paths.js';

export const resultsDir = path.join(packageRoot, 'bench/results');

export interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    mean,
    min: s[0] ?? NaN,
    max: s.at(-1) ?? NaN,
  };
}

export function machine(): Record<string, unknown> {
  const pkg = (name: string): string =>
    (
      JSON.parse(readFileSync(path.join(packageRoot, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    memoryBytes: os.totalmem(),
    node: process.version,
    mediasoup: pkg('mediasoup'),
    werift: pkg('werift'),
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
  };
}

/** Writes bench/results/<name>.json and appends a readable block to bench/results/summary.md. */
export function record(name: string, result: Record<string, unknown>, summary: string[]): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    path.join(resultsDir, `${name}.json`),
    `${JSON.stringify({ benchmark: name, machine: machine(), ...result }, null, 2)}\n`,
  );
  appendFileSync(
    path.join(resultsDir, 'summary.md'),
    `\n## ${name} (${new Date().toISOString()})\n${summary.map((l) => `- ${l}`).join('\n')}\n`,
  );
  console.log(`\n${name}\n${summary.map((l) => `  ${l}`).join('\n')}`);
}

export const ms = (x: number): string => `${x.toFixed(1)} ms`;

/** One line of one-way latency percentiles over received packets. */
export const latencyLine = (what: string, s: Stats): string =>
  `${what}: p50 ${ms(s.p50)}, p95 ${ms(s.p95)}, p99 ${ms(s.p99)} (${s.n} packets)`;

/** A fraction as a percentage with two decimals. */
export const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;
