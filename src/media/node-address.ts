import type { V1Node } from '@kubernetes/client-node';
import { UsageError } from '../config/options.js';
import { StreamfedError } from './errors.js';

/** A Node without the address asked for, or a Node that cannot be read: the server does not start. */
export const NODE_ADDRESS_UNAVAILABLE = 'STREAMFED_ERR_NODE_ADDRESS';

/** Which address of its Node a media server announces (`--announced-node-address`). */
export type NodeAddressSource = { type: 'InternalIP' | 'ExternalIP' } | { annotation: string };

/** `InternalIP`, `ExternalIP` or `annotation:<key>`. */
export function parseNodeAddressSource(value: string): NodeAddressSource {
  if (value === 'InternalIP' || value === 'ExternalIP') return { type: value };
  const key = /^annotation:(.+)$/.exec(value)?.[1];
  if (key) return { annotation: key };
  throw new UsageError(
    `--announced-node-address must be InternalIP, ExternalIP or annotation:<key>, got "${value}"`,
  );
}

const describeSource = (source: NodeAddressSource): string =>
  'type' in source ? `${source.type} address` : `annotation ${source.annotation}`;

/** The address the source names on the Node; fails closed (no fallback to another address). */
export function addressOfNode(node: V1Node, source: NodeAddressSource): string {
  const name = node.metadata?.name ?? '?';
  const found =
    'type' in source
      ? node.status?.addresses?.find((a) => a.type === source.type)?.address
      : node.metadata?.annotations?.[source.annotation]?.trim();
  if (!found)
    throw new StreamfedError(NODE_ADDRESS_UNAVAILABLE, 500, `node ${name} has no ${describeSource(source)}`);
  return found;
}

/**
 * Reads this server's Node (RBAC: get on nodes) and returns the address to announce. `kubeconfig`: a file,
 * else the pod's service account.
 */
export async function readNodeAddress(options: {
  nodeName: string;
  source: NodeAddressSource;
  kubeconfig?: string | undefined;
}): Promise<string> {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromCluster();
  let node: V1Node;
  try {
    node = await config.makeApiClient(k8s.CoreV1Api).readNode({ name: options.nodeName });
  } catch (error) {
    throw new StreamfedError(
      NODE_ADDRESS_UNAVAILABLE,
      500,
      `cannot read node ${options.nodeName} for its ${describeSource(options.source)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return addressOfNode(node, options.source);
}
