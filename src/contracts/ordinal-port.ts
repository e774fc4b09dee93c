/**
 * The ordinal-port rule of media pods started with --ordinal-port-stride S: pod `<set>-N` of a StatefulSet
 * listens on each configured TCP port + N × S. The pod applies it to itself (media/ordinal-ports.ts), and
 * whoever finds pods through the API (the fleet's members, the operator) applies it to the ports the pod's
 * annotations declare (kube/pod-endpoints.ts), so both sides compute the same port.
 */

/** The StatefulSet ordinal a pod name ends with (`<set>-<N>`), else undefined. */
export function podOrdinal(podName: string): number | undefined {
  const match = /-(\d+)$/.exec(podName);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** A TCP port of the pod with this ordinal: the configured port + ordinal × stride. */
export function ordinalPort(port: number, ordinal: number, stride: number): number {
  return port + ordinal * stride;
}
