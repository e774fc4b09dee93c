import os from 'node:os';
import type { StreamDescription } from '../streams/status.js';

/** What the WCS statistics page reports, read from our parts. */
export interface StatSources {
  connections: number;
  streams: StreamDescription[];
  cpuPercent: number;
  threads: number;
}

/**
 * WCS's load and resource statistics (`GET /?action=stat` on the REST port, docs.flashphoner.com "Load and
 * resource usage information"), the groups and fields WCS's own console reads (its rest module parses
 * `-----Name Stats-----` headers and `key=value` lines): connections, streams in and out per protocol,
 * CPU, memory, threads. Protocols we do not speak (RTMP, RTSP, RTMFP) count 0. With `format=json`, the
 * groups as objects under WCS's JSON names; `transcoding_stats` lists every published stream with no
 * transcoding distributors (we forward, never transcode).
 */
export function statGroups(s: StatSources): Record<string, Record<string, unknown>> {
  const inbound = s.streams.filter((d) => d.published);
  const outbound = s.streams.filter((d) => !d.published);
  const webrtc = (list: StreamDescription[]): number =>
    list.filter((d) => d.mediaProvider === 'WebRTC').length;
  const memory = process.memoryUsage();
  return {
    connection: {
      connections: s.connections,
      connections_rtmfp: 0,
      connections_websocket: s.connections,
    },
    stream: {
      streams_webrtc_in: webrtc(inbound),
      streams_webrtc_out: webrtc(outbound),
      streams_rtmfp_in: 0,
      streams_rtmfp_out: 0,
      streams_rtmp_in: 0,
      streams_rtmp_out: 0,
      streams_rtsp_in: 0,
      streams_rtsp_out: 0,
      streams_websocket_out: 0,
      streams_whip_in: inbound.length - webrtc(inbound),
      streams_whep_out: outbound.length - webrtc(outbound),
      streams_viewers: outbound.length,
      streams_synchronization: 0,
    },
    core: {
      core_threads: s.threads,
      core_heap_memory_used: memory.heapUsed,
      core_rss_memory: memory.rss,
    },
    system: {
      system_cpu_count: os.cpus().length,
      system_java_cpu_usage: s.cpuPercent,
      system_memory_total: os.totalmem(),
      system_memory_free: os.freemem(),
      system_load_average: os.loadavg()[0]?.toFixed(2) ?? '0',
    },
  };
}

/** The text form: a `-----Name Stats-----` header per group, then its `key=value` lines. */
export function statText(groups: Record<string, Record<string, unknown>>): string {
  const lines: string[] = [];
  for (const [group, fields] of Object.entries(groups)) {
    lines.push(`-----${group[0]?.toUpperCase()}${group.slice(1)} Stats-----`);
    for (const [key, value] of Object.entries(fields)) lines.push(`${key}=${String(value)}`);
  }
  return lines.join('\n');
}

/** The JSON form (`format=json`): groups under WCS's JSON names, only those asked for in `groups`. */
export function statJson(
  groups: Record<string, Record<string, unknown>>,
  streams: StreamDescription[],
  asked: string | undefined,
): Record<string, unknown> {
  const all: Record<string, unknown> = {
    connections_stats: groups['connection'],
    streams_stats: groups['stream'],
    core_stats: groups['core'],
    system_stats: groups['system'],
    transcoding_stats: {
      transcoding_video_full_info: Object.fromEntries(
        streams.filter((d) => d.published).map((d) => [d.name, { distributors: {} }]),
      ),
    },
  };
  if (!asked) return all;
  const names = new Set(asked.split(','));
  return Object.fromEntries(Object.entries(all).filter(([name]) => names.has(name)));
}
