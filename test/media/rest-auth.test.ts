import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnMedia, type MediaProcess } from '../support/media-process.js';
import { rawRequest } from '../support/raw-http.js';

/**
 * Issue 11.1: authorisation is decided on the route that runs, whatever the request's spelling. The route
 * table comes from the server itself (its "rest routes" log line), so a route added later is in the test.
 * Every protected route × every spelling × every credential is sent over a raw socket to a server with auth
 * on; the same spelling sent to a server without auth is the normal answer the credentials must get.
 */

const token = 'spelling-test-token';
const readToken = 'read-only-token';
const user = 'wcs-admin';
const password = 'pa:ss wörd';
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

const good = { bearer: `Bearer ${token}`, basic: basic(user, password), lowercaseScheme: `bearer ${token}` };
const bad = {
  none: undefined,
  wrongBearer: `Bearer ${token}x`,
  tokenWithoutScheme: token,
  basicWrongPassword: basic(user, `${password}x`),
  basicWrongUser: basic(`${user}x`, password),
  tokenAsBasic: `Basic ${Buffer.from(token).toString('base64')}`,
  empty: '',
};

/** A concrete request path for a registered pattern. */
const concrete = (url: string): string => url.replace('/*', '/flashphoner.js');

const encodeChar = (c: string, upperHex = true): string => {
  const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upperHex ? hex.toUpperCase() : hex}`;
};

/** The spellings a scanner tries, each a raw request target. */
function spellings(path: string, origin: string): Record<string, string> {
  const segments = path.split('/').slice(1); // '' before the first '/'
  const [first = '', ...rest] = segments;
  const tail = rest.join('/');
  const join = (...parts: string[]): string => parts.join('/');
  return {
    canonical: path,
    'first letter encoded': `/${encodeChar(first[0] ?? '')}${first.slice(1)}/${tail}`,
    'first letter encoded, lowercase hex': `/${encodeChar(first[0] ?? '', false)}${first.slice(1)}/${tail}`,
    'last letter encoded': `${path.slice(0, -1)}${encodeChar(path.slice(-1))}`,
    'every character encoded': `/${segments.map((s) => [...s].map((c) => encodeChar(c)).join('')).join('/')}`,
    'slashes encoded': `/${segments.join('%2F')}`,
    'slashes encoded, lowercase': `/${segments.join('%2f')}`,
    'dash encoded': path.replace('-', '%2D'),
    'leading double slash': `/${path}`,
    'inner double slash': `/${first}//${tail}`,
    'trailing slash': `${path}/`,
    'dot segment': `/${first}/./${tail}`,
    'dot-dot segment': `/${first}/x/../${tail}`,
    'dot-dot from outside': `/x/../${join(first, tail)}`,
    'encoded dot-dot': `/${first}/x/%2e%2e/${tail}`,
    'upper case': path.toUpperCase(),
    'first segment capitalised': `/${first.charAt(0).toUpperCase()}${first.slice(1)}/${tail}`,
    'semicolon parameter': `${path};jsessionid=1`,
    'semicolon in first segment': `/${first};x/${tail}`,
    'query string': `${path}?a=b`,
    'empty query': `${path}?`,
    'encoded question mark': `${path}%3F`,
    fragment: `${path}#x`,
    'trailing dot': `${path}.`,
    'trailing space encoded': `${path}%20`,
    'trailing NUL encoded': `${path}%00`,
    'trailing tab encoded': `${path}%09`,
    'backslash separator': `/${first}\\${tail}`,
    'absolute form': `${origin}${path}`,
  };
}

interface Route {
  method: string;
  url: string;
}

/** The routes a media process registered, read from its own log line. */
function protectedRoutes(media: MediaProcess): Route[] {
  const line = media
    .output()
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { msg?: string; routes?: string[] };
      } catch {
        return {};
      }
    })
    .find((l) => l.msg === 'rest routes');
  if (!line?.routes) throw new Error('the media server logged no route table');
  return line.routes
    .filter((r) => r.endsWith(' protected'))
    .map((r) => {
      const [method = '', url = ''] = r.split(' ');
      return { method, url };
    });
}

