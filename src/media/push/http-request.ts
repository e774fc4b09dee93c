import http from 'node:http';
import https from 'node:https';
import { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { PushFailureCode } from '../../contracts/pull-api.js';
import { RelayError } from './relay-error.js';

/** What came back: the status, the headers, the body as text. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpRequestOptions {
  method: 'OPTIONS' | 'POST' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /** Accept any TLS certificate on https:// (testing only). */
  insecureTls: boolean;
  /** Deadline for the TCP (and TLS) connection. */
  connectMs: number;
  /**
   * Deadline for the answer, counted from the connection (so a slow connect is told apart): `code` and
   * `message` of the failure. Absent: the caller's own deadline covers the whole exchange.
   */
  answer?: { ms: number; code: PushFailureCode; message: string } | undefined;
  /** Aborts the request: its socket is destroyed and the promise rejects with LOCAL_ENDED. */
  signal?: AbortSignal | undefined;
}

/** A body larger than this is not an SDP answer or a problem: the exchange fails. */
const MAX_BODY = 1024 * 1024;

/**
 * One HTTP exchange on a connection of its own (no keep-alive: nothing outlives the exchange). Rejects with
 * a RelayError naming the step: UNREACHABLE (refused, unresolvable, TLS refused), CONNECT_TIMEOUT (no
 * connection within `connectMs`), REMOTE_DISCONNECTED (connected, then dropped before answering),
 * PROTOCOL (an oversized body), LOCAL_ENDED (aborted by `signal`).
 */
export function httpRequest(url: URL, options: HttpRequestOptions): Promise<HttpAnswer> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(aborted());
  return new Promise<HttpAnswer>((resolve, reject) => {
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: options.method,
      agent: false,
      headers: {
        ...options.headers,
        ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
      },
      ...(url.protocol === 'https:' ? { rejectUnauthorized: !options.insecureTls } : {}),
    });
    const fail = (error: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      request.destroy();
      reject(
        error instanceof RelayError
          ? error
          : connected
            ? new RelayError(
                PushFailureCode.REMOTE_DISCONNECTED,
                `${url.href} dropped the connection before answering ${options.method}: ${error.message}`,
              )
            : new RelayError(PushFailureCode.UNREACHABLE, `cannot connect to ${url.href}: ${error.message}`),
      );
    };
    const onAbort = (): void => fail(aborted());
    signal?.addEventListener('abort', onAbort, { once: true });
    request.once('socket', (socket: Socket) => {
      timer = setTimeout(
        () =>
          fail(
            new RelayError(
              PushFailureCode.CONNECT_TIMEOUT,
              `no connection to ${url.href} within ${options.connectMs} ms`,
            ),
          ),
        options.connectMs,
      );
      socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => {
        connected = true;
        clearTimeout(timer);
        const { answer } = options;
        if (answer)
          timer = setTimeout(
            () => fail(new RelayError(answer.code, `${answer.message} within ${answer.ms} ms`)),
            answer.ms,
          );
      });
    });
    request.once('error', fail);
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY)
          fail(
            new RelayError(PushFailureCode.PROTOCOL, `${url.href} answered a body over ${MAX_BODY} bytes`),
          );
        else chunks.push(chunk);
      });
      response.once('error', fail);
      response.once('end', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve({
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? '',
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    request.end(options.body);
  });
}

const aborted = (): RelayError => new RelayError(PushFailureCode.LOCAL_ENDED, 'terminated');
