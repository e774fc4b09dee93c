import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isHttpTarget } from '../../src/contracts/whip-http.js';
import type { PushDescription } from '../../src/media/push/relay.js';

/**
 * A media server's push REST API from memory: /rest-api/pull/push, find_all and terminate with the shapes and
 * status codes of src/media/rest/pull-routes.ts; pushes are PUBLISHING at once.
 */
export class StandInMedia {
  readonly pushes = new Map<string, PushDescription>();
  readonly calls = { push: 0, findAll: 0, findAllBytes: 0, terminate: 0, rejected: 0 };
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly publishAfterMs: number,
  ) {}

  /** `publishAfterMs` > 0: a push answers PENDING and turns PUBLISHING that much later, as a real one does. */
  static async start(publishAfterMs = 0): Promise<StandInMedia> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const media = new StandInMedia(
      server,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      publishAfterMs,
    );
    server.on('request', (req, res) => void media.serve(req, res));
    return media;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const send = (status: number, body: unknown): void => {
      const json = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(json);
      if (req.url === '/rest-api/pull/find_all' && status === 200) this.calls.findAllBytes += json.length;
    };
    const fail = (statusCode: number, error: string, message: string): void => {
      this.calls.rejected++;
      send(statusCode, { statusCode, error, message });
    };
    let body: Record<string, string | undefined>;
    try {
      body = (text ? JSON.parse(text) : {}) as Record<string, string | undefined>;
    } catch {
      return fail(400, 'Bad Request', 'invalid JSON');
    }
    if (req.method !== 'POST') return fail(404, 'Not Found', `no route ${req.method} ${req.url}`);
    switch (req.url) {
      case '/rest-api/pull/push': {
        this.calls.push++;
        const { uri, localStreamName } = body;
        if (!uri || !localStreamName)
          return fail(400, 'Bad Request', 'invalid request: uri, localStreamName');
        const remoteStreamName = body['remoteStreamName'] ?? localStreamName;
        const same = this.find({ uri, localStreamName, remoteStreamName });
        if (same.some((p) => p.status !== 'FAILED'))
          return fail(
            409,
            'Conflict',
            `stream ${localStreamName} is already pushed to ${uri} as ${remoteStreamName}`,
          );
        for (const p of same) this.pushes.delete(p.localMediaSessionId);
        const push: PushDescription = {
          localMediaSessionId: randomUUID(),
          remoteMediaSessionId: randomUUID(),
          localStreamName,
          remoteStreamName,
          uri,
          protocol: isHttpTarget(uri) ? 'whip' : 'wcs',
          type: 'push',
          status: this.publishAfterMs > 0 ? 'PENDING' : 'PUBLISHING',
          createDate: Date.now(),
          packets: 0,
          bytes: 0,
          // what a healthy push reports once its remote acknowledges media
          delivery: { status: this.publishAfterMs > 0 ? 'waiting' : 'delivering', packets: 0, lost: 0 },
        };
        this.pushes.set(push.localMediaSessionId, push);
        send(200, push);
        if (this.publishAfterMs > 0)
          setTimeout(() => {
            if (push.status !== 'PENDING') return;
            push.status = 'PUBLISHING';
            push.delivery = { status: 'delivering', packets: 1, lost: 0, lastDeliveredAt: Date.now() };
          }, this.publishAfterMs).unref();
        return;
      }
      case '/rest-api/pull/find_all':
        this.calls.findAll++;
        if (this.pushes.size === 0) return fail(404, 'Not Found', 'no pushes or pulls');
        return send(200, [...this.pushes.values()]);
      case '/rest-api/pull/terminate': {
        this.calls.terminate++;
        const id = body['localMediaSessionId'];
        const matches = id
          ? [this.pushes.get(id)].filter((p): p is PushDescription => p !== undefined)
          : this.find(body);
        if (matches.length === 0) return fail(404, 'Not Found', 'push not found');
        for (const p of matches) this.pushes.delete(p.localMediaSessionId);
        return send(200, matches);
      }
      default:
        return fail(404, 'Not Found', `no route ${req.method} ${req.url}`);
    }
  }

  private find(q: Record<string, string | undefined>): PushDescription[] {
    return [...this.pushes.values()].filter(
      (p) =>
        p.uri === q['uri'] &&
        p.localStreamName === q['localStreamName'] &&
        (q['remoteStreamName'] === undefined || p.remoteStreamName === q['remoteStreamName']),
    );
  }
}

export type CallCounts = StandInMedia['calls'];
export const sumCalls = (all: StandInMedia[]): CallCounts =>
  all.reduce(
    (sum, s) => ({
      push: sum.push + s.calls.push,
      findAll: sum.findAll + s.calls.findAll,
      findAllBytes: sum.findAllBytes + s.calls.findAllBytes,
      terminate: sum.terminate + s.calls.terminate,
      rejected: sum.rejected + s.calls.rejected,
    }),
    { push: 0, findAll: 0, findAllBytes: 0, terminate: 0, rejected: 0 },
  );
export const diffCalls = (a: CallCounts, b: CallCounts): CallCounts => ({
  push: a.push - b.push,
  findAll: a.findAll - b.findAll,
  findAllBytes: a.findAllBytes - b.findAllBytes,
  terminate: a.terminate - b.terminate,
  rejected: a.rejected - b.rejected,
});
