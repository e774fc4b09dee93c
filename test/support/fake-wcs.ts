import dgram from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RTCPeerConnection } from 'werift';
import { createPeer } from '../../src/media/push/rtc-peer.js';
import { weriftCodec } from '../../src/media/rtc/codec-params.js';
import { mediaCodecs } from '../../src/media/rtc/codecs.js';

/** How far a fake remote goes before it stalls. */
export type Stall =
  /** Accepts TCP, never answers the WebSocket upgrade. */
  | 'upgrade'
  /** Upgrades, never answers `connection` with getUserData. */
  | 'handshake'
  /** Handshakes, never answers publishStream with setRemoteSDP. */
  | 'answer'
  /** Answers with SDP whose only ICE candidate is a UDP port that never replies; reports PUBLISHING. */
  | 'ice'
  /** Really connects (a werift peer), reports PUBLISHING, but never sends a receiver report. */
  | 'media'
  /** Really connects and reports what it receives for `reportForMs`, then falls silent (delivery stalls). */
  | 'stall-later';

export interface Frame {
  message: string;
  data: Record<string, unknown>[];
}

/**
 * A WCS server that stalls at one step, for deadline tests; it records every frame our push client sends
 * and closes everything it made in close().
 */
export class FakeWcs {
  readonly frames: Frame[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly peers: RTCPeerConnection[] = [];
  private wss: WebSocketServer | undefined;
  private blackhole: dgram.Socket | undefined;
  private reportForMs = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    readonly stall: Stall,
    private readonly server: Server,
  ) {}

  static async start(stall: Stall, reportForMs = 2000): Promise<FakeWcs> {
    const server = createServer();
    const fake = new FakeWcs(stall, server);
    fake.reportForMs = reportForMs;
    if (stall === 'upgrade') {
      // the upgrade request is read, and never answered
      server.on('upgrade', (_request, socket: Socket) => {
        fake.sockets.add(socket);
        socket.on('close', () => fake.sockets.delete(socket));
        socket.on('error', () => undefined);
      });
    } else {
      fake.wss = new WebSocketServer({ server });
      fake.wss.on('connection', (ws) => fake.onSocket(ws));
    }
    if (stall === 'ice') {
      fake.blackhole = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => fake.blackhole!.bind(0, '127.0.0.1', resolve));
    }
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The data of every frame of this kind received so far. */
  received(message: string): Record<string, unknown>[] {
    return this.frames.filter((f) => f.message === message).map((f) => f.data[0] ?? {});
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    for (const client of this.wss?.clients ?? []) client.terminate();
    await Promise.all(this.peers.map((p) => p.close()));
    this.blackhole?.close();
    await new Promise<void>((resolve) => this.wss?.close(() => resolve()) ?? resolve());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onSocket(ws: WebSocket): void {
    const send = (message: string, ...data: unknown[]): void => ws.send(JSON.stringify({ message, data }));
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame;
      this.frames.push(frame);
      const body = frame.data[0] ?? {};
      if (frame.message === 'connection' && this.stall !== 'handshake')
        send('getUserData', { ...body, sessionId: 'fake' });
      if (frame.message === 'publishStream' && this.stall !== 'answer' && this.stall !== 'handshake')
        void this.answer(body, send);
    });
  }

  private async answer(
    body: Record<string, unknown>,
    send: (message: string, ...data: unknown[]) => void,
  ): Promise<void> {
    const id = String(body['mediaSessionId']);
    const peer = createPeer('127.0.0.1', {
      audio: mediaCodecs.filter((c) => c.kind === 'audio').map((c) => weriftCodec(c, 'audio')),
      video: mediaCodecs
        .filter((c) => c.kind === 'video' && c.mimeType === 'video/VP8')
        .map((c) => weriftCodec(c, 'video')),
    });
    this.peers.push(peer);
    await peer.setRemoteDescription({ type: 'offer', sdp: String(body['sdp']) });
    const silence = (): void => {
      for (const t of peer.getTransceivers()) {
        // a receiver that reports no more: the sender hears nothing back about its media
        t.receiver.runRtcp = async () => undefined;
        (t.receiver as unknown as { rtcpRunning: boolean }).rtcpRunning = false;
      }
    };
    if (this.stall === 'media') silence();
    if (this.stall === 'stall-later') {
      const timer = setTimeout(silence, this.reportForMs);
      this.timers.add(timer);
    }
    await peer.setLocalDescription(await peer.createAnswer());
    let sdp = peer.localDescription!.sdp;
    if (this.stall === 'ice') {
      const port = this.blackhole!.address().port;
      sdp = sdp
        .split('\r\n')
        .filter((l) => !l.startsWith('a=candidate:'))
        .join('\r\n')
        .replace(
          /(m=\w+ \d+ [^\r\n]+\r\n)/g,
          `$1a=candidate:1 1 udp 2130706431 127.0.0.1 ${port} typ host\r\n`,
        );
      await peer.close();
    }
    send('setRemoteSDP', id, sdp);
    send('notifyStreamStatusEvent', { mediaSessionId: id, name: body['name'], status: 'PUBLISHING' });
  }
}
