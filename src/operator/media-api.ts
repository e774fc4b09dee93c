import {
  OperatorErrorCode,
  errorCodeOf,
  errorPolicies,
  type ErrorPolicy,
  type KnownErrorCode,
} from '../contracts/error-policy.js';
import { FleetPaths } from '../contracts/fleet-api.js';
import { pushTargetKey, type PushDescription, type PushRequestBody } from '../contracts/pull-api.js';
import { FleetErrorCode, RestErrorCode } from '../contracts/rest-error.js';

/** A push as the media servers' /rest-api/pull/find_all reports it (the fields the operator reads). */
export type MediaPush = Pick<
  PushDescription,
  'localMediaSessionId' | 'remoteMediaSessionId' | 'localStreamName' | 'remoteStreamName' | 'uri' | 'status'
> &
  Partial<Pick<PushDescription, 'info' | 'code' | 'delivery'>>;

/**
 * A failed call to a media server, by the code the server sent (its REST body's `code`; the generic code of
 * the HTTP status when it sent none we know; the operator's own for no answer at all). What the operator
 * does about it (condition reason, Event, retry) is the code's policy: contracts/error-policy.ts.
 */
export class MediaApiError extends Error {
  override readonly name = 'MediaApiError';
  readonly policy: ErrorPolicy;
  constructor(
    readonly code: KnownErrorCode,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
    this.policy = errorPolicies[code];
  }

  /** The condition reason of this failure (its policy's). */
  get reason(): string {
    return this.policy.reason;
  }
}

/** Whether an error is a media server's refusal with one of these codes. */
export const refusedWith = (error: unknown, ...codes: KnownErrorCode[]): error is MediaApiError =>
  error instanceof MediaApiError && codes.includes(error.code);

export interface PushIdentity {
  uri: string;
  localStreamName: string;
  remoteStreamName: string;
}

/** One push target however its URI is spelled (the media server's rule, pushTargetKey). */
export const sameIdentity = (a: PushIdentity, b: PushIdentity): boolean =>
  pushTargetKey(a.uri) === pushTargetKey(b.uri) &&
  a.localStreamName === b.localStreamName &&
  a.remoteStreamName === b.remoteStreamName;

/** Client of a media server's /rest-api/pull/* (WCS's push API), with a bearer token when configured. */
export class MediaApi {
  /**
   * find_all answers per server, shared by the reconciles of the same moment: every reconcile needs its
   * source's list, and fetching it for each would move N²/servers push descriptions per resync. Requests in
   * flight are shared, answers are reused for `listMaxAgeMs`, and our own pushes and terminations are
   * written into the cached answer (a failed one drops it: its outcome is unknown). A push that dies
   * meanwhile is seen at most `listMaxAgeMs` later.
   */
  private readonly lists = new Map<string, { at: number; list: Promise<readonly MediaPush[]> }>();

  constructor(
    private readonly token: string | undefined,
    private readonly timeoutMs = 10_000,
    private readonly listMaxAgeMs = 1000,
    /** /pull/push answers once the push is PUBLISHING or failed: every remote step within its deadline. */
    private readonly pushTimeoutMs = 60_000,
    /** An origin question is asked of every member behind a Service: one that hangs must not hold up the rest. */
    private readonly originTimeoutMs = 3000,
  ) {}

  async push(
    sourceUrl: string,
    {
      uri,
      localStreamName,
      remoteStreamName,
      custom,
      authToken,
      owner,
    }: PushIdentity & Pick<PushRequestBody, 'custom' | 'authToken' | 'owner'>,
  ): Promise<MediaPush> {
    let pushed: MediaPush;
    try {
      const body: PushRequestBody = {
        uri,
        localStreamName,
        remoteStreamName,
        ...(custom ? { custom } : {}),
        ...(authToken ? { authToken } : {}),
        ...(owner ? { owner } : {}),
      };
      pushed = (await this.call(sourceUrl, '/rest-api/pull/push', body, this.pushTimeoutMs)) as MediaPush;
    } catch (error) {
      this.lists.delete(sourceUrl);
      throw error;
    }
    // the cached answer may have been fetched before or after the push landed: never list it twice
    this.editList(sourceUrl, (list) => [
      ...list.filter((p) => p.localMediaSessionId !== pushed.localMediaSessionId),
      pushed,
    ]);
    return pushed;
  }

  /** All pushes of a server; [] when it has none (its 404). */
  findAll(sourceUrl: string): Promise<readonly MediaPush[]> {
    const cached = this.lists.get(sourceUrl);
    if (cached && Date.now() - cached.at < this.listMaxAgeMs) return cached.list;
    const entry = { at: Date.now(), list: this.fetchAll(sourceUrl) };
    this.lists.set(sourceUrl, entry);
    // a failure is not remembered: the next reconcile asks again
    entry.list.catch(() => {
      if (this.lists.get(sourceUrl) === entry) this.lists.delete(sourceUrl);
    });
    return entry.list;
  }

  private async fetchAll(sourceUrl: string): Promise<MediaPush[]> {
    try {
      return (await this.call(sourceUrl, '/rest-api/pull/find_all', {})) as MediaPush[];
    } catch (error) {
      if (refusedWith(error, RestErrorCode.NOT_FOUND)) return [];
      throw error;
    }
  }

  /**
   * Does this fleet member originate (publish) the stream? Its GET /rest-api/fleet/origin/<name>: 200 yes,
   * FLEET_NOT_ORIGIN no (a relayed copy is no origin); anything else throws (unreachable, unauthorised, not a
   * fleet member).
   */
  async isOrigin(restUrl: string, name: string): Promise<boolean> {
    try {
      await this.call(restUrl, FleetPaths.origin(name), undefined, this.originTimeoutMs);
      return true;
    } catch (error) {
      // a server without the fleet routes (older, foreign) has no route there: no origin either
      if (refusedWith(error, FleetErrorCode.NOT_ORIGIN, RestErrorCode.NOT_FOUND)) return false;
      throw error;
    }
  }

  /** Terminates a push; false when the server had no such push. */
  async terminate(
    sourceUrl: string,
    query: { localMediaSessionId: string } | PushIdentity,
  ): Promise<boolean> {
    let found = true;
    try {
      await this.call(sourceUrl, '/rest-api/pull/terminate', query);
    } catch (error) {
      if (!refusedWith(error, RestErrorCode.NOT_FOUND)) {
        this.lists.delete(sourceUrl);
        throw error;
      }
      found = false;
    }
    this.editList(sourceUrl, (list) =>
      list.filter((p) =>
        'localMediaSessionId' in query
          ? p.localMediaSessionId !== query.localMediaSessionId
          : !sameIdentity(p, query),
      ),
    );
    return found;
  }

  private editList(sourceUrl: string, edit: (list: readonly MediaPush[]) => readonly MediaPush[]): void {
    const entry = this.lists.get(sourceUrl);
    if (entry) this.lists.set(sourceUrl, { at: entry.at, list: entry.list.then(edit) });
  }

  /** POSTs `body` as JSON, or GETs when there is none. */
  private async call(
    base: string,
    path: string,
    body: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(new URL(path, base), {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new MediaApiError(
        OperatorErrorCode.SOURCE_UNREACHABLE,
        `media server ${base} unreachable: ${cause}`,
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (response.ok) return parsed;
    const message = (parsed as { message?: string } | undefined)?.message ?? `HTTP ${response.status}`;
    throw new MediaApiError(
      errorCodeOf(parsed, response.status),
      `${path} on ${base}: ${message}`,
      response.status,
    );
  }
}
