import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { rssBytes } from '../../bench/support/proc.js';

import { childPids } from '../../bench/support/proc.js';

export { childPids };

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

/** One inet socket of a process, as the kernel lists it in /proc/<pid>/net/{udp,udp6,tcp,tcp6}. */
export interface InetSocket {
  proto: 'udp' | 'udp6' | 'tcp' | 'tcp6';
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** A TCP socket in LISTEN. */
  listening: boolean;
}

/** `0100007F` → 127.0.0.1; 32 hex digits (four little-endian words) → an IPv6 address. */
function procAddress(hex: string): string {
  const bytes = (h: string): number[] => (h.match(/../g) ?? []).map((b) => parseInt(b, 16)).reverse();
  if (hex.length === 8) return bytes(hex).join('.');
  const words = (hex.match(/.{8}/g) ?? []).flatMap(bytes);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((words[i] ?? 0) << 8) | (words[i + 1] ?? 0)).toString(16));
  const v6 = groups.join(':');
  const mapped = /^0:0:0:0:0:ffff:([0-9a-f]+):([0-9a-f]+)$/.exec(v6);
  if (mapped) {
    const n = (parseInt(mapped[1]!, 16) << 16) | parseInt(mapped[2]!, 16);
    return `::ffff:${[24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')}`;
  }
  return v6 === '0:0:0:0:0:0:0:0' ? '::' : v6;
}

/**
 * The inet sockets `pid` holds (its fds joined with the socket tables of its network namespace): what `ss
 * -tuanp` shows for the process, from the same kernel tables, inside any namespace.
 */
export function inetSockets(pid: number): InetSocket[] {
  const inodes = new Set(
    fdTargets(pid).flatMap((t) => {
      const inode = /^socket:\[(\d+)\]$/.exec(t)?.[1];
      return inode ? [inode] : [];
    }),
  );
  const out: InetSocket[] = [];
  for (const proto of ['udp', 'udp6', 'tcp', 'tcp6'] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${proto}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (!inodes.has(cols[9] ?? '')) continue;
      const [localHex = '', localPort = '0'] = (cols[1] ?? '').split(':');
      const [remoteHex = '', remotePort = '0'] = (cols[2] ?? '').split(':');
      out.push({
        proto,
        localIp: procAddress(localHex),
        localPort: parseInt(localPort, 16),
        remoteIp: procAddress(remoteHex),
        remotePort: parseInt(remotePort, 16),
        listening: proto.startsWith('tcp') && cols[3] === '0A',
      });
    }
  }
  return out;
}

/** The mediasoup workers among the children of `pid`. */
export function mediasoupWorkers(pid: number): number[] {
  return childPids(pid).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/comm`, 'utf8').startsWith('mediasoup-work');
    } catch {
      return false;
    }
  });
}
