import type { V1Pod } from '@kubernetes/client-node';

/** The annotation that overrides a pod's REST base URL (for set-ups where pod IP and port do not say it). */
export const REST_URL_ANNOTATION = 'streamfed.io/rest-url';
/** The annotation that overrides a pod's WCS WebSocket URL (for set-ups where pod IP and port do not say it). */
export const WS_URL_ANNOTATION = 'streamfed.io/ws-url';

/** A pod that serves: Ready and not being deleted. */
export function isServingPod(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * One URL of a serving pod: the annotation when set, else `<scheme>://<podIP>:<port>`, the port a number
 * or the name of a container port. Undefined when the pod does not serve or nothing says its URL. An
 * annotation that is no absolute URL of one of `schemes` (with a host, without credentials) makes the pod
 * give no URL at all (rather than fall back to its IP): a mistyped annotation is noticed, not guessed around.
 */
export function podUrlOf(
  pod: V1Pod,
  how: { annotation: string; scheme: string; schemes: readonly string[]; port: string | number },
): string | undefined {
  if (!isServingPod(pod)) return undefined;
  const annotated = pod.metadata?.annotations?.[how.annotation];
  if (annotated !== undefined) return validUrl(annotated.trim().replace(/\/+$/, ''), how.schemes);
  const ip = pod.status?.podIP;
  const port =
    typeof how.port === 'number'
      ? how.port
      : pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === how.port)?.containerPort;
  if (!ip || !port) return undefined;
  return `${how.scheme}://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/** The REST base URL of a pod that is a live media server: `http://<podIP>:<port>` or its annotation. */
export const restUrlOf = (pod: V1Pod, port: string | number = 'rest'): string | undefined =>
  podUrlOf(pod, { annotation: REST_URL_ANNOTATION, scheme: 'http', schemes: ['http', 'https'], port });

/** The WCS WebSocket URL of a pod that is a live media server: `<scheme>://<podIP>:<port>` or its annotation. */
export const wsUrlOf = (pod: V1Pod, port: string | number = 'ws', scheme = 'ws'): string | undefined =>
  podUrlOf(pod, { annotation: WS_URL_ANNOTATION, scheme, schemes: ['ws', 'wss'], port });

function validUrl(text: string, schemes: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  const ok =
    schemes.includes(url.protocol.slice(0, -1)) && url.hostname !== '' && !url.username && !url.password;
  return ok ? text : undefined;
}
