import type { V1Pod } from '@kubernetes/client-node';
import { ordinalPort, podOrdinal } from '../contracts/ordinal-port.js';

/** The annotation that overrides a pod's REST base URL (for set-ups where pod IP and port do not say it). */
export const REST_URL_ANNOTATION = 'streamfed.io/rest-url';
/** The annotation that overrides a pod's WCS WebSocket URL (for set-ups where pod IP and port do not say it). */
export const WS_URL_ANNOTATION = 'streamfed.io/ws-url';

/**
 * On media pods started with --ordinal-port-stride (the chart's `media.ordinalPortStride`): the stride. Such
 * pods declare no container ports (each pod of the set listens elsewhere); {@link PORTS_ANNOTATION} gives the
 * configured ports, and pod `<set>-N` listens on each + N × stride.
 */
export const ORDINAL_PORT_STRIDE_ANNOTATION = 'streamfed.io/ordinal-port-stride';
/** With {@link ORDINAL_PORT_STRIDE_ANNOTATION}: the configured ports by name, JSON, e.g. `{"ws":8080,"rest":8081}`. */
export const PORTS_ANNOTATION = 'streamfed.io/ports';

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
  const port = podPortOf(pod, how.port);
  if (!ip || !port) return undefined;
  return `${how.scheme}://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/** The REST base URL of a pod that is a live media server: `http://<podIP>:<port>` or its annotation. */
export const restUrlOf = (pod: V1Pod, port: string | number = 'rest'): string | undefined =>
  podUrlOf(pod, { annotation: REST_URL_ANNOTATION, scheme: 'http', schemes: ['http', 'https'], port });

/** The WCS WebSocket URL of a pod that is a live media server: `<scheme>://<podIP>:<port>` or its annotation. */
export const wsUrlOf = (pod: V1Pod, port: string | number = 'ws', scheme = 'ws'): string | undefined =>
  podUrlOf(pod, { annotation: WS_URL_ANNOTATION, scheme, schemes: ['ws', 'wss'], port });

/**
 * Where the pod listens for a port given by number or container-port name: with the ordinal-port
 * annotations, the configured port (that number, or the named one in {@link PORTS_ANNOTATION}) moved by the
 * pod's ordinal; else the number itself or the container port of that name.
 */
function podPortOf(pod: V1Pod, port: string | number): number | undefined {
  const annotations = pod.metadata?.annotations ?? {};
  const strideText = annotations[ORDINAL_PORT_STRIDE_ANNOTATION];
  if (strideText !== undefined) {
    const stride = Number(strideText);
    const ordinal = podOrdinal(pod.metadata?.name ?? '');
    const base = typeof port === 'number' ? port : configuredPorts(annotations[PORTS_ANNOTATION])[port];
    const ok = Number.isInteger(stride) && stride >= 0 && ordinal !== undefined && Number.isInteger(base);
    const moved = ok ? ordinalPort(base!, ordinal!, stride) : undefined;
    return moved !== undefined && moved > 0 && moved <= 65535 ? moved : undefined;
  }
  if (typeof port === 'number') return port;
  return pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port)?.containerPort;
}

function configuredPorts(text: string | undefined): Record<string, number | undefined> {
  try {
    const parsed: unknown = JSON.parse(text ?? '{}');
    return parsed !== null && typeof parsed === 'object'
      ? (parsed as Record<string, number | undefined>)
      : {};
  } catch {
    return {};
  }
}

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
