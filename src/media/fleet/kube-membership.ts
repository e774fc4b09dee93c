import { EventEmitter } from 'node:events';
import type { V1Pod } from '@kubernetes/client-node';
import { SupervisedInformer } from '../../kube/informer.js';
import { restUrlOf } from '../../kube/pod-endpoints.js';
import type { Logger } from '../../log.js';
import type { Membership, MembershipEvents, Peer } from './membership.js';

export interface KubeMembershipOptions {
  namespace: string;
  /** Label selector of the media StatefulSet's pods, e.g. `app.kubernetes.io/name=streamfed,app.kubernetes.io/component=media`. */
  labelSelector: string;
  /** A kubeconfig file; in a pod, unset: the service account's token and CA. */
  kubeconfig?: string | undefined;
  /** The container port whose number is the REST port (default `rest`). */
  portName?: string;
}

/**
 * The members of a fleet in Kubernetes: the pods of the media StatefulSet, watched (list + watch informer)
 * through the API. Pods, not Endpoints: the API refuses loopback addresses in Endpoints, and hostNetwork test
 * clusters have nothing else. A pod is a member while it is Ready, has an IP and is not being deleted; its
 * REST URL is the media pods' one rule (kube/pod-endpoints.ts: the `streamfed.io/rest-url` annotation, else
 * `http://<podIP>:<port named rest>`, moved by the pod's ordinal when its annotations say it was started with
 * --ordinal-port-stride). RBAC: get, list and watch pods in one namespace.
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
    if (this.#closed) return;
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
    // An API server that cannot be reached leaves this server a fleet of one meanwhile (the watch is started
    // again until it works); it never stops it serving its own streams.
    const supervised = new SupervisedInformer(informer, { what: 'pod watch', log: this.#log });
    this.#stop = () => void supervised.stop();
    await supervised.start({ retry: true });
  }

  close(): void {
    this.#closed = true;
    this.#stop?.();
    this.removeAllListeners();
  }

  #update(pod: V1Pod): void {
    const key = pod.metadata?.uid ?? '';
    const restUrl = restUrlOf(pod, this.#options.portName);
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
