import { createHmac } from 'node:crypto';
import os from 'node:os';
import type { Logger } from '../../log.js';
import { StreamfedError } from '../errors.js';
import type { MediaMetrics } from '../metrics.js';
import type { AuthorizingHook, EventHook, HookResult } from './hook-names.js';
import type { StreamDescription } from '../streams/status.js';

export type HookRefusalCode =
  'STREAMFED_HOOK_REFUSED' | 'STREAMFED_HOOK_TIMEOUT' | 'STREAMFED_HOOK_UNREACHABLE';

/** A connection, publish or play refused by the REST hook backend (or by its absence: fail closed). */
export class HookRefusedError extends StreamfedError {
  declare readonly code: HookRefusalCode;
  constructor(
    code: HookRefusalCode,
    readonly hook: AuthorizingHook,
    message: string,
  ) {
    super(code, 403, message);
  }
}

export interface RestHooksOptions {
  /** Base URL: the server posts to `<url>/connect`, `<url>/publishStream`, ... */
  url: string;
  /** When set, every request carries `Authorization: WCS <hex HMAC-MD5 of the body>` (WCS's scheme). */
  secret?: string | undefined;
  timeoutMs: number;
  /** WCS's nodeId field; the host name by default. */
  nodeId?: string | undefined;
}

/** What a WCS session tells the hooks and asks them (see wcs-session.ts). */
export interface SignallingHooks {
  /** Resolves when the backend allows the connection; rejects with HookRefusedError. */
  connect(sessionId: string, connection: Record<string, unknown>): Promise<void>;
  /** Resolves when the backend allows the publish or play; rejects with HookRefusedError. */
  stream(
    hook: 'publishStream' | 'playStream',
    session: { sessionId: string; appKey: string },
    request: Record<string, unknown>,
  ): Promise<void>;
  connectionStatus(
    sessionId: string,
    connection: Record<string, unknown>,
    status: 'ESTABLISHED' | 'DISCONNECTED',
  ): void;
  streamStatus(stream: StreamDescription): void;
}

/** No backend configured: everything is allowed and nothing is told. */
export const noHooks: SignallingHooks = {
  connect: async () => undefined,
  stream: async () => undefined,
  connectionStatus: () => undefined,
  streamStatus: () => undefined,
};

const maxReasonLength = 256;
/** More of a hook's answer than this is not read (WCS backends answer a small JSON object). */
const maxAnswerBytes = 64 * 1024;

/**
 * WCS-style REST hooks (docs.flashphoner.com, "REST hooks"): JSON POSTs to a backend that authorises each
 * connection, publish and play, and hears of connection and stream status changes. Fails closed.
 */
export class RestHooks implements SignallingHooks {
  readonly #options: RestHooksOptions;
  readonly #base: string;
  readonly #nodeId: string;
  /** Events posted and not yet answered. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** The outcome of the last call to the backend, for the console. */
  #last: { result: HookResult; reason: string; at: number } | undefined;

  constructor(
    options: RestHooksOptions,
    private readonly metrics: MediaMetrics,
    private readonly log: Logger,
  ) {
    this.#options = options;
    this.#base = options.url.replace(/\/+$/, '');
    this.#nodeId = options.nodeId ?? os.hostname();
  }

  async connect(sessionId: string, connection: Record<string, unknown>): Promise<void> {
    await this.authorize('connect', this.connectionBody(sessionId, connection));
  }

  async stream(
    hook: 'publishStream' | 'playStream',
    session: { sessionId: string; appKey: string },
    request: Record<string, unknown>,
  ): Promise<void> {
    // the offer is ours to negotiate, not the backend's; a pipe's tuple carries its SRTP key, a secret
    const { sdp: _sdp, streamfedPipe: _pipe, ...fields } = request;
    // the client's fields first: what identifies the session is ours, never the client's to claim
    await this.authorize(hook, {
      ...fields,
      nodeId: this.#nodeId,
      appKey: session.appKey,
      sessionId: session.sessionId,
      published: hook === 'publishStream',
      mediaType: hook === 'publishStream' ? 'publish' : 'play',
      status: 'NEW',
      record: false,
      mediaProvider: typeof fields['mediaProvider'] === 'string' ? fields['mediaProvider'] : 'WebRTC',
      createDate: Date.now(),
    });
  }

