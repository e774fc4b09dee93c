import type { SecretKeyRef, StreamPush, TargetKind } from './api.js';
import type { PushIdentity } from './media-api.js';

/** A Service a StreamPush names, with its defaults filled in. */
export interface ServiceTarget {
  namespace: string;
  name: string;
  port: number;
}

export interface DesiredPush extends PushIdentity {
  sourceUrl: string;
  /** `whip` for spec.target.whip (uri is its url), `wcs` for target.uri and target.service. */
  kind: TargetKind;
  /** spec.target.whip.tokenSecretRef: the Secret key (in the StreamPush's namespace) holding its bearer token. */
  tokenSecretRef?: SecretKeyRef | undefined;
  custom?: Record<string, unknown> | undefined;
  /** spec.source.service: the fleet behind it is searched for the member that publishes the stream. */
  sourceService?: ServiceTarget | undefined;
  /** spec.target.service: the push goes into one member of the fleet behind it. */
  targetService?: (ServiceTarget & { scheme: 'ws' | 'wss' }) | undefined;
  /** The pod the push runs from / goes into, once a Service has been resolved to one. */
  sourcePod?: string | undefined;
  targetPod?: string | undefined;
}

export class SpecError extends Error {
  override readonly name = 'SpecError';
}

/**
 * What a StreamPush asks for, with Service references turned into cluster DNS names (what is used when
 * the Service's pods cannot be read: see FleetEndpoints). The API server's schema already checked shapes;
 * this checks again what the schema says with min/maxProperties (exactly one source, one target).
 */
export function desiredPush(o: StreamPush, clusterDomain: string): DesiredPush {
  const ns = o.metadata?.namespace ?? 'default';
  const { source, target, localStreamName } = o.spec;
  exactlyOne('source', { restUrl: source.restUrl, service: source.service });
  exactlyOne('target', { uri: target.uri, service: target.service, whip: target.whip });
  const dns = (s: ServiceTarget): string => `${s.name}.${s.namespace}.svc.${clusterDomain}:${s.port}`;
  const sourceService = source.service && {
    namespace: source.service.namespace ?? ns,
    name: source.service.name,
    port: source.service.port ?? 8081,
  };
  const targetService = target.service && {
    namespace: target.service.namespace ?? ns,
    name: target.service.name,
    port: target.service.port ?? 8080,
    scheme: target.service.scheme ?? 'ws',
  };
  return {
    sourceUrl: sourceService ? `http://${dns(sourceService)}` : (source.restUrl as string),
    uri: targetService
      ? `${targetService.scheme}://${dns(targetService)}`
      : (target.whip?.url ?? (target.uri as string)),
    kind: target.whip ? 'whip' : 'wcs',
    ...(target.whip?.tokenSecretRef ? { tokenSecretRef: target.whip.tokenSecretRef } : {}),
    localStreamName,
    remoteStreamName: o.spec.remoteStreamName ?? localStreamName,
    ...(o.spec.custom ? { custom: o.spec.custom } : {}),
    ...(sourceService ? { sourceService } : {}),
    ...(targetService ? { targetService } : {}),
  };
}

function exactlyOne(what: string, fields: Record<string, unknown>): void {
  const names = Object.keys(fields);
  if (names.filter((f) => fields[f] !== undefined).length !== 1)
    throw new SpecError(`spec.${what} must set exactly one of: ${names.join(', ')}`);
}
