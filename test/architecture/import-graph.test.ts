import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

const src = path.join(packageRoot, 'src');

/** Every .ts file under src/, relative to it ('media/metrics.ts'). */
function sourceFiles(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [path.relative(src, full)] : [];
  });
}

/**
 * The graph of src/'s relative imports (type-only ones too: a type import is still an arrow between two
 * modules), read with a regex over `import ... from '...'` and `export ... from '...'`.
 */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const specifier = /^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)'/gm;
  for (const file of sourceFiles()) {
    const text = readFileSync(path.join(src, file), 'utf8');
    const targets = [...text.matchAll(specifier)].map((m) =>
      path.normalize(path.join(path.dirname(file), m[1]!.replace(/\.js$/, '.ts'))),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** Each cycle once, as the path that closes it ('a.ts → b.ts → a.ts'). */
function cycles(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

/** [importer folder, folder it must not import from]: the arrows that would point upward. */
const forbidden: [string, string][] = [
  ['contracts/', 'media/'],
  ['contracts/', 'operator/'],
  ['contracts/', 'kube/'],
  ['kube/', 'media/'],
  ['kube/', 'operator/'],
  ['media/streams/', 'media/push/'],
  ['media/streams/', 'media/fleet/'],
  ['media/rtc/', 'media/streams/'],
  ['media/rtc/', 'media/push/'],
  ['media/rtc/', 'media/fleet/'],
  ['media/push/', 'media/fleet/'],
];

/** Each import that points from a folder to one it must not import from. */
const upwardArrows = (graph: Map<string, string[]>): string[] =>
  [...graph].flatMap(([file, targets]) =>
    targets
      .filter((t) => forbidden.some(([from, to]) => file.startsWith(from) && t.startsWith(to)))
      .map((t) => `${file} → ${t}`),
  );

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('reads every module and resolves every relative import to a file of src/', () => {
    expect(graph.size).toBeGreaterThan(50);
    const dangling = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => !graph.has(t)).map((t) => `${file} → ${t}`),
    );
    expect(dangling).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no upward arrow', () => {
    expect(upwardArrows(graph)).toEqual([]);
  });

  it('finds a cycle and an upward arrow when there is one (the check itself)', () => {
    const made = new Map([
      ['media/a.ts', ['media/b.ts']],
      ['media/b.ts', ['media/a.ts', 'contracts/c.ts']],
      ['contracts/c.ts', ['media/d.ts']],
      ['media/d.ts', []],
    ]);
    expect(cycles(made)).toEqual(['media/a.ts → media/b.ts → media/a.ts']);
    expect(upwardArrows(made)).toEqual(['contracts/c.ts → media/d.ts']);
  });
});
