import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';

/** Creates the pod and marks it Running and Ready through the status subresource, as kubelet would. */
export async function createReadyPod(core: CoreV1Api, namespace: string, body: V1Pod): Promise<void> {
  const created = await core.createNamespacedPod({ namespace, body });
  await setPodReady(core, namespace, created, true);
}

/** Sets the pod's Ready condition (Running, IP 127.0.0.1) through the status subresource, as kubelet would. */
export async function setPodReady(
  core: CoreV1Api,
  namespace: string,
  pod: V1Pod | string,
  ready: boolean,
): Promise<void> {
  const current = typeof pod === 'string' ? await core.readNamespacedPod({ name: pod, namespace }) : pod;
  await core.replaceNamespacedPodStatus({
    name: current.metadata?.name ?? '',
    namespace,
    body: {
      ...current,
      status: {
        phase: 'Running',
        podIP: '127.0.0.1',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      },
    },
  });
}
