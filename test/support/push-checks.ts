import { expect } from 'vitest';
import type { PushDescription, PushFailureBody } from '../../src/contracts/pull-api.js';
import { metric } from './metrics.js';
import { listPushes } from './pushes.js';
import { spawnMedia, type MediaProcess } from './media-process.js';
import { rest, waitFor } from './media-server.js';
import { osResources, type OsResources } from './os-resources.js';

/** What a loaded machine may add to a deadline before the REST call answers. */
export const SLACK_MS = 5000;

/** Short push deadlines for deadline tests: each step's own, so a reason can only come from its step. */
export const TEST_DEADLINES = { connect: 1500, handshake: 1500, answer: 1500, ice: 2000, media: 3000 };

/** A media server process whose push/pull deadlines are TEST_DEADLINES. */
export function spawnWithTestDeadlines(): Promise<MediaProcess> {
  const d = TEST_DEADLINES;
  return spawnMedia([
    ...['--push-connect-timeout-ms', String(d.connect), '--push-handshake-timeout-ms', String(d.handshake)],
    ...['--push-answer-timeout-ms', String(d.answer), '--push-ice-timeout-ms', String(d.ice)],
    ...['--push-media-timeout-ms', String(d.media)],
  ]);
}

/** A /pull/push or /pull/pull answer, with how long it took. */
export interface TimedAnswer {
  status: number;
  body: unknown;
  ms: number;
}

/** POSTs a push or pull and times it. */
export async function timedRest(restUrl: string, path: string, body: unknown): Promise<TimedAnswer> {
  const t0 = Date.now();
  const r = await rest(restUrl, path, body);
  return { ...r, ms: Date.now() - t0 };
}

/**
 * A push or pull that failed as it should: 500 with `code` and a reason matching `info`, within the
 * deadlines that apply (`withinMs`) and some slack, listed FAILED with the same code and reason, and
 * counted in `streamfed_push_failures_total`.
 */
export async function expectPushFailed(
  restUrl: string,
  r: TimedAnswer,
  code: string,
  info: RegExp,
  withinMs: number,
): Promise<PushFailureBody> {
  expect(r.status, JSON.stringify(r.body)).toBe(500);
  const body = r.body as PushFailureBody;
  expect(body).toMatchObject({ code, message: expect.stringMatching(info) });
  expect(body.message).not.toMatch(/closed by us/);
  expect(body.push).toMatchObject({ status: 'FAILED', code });
  expect(r.ms).toBeLessThan(withinMs + SLACK_MS);
  const listed = (await listPushes(restUrl)).find(
    (p) => p.localMediaSessionId === body.push.localMediaSessionId,
  );
  expect(listed).toMatchObject({ status: 'FAILED', code, info: expect.stringMatching(info) });
  expect(await metric(restUrl, 'streamfed_push_failures_total', { reason: code })).toBeGreaterThanOrEqual(1);
  return body;
}

/**
 * Terminates every push and pull left (each must be FAILED), then waits for the server's mediasoup
 * transports to be `transports` again and its fds and UDP sockets to be back at `baseline`.
 */
export async function expectNothingLeft(
  media: MediaProcess,
  baseline: OsResources,
  transports: number,
): Promise<void> {
  for (const p of await listPushes(media.restUrl)) {
    expect(p.status, p.remoteStreamName).toBe('FAILED');
    const r = await rest(media.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: p.localMediaSessionId,
    });
    expect(r.status).toBe(200);
  }
  await waitFor(
    async () =>
      (await metric(media.restUrl, 'streamfed_mediasoup_objects', { type: 'transport' })) === transports,
    `only ${transports} transports`,
  );
  // the listening REST socket stays; connections accepted on it are the test's own keep-alive client
  const restPort = Number(new URL(media.restUrl).port);
  await waitFor(() => {
    const now = osResources(media.child.pid!, [restPort]);
    return now.fds <= baseline.fds && (now.sockets['udp'] ?? 0) <= (baseline.sockets['udp'] ?? 0);
  }, 'fds and UDP sockets back to the baseline').catch((error: Error) => {
    throw new Error(
      `${error.message}: ${JSON.stringify({ baseline, now: osResources(media.child.pid!, [restPort]) })}`,
    );
  });
}

/**
 * Kills `target` (the remote of the one push `restUrl` lists) and expects the push FAILED within 5 s with
 * PUSH_ERR_REMOTE_DISCONNECTED, as when a server dies mid-push; returns the FAILED push.
 */
export async function expectFailedOnTargetDeath(
  restUrl: string,
  target: MediaProcess,
): Promise<PushDescription> {
  await target.kill();
  const killedAt = Date.now();
  await waitFor(async () => (await listPushes(restUrl))[0]?.status === 'FAILED', 'push FAILED', 5_000);
  expect(Date.now() - killedAt).toBeLessThan(5_000);
  const [failed] = await listPushes(restUrl);
  expect(failed).toMatchObject({
    code: 'PUSH_ERR_REMOTE_DISCONNECTED',
    info: expect.stringMatching(/remote session ended/),
  });
  return failed!;
}
