import dgram from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** A UDP port that takes every datagram and drops it (a firewall's DROP), counting them. */
export interface UdpSink {
  port: number;
  /** Datagrams dropped so far. */
  readonly dropped: number;
  close(): Promise<void>;
}

export async function startUdpSink(): Promise<UdpSink> {
  const socket = dgram.createSocket('udp4');
  let dropped = 0;
  socket.on('message', () => dropped++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    get dropped() {
      return dropped;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * A WebSocket proxy in front of a WCS server that passes every frame both ways, rewriting the server's with
 * `rewrite` (a JSON frame in, the frame to send out): a NAT or firewall's view of a signalling session.
 */
export interface WcsProxy {
  url: string;
  close(): Promise<void>;
}

export async function startWcsProxy(
  targetUrl: string,
  rewrite: (frame: { message: string; data: unknown[] }) => { message: string; data: unknown[] },
): Promise<WcsProxy> {
  const server: Server = createServer();
  const wss = new WebSocketServer({ server });
  const upstreams = new Set<WebSocket>();
  wss.on('connection', (client) => {
    const upstream = new WebSocket(targetUrl);
    upstreams.add(upstream);
    const early: string[] = [];
    client.on('message', (raw) => {
      const text = raw.toString();
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else early.push(text);
    });
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text);
    });
    upstream.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { message: string; data: unknown[] };
      if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(rewrite(frame)));
    });
    const end = (): void => {
      upstreams.delete(upstream);
      upstream.terminate();
      client.terminate();
    };
    client.on('close', end);
    client.on('error', end);
    upstream.on('close', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const upstream of upstreams) upstream.terminate();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A proxy whose server's pipe answers (wcs-protocol.ts streamfedPipeAnswer) point at `sink`: the pipe's UDP
 * is dropped while the signalling, and WebRTC's own UDP, go through.
 */
export function startPipeBlockingProxy(targetUrl: string, sink: UdpSink): Promise<WcsProxy> {
  return startWcsProxy(targetUrl, (frame) =>
    frame.message === 'streamfedPipeAnswer'
      ? { ...frame, data: [{ ...(frame.data[0] as object), port: sink.port }] }
      : frame,
  );
}

/**
 * A proxy whose server's getUserData lacks `fields` (e.g. `streamfedPipe`: a streamfed server without the
 * pipe extension; with `streamfedFleetId`: a foreign WCS); `seen` gets what the server did announce.
 */
export function startWcsProxyHiding(
  targetUrl: string,
  fields: string[],
  seen: (userData: Record<string, unknown>) => void = () => undefined,
): Promise<WcsProxy> {
  return startWcsProxy(targetUrl, (frame) => {
    if (frame.message !== 'getUserData') return frame;
    const userData = { ...(frame.data[0] as Record<string, unknown>) };
    seen({ ...userData });
    for (const field of fields) delete userData[field];
    return { ...frame, data: [userData] };
  });
}
