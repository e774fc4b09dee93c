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

/** A key of a Secret in the StreamPush's own namespace. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/** A WHIP endpoint (RFC 9725) as a push target; its bearer token comes from a Secret. */
export interface WhipTarget {
  url: string;
  tokenSecretRef?: SecretKeyRef;
}

/** What speaks to the target: WCS's WebSocket protocol (target.uri, target.service) or WHIP (target.whip). */
export type TargetKind = 'wcs' | 'whip';

export interface StreamPushSpec {
  source: { restUrl?: string; service?: ServiceRef };
  localStreamName: string;
  /** Exactly one of the three (the CRD's schema and desired.ts both say so). */
  target: { uri?: string; service?: ServiceRef & { scheme?: 'ws' | 'wss' }; whip?: WhipTarget };
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
  /** Which protocol the push speaks to its target (the `Kind` printer column). */
  targetKind?: TargetKind;
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
