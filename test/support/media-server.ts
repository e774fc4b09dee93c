import type { PushDescription } from '../../src/contracts/pull-api.js';
import { createLogger } from '../../src/log.js';
import { mediaDefaults, withOverrides, type MediaConfigOverrides } from '../../src/media/media-options.js';
import { MediaServer } from '../../src/media/media-server.js';

export interface RunningMedia {
  server: MediaServer;
  wsUrl: string;
  wssUrl?: string;
  restUrl: string;
  stop(): Promise<void>;
}

let nextRtcPort = 42000;

/**
 * A media server in this process, on 127.0.0.1 (or the `listen.ip` given, which its URLs then name) with
 * OS-chosen ports, a private RTC port range and two workers;
 * everything else the defaults (media-options.ts), each group's fields overridable.
 */
export async function startMedia(overrides: MediaConfigOverrides = {}): Promise<RunningMedia> {
  const rtcMinPort = nextRtcPort;
  nextRtcPort += 500;
  const testing = withOverrides(mediaDefaults, {
    listen: {
      ip: '127.0.0.1',
      announcedIps: ['127.0.0.1'],
      rtcPort: 0,
      rtcMinPort,
      rtcMaxPort: rtcMinPort + 499,
      workers: 2,
    },
    signalling: { wsPort: 0, wssPort: 0 },
    rest: { port: 0, tlsPort: 0 },
    push: { allow: ['127.0.0.0/8'] },
  });
  const config = withOverrides(testing, overrides);
  const log = createLogger((process.env['TEST_LOG_LEVEL'] as 'warn' | undefined) ?? 'warn', 'test-media');
  const { server, addresses } = await MediaServer.start({ config, log });
  const host = config.listen.ip;
  return {
    server,
    wsUrl: `ws://${host}:${addresses.wsPort}`,
    ...(addresses.wssPort ? { wssUrl: `wss://${host}:${addresses.wssPort}` } : {}),
    restUrl: `http://${host}:${addresses.restPort}`,
    stop: () => server.stop(),
  };
}

/** POSTs JSON to a REST endpoint; returns status and parsed body (or text). */
export async function rest(
  baseUrl: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

/** The pushes and pulls a media server lists (/rest-api/pull/find_all); [] when it has none (its 404). */
export async function findPushes(restUrl: string): Promise<PushDescription[]> {
  const r = await rest(restUrl, '/rest-api/pull/find_all');
  return r.status === 200 ? (r.body as PushDescription[]) : [];
}

/** Polls until check() returns a truthy value or the time is up. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until the server holds no transports (of any type), producers or consumers: nothing leaked. */
export async function waitMediaReleased(media: RunningMedia): Promise<void> {
  await waitFor(() => {
    const { transport, pipe_transport, direct_transport, producer, consumer } =
      media.server.engine.objectCounts();
    return transport + pipe_transport + direct_transport + producer + consumer === 0;
  }, 'mediasoup objects released');
}
