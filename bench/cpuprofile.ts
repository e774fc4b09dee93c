import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The parts of a V8 .cpuprofile (node --cpu-prof) this reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  module: string;
  /** microseconds */
  us: number;
  share: number;
}

export interface ProfileSummary {
  /** sampled wall time in the window (µs), idle included */
  totalUs: number;
  /** sampled time not idle (µs) */
  busyUs: number;
  selfByFunction: Row[];
  inclusiveByFunction: Row[];
  /** self time by module; native frames (no script) are charged to the nearest JS caller's module */
  selfByModule: Row[];
}

/** werift ships one bundle (lib/index.mjs); its `// ../rtp/src/srtp/...` comments say which source file a line is from. */
const bundleSections = new Map<string, { line: number; file: string }[]>();
function bundleSection(file: string, line: number): string {
  let sections = bundleSections.get(file);
  if (!sections) {
    sections = [];
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        const m = /^\/\/ (?:\.\.\/)?([\w./-]+\.ts)$/.exec(text);
        if (m?.[1]) sections!.push({ line: i, file: m[1].replace(/\/src\//, '/') });
      });
    bundleSections.set(file, sections);
  }
  let found = 'werift';
  for (const s of sections) {
    if (s.line > line) break;
    found = s.file;
  }
  return found;
}

/** A short module name for a script URL: node:xxx, werift:<source file>, mediasoup, streamfed:<file>, … */
export function moduleOf(url: string, line: number): string {
  if (!url) return '';
  if (url.startsWith('node:')) return url;
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '?');
    if (pkg === 'werift' && file.endsWith('/lib/index.mjs')) return `werift:${bundleSection(file, line)}`;
    return pkg;
  }
  const dist = file.indexOf('/dist/');
  if (dist >= 0) return `streamfed:${file.slice(dist + '/dist/'.length)}`;
  return path.basename(file);
}

// '(program)' is native time outside JS (libuv, syscalls made there): busy, unlike '(idle)'
const idle = '(idle)';

/**
 * Self and inclusive time by function and self time by module, over the samples between `fromUs` and
 * `toUs` (µs since the profile started; the whole profile when left out).
 */
export function analyse(file: string, fromUs = 0, toUs = Infinity): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (id: number): { name: string; module: string } => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const module = moduleOf(url, lineNumber);
    return { name: `${functionName || '(anonymous)'}${url ? `:${lineNumber + 1}` : ''}`, module };
  };
  const self = new Map<string, Row>();
  const incl = new Map<string, Row>();
  const mods = new Map<string, Row>();
  const add = (m: Map<string, Row>, name: string, module: string, us: number): void => {
    const k = `${module}|${name}`;
    const row = m.get(k) ?? { name, module, us: 0, share: 0 };
    row.us += us;
    m.set(k, row);
  };
  let t = 0;
  let total = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    // a sample's time is the gap to the next one
    t += profile.timeDeltas[i] ?? 0;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (t < fromUs || t > toUs) return;
    total += dt;
    const leaf = key(id);
    if (leaf.name === idle) return;
    busy += dt;
    add(self, leaf.name, leaf.module, dt);
    // natives ('' module) count towards the JS module that called them
    let owner = leaf.module;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const k = key(n);
      if (!owner && k.module) owner = k.module;
      const fk = `${k.module}|${k.name}`;
      if (seen.has(fk) || k.name === '(root)') continue;
      seen.add(fk);
      add(incl, k.name, k.module, dt);
    }
    add(mods, owner || '(native)', '', dt);
  });
  const rows = (m: Map<string, Row>): Row[] =>
    [...m.values()].map((r) => ({ ...r, share: r.us / (busy || 1) })).sort((a, b) => b.us - a.us);
  return {
    totalUs: total,
    busyUs: busy,
    selfByFunction: rows(self),
    inclusiveByFunction: rows(incl),
    selfByModule: rows(mods),
  };
}

/**
 * A plain-text table of the first `n` rows. With `usPerPacket` (the process's measured CPU per packet) each
 * row also gets its share of it: sampled time is wall time, so on a busy machine it overstates CPU time.
 */
export function table(rows: Row[], n: number, usPerPacket?: number): string[] {
  return rows.slice(0, n).map((r) => {
    const perPacket = usPerPacket ? ` ${(r.share * usPerPacket).toFixed(2).padStart(7)} µs/pkt` : '';
    return `${(r.share * 100).toFixed(1).padStart(5)}%${perPacket}  ${r.name}  ${r.module}`;
  });
}
