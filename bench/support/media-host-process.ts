import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import type { HostMessage, HostRequest, PipedProducer } from './media-host.js';
import { serverCpu } from './proc.js';

type Reply = Extract<HostMessage, { type: 'reply' }>;
type Request = HostRequest extends infer R ? (R extends HostRequest ? Omit<R, 'id'> : never) : never;

/** A benchmark media server process (bench/support/media-host.ts), optionally pinned to one CPU. */
export class MediaHost {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: Reply) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly wsUrl: string,
    readonly restUrl: string,
  ) {
    child.on('message', (message: HostMessage) => {
      if (message.type !== 'reply') return;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }

  static async start(options: { cpu?: number; rtcMinPort?: number } = {}): Promise<MediaHost> {
    const node = [
      process.execPath,
      path.join(packageRoot, 'node_modules/vite-node/vite-node.mjs'),
      path.join(packageRoot, 'bench/support/media-host.ts'),
    ];
    const [command, ...args] =
      options.cpu === undefined ? node : ['taskset', '-c', String(options.cpu), ...node];
    const child = spawn(command!, args, {
      cwd: packageRoot,
      env: { ...process.env, HOST_RTC_MIN_PORT: String(options.rtcMinPort ?? 47000) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    process.once('exit', () => child.kill('SIGKILL'));
    const ready = await new Promise<Extract<HostMessage, { type: 'ready' }>>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`media host exited (${code})`)));
      child.on('message', (m: HostMessage) => {
        if (m.type === 'ready') resolve(m);
      });
    });
    return new MediaHost(child, ready.wsUrl, ready.restUrl);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** CPU seconds of the server: its Node process and its mediasoup worker(s). */
  cpuSeconds(): number {
    const cpu = serverCpu(this.pid);
    return cpu.node + cpu.workers;
  }

  /** Pipes the producers of `name` to a PipeTransport listening on 127.0.0.1:`port`. */
  async pipe(name: string, port: number): Promise<{ port: number; producers: PipedProducer[] }> {
    const reply = await this.request({ cmd: 'pipe', name, port });
    return { port: reply.port!, producers: reply.producers! };
  }

  async unpipe(name: string): Promise<void> {
    await this.request({ cmd: 'unpipe', name });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private request(request: Request): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      this.child.send({ ...request, id });
    });
  }
}
