import { EventEmitter } from 'node:events';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../log.js';
import { ordinalPort, podOrdinal } from '../ordinal-ports.js';
import type { Membership, MembershipEvents, Peer } from './membership.js';

export interface KubeMembershipOptions {
  namespace: string;
  /** Label selector of the media StatefulSet's pods, e.g. `app.kubernetes.io/name=streamfed,app.kubernetes.io/component=media`. */
  labelSelector: string;
  /** A kubeconfig file; in a pod, unset: the service account's token and CA. */
  kubeconfig?: string | undefined;
  /** The container port whose number is the REST port (default `rest`). */
  portName?: string;
  /**
   * The pods were started with --ordinal-port-stride: pod `<set>-N` listens on `restPort + N × stride` and
   * declares no container ports, so its REST port is derived from its name the way it derives its own.
   */
  ordinalPorts?: OrdinalRestPort | undefined;
}

/** The REST port every pod of the StatefulSet is configured with, and the stride their ordinals move it by. */
export interface OrdinalRestPort {
  restPort: number;
  stride: number;
}

/** The annotation that overrides a pod's REST base URL (for set-ups where pod IP and port do not say it). */
export const REST_URL_ANNOTATION = 'streamfed.io/rest-url';

/**
 * The members of a fleet in Kubernetes: the pods of the media StatefulSet, watched (list + watch informer)
 * through the API. Pods, not Endpoints: the API refuses loopback addresses in Endpoints, and hostNetwork test
 * clusters have nothing else. A pod is a member while it is Ready, has an IP and is not being deleted; its
 * REST URL is `http://<podIP>:<port named rest>` (with ordinal ports, `<rest port + ordinal × stride>`), or
 * the `streamfed.io/rest-url` annotation. RBAC: get, list and watch pods in one namespace.
 */
export class KubeMembership extends EventEmitter<MembershipEvents> implements Membership {
  readonly #options: KubeMembershipOptions;
  readonly #log: Logger;
  readonly #peers = new Map<string, Peer>();
  #stop: (() => void) | undefined;
  #closed = false;

  constructor(options: KubeMembershipOptions, log: Logger) {
    super();
    this.#options = options;
    this.#log = log.child({ component: 'kube-membership' });
  }

  peers(): Peer[] {
    return [...this.#peers.values()];
  }

  async start(): Promise<void> {
    const k8s = await import('@kubernetes/client-node');
    const config = new k8s.KubeConfig();
    if (this.#options.kubeconfig) config.loadFromFile(this.#options.kubeconfig);
    else config.loadFromCluster();
    const core = config.makeApiClient(k8s.CoreV1Api);
    const { namespace, labelSelector } = this.#options;
    const informer = k8s.makeInformer<V1Pod>(
      config,
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector }),
      labelSelector,
    );
    const update = (pod: V1Pod): void => this.#update(pod);
    informer.on('add', update);
    informer.on('update', update);
    informer.on('delete', (pod) => this.#remove(pod.metadata?.uid ?? ''));
    let restart: NodeJS.Timeout | undefined;
    // client-node's informer stops for good on any error but 410: start it again. An API server that cannot
    // be reached leaves this server a fleet of one meanwhile; it never stops it serving its own streams.
    const retry = (error: unknown): void => {
      if (this.#closed || (error as { name?: string }).name === 'AbortError') return;
      this.#log.warn({ err: error }, 'pod watch failed; restarting');
      clearTimeout(restart);
      restart = setTimeout(() => void informer.start().catch(retry), 1000);
    };
    informer.on('error', retry);
    this.#stop = () => {
      clearTimeout(restart);
      void informer.stop();
    };
    await informer.start().catch(retry);
  }

  close(): void {
    this.#closed = true;
    this.#stop?.();
    this.removeAllListeners();
  }

  #update(pod: V1Pod): void {
    const key = pod.metadata?.uid ?? '';
    const restUrl = restUrlOf(pod, this.#options.portName ?? 'rest', this.#options.ordinalPorts);
    const current = this.#peers.get(key);
    if (current && current.restUrl === restUrl) return;
    if (current) this.#remove(key);
    if (!restUrl) return;
    const peer = { key, restUrl };
    this.#peers.set(key, peer);
    this.#log.info({ pod: pod.metadata?.name, restUrl }, 'fleet member appeared');
    this.emit('added', peer);
  }

  #remove(key: string): void {
    const peer = this.#peers.get(key);
    if (!peer) return;
    this.#peers.delete(key);
    this.#log.info({ restUrl: peer.restUrl }, 'fleet member left');
    this.emit('removed', peer);
  }
}

/** The REST base URL of a pod that is a live member, else undefined. */
export function restUrlOf(pod: V1Pod, portName: string, ordinalPorts?: OrdinalRestPort): string | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return undefined;
  const annotated = pod.metadata?.annotations?.[REST_URL_ANNOTATION];
  if (annotated) return annotated.replace(/\/+$/, '');
  const ip = pod.status?.podIP;
  const port = ordinalPorts ? ordinalRestPortOf(pod, ordinalPorts) : declaredPort(pod, portName);
  if (!ip || !port) return undefined;
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

function declaredPort(pod: V1Pod, portName: string): number | undefined {
  return pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === portName)?.containerPort;
}

function ordinalRestPortOf(pod: V1Pod, { restPort, stride }: OrdinalRestPort): number | undefined {
  const ordinal = podOrdinal(pod.metadata?.name ?? '');
  return ordinal === undefined ? undefined : ordinalPort(restPort, ordinal, stride);
}
