import { createSocket } from 'node:dgram';
import { createServer, isIP } from 'node:net';

/** A free TCP port on 127.0.0.1 (bind 0, read, release). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Can a TCP port on 127.0.0.1 be listened on now? */
export function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Can `port` be bound on `host` for UDP now? */
function udpBindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** Can `port` be listened on for TCP on `host` now? */
function tcpBindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive ports, each free for both UDP and TCP on `host` (a WebRtcServer base port, `--rtc-port`:
 * worker i takes base + i), below the kernel's ephemeral range so no outgoing connection takes one meanwhile.
 */
export async function freeRtcPorts(count: number, host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const base = 21000 + Math.floor(Math.random() * 9000);
    let free = true;
    for (let p = base; free && p < base + count; p++)
      free = (await udpBindable(p, host)) && (await tcpBindable(p, host));
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free UDP+TCP ports on ${host}`);
}