  connectionStatus(
    sessionId: string,
    connection: Record<string, unknown>,
    status: 'ESTABLISHED' | 'DISCONNECTED',
  ): void {
    this.tell('ConnectionStatusEvent', { ...this.connectionBody(sessionId, connection), status });
  }

  streamStatus(stream: StreamDescription): void {
    this.tell('StreamStatusEvent', { nodeId: this.#nodeId, ...stream });
  }

  private connectionBody(sessionId: string, connection: Record<string, unknown>): Record<string, unknown> {
    return { appKey: 'defaultApp', ...connection, nodeId: this.#nodeId, sessionId };
  }

  /** Posts and decides: 2xx allows; anything else refuses with the backend's reason. */
  private async authorize(hook: AuthorizingHook, body: Record<string, unknown>): Promise<void> {
    const answer = await this.post(hook, body);
    this.metrics.hookRequests.inc({ hook, result: answer.result });
    if (answer.result === 'allowed') return;
    this.log.info({ hook, result: answer.result, reason: answer.reason }, 'REST hook refused');
    const code: HookRefusalCode =
      answer.result === 'timeout'
        ? 'STREAMFED_HOOK_TIMEOUT'
        : answer.result === 'unreachable'
          ? 'STREAMFED_HOOK_UNREACHABLE'
          : 'STREAMFED_HOOK_REFUSED';
    throw new HookRefusedError(code, hook, answer.reason);
  }

  /** The backend's address and the outcome of the last call to it (none yet: no outcome). */
  health(): { url: string; lastResult?: HookResult; lastReason?: string; lastAt?: number } {
    const last = this.#last;
    return {
      url: this.#base,
      ...(last ? { lastResult: last.result, lastReason: last.reason, lastAt: last.at } : {}),
    };
  }

  /** Waits for the events still in flight, at most `ms` (each has its own deadline anyway). */
  async drain(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([Promise.allSettled([...this.#inFlight]), late]);
    clearTimeout(timer);
  }

  private tell(hook: EventHook, body: Record<string, unknown>): void {
    const sent = this.post(hook, body).then((answer) => {
      this.metrics.hookRequests.inc({ hook, result: answer.result });
      if (answer.result !== 'allowed')
        this.log.warn(
          { hook, result: answer.result, reason: answer.reason },
          'REST hook event not delivered',
        );
    });
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  private async post(
    hook: string,
    body: Record<string, unknown>,
  ): Promise<{ result: HookResult; reason: string }> {
    const answer = await this.call(hook, body);
    this.#last = { ...answer, at: Date.now() };
    return answer;
  }

  private async call(
    hook: string,
    body: Record<string, unknown>,
  ): Promise<{ result: HookResult; reason: string }> {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#options.secret !== undefined)
      headers['authorization'] = `WCS ${createHmac('md5', this.#options.secret).update(text).digest('hex')}`;
    const { timeoutMs } = this.#options;
    try {
      const response = await fetch(`${this.#base}/${hook}`, {
        method: 'POST',
        headers,
        body: text,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      const answer = await boundedText(response, maxAnswerBytes);
      if (response.status >= 200 && response.status < 300) return { result: 'allowed', reason: '' };
      return { result: 'refused', reason: backendReason(hook, response.status, response.statusText, answer) };
    } catch (error) {
      if ((error as Error).name === 'TimeoutError')
        return { result: 'timeout', reason: `REST hook ${hook}: no answer within ${timeoutMs} ms` };
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return {
        result: 'unreachable',
        reason: `REST hook ${hook}: backend unreachable (${cause?.code ?? cause?.message ?? (error as Error).message})`,
      };
    }
  }
}

/**
 * What the backend said, for the client: the `info` (WCS's field) or `message` of a JSON answer, else a short
 * text answer, else the status line. One line, bounded.
 */
function backendReason(hook: string, status: number, statusText: string, body: string): string {
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(body) as { info?: unknown; message?: unknown };
    reason = [parsed.info, parsed.message].find((r): r is string => typeof r === 'string' && r !== '');
  } catch {
    if (body.trim() !== '' && body.length <= maxReasonLength && !/[<>]/.test(body)) reason = body;
  }
  const line = (reason ?? `REST hook ${hook} refused: ${status} ${statusText}`.trim()).replace(/\s+/g, ' ');
  return line.slice(0, maxReasonLength);
}

/** The first `limit` bytes of a response body as text; the rest is not read. */
async function boundedText(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel();
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
