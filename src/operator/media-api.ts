import { FleetPaths } from '../contracts/fleet-api.js';
import { pushTargetKey, type PushDescription, type PushRequestBody } from '../contracts/pull-api.js';

/** A push as the media servers' /rest-api/pull/find_all reports it (the fields the operator reads). */
export type MediaPush = Pick<
  PushDescription,
  'localMediaSessionId' | 'remoteMediaSessionId' | 'localStreamName' | 'remoteStreamName' | 'uri' | 'status'
> &
  Partial<Pick<PushDescription, 'info' | 'code' | 'delivery'>>;

export type MediaErrorReason =
  | 'SourceUnreachable'
  | 'StreamNotFound'
  | 'TargetNotAllowed'
  | 'PushConflict'
  | 'PushFailed'
  | 'BadRequest'
  /** A Service the StreamPush names could not be read (missing, forbidden, API down). */
  | 'ServiceUnresolved';

/** A failed call to a media server, classified so the controller can report it as a condition reason. */
export class MediaApiError extends Error {
  override readonly name = 'MediaApiError';
  constructor(
    readonly reason: MediaErrorReason,
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

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
    }: PushIdentity & Pick<PushRequestBody, 'custom' | 'authToken'>,
  ): Promise<MediaPush> {
    let pushed: MediaPush;
    try {
      const body: PushRequestBody = {
        uri,
        localStreamName,
        remoteStreamName,
        ...(custom ? { custom } : {}),
        ...(authToken ? { authToken } : {}),
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
      if (error instanceof MediaApiError && error.httpStatus === 404) return [];
      throw error;
    }
  }

  /**
   * Does this fleet member originate (publish) the stream? Its GET /rest-api/fleet/origin/<name>: 200 yes,
   * 404 no (a relayed copy is no origin); anything else throws (unreachable, unauthorised, not a fleet member).
   */
  async isOrigin(restUrl: string, name: string): Promise<boolean> {
    try {
      await this.call(restUrl, FleetPaths.origin(name), undefined, this.originTimeoutMs);
      return true;
    } catch (error) {
      if (error instanceof MediaApiError && error.httpStatus === 404) return false;
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
      if (!(error instanceof MediaApiError && error.httpStatus === 404)) {
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
      throw new MediaApiError('SourceUnreachable', `media server ${base} unreachable: ${cause}`);
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
    const reason: MediaErrorReason =
      response.status === 404
        ? 'StreamNotFound'
        : response.status === 403
          ? 'TargetNotAllowed'
          : response.status === 409
            ? 'PushConflict'
            : response.status === 400
              ? 'BadRequest'
              : response.status === 401
                ? 'SourceUnreachable'
                : 'PushFailed';
    throw new MediaApiError(reason, `${path} on ${base}: ${message}`, response.status);
  }
}
