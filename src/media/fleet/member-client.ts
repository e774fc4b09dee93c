import {
  FleetPaths,
  type MemberInfo,
  type NameClaim,
  type OriginStream,
  type RelayAnswer,
  type RelayOffer,
} from '../../contracts/fleet-api.js';
import { FleetError, FleetErrorCode } from './fleet-errors.js';

/** How long a member has to answer a call; one that does not is skipped, never waited on. */
export const MEMBER_CALL_TIMEOUT_MS = 1500;

/** Calls one member's fleet REST API (the contract in contracts/fleet-api.ts), with the fleet's token. */
export class MemberClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;

  constructor(restUrl: string, token: string | undefined) {
    this.#base = restUrl.replace(/\/+$/, '');
    this.#headers = token ? { authorization: `Bearer ${token}` } : {};
  }

  get restUrl(): string {
    return this.#base;
  }

  info(): Promise<MemberInfo> {
    return this.#call<MemberInfo>('GET', FleetPaths.member);
  }

  /** The stream if this member originates it, else undefined. */
  async origin(name: string): Promise<OriginStream | undefined> {
    try {
      return await this.#call<OriginStream>('GET', FleetPaths.origin(name));
    } catch (error) {
      if (error instanceof FleetError && error.code === FleetErrorCode.NOT_ORIGIN) return undefined;
      throw error;
    }
  }

  offer(offer: RelayOffer): Promise<RelayAnswer> {
    return this.#call<RelayAnswer>('POST', FleetPaths.relayOffers, offer, 5000);
  }

  async closeRelay(relayId: string): Promise<void> {
    await this.#call('DELETE', FleetPaths.relay(relayId)).catch(() => undefined);
  }

  claim(claim: NameClaim): Promise<NameClaim> {
    return this.#call<NameClaim>('POST', FleetPaths.claims, claim);
  }

  /** The control channel's response (a stream of NDJSON lines); aborted through `signal`. */
  async control(relayId: string, signal: AbortSignal): Promise<Response> {
    const response = await fetch(`${this.#base}${FleetPaths.relay(relayId)}`, {
      headers: this.#headers,
      signal,
    }).catch((error: unknown) => {
      throw new FleetError(FleetErrorCode.ORIGIN_LOST, `control channel: ${String(error)}`);
    });
    if (!response.ok || !response.body)
      throw new FleetError(FleetErrorCode.ORIGIN_LOST, `control channel answered ${response.status}`);
    return response;
  }

  async #call<T>(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = MEMBER_CALL_TIMEOUT_MS,
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers:
          body === undefined ? this.#headers : { ...this.#headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new FleetError(FleetErrorCode.MEMBER_UNREACHABLE, `${this.#base}: ${(error as Error).message}`);
    }
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (response.ok) return parsed as T;
    const message = (parsed as { message?: string } | undefined)?.message ?? `HTTP ${response.status}`;
    const code = (parsed as { code?: string } | undefined)?.code;
    if (response.status === 404 && code === FleetErrorCode.NOT_ORIGIN)
      throw new FleetError(FleetErrorCode.NOT_ORIGIN, message);
    if (response.status >= 500 || response.status === 401 || response.status === 403)
      throw new FleetError(FleetErrorCode.MEMBER_UNREACHABLE, `${this.#base}: ${message}`);
    throw new FleetError(FleetErrorCode.RELAY_REFUSED, `${this.#base}: ${message}`);
  }
}
