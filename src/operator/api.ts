import type { KubernetesObject } from '@kubernetes/client-node';

/** The StreamPush API (crds/streampush.yaml). */
export const GROUP = 'streamfed.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'streampushes';
export const KIND = 'StreamPush';
export const FINALIZER = 'streamfed.io/terminate-push';

export interface ServiceRef {
  name: string;
  namespace?: string;
  port?: number;
}

export interface StreamPushSpec {
  source: { restUrl?: string; service?: ServiceRef };
  localStreamName: string;
  target: { uri?: string; service?: ServiceRef & { scheme?: 'ws' | 'wss' } };
  remoteStreamName?: string;
  /** Passed to the target as the SDK's `custom` (its REST hooks see it). */
  custom?: Record<string, unknown>;
  retry?: { initialDelaySeconds?: number; maxDelaySeconds?: number };
}

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type Phase = 'Pending' | 'Active' | 'Failed' | 'Terminating';

export interface StreamPushStatus {
  phase?: Phase;
  observedGeneration?: number;
  localMediaSessionId?: string;
  remoteMediaSessionId?: string;
  sourceUrl?: string;
  targetUri?: string;
  /** The fleet member (pod) the push runs from, when the source is a Service. */
  sourcePod?: string;
  /** The fleet member (pod) the push goes into, when the target is a Service. */
  targetPod?: string;
  pushStatus?: string;
  /** What the target acknowledges receiving: waiting, delivering, stalled. */
  delivery?: string;
  lastError?: string;
  attempts?: number;
  conditions?: Condition[];
}

export interface StreamPush extends KubernetesObject {
  spec: StreamPushSpec;
  status?: StreamPushStatus;
}

export const keyOf = (o: KubernetesObject): string =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
