import type { Logger } from '../log.js';
import type { OperatorMetrics } from './operator-metrics.js';
import { ReconcileError, type ObjectReconciler, type ReconcileResult } from './reconcile.js';
import { FINALIZER, type Phase, type StreamPush, type StreamPushStatus } from './api.js';
import { sameStatus, setCondition } from './conditions.js';
import { SpecError, desiredPush, type DesiredPush } from './desired.js';
import type { FleetEndpoints } from './fleet-endpoints.js';
import { httpCode, type Kube } from './kube.js';
import { errorCodeOf, errorPolicies, type ErrorPolicy } from '../contracts/error-policy.js';
import { FleetErrorCode } from '../contracts/rest-error.js';
import { MediaApiError, refusedWith, sameIdentity, type MediaApi, type MediaPush } from './media-api.js';
import { readWhipToken } from './whip-token.js';

/** A reconcile's outcome here: the loop's result, and whether the push is PUBLISHING (the active gauge). */
interface Outcome extends ReconcileResult {
  active: boolean;
}

/** The status fields of a push on the source server, cleared when there is none (any more). */
const NO_PUSH = {
  pushStatus: undefined,
  delivery: undefined,
  localMediaSessionId: undefined,
  remoteMediaSessionId: undefined,
} as const satisfies Partial<StreamPushStatus>;

export interface ReconcilerOptions {
  clusterDomain: string;
  component: string;
  /** How soon to look again while the remote has not reported PUBLISHING. */
  pendingRecheckMs: number;
}

/**
 * Makes one StreamPush true on its source media server: finalizer on, the push present and not FAILED
 * (re-pushed when it died or the spec changed), status and Events telling what happened; on deletion the
 * push is terminated before the finalizer comes off.
 */
export class Reconciler implements ObjectReconciler<StreamPush> {
  /**
   * The objects whose last reconcile failed for good (a code whose policy is `never`), by uid, with the
   * generation it failed at: nothing is tried again for them, at resync either, until the spec changes
   * (or the operator restarts, e.g. with a new token).
   */
  readonly #terminal = new Map<string, number>();
  /** The objects whose push is PUBLISHING and delivering, by namespace/name. */
  readonly #active = new Set<string>();

  constructor(
    private readonly kube: Kube,
    private readonly media: MediaApi,
    private readonly endpoints: FleetEndpoints,
    private readonly options: ReconcilerOptions,
    private readonly log: Logger,
    private readonly metrics: Pick<OperatorMetrics, 'pushesActive'>,
  ) {}

  async reconcile(o: StreamPush): Promise<ReconcileResult> {
    try {
      const { active, ...result } = await this.#reconcile(o);
      this.#setActive(o, active);
      return result;
    } catch (error) {
      this.#setActive(o, false);
      throw error;
    }
  }

  deleted(o: StreamPush): void {
    this.#setActive(o, false);
    this.#terminal.delete(uidOf(o));
  }

  #setActive(o: StreamPush, active: boolean): void {
    if (active) this.#active.add(keyOfObject(o));
    else this.#active.delete(keyOfObject(o));
    this.metrics.pushesActive.set(this.#active.size);
  }

  async #reconcile(o: StreamPush): Promise<Outcome> {
    if (o.metadata?.deletionTimestamp) return this.finalize(o);
    if (!o.metadata?.finalizers?.includes(FINALIZER)) {
      await this.kube.setFinalizers(o, [...(o.metadata?.finalizers ?? []), FINALIZER]);
      // the update event brings the object back with the finalizer and a new resourceVersion
      return { active: false, requeueAfterMs: 0 };
    }
    const generation = o.metadata?.generation ?? 0;
    if (this.#terminal.get(uidOf(o)) === generation) return { active: false };
    this.#terminal.delete(uidOf(o));
    let desired: DesiredPush;
    try {
      desired = desiredPush(o, this.options.clusterDomain);
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      await this.writeStatus(o, 'Failed', 'InvalidSpec', error.message, { lastError: error.message });
      throw new ReconcileError('InvalidSpec', error.message, false);
    }
    desired = await this.resolve(o, desired);
    try {
      const push = await this.ensurePush(o, desired);
      const delivery = push.delivery?.status;
      // a server without delivery reports (older) is taken at its status word
      const active = push.status === 'PUBLISHING' && (delivery === undefined || delivery === 'delivering');
      const fields = {
        sourceUrl: desired.sourceUrl,
        targetUri: desired.uri,
        targetKind: desired.kind,
        sourcePod: desired.sourcePod,
        targetPod: desired.targetPod,
        localMediaSessionId: push.localMediaSessionId,
        remoteMediaSessionId: push.remoteMediaSessionId,
        pushStatus: push.status,
        delivery,
      };
      if (delivery === 'stalled') {
        // PUBLISHING on paper, nothing reaching the target: a failed push, pushed again after backoff
        const message = `push to ${desired.uri} is PUBLISHING but the target acknowledges nothing: pushing again`;
        await this.media.terminate(desired.sourceUrl, { localMediaSessionId: push.localMediaSessionId });
        await this.writeStatus(o, 'Failed', 'PushNotDelivering', message, {
          ...fields,
          lastError: message,
          ...NO_PUSH,
        });
        throw new ReconcileError('PushNotDelivering', message, true);
      }
      const waiting =
        push.status === 'PUBLISHING'
          ? ['AwaitingDelivery', `push is PUBLISHING, waiting for ${desired.uri} to acknowledge media`]
          : ['PushPending', `push is ${push.status}, waiting for the remote to publish`];
      await this.writeStatus(
        o,
        active ? 'Active' : 'Pending',
        active ? 'Publishing' : waiting[0]!,
        active ? `pushing to ${desired.uri} as ${desired.remoteStreamName}` : waiting[1]!,
        fields,
      );
      return active ? { active } : { active, requeueAfterMs: this.options.pendingRecheckMs };
    } catch (error) {
      if (error instanceof ReconcileError) throw error;
      const policy = error instanceof MediaApiError ? error.policy : RECONCILE_FAILED;
      const message = (error as Error).message;
      await this.writeStatus(
        o,
        'Failed',
        policy.reason,
        message,
        {
          sourceUrl: desired.sourceUrl,
          targetUri: desired.uri,
          targetKind: desired.kind,
          sourcePod: desired.sourcePod,
          targetPod: desired.targetPod,
          lastError: message,
          ...NO_PUSH,
        },
        policy.event,
      );
      throw this.failed(o, policy, message);
    }
  }

