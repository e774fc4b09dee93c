import { EventEmitter } from 'node:events';
import { PushFailureCode } from '../../contracts/pull-api.js';
import {
  STREAMFED_CHAIN_HEADER,
  STREAMFED_FLEET_HEADER,
  WhipMediaType,
  encodeChainHeader,
  mediaTypeOf,
  parseIceServerLinks,
  problemCode,
  sessionUrl,
  type IceServer,
  type WhipKind,
} from '../../contracts/whip-http.js';
import { StreamStatus } from '../streams/status.js';
import { httpRequest, type HttpAnswer, type HttpRequestOptions } from './http-request.js';
import { RelayError } from './relay-error.js';
import type { OfferOptions, SignallingClient, SignallingClientEvents, StreamAnswer } from './signalling.js';

export interface WhipClientOptions {
  /** `whip`: the endpoint takes our stream (publish); `whep`: it plays one to us (play). */
  kind: WhipKind;
  /** Accept any TLS certificate on https:// (testing only). */
  insecureTls: boolean;
  /** Deadline for the TCP/TLS connection of each request. */
  connectTimeoutMs: number;
  /** Deadline for the answer to OPTIONS. */
  handshakeTimeoutMs: number;
  /** Deadline for the answer to DELETE (the offer's POST has the relay's answer deadline). */
  requestTimeoutMs: number;
  /** Sent as `Authorization: Bearer <token>` on every request; never logged, listed or put in a reason. */
  authToken?: string | undefined;
  /**
   * Where a redirect or a session URL may lead: the push allow-list (target-policy.ts), which resolves with
   * the URL or throws. Absent: redirects and session URLs on another origin are refused.
   */
  allow?: ((url: URL) => Promise<URL>) | undefined;
  /** Aborts the connect. */
  signal?: AbortSignal | undefined;
}

/** How many 307/308 redirects an offer follows. */
const MAX_REDIRECTS = 5;

/**
 * A client of one WHIP (RFC 9725) or WHEP endpoint, as a relay's signalling client: the media server's
 * push to a WHIP endpoint and pull from a WHEP one. connect() asks the endpoint (OPTIONS) for its ICE
 * servers; publish()/play() POST our offer (`application/sdp`, following 307/308) and resolve with the 201's
 * answer, keeping its `Location` as the session URL; stop() and close() DELETE the sessions. WHIP reports
 * nothing after the answer: the client reports our stream up once answered (the relay adds ICE/DTLS), and
 * the far end's death is seen by the peer and by delivery.
 */
export class WhipClient extends EventEmitter<SignallingClientEvents> implements SignallingClient {
  readonly #endpoint: URL;
  readonly #options: WhipClientOptions;
  #iceServers: IceServer[] = [];
  #fleetId: string | undefined;
  /** Offers waiting for their answer, by media session id (cancel and close abort them). */
  readonly #pending = new Map<string, AbortController>();
  /** Sessions the endpoint made for us (its 201), by media session id: their session URLs. */
  readonly #sessions = new Map<string, URL>();
  #closed = false;

  private constructor(endpoint: URL, options: WhipClientOptions) {
    super();
    this.#endpoint = endpoint;
    this.#options = options;
  }

