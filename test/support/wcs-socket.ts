import { WebSocket } from 'ws';

export interface Frame {
  message: string;
  data: unknown[];
}

/** A raw WCS WebSocket client for protocol tests: send frames, await the next frame of a kind. */
export class WcsSocket {
  private readonly frames: Frame[] = [];
  private readonly waiters: { message: string; resolve: (f: Frame) => void }[] = [];
  closed: Promise<{ code: number }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame;
      const i = this.waiters.findIndex((w) => w.message === frame.message);
      if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => socket.once('close', (code) => resolve({ code })));
  }

  static async open(url: string): Promise<WcsSocket> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new WcsSocket(socket);
  }

  /** Opens and completes the `connection` handshake. */
  static async established(url: string): Promise<{ ws: WcsSocket; userData: Record<string, unknown> }> {
    const ws = await WcsSocket.open(url);
    ws.send('connection', { appKey: 'defaultApp', mediaProviders: ['WebRTC'], clientVersion: '2.0' });
    const frame = await ws.next('getUserData');
    return { ws, userData: frame.data[0] as Record<string, unknown> };
  }

  send(message: string, data: unknown): void {
    this.socket.send(JSON.stringify({ message, data: [data] }));
  }

  sendRaw(text: string | Buffer): void {
    this.socket.send(text);
  }

  next(message: string, timeoutMs = 5000): Promise<Frame> {
    const i = this.frames.findIndex((f) => f.message === message);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0] as Frame);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${message} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        message,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}
