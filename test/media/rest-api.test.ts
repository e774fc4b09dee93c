import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMedia, type RunningMedia } from '../support/media-server.js';
import { scrapeMetrics } from '../support/metrics.js';

// Refusals (auth, bad input) and their codes and messages: test/media/rest-error-codes.test.ts.
describe('REST API: health, readiness and metrics', () => {
  let media: RunningMedia;
  const token = 'test-token-do-not-log';
  beforeAll(async () => {
    media = await startMedia({ rest: { token } });
  });
  afterAll(async () => media?.stop());

  it('serves health, readiness and metrics without the token', async () => {
    expect(await (await fetch(`${media.restUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${media.restUrl}/readyz`)).json()).toEqual({ status: 'ready' });
    const metrics = await scrapeMetrics(media.restUrl);
    expect(metrics.value('streamfed_ws_sessions')).toBe(0);
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metrics.text).not.toContain(token);
  });
});
