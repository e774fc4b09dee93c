import type { PushDescription } from '../../src/media/push/relay.js';
import { rest, waitFor } from '../../test/support/media-server.js';
import { listPushes } from '../../test/support/pushes.js';

/** Calls /pull/push; returns the push's local media session id once the remote says PUBLISHING. */
export async function pushUntilPublishing(
  restUrl: string,
  body: { uri: string; localStreamName: string; remoteStreamName: string },
  pollMs = 100,
): Promise<string> {
  const r = await rest(restUrl, '/rest-api/pull/push', body);
  if (r.status !== 200) throw new Error(`push failed (${r.status}): ${JSON.stringify(r.body)}`);
  const id = (r.body as PushDescription).localMediaSessionId;
  await waitFor(
    async () =>
      (await listPushes(restUrl)).find((p) => p.localMediaSessionId === id)?.status === 'PUBLISHING',
    `push ${body.remoteStreamName} PUBLISHING`,
    15_000,
    pollMs,
  );
  return id;
}

export async function terminatePush(restUrl: string, localMediaSessionId: string): Promise<void> {
  await rest(restUrl, '/rest-api/pull/terminate', { localMediaSessionId });
}
