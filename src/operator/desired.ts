import type { StreamPush } from './api.js';
import type { PushIdentity } from './media-api.js';

export interface DesiredPush extends PushIdentity {
  sourceUrl: string;
  custom?: Record<string, unknown> | undefined;
}

export class SpecError extends Error {
  override readonly name = 'SpecError';
}

/**
 * What a StreamPush asks for, with Service references turned into cluster DNS names. The API server's
 * schema already checked shapes; this checks what the schema cannot (exactly one of two fields).
 */
export function desiredPush(o: StreamPush, clusterDomain: string): DesiredPush {
  const ns = o.metadata?.namespace ?? 'default';
  const { source, target, localStreamName } = o.spec;
  const sourceUrl = exactlyOne(
    'source',
    source.restUrl,
    source.service,
    (s) => `http://${s.name}.${s.namespace ?? ns}.svc.${clusterDomain}:${s.port ?? 8081}`,
  );
  const uri = exactlyOne(
    'target',
    target.uri,
    target.service,
    (s) => `${s.scheme ?? 'ws'}://${s.name}.${s.namespace ?? ns}.svc.${clusterDomain}:${s.port ?? 8080}`,
  );
  return {
    sourceUrl,
    uri,
    localStreamName,
    remoteStreamName: o.spec.remoteStreamName ?? localStreamName,
    ...(o.spec.custom ? { custom: o.spec.custom } : {}),
  };
}

function exactlyOne<S>(
  what: string,
  url: string | undefined,
  service: S | undefined,
  toUrl: (s: S) => string,
): string {
  if ((url === undefined) === (service === undefined)) {
    throw new SpecError(
      `spec.${what} must set exactly one of ${what === 'source' ? 'restUrl' : 'uri'} and service`,
    );
  }
  return url ?? toUrl(service as S);
}
