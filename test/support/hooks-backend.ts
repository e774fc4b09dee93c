import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './media-server.js';

export interface HookCall {
  /** The hook's name: the path after `/hooks/` (connect, publishStream, StreamStatusEvent, ...). */
  hook: string;
  body: Record<string, unknown>;
  /** Whether `Authorization` carried WCS's signature of the body with the backend's secret (false without one). */
  signed: boolean;
}

/**
 * What a backend answers one hook call: a refusal (403 with WCS's `{info}`), a raw answer, `silent` (never
 * answers), or undefined to allow (200, the body echoed, as WCS hooks may answer).
 */
export type HookDecision =
  { refuse: string } | { status: number; contentType: string; body: string } | 'silent' | undefined;

/**
 * A customer's WCS REST hooks backend for tests: every call is recorded; `decide` says what each gets. With
 * a `secret`, calls are checked for WCS's signature (HMAC-MD5 of the body in `Authorization: WCS <hex>`).
 */
export class HooksBackend {
  readonly calls: HookCall[] = [];
  readonly #server: Server;
  readonly url: string;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
  }

  static async start(
    decide: (call: HookCall) => HookDecision,
    options: { secret?: string } = {},
  ): Promise<HooksBackend> {
    const holder: { self?: HooksBackend } = {};
    const server = createServer((request, response) => {
      let text = '';
      request.on('data', (d: Buffer) => (text += d.toString()));
      request.on('end', () => {
        const hook = (request.url ?? '').replace(/^\/hooks\//, '');
        const body = JSON.parse(text) as Record<string, unknown>;
        const { secret } = options;
        const signed =
          secret !== undefined &&
          request.headers.authorization === `WCS ${createHmac('md5', secret).update(text).digest('hex')}`;
        const call = { hook, body, signed };
        holder.self?.calls.push(call);
        const decision = decide(call);
        if (decision === 'silent') return;
        if (decision === undefined) {
          response.writeHead(200, { 'content-type': 'application/json' });
          return response.end(text);
        }
        if ('refuse' in decision) {
          response.writeHead(403, { 'content-type': 'application/json' });
          return response.end(JSON.stringify({ info: decision.refuse }));
        }
        response.writeHead(decision.status, { 'content-type': decision.contentType });
        response.end(decision.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.self = new HooksBackend(server, `http://127.0.0.1:${port}/hooks`);
    return holder.self;
  }

  of(hook: string): HookCall[] {
    return this.calls.filter((c) => c.hook === hook);
  }

  /** Waits for a call of `hook` whose body has these fields (events are posted after the fact). */
  heard(hook: string, fields: Record<string, unknown>): Promise<HookCall> {
    const matches = (c: HookCall): boolean => Object.entries(fields).every(([k, v]) => c.body[k] === v);
    return waitFor(() => this.of(hook).find(matches), `${hook} ${JSON.stringify(fields)}`);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