  /**
   * Asks the endpoint for its ICE servers (OPTIONS: its `Link: rel="ice-server"` headers); any answer will
   * do (an endpoint without OPTIONS has none to give), no answer within the handshake deadline fails with
   * HANDSHAKE_TIMEOUT, no connection with UNREACHABLE or CONNECT_TIMEOUT.
   */
  static async connect(endpoint: URL, options: WhipClientOptions): Promise<WhipClient> {
    const client = new WhipClient(endpoint, options);
    const answer = await client.#request('OPTIONS', endpoint, {
      signal: options.signal,
      answer: {
        ms: options.handshakeTimeoutMs,
        code: PushFailureCode.HANDSHAKE_TIMEOUT,
        message: `no answer to OPTIONS from ${endpoint.href}`,
      },
    });
    if (answer.status >= 200 && answer.status < 300)
      client.#iceServers = parseIceServerLinks(answer.headers.link);
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The fleet id a streamfed endpoint announced on its 201 (push-chain.ts); undefined for any other. */
  get fleetId(): string | undefined {
    return this.#fleetId;
  }

  /** WHIP/WHEP has no pipe extension. */
  pipe(): undefined {
    return undefined;
  }

  get iceServers(): readonly IceServer[] {
    return this.#iceServers;
  }

  requestName(): string {
    return `the ${this.#options.kind.toUpperCase()} POST`;
  }

  /** POSTs our offer to the WHIP endpoint (the endpoint's URL names the stream, not `name`). */
  publish(_name: string, sdp: string, mediaSessionId: string, options: OfferOptions): Promise<StreamAnswer> {
    if (this.#options.kind !== 'whip') return Promise.reject(this.#wrongKind('publish'));
    const headers: Record<string, string> = {};
    // a streamfed endpoint refuses a publish whose chain already passed through its fleet (PUSH_ERR_LOOP)
    if (options.chain?.length) headers[STREAMFED_CHAIN_HEADER] = encodeChainHeader(options.chain);
    return this.#offer(sdp, mediaSessionId, headers);
  }

  /** POSTs our recvonly offer to the WHEP endpoint. */
  play(_name: string, sdp: string, mediaSessionId: string): Promise<StreamAnswer> {
    if (this.#options.kind !== 'whep') return Promise.reject(this.#wrongKind('play'));
    return this.#offer(sdp, mediaSessionId, {});
  }

  cancel(mediaSessionId: string): void {
    this.#pending.get(mediaSessionId)?.abort();
  }

  /** Ends one session on the endpoint (DELETE its session URL). */
  stop(mediaSessionId: string): void {
    this.cancel(mediaSessionId);
    const session = this.#sessions.get(mediaSessionId);
    this.#sessions.delete(mediaSessionId);
    if (session) this.#delete(session);
  }

  /** Ends every session of this client on the endpoint (as a WCS client's socket close does). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#pending.keys(), ...this.#sessions.keys()]) this.stop(id);
    this.emit('closed', 'closed by us');
  }

  /**
   * POSTs the offer, following 307/308 (each hop allowed by the allow-list, at most MAX_REDIRECTS); a 201
   * must carry the answer and the session URL (`Location`). Any other answer is the endpoint's refusal.
   */
  async #offer(sdp: string, mediaSessionId: string, headers: Record<string, string>): Promise<StreamAnswer> {
    if (this.#closed) throw new RelayError(PushFailureCode.LOCAL_ENDED, 'terminated');
    const abort = new AbortController();
    this.#pending.set(mediaSessionId, abort);
    try {
      let url = this.#endpoint;
      for (let hops = 0; ; hops++) {
        // the relay's answer deadline covers this exchange, its connect included
        const answer = await this.#request('POST', url, {
          headers: { 'content-type': WhipMediaType.SDP, accept: WhipMediaType.SDP, ...headers },
          body: sdp,
          signal: abort.signal,
        });
        if (answer.status === 307 || answer.status === 308) {
          if (hops === MAX_REDIRECTS)
            throw new RelayError(
              PushFailureCode.PROTOCOL,
              `${this.#endpoint.href}: over ${MAX_REDIRECTS} redirects`,
            );
          url = await this.#follow(url, answer.headers.location, 'redirected to');
          continue;
        }
        if (answer.status !== 201) throw refusal(url, answer);
        return await this.#created(url, answer, mediaSessionId);
      }
    } finally {
      this.#pending.delete(mediaSessionId);
    }
  }

  /** A 201: the session is ours from here (close() deletes it), then its answer is checked. */
  async #created(url: URL, answer: HttpAnswer, mediaSessionId: string): Promise<StreamAnswer> {
    if (!answer.headers.location)
      throw new RelayError(PushFailureCode.PROTOCOL, `${url.href} answered 201 without a Location`);
    const session = await this.#follow(url, answer.headers.location, 'gave the session URL');
    this.#sessions.set(mediaSessionId, session);
    if (this.#closed) {
      this.stop(mediaSessionId);
      throw new RelayError(PushFailureCode.LOCAL_ENDED, 'terminated');
    }
    const type = mediaTypeOf(answer.headers['content-type']);
    if (type !== WhipMediaType.SDP || !answer.body.includes('v=0'))
      throw new RelayError(
        PushFailureCode.PROTOCOL,
        `${url.href} answered 201 without an SDP answer (content-type ${type || 'none'})`,
      );
    const fleet = answer.headers[STREAMFED_FLEET_HEADER];
    if (typeof fleet === 'string' && fleet !== '') this.#fleetId = fleet;
    // no status events in WHIP: answered is as far as the endpoint will ever tell
    const status = this.#options.kind === 'whip' ? StreamStatus.PUBLISHING : StreamStatus.PLAYING;
    queueMicrotask(() => this.emit('status', { mediaSessionId, status }));
    return { mediaSessionId, answer: answer.body };
  }

  /**
   * Where a `Location` leads (resolved against `from`): on `from`'s origin, or allowed by the allow-list;
   * anything else fails with PROTOCOL.
   */
  async #follow(from: URL, location: string | undefined, what: string): Promise<URL> {
    const to = sessionUrl(from, location);
    if (!to || (to.protocol !== 'http:' && to.protocol !== 'https:'))
      throw new RelayError(
        PushFailureCode.PROTOCOL,
        `${from.href} ${what} ${JSON.stringify(location ?? '')}, not an http(s) URL`,
      );
    if (to.origin === from.origin) return to;
    const { allow } = this.#options;
    try {
      if (!allow) throw new Error('no allow-list to check it against');
      return await allow(to);
    } catch (error) {
      throw new RelayError(
        PushFailureCode.PROTOCOL,
        `${from.href} ${what} ${to.href}, which is not allowed: ${(error as Error).message}`,
      );
    }
  }

  /** DELETEs a session, within the connect and request deadlines; its outcome changes nothing here. */
  #delete(session: URL): void {
    const answer = {
      ms: this.#options.requestTimeoutMs,
      code: PushFailureCode.REMOTE_DISCONNECTED,
      message: `no answer to DELETE ${session.href}`,
    };
    void this.#request('DELETE', session, { answer }).catch(() => undefined);
  }

  /** One request to the endpoint, with our token and the connect deadline. */
  #request(
    method: HttpRequestOptions['method'],
    url: URL,
    request: Pick<HttpRequestOptions, 'headers' | 'body' | 'signal' | 'answer'>,
  ): Promise<HttpAnswer> {
    const { authToken, insecureTls, connectTimeoutMs } = this.#options;
    return httpRequest(url, {
      ...request,
      method,
      headers: { ...request.headers, ...(authToken ? { authorization: `Bearer ${authToken}` } : {}) },
      insecureTls,
      connectMs: connectTimeoutMs,
    });
  }

  #wrongKind(what: string): RelayError {
    return new RelayError(
      PushFailureCode.INTERNAL,
      `${this.#endpoint.href} is a ${this.#options.kind.toUpperCase()} endpoint: it cannot ${what}`,
    );
  }
}

/**
 * An answer other than 201: REMOTE_REJECTED with the status and the problem's `code` and `detail` when the
 * body is RFC 9457 problem details; PUSH_ERR_LOOP when a streamfed endpoint says the push would loop.
 */
function refusal(url: URL, answer: HttpAnswer): RelayError {
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    body = undefined;
  }
  const code = problemCode(body);
  const detail =
    typeof (body as { detail?: unknown } | undefined)?.detail === 'string'
      ? (body as { detail: string }).detail
      : answer.body.slice(0, 200).trim();
  const message = `${url.href} answered ${answer.status}${answer.statusText ? ` ${answer.statusText}` : ''}${
    detail ? `: ${detail}` : ''
  }${code ? ` (${code})` : ''}`;
  return new RelayError(
    code === PushFailureCode.LOOP ? PushFailureCode.LOOP : PushFailureCode.REMOTE_REJECTED,
    message,
  );
}
