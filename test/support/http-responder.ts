import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface Answer {
  status: number;
  body?: unknown;
}

export interface Responder {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Every request, in order. */
  readonly received: readonly Received[];
  close(): Promise<void>;
}

/**
 * A tiny HTTP server on 127.0.0.1 that answers each request (its JSON body parsed) with what `answer` returns,
 * as JSON, and records what it received: a media server's REST API in miniature, for answers a real server
 * cannot be brought to give on demand, and a recording front for a real one (see forwardTo).
 */
export async function startResponder(
  answer: (request: Received) => Answer | Promise<Answer>,
): Promise<Responder> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const request = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body };
      received.push(request);
      Promise.resolve(answer(request))
        .catch((error: unknown): Answer => ({ status: 599, body: { message: String(error) } }))
        .then(
          ({ status, body: out }) => {
            const headers = out === undefined ? {} : { 'content-type': 'application/json' };
            res.writeHead(status, headers).end(out === undefined ? undefined : JSON.stringify(out));
          },
          () => res.destroy(),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An answer that is the real server's: the request passed on to `base` as it came (with its credentials). */
export async function forwardTo(base: string, request: Received): Promise<Answer> {
  const authorization = request.headers.authorization;
  const response = await fetch(new URL(request.path, base), {
    method: request.method,
    headers: {
      ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(authorization ? { authorization } : {}),
    },
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
  });
  const text = await response.text();
  return { status: response.status, ...(text ? { body: JSON.parse(text) as unknown } : {}) };
}
