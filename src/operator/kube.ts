import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  setHeaderOptions,
  type KubeConfig,
  type V1Lease,
  type V1Pod,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type StreamPush, type StreamPushStatus } from './api.js';
import { KeepAliveAuthentication } from './kube-agents.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** HTTP status of a client-node error (ApiException.code), if it has one. */
export const httpCode = (error: unknown): number | undefined => (error as { code?: number }).code;

/** Why a read failed, for a condition: the HTTP status, not client-node's message (which carries the whole response). */
export function kubeFailure(error: unknown): string {
  const code = httpCode(error);
  return code === 404
    ? 'not found'
    : code === 403
      ? 'forbidden (RBAC)'
      : code
        ? `HTTP ${code}`
        : (error as Error).message;
}

/** The few Kubernetes calls the operator makes, in one place. */
export class Kube {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;

  private readonly auth: KeepAliveAuthentication;

  constructor(readonly config: KubeConfig) {
    // what config.makeApiClient does, with connections kept between requests
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.auth = new KeepAliveAuthentication(config);
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: this.auth },
    });
    this.custom = new CustomObjectsApi(configuration);
    this.core = new CoreV1Api(configuration);
    this.coordination = new CoordinationV1Api(configuration);
  }

  /** Closes the connections kept to the API server. */
  close(): void {
    this.auth.close();
  }

  async listStreamPushes(
    namespace: string | undefined,
  ): Promise<{ items: StreamPush[]; metadata?: { resourceVersion?: string } }> {
    const list = namespace
      ? await this.custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace,
        })
      : await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });
    return list as { items: StreamPush[] };
  }

  /** Writes status through the status subresource (merge patch: only what we own). */
  async patchStatus(o: StreamPush, status: StreamPushStatus): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus({ ...this.ref(o), body: { status } }, mergePatch);
  }

  /** Replaces the finalizer list, guarded by resourceVersion so a concurrent change is not lost. */
  async setFinalizers(o: StreamPush, finalizers: string[]): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { ...this.ref(o), body: { metadata: { finalizers, resourceVersion: o.metadata?.resourceVersion } } },
      mergePatch,
    );
  }

  async event(
    o: StreamPush,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    component: string,
  ): Promise<void> {
    const now = new Date();
    const namespace = o.metadata?.namespace ?? 'default';
    await this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${o.metadata?.name ?? 'streampush'}.`, namespace },
        involvedObject: {
          apiVersion: o.apiVersion ?? `${GROUP}/${VERSION}`,
          kind: o.kind ?? 'StreamPush',
          name: o.metadata?.name ?? '',
          namespace,
          uid: o.metadata?.uid ?? '',
          resourceVersion: o.metadata?.resourceVersion ?? '',
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component },
        reportingComponent: component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }

  readService(namespace: string, name: string): Promise<V1Service> {
    return this.core.readNamespacedService({ namespace, name });
  }
  async listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace, labelSelector })).items;
  }
  readSecret(namespace: string, name: string): Promise<V1Secret> {
    return this.core.readNamespacedSecret({ namespace, name });
  }

  readLease(namespace: string, name: string): Promise<V1Lease> {
    return this.coordination.readNamespacedLease({ namespace, name });
  }
  createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace, body });
  }
  replaceLease(namespace: string, name: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({ namespace, name, body });
  }

  private ref(o: StreamPush): {
    group: string;
    version: string;
    plural: string;
    namespace: string;
    name: string;
  } {
    return {
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: o.metadata?.namespace ?? 'default',
      name: o.metadata?.name ?? '',
    };
  }
}