const pick = (r: { status: number; body: string }) => ({ status: r.status, body: r.body });

/** Runs the jobs a few at a time (the server answers them; the machine is shared). */
async function inBatches<T>(jobs: (() => Promise<T>)[], size = 8): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < jobs.length; i += size)
    out.push(...(await Promise.all(jobs.slice(i, i + size).map((j) => j()))));
  return out;
}

describe('REST auth: every protected route, every spelling', () => {
  let secured: MediaProcess;
  let open: MediaProcess;
  beforeAll(async () => {
    [secured, open] = await Promise.all([
      spawnMedia([
        '--rest-token',
        token,
        '--rest-user',
        user,
        '--rest-password',
        password,
        '--rest-protect-metrics',
        '--rest-protect-demo',
        '--rest-read-token',
        readToken,
        '--log-level',
        'debug',
      ]),
      spawnMedia(['--log-level', 'debug']),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([secured?.stop(), open?.stop()]);
  });

  it('the route table covers the REST API, /metrics and the demo pages', () => {
    const routes = protectedRoutes(secured).map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      'POST /rest-api/pull/push',
      'POST /rest-api/pull/terminate',
      'GET /rest-api/pull/find_all',
      'POST /rest-api/stream/terminate',
      'GET /metrics',
      'GET /demo/*',
    ])
      expect(routes).toContain(expected);
    expect(routes).not.toContain('GET /healthz');
    expect(protectedRoutes(open)).toEqual([]);
  });

  it('never answers 2xx without the credentials, and with them answers as a server without auth', async () => {
    const routes = protectedRoutes(secured);
    const origin = secured.restUrl;
    const request = (base: string, method: string, target: string, authorization: string | undefined) =>
      rawRequest(
        base,
        method,
        // the absolute form names the server it is sent to
        target.startsWith(origin) ? base + target.slice(origin.length) : target,
        {
          ...(authorization !== undefined ? { authorization } : {}),
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
          origin: 'http://console.example',
        },
        method === 'POST' ? '{}' : undefined,
      );
    const cases = routes.flatMap((route) =>
      Object.entries(spellings(concrete(route.url), origin)).map(([spelling, target]) => ({
        route,
        spelling,
        target,
      })),
    );
    const leaks: string[] = [];
    const mismatches: string[] = [];
    const reached = new Set<string>();
    await inBatches(
      cases.map(({ route, spelling, target }) => async () => {
        const normal = await request(open.restUrl, route.method, target, undefined);
        const canonical = spelling === 'canonical';
        if (canonical) expect(`${target} ${normal.body}`).not.toMatch(/no route/);
        else if (!/no route/.test(normal.body) && normal.status !== 400 && normal.status !== 0)
          reached.add(spelling);
        for (const [name, authorization] of Object.entries(bad)) {
          const r = await request(secured.restUrl, route.method, target, authorization);
          if (r.status < 400) leaks.push(`${route.method} ${target} [${spelling}] ${name}: ${r.status}`);
          if (r.status === 401 && !r.headers['www-authenticate']?.includes('Basic'))
            leaks.push(`${route.method} ${target}: 401 without a Basic challenge`);
          if (r.status === 401 && r.headers['access-control-allow-origin'] !== '*')
            leaks.push(`${route.method} ${target}: 401 a browser app cannot read (no CORS headers)`);
        }
        for (const [name, authorization] of Object.entries(good)) {
          const r = await request(secured.restUrl, route.method, target, authorization);
          if (r.status !== normal.status)
            mismatches.push(
              `${route.method} ${target} [${spelling}] ${name}: ${r.status}, normal ${normal.status}`,
            );
        }
      }),
    );
    expect(leaks).toEqual([]);
    expect(mismatches).toEqual([]);
    // the table holds spellings that really reach the routes, so it would have caught the raw-URL prefix check
    expect([...reached]).toEqual(
      expect.arrayContaining(['first letter encoded', 'every character encoded', 'absolute form']),
    );
  }, 300_000);

  it('read-only credentials read as a server without auth, and every other route answers 403 READ_ONLY', async () => {
    const routes = protectedRoutes(secured);
    const send = (base: string, route: Route, authorization?: string) =>
      rawRequest(
        base,
        route.method,
        concrete(route.url),
        {
          ...(authorization !== undefined ? { authorization } : {}),
          ...(route.method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        route.method === 'POST' ? '{}' : undefined,
      );
    const reads: string[] = [];
    const answers = await inBatches(
      routes.map((route) => async () => {
        const read = await send(secured.restUrl, route, `Bearer ${readToken}`);
        if (read.status === 403) {
          // a HEAD answer has no body: its GET twin shows the code
          if (route.method === 'HEAD') return undefined;
          expect(JSON.parse(read.body), `${route.method} ${route.url}`).toMatchObject({
            statusCode: 403,
            code: 'STREAMFED_ERR_READ_ONLY',
          });
          return undefined;
        }
        reads.push(`${route.method} ${route.url}`);
        return { route, status: read.status, normal: (await send(open.restUrl, route)).status };
      }),
    );
    for (const a of answers) if (a) expect(a.status, `${a.route.method} ${a.route.url}`).toBe(a.normal);
    // reads: the finds, the console's state, the metrics, the demo pages; changes: pushes, terminates, relays
    expect(reads).toEqual(
      expect.arrayContaining([
        'GET /rest-api/pull/find_all',
        'POST /rest-api/stream/find_all',
        'GET /rest-api/console/state',
        'GET /metrics',
      ]),
    );
    for (const change of [
      'POST /rest-api/pull/push',
      'POST /rest-api/pull/terminate',
      'POST /rest-api/stream/terminate',
    ])
      expect(reads).not.toContain(change);
    // the console learns what it may offer
    const state = async (authorization: string) =>
      JSON.parse(
        (await send(secured.restUrl, { method: 'GET', url: '/rest-api/console/state' }, authorization)).body,
      ) as { access: string };
    expect((await state(`Bearer ${readToken}`)).access).toBe('read');
    expect((await state(`Bearer ${token}`)).access).toBe('write');
  }, 120_000);

  it('on every route: unknown fields are ignored, every find and find_all answers GET as POST', async () => {
    const routes = protectedRoutes(secured).filter((r) => r.url.startsWith('/rest-api/'));
    const post = (url: string, body: string) =>
      rawRequest(open.restUrl, 'POST', url, { 'content-type': 'application/json;charset=UTF-8' }, body);
    for (const { url } of routes.filter((r) => r.method === 'POST')) {
      const plain = await post(url, '{}');
      const extra = await post(url, '{"zzNotAWcsField":{"x":[1]},"display":["metrics"]}');
      expect({ url, status: extra.status, body: extra.body }).toEqual({
        url,
        status: plain.status,
        body: plain.body,
      });
    }
    const finds = routes.filter((r) => /\/find(_all)?$/.test(r.url));
    expect(finds.length).toBeGreaterThanOrEqual(4);
    for (const { url } of finds) {
      expect(routes).toContainEqual({ method: 'GET', url });
      expect(routes).toContainEqual({ method: 'POST', url });
      const get = await rawRequest(open.restUrl, 'GET', url);
      expect({ url, status: get.status, body: get.body }).toEqual({ url, ...pick(await post(url, '')) });
    }
  });

  it('refuses before reading the body, so a prober learns nothing from malformed bodies', async () => {
    for (const url of ['/rest-api/pull/push', '/rest-api/no/such/route', '/nothing']) {
      const r = await rawRequest(
        secured.restUrl,
        'POST',
        url,
        { 'content-type': 'application/json' },
        '{bad',
      );
      expect({ url, status: r.status }).toEqual({ url, status: 401 });
    }
  });

  it('keeps the probes open and answers a preflight without credentials', async () => {
    expect((await rawRequest(secured.restUrl, 'GET', '/healthz')).status).toBe(200);
    expect((await rawRequest(secured.restUrl, 'GET', '/readyz')).status).toBe(200);
    const preflight = await rawRequest(secured.restUrl, 'OPTIONS', '/rest-api/pull/find_all', {
      origin: 'http://console.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, authorization',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
  });

  it('never logs the secrets', () => {
    for (const secret of [token, password, good.basic.slice(6)])
      expect(secured.output()).not.toContain(secret);
  });
});
