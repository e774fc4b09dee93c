import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Resident memory of a process, from /proc. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** Seconds of user and of system CPU a process has used, from /proc; zeros once it is gone. */
export function cpuTimes(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // after "pid (comm) ": utime and stime are fields 12 and 13, in clock ticks (USER_HZ, 100 on Linux)
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 };
  } catch {
    return { user: 0, sys: 0 };
  }
}

/** Seconds of CPU (user + system) a process has used. */
export function cpuSeconds(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds of a server process split into its own (Node) and its children's (the mediasoup workers). */
export function serverCpu(pid: number): { node: number; workers: number } {
  return {
    node: cpuSeconds(pid),
    workers: childPids(pid).reduce((sum, child) => sum + cpuSeconds(child), 0),
  };
}

/**
 * Rates over a window: takes `snapshot()` of cumulative counters (CPU seconds, packets, bytes), waits
 * `seconds`, takes it again and returns each counter's increase per second (CPU seconds per second = cores).
 */
export async function perSecond<K extends string>(
  seconds: number,
  snapshot: () => Record<K, number> | Promise<Record<K, number>>,
): Promise<Record<K, number>> {
  const a = await snapshot();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const b = await snapshot();
  const elapsed = (performance.now() - t0) / 1000;
  return Object.fromEntries(Object.keys(a).map((k) => [k, (b[k as K] - a[k as K]) / elapsed])) as Record<
    K,
    number
  >;
}
