import net from 'node:net';

/** A loopback TCP proxy that can stop passing bytes without closing anything: a network that went silent. */
export interface TcpProxy {
  /** The port it listens on, on 127.0.0.1. */
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Holds every byte in both directions, on open and new connections; peers see no error, only silence. */
  freeze(): void;
  /** Forwards again, what was held first. */
  thaw(): void;
  /** A link that went down: destroys every connection, and new ones are reset as they come, until restore(). */
  cut(): void;
  /** Accepts and forwards new connections again after cut(). */
  restore(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const held: [net.Socket, Buffer][] = [];
  let frozen = false;
  let cut = false;
  let connections = 0;
  const forward = (from: net.Socket, to: net.Socket): void => {
    sockets.add(from);
    from.on('data', (chunk: Buffer) => (frozen ? held.push([to, chunk]) : to.write(chunk)));
    from.on('error', () => from.destroy());
    from.on('close', () => {
      sockets.delete(from);
      to.destroy();
    });
  };
  const server = net.createServer((client) => {
    if (cut) return void client.resetAndDestroy();
    connections++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return connections;
    },
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    cut: () => {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      cut = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
