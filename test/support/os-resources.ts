import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { rssBytes } from '../../bench/support/proc.js';

export { childPids } from '../../bench/support/proc.js';

/** What the OS sees of a process: its open file descriptors, by kind, and its sockets by protocol. */
export interface OsResources {
  fds: number;
  /** Socket fds by protocol (udp, udp6, tcp, tcp6, unix, other). */
  sockets: Record<string, number>;
  /** Non-socket fds by kind (anon_inode:[eventfd], pipe, /dev/..., files). */
  other: Record<string, number>;
  /** Resident set size in KiB. */
  rssKiB: number;
}

const PROTOCOLS = ['udp', 'udp6', 'tcp', 'tcp6', 'unix'] as const;

/** Socket inode → protocol and local port, from /proc/<pid>/net/* (the process's network namespace). */
function socketProtocols(pid: number): Map<string, { proto: string; port: number }> {
  const byInode = new Map<string, { proto: string; port: number }>();
  for (const proto of PROTOCOLS) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${proto}`, 'utf8');
    } catch {
      continue;
    }
    const lines = text.trim().split('\n').slice(1);
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      // unix: inode is column 7; inet: column 10
      const inode = proto === 'unix' ? cols[6] : cols[9];
      const port = proto === 'unix' ? 0 : parseInt(cols[1]?.split(':')[1] ?? '0', 16);
      if (inode) byInode.set(inode, { proto, port });
    }
  }
  return byInode;
}

/** The fd link targets of a process (e.g. socket:[123], pipe:[456], /dev/null). */
export function fdTargets(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  return fds.flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return []; // closed while we looked
    }
  });
}

/**
 * What the OS sees of `pid`. TCP connections accepted on `ignorePorts` (e.g. the REST port, which the
 * test's own HTTP client keeps alive between calls) are left out of every count.
 */
export function osResources(pid: number, ignorePorts: number[] = []): OsResources {
  const protocols = socketProtocols(pid);
  const targets = fdTargets(pid).filter((t) => {
    const inode = /^socket:\[(\d+)\]$/.exec(t)?.[1];
    const socket = inode ? protocols.get(inode) : undefined;
    return !(socket?.proto.startsWith('tcp') && ignorePorts.includes(socket.port));
  });
  const sockets: Record<string, number> = {};
  const other: Record<string, number> = {};
  for (const t of targets) {
    const socket = /^socket:\[(\d+)\]$/.exec(t);
    if (socket) {
      const proto = protocols.get(socket[1]!)?.proto ?? 'other';
      sockets[proto] = (sockets[proto] ?? 0) + 1;
    } else {
      const kind = t.startsWith('/') ? (t.startsWith('/dev/') ? t : 'file') : t.replace(/\[\d+\]$/, '');
      other[kind] = (other[kind] ?? 0) + 1;
    }
  }
  return { fds: targets.length, sockets, other, rssKiB: rssBytes(pid) / 1024 };
}
