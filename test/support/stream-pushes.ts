import type { StreamPush } from '../../src/operator/api.js';
import { kubectl } from './kubectl.js';
import { waitFor } from './media-server.js';

/** A StreamPush as the API server has it (kubectl get); undefined when there is none, an error otherwise. */
export async function getStreamPush(
  kubeconfig: string,
  name: string,
  namespace?: string,
): Promise<StreamPush | undefined> {
  const r = await kubectl(kubeconfig, [
    ...(namespace ? ['-n', namespace] : []),
    'get',
    'streampush',
    name,
    '-o',
    'json',
  ]);
  if (r.code === 0) return JSON.parse(r.stdout) as StreamPush;
  if (r.stderr.includes('(NotFound)')) return undefined;
  throw new Error(`kubectl get streampush ${name}: ${r.stderr}`);
}

/** Polls a StreamPush until `check` holds for it; resolves with it. */
export function waitStreamPush(
  kubeconfig: string,
  name: string,
  what: string,
  check: (o: StreamPush) => boolean,
  options: { namespace?: string; timeoutMs?: number; intervalMs?: number } = {},
): Promise<StreamPush> {
  return waitFor(
    async () => {
      const o = await getStreamPush(kubeconfig, name, options.namespace);
      return o && check(o) ? o : undefined;
    },
    what,
    options.timeoutMs ?? 30_000,
    options.intervalMs ?? 250,
  );
}

/** Is the StreamPush Active (its push PUBLISHING)? */
export const isActive = (o: StreamPush): boolean => o.status?.phase === 'Active';
