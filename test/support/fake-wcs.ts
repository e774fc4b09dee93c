import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { FakeAnswerer, type AnswerStall } from './fake-answerer.js';

/** How far a fake remote goes before it stalls. */
export type Stall =
  /** Accepts TCP, never answers the WebSocket upgrade. */
  | 'upgrade'
  /** Upgrades, never answers `connection` with getUserData. */
  | 'handshake'
  /** Handshakes, never answers publishStream with setRemoteSDP. */
  | 'answer'
  /** Answers and reports PUBLISHING, then stalls as fake-answerer.ts says. */
  | AnswerStall;

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
  private wss: WebSocketServer | undefined;
  private answerer: FakeAnswerer | undefined;

  private constructor(
    readonly stall: Stall,
    private readonly server: Server,
  ) {}

  static async start(stall: Stall, reportForMs = 2000): Promise<FakeWcs> {
    const server = createServer();
    const fake = new FakeWcs(stall, server);
    if (stall === 'ice' || stall === 'media' || stall === 'stall-later')
      fake.answerer = new FakeAnswerer(stall, reportForMs);
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
    for (const socket of this.sockets) socket.destroy();
    for (const client of this.wss?.clients ?? []) client.terminate();
    await this.answerer?.close();
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
    send('setRemoteSDP', id, await this.answerer!.answer(String(body['sdp'])));
    send('notifyStreamStatusEvent', { mediaSessionId: id, name: body['name'], status: 'PUBLISHING' });
  }
}
