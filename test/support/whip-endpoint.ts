import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WhipMediaType, iceServerLinks, problem, type IceServer } from '../../src/contracts/whip-http.js';
import { FakeAnswerer, type AnswerStall } from './fake-answerer.js';

/** How far a fake WHIP/WHEP endpoint goes before it stalls or refuses. */
export type WhipStall =
  /** Accepts TCP, never answers any request (not even OPTIONS). */
  | 'silent'
  /** Answers OPTIONS, never answers the offer's POST. */
  | 'answer'
  /** Answers the POST 500 with problem details (code `FAKE_ERR_BROKEN`). */
  | 'reject'
  /** Answers the POST 409 `PUSH_ERR_LOOP`, as a streamfed endpoint does for a push that would loop. */
  | 'loop'
  /** Answers the POST 201 with an SDP answer but no `Location`. */
  | 'no-location'
  /** Answers the POST 307 to `redirectTo` (itself when absent: a redirect loop). */
  | 'redirect'
  /** Answers the POST 201 (answer + Location), then stalls as fake-answerer.ts says. */
  | AnswerStall;

export interface WhipRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeWhipOptions {
  /** Announced on OPTIONS and on the 201 (`Link: rel="ice-server"`). */
  iceServers?: IceServer[];
  /** Where a `redirect` endpoint sends the POST. */
  redirectTo?: string;
}

/**
 * A WHIP/WHEP endpoint that stalls or refuses at one step, for deadline and protocol tests, on 127.0.0.1:
 * it records every request (method, path, headers, body) and closes everything it made in close().
 */
export class FakeWhip {
  readonly requests: WhipRequest[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly answerer: FakeAnswerer | undefined;
  private sessions = 0;

  private constructor(
    readonly stall: WhipStall,
    private readonly options: FakeWhipOptions,
    private readonly server: Server,
  ) {
    if (stall === 'ice' || stall === 'media' || stall === 'stall-later')
      this.answerer = new FakeAnswerer(stall);
    else if (stall === 'no-location') this.answerer = new FakeAnswerer('media');
  }

  static async start(stall: WhipStall, options: FakeWhipOptions = {}): Promise<FakeWhip> {
    const server = createServer();
    const fake = new FakeWhip(stall, options, server);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        fake.requests.push({
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          body,
        });
        void fake.respond(request, body, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The endpoint's URL (`/whip/<name>`; a WHEP test may use it as well: the fake serves both alike). */
  url(name = 'x'): string {
    return `${this.origin}/whip/${name}`;
  }

  /** The requests of one method. */
  received(method: string): WhipRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await this.answerer?.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private links(): Record<string, string[]> {
    return this.options.iceServers ? { link: iceServerLinks(this.options.iceServers) } : {};
  }

  private async respond(request: IncomingMessage, body: string, response: ServerResponse): Promise<void> {
    if (this.stall === 'silent') return;
    if (request.method === 'OPTIONS') {
      response.writeHead(204, this.links()).end();
      return;
    }
    if (request.method === 'DELETE') {
      response.writeHead(200).end();
      return;
    }
    if (request.method !== 'POST') {
      response.writeHead(405).end();
      return;
    }
    const refuse = (status: number, code: string, detail: string): void => {
      response
        .writeHead(status, { 'content-type': WhipMediaType.PROBLEM })
        .end(JSON.stringify(problem(status, 'Refused', code, detail)));
    };
    switch (this.stall) {
      case 'answer':
        return;
      case 'reject':
        return refuse(500, 'FAKE_ERR_BROKEN', 'the fake is broken');
      case 'loop':
        return refuse(409, 'PUSH_ERR_LOOP', 'the chain already passed through this fleet');
      case 'redirect':
        response.writeHead(307, { location: this.options.redirectTo ?? request.url ?? '/' }).end();
        return;
      case 'no-location':
        response.writeHead(201, { 'content-type': WhipMediaType.SDP }).end(await this.answerer!.answer(body));
        return;
      default: {
        const answer = await this.answerer!.answer(body);
        response
          .writeHead(201, {
            'content-type': WhipMediaType.SDP,
            location: `/whip/sessions/${++this.sessions}`,
            ...this.links(),
          })
          .end(answer);
      }
    }
  }
}

/**
 * A TCP port whose connects never complete: a listener (in a Python child, since Node accepts at once) with
 * a backlog of zero that never accepts, its one queue slot taken; the kernel drops further SYNs.
 */
export class Tarpit {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<Tarpit> {
    const script = [
      'import socket, sys',
      's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
      'c = socket.socket(); c.connect(s.getsockname())',
      'print(s.getsockname()[1], flush=True)',
      'sys.stdin.read()',
    ].join('\n');
    const child = spawn('/usr/bin/python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (code) => reject(new Error(`tarpit exited ${code}`)));
    });
    return new Tarpit(child, port);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }
}
