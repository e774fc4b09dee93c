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

export async function startUdpSink(host = '127.0.0.1'): Promise<UdpSink> {
  const socket = dgram.createSocket('udp4');
  let dropped = 0;
  socket.on('message', () => dropped++);
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return {
    port: socket.address().port,
    get dropped() {
      return dropped;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** A WCS frame as JSON. */
export interface WcsFrame {
  message: string;
  data: unknown[];
}

/**
 * A WebSocket proxy in front of a WCS server that passes every frame both ways, rewriting the server's with
 * `rewrite` and the client's with `rewriteClient` (a JSON frame in, the frame to send out): a NAT or
 * firewall's view of a signalling session.
 */
export interface WcsProxy {
  url: string;
  close(): Promise<void>;
}

export async function startWcsProxy(
  targetUrl: string,
  rewrite: (frame: WcsFrame) => WcsFrame,
  rewriteClient: (frame: WcsFrame) => WcsFrame = (frame) => frame,
): Promise<WcsProxy> {
  const server: Server = createServer();
  const wss = new WebSocketServer({ server });
  const upstreams = new Set<WebSocket>();
  wss.on('connection', (client) => {
    const upstream = new WebSocket(targetUrl);
    upstreams.add(upstream);
    const early: string[] = [];
    client.on('message', (raw) => {
      const text = JSON.stringify(rewriteClient(JSON.parse(raw.toString()) as WcsFrame));
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else early.push(text);
    });
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text);
    });
    upstream.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as WcsFrame;
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
 * A proxy whose client's pipe pulls (playStream with `streamfedPipe`) give `sink` as their port: the source's
 * pipe sends its media into the sink (dropped) while the signalling, and WebRTC's own UDP, go through.
 */
export function startPullBlockingProxy(targetUrl: string, sink: UdpSink): Promise<WcsProxy> {
  return startWcsProxy(
    targetUrl,
    (frame) => frame,
    (frame) => {
      const body = frame.data[0] as { streamfedPipe?: object } | undefined;
      if (frame.message !== 'playStream' || !body?.streamfedPipe) return frame;
      return { ...frame, data: [{ ...body, streamfedPipe: { ...body.streamfedPipe, port: sink.port } }] };
    },
  );
}

/** A proxy whose server's getUserData is what `change` makes of it (`seen` gets what the server announced). */
export function startWcsProxyAnnouncing(
  targetUrl: string,
  change: (userData: Record<string, unknown>) => Record<string, unknown>,
  seen: (userData: Record<string, unknown>) => void = () => undefined,
): Promise<WcsProxy> {
  return startWcsProxy(targetUrl, (frame) => {
    if (frame.message !== 'getUserData') return frame;
    const userData = { ...(frame.data[0] as Record<string, unknown>) };
    seen({ ...userData });
    return { ...frame, data: [change(userData)] };
  });
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
  return startWcsProxyAnnouncing(
    targetUrl,
    (userData) => {
      for (const field of fields) delete userData[field];
      return userData;
    },
    seen,
  );
}