  /**
   * Services turned into fleet members (FleetEndpoints.resolve), with an Event when the source or target
   * pod changes. No member publishing the stream: the push made before (its stream is gone) is terminated and
   * the status says so. Any other failure (API or members unreachable) leaves the push as it is.
   */
  private async resolve(o: StreamPush, desired: DesiredPush): Promise<DesiredPush> {
    let resolved: DesiredPush;
    try {
      resolved = await this.endpoints.resolve(desired, o.status);
    } catch (error) {
      if (!(error instanceof MediaApiError)) throw error;
      const gone = refusedWith(error, FleetErrorCode.NOT_ORIGIN);
      if (gone) await this.dropPrevious(o);
      if (gone && o.status?.sourcePod) {
        const message = `${desired.localStreamName} is no longer published on pod ${o.status.sourcePod} nor on any other member`;
        this.event(o, 'Warning', 'SourceLost', message);
      }
      const cleared = { sourceUrl: undefined, sourcePod: undefined, ...NO_PUSH };
      await this.writeStatus(
        o,
        'Failed',
        error.reason,
        error.message,
        { ...(gone ? cleared : {}), lastError: error.message },
        error.policy.event,
      );
      throw this.failed(o, error.policy, error.message);
    }
    const previous = o.status;
    for (const [what, before, now] of [
      ['Source', previous?.sourcePod, resolved.sourcePod],
      ['Target', previous?.targetPod, resolved.targetPod],
    ] as const) {
      if (before && now && before !== now) {
        const message =
          what === 'Source'
            ? `${desired.localStreamName} is now published on pod ${now} (was ${before}): pushing from there`
            : `target pod ${before} is no longer Ready: pushing into ${now}`;
        this.event(o, 'Normal', `${what}Moved`, message);
      }
    }
    return resolved;
  }

  /** Terminates the push the status names (best effort: the orphan sweep catches what this misses). */
  private async dropPrevious(o: StreamPush): Promise<void> {
    const { sourceUrl, localMediaSessionId } = o.status ?? {};
    if (!sourceUrl || !localMediaSessionId) return;
    await this.media.terminate(sourceUrl, { localMediaSessionId }).catch((error: unknown) => {
      this.log.warn({ err: error, key: keyOfObject(o) }, 'could not terminate the previous push');
    });
  }

