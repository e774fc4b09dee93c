import { readFileSync } from 'node:fs';
import type { ProcessUsage, WorkerUsage } from '../../contracts/console-api.js';
import type { MediaEngine } from '../rtc/media-engine.js';

/** The resident set of a process from /proc (Linux), or undefined where there is none. */
function residentBytes(pid: number | 'self'): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Threads of this process from /proc (Linux); 1 where there is none. */
export function threadCount(): number {
  try {
    const match = /^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) : 1;
  } catch {
    return 1;
  }
}

/**
 * CPU and memory of this process and of its mediasoup workers. CPU is a rate: each reading reports the CPU
 * time used since the previous one over the wall time between them (percent of one core).
 */
export class ServerResources {
  #lastAt = performance.now();
  #lastProcess = process.cpuUsage();
  #lastWorkers = new Map<number, number>();
  #last: { process: ProcessUsage & { heapUsedBytes: number }; workers: WorkerUsage[] } | undefined;

  constructor(private readonly engine: MediaEngine) {}

  async read(): Promise<{ process: ProcessUsage & { heapUsedBytes: number }; workers: WorkerUsage[] }> {
    const now = performance.now();
    const elapsedMs = now - this.#lastAt;
    // readings closer than this would be noise: the previous one answers again
    if (this.#last && elapsedMs < 500) return this.#last;
    const percent = (cpuMs: number): number => Math.round((1000 * cpuMs) / elapsedMs) / 10;
    const cpu = process.cpuUsage(this.#lastProcess);
    this.#lastProcess = process.cpuUsage();
    const workers = (await this.engine.workerUsage()).map((w) => {
      const before = this.#lastWorkers.get(w.pid) ?? w.cpuMs;
      this.#lastWorkers.set(w.pid, w.cpuMs);
      return {
        pid: w.pid,
        cpuPercent: percent(w.cpuMs - before),
        rssBytes: residentBytes(w.pid) ?? w.maxRssBytes,
      };
    });
    this.#lastAt = now;
    const memory = process.memoryUsage();
    this.#last = {
      process: {
        cpuPercent: percent((cpu.user + cpu.system) / 1000),
        rssBytes: residentBytes('self') ?? memory.rss,
        heapUsedBytes: memory.heapUsed,
      },
      workers,
    };
    return this.#last;
  }
}
