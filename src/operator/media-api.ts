/** A push as the media servers' /rest-api/pull/find_all reports it (the fields the operator reads). */
export interface MediaPush {
  localMediaSessionId: string;
  remoteMediaSessionId: string;
  localStreamName: string;
  remoteStreamName: string;
  uri: string;
  status: string;
  info?: string;
}

export type MediaErrorReason =
  'SourceUnreachable' | 'StreamNotFound' | 'TargetNotAllowed' | 'PushConflict' | 'PushFailed' | 'BadRequest';

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

/** Client of a media server's /rest-api/pull/* (WCS's push API), with a bearer token when configured. */
export class MediaApi {
  /**
   * find_all answers per server, shared by the reconciles of the same moment: every reconcile needs its
   * source's list, and fetching it for each would move N²/servers push descriptions per resync. Requests in
   * flight are shared, answers are reused for `listMaxAgeMs`, and our own push or terminate on a server
   * drops its entry. A push that dies meanwhile is seen at most that much later.
   */
  private readonly lists = new Map<string, { at: number; list: Promise<readonly MediaPush[]> }>();

  constructor(
    private readonly token: string | undefined,
    private readonly timeoutMs = 10_000,
    private readonly listMaxAgeMs = 1000,
  ) {}

  async push(
    sourceUrl: string,
    { uri, localStreamName, remoteStreamName }: PushIdentity,
  ): Promise<MediaPush> {
    try {
      return (await this.call(sourceUrl, '/rest-api/pull/push', {
        uri,
        localStreamName,
        remoteStreamName,
      })) as MediaPush;
    } finally {
      this.lists.delete(sourceUrl);
    }
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

  /** Terminates a push; false when the server had no such push. */
  async terminate(
    sourceUrl: string,
    query: { localMediaSessionId: string } | PushIdentity,
  ): Promise<boolean> {
    try {
      await this.call(sourceUrl, '/rest-api/pull/terminate', query);
      return true;
    } catch (error) {
      if (error instanceof MediaApiError && error.httpStatus === 404) return false;
      throw error;
    } finally {
      this.lists.delete(sourceUrl);
    }
  }

  private async call(base: string, path: string, body: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(new URL(path, base), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
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