  /** The push this object wants, alive on its source server; pushes it (again) when missing or FAILED. */
  private async ensurePush(o: StreamPush, desired: DesiredPush): Promise<MediaPush> {
    const previous = o.status;
    const specChanged =
      previous?.localMediaSessionId !== undefined &&
      previous.sourceUrl !== undefined &&
      (previous.sourceUrl !== desired.sourceUrl ||
        previous.targetUri !== desired.uri ||
        previous.observedGeneration !== o.metadata?.generation);
    const pushes = await this.media.findAll(desired.sourceUrl);
    const mine = pushes.find((p) => sameIdentity(p, desired));
    if (
      specChanged &&
      previous?.localMediaSessionId &&
      previous.sourceUrl &&
      previous.localMediaSessionId !== mine?.localMediaSessionId
    ) {
      // the spec (or the pod the stream or target lives on) moved away from what we pushed before: take
      // the old push down first
      await this.dropPrevious(o);
    }
    if (mine && mine.status !== 'FAILED') return mine;
    // a WHIP target's token, read before anything is torn down: a Secret that cannot give it fails the push
    const authToken = desired.tokenSecretRef
      ? await readWhipToken(this.kube, o.metadata?.namespace ?? 'default', desired.tokenSecretRef)
      : undefined;
    if (mine) {
      // the reason its code stands for (a server that lists no code: the generic failure of a push)
      const failure = errorPolicies[errorCodeOf(mine, 500)];
      this.event(
        o,
        'Warning',
        failure.reason,
        `push failed on the source server (${mine.code ?? 'no code'}: ${mine.info ?? 'no reason given'}): pushing again`,
      );
      await this.media.terminate(desired.sourceUrl, { localMediaSessionId: mine.localMediaSessionId });
    } else if (previous?.phase === 'Active') {
      this.event(o, 'Warning', 'PushLost', `push no longer on ${desired.sourceUrl}: pushing again`);
    }
    const attempts = (previous?.attempts ?? 0) + 1;
    o.status = { ...previous, attempts };
    const owner = `StreamPush ${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
    const pushed = await this.media.push(desired.sourceUrl, { ...desired, authToken, owner });
    this.event(
      o,
      'Normal',
      'Pushed',
      `pushing ${desired.localStreamName} to ${desired.uri} as ${desired.remoteStreamName}`,
    );
    return pushed;
  }

  /** The error a failed reconcile ends with; a failure that only a change can cure is remembered as such. */
  private failed(o: StreamPush, policy: ErrorPolicy, message: string): ReconcileError {
    const retry = policy.retry !== 'never';
    if (!retry) this.#terminal.set(uidOf(o), o.metadata?.generation ?? 0);
    return new ReconcileError(policy.reason, message, retry);
  }

  private async finalize(o: StreamPush): Promise<Outcome> {
    this.#terminal.delete(uidOf(o));
    if (!o.metadata?.finalizers?.includes(FINALIZER)) return { active: false };
    const status = o.status;
    if (status?.sourceUrl && status.localMediaSessionId) {
      try {
        await this.media.terminate(status.sourceUrl, { localMediaSessionId: status.localMediaSessionId });
      } catch (error) {
        const message = (error as Error).message;
        await this.writeStatus(o, 'Terminating', 'TerminateFailed', message, { lastError: message });
        throw new ReconcileError('TerminateFailed', message, true);
      }
      this.event(o, 'Normal', 'Terminated', `push to ${status.targetUri ?? 'the target'} terminated`);
    }
    await this.kube.setFinalizers(
      o,
      (o.metadata.finalizers ?? []).filter((f) => f !== FINALIZER),
    );
    return { active: false };
  }

  /** Writes status only when it changes; an Event marks each change of the Ready condition. */
  private async writeStatus(
    o: StreamPush,
    phase: Phase,
    reason: string,
    message: string,
    fields: Partial<StreamPushStatus>,
    eventType: 'Normal' | 'Warning' = phase === 'Active' ? 'Normal' : 'Warning',
  ): Promise<void> {
    const previous = o.status ?? {};
    const ready = phase === 'Active' ? 'True' : 'False';
    const next: StreamPushStatus = {
      ...previous,
      ...fields,
      phase,
      observedGeneration: o.metadata?.generation ?? 0,
      conditions: setCondition(
        previous.conditions,
        {
          type: 'Ready',
          status: ready,
          reason,
          message: message.slice(0, 32768),
          observedGeneration: o.metadata?.generation ?? 0,
        },
        new Date(),
      ),
    };
    if (phase === 'Active') delete next.lastError;
    for (const k of Object.keys(next) as (keyof StreamPushStatus)[])
      if (next[k] === undefined) delete next[k];
    if (sameStatus(o.status, next)) return;
    const before = previous.conditions?.find((c) => c.type === 'Ready');
    try {
      // merge patch: fields we dropped must be sent as null to be removed
      const removed = Object.fromEntries(
        Object.keys(previous)
          .filter((k) => !(k in next))
          .map((k) => [k, null]),
      );
      await this.kube.patchStatus(o, { ...removed, ...next } as StreamPushStatus);
      o.status = next;
    } catch (error) {
      if (httpCode(error) === 404) return; // deleted meanwhile
      throw error;
    }
    if (before?.status !== ready || before.reason !== reason) {
      this.event(o, eventType, reason, message);
    }
  }

  private event(o: StreamPush, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.kube.event(o, type, reason, message, this.options.component).catch((error: unknown) => {
      this.log.debug({ err: error }, 'could not record event');
    });
  }
}

/** An object's identity across delete and re-create under the same name. */
const uidOf = (o: StreamPush): string => o.metadata?.uid ?? keyOfObject(o);

/** A failure that is no media server's refusal (a bug, the API server): tried again with backoff. */
const RECONCILE_FAILED: ErrorPolicy = { reason: 'ReconcileFailed', retry: 'backoff', event: 'Warning' };

const keyOfObject = (o: StreamPush): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
