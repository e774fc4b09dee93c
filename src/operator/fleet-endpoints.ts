import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { OperatorErrorCode } from '../contracts/error-policy.js';
import { FleetErrorCode } from '../contracts/rest-error.js';
import { restUrlOf, wsUrlOf } from '../kube/pod-endpoints.js';
import type { Logger } from '../log.js';
import type { StreamPushStatus } from './api.js';
import type { DesiredPush, ServiceTarget } from './desired.js';
import { kubeFailure, type Kube } from './kube.js';
import { MediaApiError, type MediaApi } from './media-api.js';

/** A serving pod behind a Service and the URL it answers on. */
export interface Member {
  pod: string;
  url: string;
}

/**
 * Turns the Services a StreamPush names into fleet members, through the Kubernetes API: the Service's
 * selector, the Ready pods it selects, and each pod's URL by the media pods' one rule (src/kube/pod-endpoints.ts:
 * the `streamfed.io/rest-url` / `streamfed.io/ws-url` annotation, else pod IP and the port the Service
 * targets). Pods, not Endpoints or cluster DNS: test clusters have neither DNS nor kube-proxy, and Endpoints
 * refuse loopback addresses. A Service without a selector, or whose pods give no URL, keeps the cluster DNS
 * URL. Answers per Service are shared for `maxAgeMs`, so a resync of many objects reads each Service once.
 */
export class FleetEndpoints {
  readonly #kube: Kube;
  readonly #media: MediaApi;
  readonly #log: Logger;
  readonly #maxAgeMs: number;
  readonly #cache = new Map<string, { at: number; read: Promise<{ service: V1Service; pods: V1Pod[] }> }>();

  constructor(kube: Kube, media: MediaApi, log: Logger, maxAgeMs = 1000) {
    this.#kube = kube;
    this.#media = media;
    this.#log = log;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The REST URLs of the members behind the source Service, sorted by pod name; undefined: use DNS. */
  async sourceMembers(ref: ServiceTarget): Promise<Member[] | undefined> {
    return this.#members(ref, 'rest', (pod, port) => restUrlOf(pod, port));
  }

  /** The WebSocket URLs of the members behind the target Service, sorted by pod name; undefined: use DNS. */
  async targetMembers(ref: ServiceTarget & { scheme: 'ws' | 'wss' }): Promise<Member[] | undefined> {
    return this.#members(ref, ref.scheme, (pod, port) => wsUrlOf(pod, port, ref.scheme));
  }

  /**
   * The push made concrete: the source is the member that originates the stream (asked of every member
   * with FleetPaths.origin), the target one Ready member (the one in `previous` while it stays Ready, else
   * the first by pod name), so a fleet receives the push once. Throws MediaApiError StreamNotFound when no
   * member publishes the stream, SourceUnreachable when none answers.
   */
  async resolve(desired: DesiredPush, previous: StreamPushStatus | undefined): Promise<DesiredPush> {
    const resolved: DesiredPush = { ...desired };
    if (desired.sourceService) {
      const members = await this.sourceMembers(desired.sourceService);
      if (members) {
        const origin = await this.#origin(desired.sourceService, members, desired.localStreamName);
        Object.assign(resolved, { sourceUrl: origin.url, sourcePod: origin.pod });
      }
    }
    if (desired.targetService) {
      const members = await this.targetMembers(desired.targetService);
      const member = members?.find((m) => m.pod === previous?.targetPod) ?? members?.[0];
      if (member) Object.assign(resolved, { uri: member.url, targetPod: member.pod });
    }
    return resolved;
  }

  /** The first member (by pod name) that originates the stream. */
  async #origin(ref: ServiceTarget, members: Member[], name: string): Promise<Member> {
    const answers = await Promise.all(
      members.map((m) =>
        this.#media.isOrigin(m.url, name).then(
          (yes) => ({ member: m, yes, error: undefined }),
          (error: unknown) => ({ member: m, yes: false, error: error as Error }),
        ),
      ),
    );
    const origin = answers.find((a) => a.yes);
    if (origin) return origin.member;
    const failed = answers.filter((a) => a.error);
    for (const a of failed) this.#log.debug({ err: a.error, pod: a.member.pod }, 'origin question failed');
    const service = `Service ${ref.namespace}/${ref.name}`;
    if (failed.length === answers.length) {
      throw new MediaApiError(
        OperatorErrorCode.SOURCE_UNREACHABLE,
        `no member of ${service} answered: ${failed.map((a) => `${a.member.pod}: ${a.error?.message ?? ''}`).join('; ')}`,
      );
    }
    const unanswered = failed.length ? ` (${failed.map((a) => a.member.pod).join(', ')} did not answer)` : '';
    throw new MediaApiError(
      FleetErrorCode.NOT_ORIGIN,
      `no member of ${service} (${members.map((m) => m.pod).join(', ')}) publishes ${JSON.stringify(name)}${unanswered}`,
    );
  }

  async #members(
    ref: ServiceTarget,
    defaultPortName: string,
    urlOf: (pod: V1Pod, port: string | number) => string | undefined,
  ): Promise<Member[] | undefined> {
    const { service, pods } = await this.#read(ref);
    if (!service.spec?.selector || Object.keys(service.spec.selector).length === 0) return undefined;
    const port = targetPortOf(service, ref.port) ?? defaultPortName;
    const members = pods
      .map((pod) => ({ pod: pod.metadata?.name ?? '', url: urlOf(pod, port) }))
      .filter((m): m is Member => m.url !== undefined)
      .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
    return members.length ? members : undefined;
  }

  #read(ref: ServiceTarget): Promise<{ service: V1Service; pods: V1Pod[] }> {
    const key = `${ref.namespace}/${ref.name}`;
    const cached = this.#cache.get(key);
    if (cached && Date.now() - cached.at < this.#maxAgeMs) return cached.read;
    const entry = { at: Date.now(), read: this.#fetch(ref) };
    this.#cache.set(key, entry);
    // a failure is not remembered: the next reconcile asks again
    entry.read.catch(() => {
      if (this.#cache.get(key) === entry) this.#cache.delete(key);
    });
    // old answers are dropped, so the map holds only Services asked about lately
    for (const [k, e] of this.#cache) if (Date.now() - e.at >= this.#maxAgeMs) this.#cache.delete(k);
    return entry.read;
  }

  async #fetch(ref: ServiceTarget): Promise<{ service: V1Service; pods: V1Pod[] }> {
    const what = `Service ${ref.namespace}/${ref.name}`;
    const service = await this.#kube.readService(ref.namespace, ref.name).catch((error: unknown) => {
      throw kubeError(`${what} could not be read`, error);
    });
    const selector = Object.entries(service.spec?.selector ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = selector
      ? await this.#kube.listPods(ref.namespace, selector).catch((error: unknown) => {
          throw kubeError(`the pods of ${what} could not be listed`, error);
        })
      : [];
    return { service, pods };
  }
}

/** An API error as a condition. */
function kubeError(what: string, error: unknown): MediaApiError {
  return new MediaApiError(OperatorErrorCode.SERVICE_UNRESOLVED, `${what}: ${kubeFailure(error)}`);
}

/** The container port (name or number) a Service port targets: `targetPort`, else the port itself. */
function targetPortOf(service: V1Service, port: number): string | number | undefined {
  const p = service.spec?.ports?.find((s) => s.port === port);
  if (!p) return undefined;
  const target = p.targetPort as string | number | undefined;
  return target === undefined || target === '' ? p.port : target;
}
