import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { WhipPath } from '../../contracts/whip-http.js';
import { ReadOnlyError, UnauthorizedError } from '../errors.js';
import { sameSecret } from '../same-secret.js';

export interface RestAuthOptions {
  /** `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** `Authorization: Bearer <token>` that may only read (readRoute): a change answers 403 READ_ONLY. */
  readToken?: string | undefined;
  /** `Authorization: Basic base64(user:password)`, WCS's scheme when its REST auth is on. */
  basic?: { user: string; password: string } | undefined;
  /** Also protect /metrics (a Prometheus scrape then needs the credentials). */
  protectMetrics?: boolean | undefined;
  /** Also protect the demo pages under /demo/. */
  protectDemo?: boolean | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request's credentials allow (rest-auth.ts); 'write' when no credentials are configured. */
    restAccess: RestAccess | undefined;
  }
}

/** A route as registered: its method(s) and its pattern, not the spelling of any request. */
export interface RegisteredRoute {
  method: string;
  url: string;
  protected: boolean;
}

/**
 * Probes answer kubelets, which carry no credentials. WHIP/WHEP clients carry their own bearer token, which
 * the REST hooks judge (src/media/whip/), never the REST credentials.
 */
const alwaysPublic = new Set<string>(['/healthz', '/readyz', ...Object.values(WhipPath)]);

/** What credentials allow: every route, or only those that read. */
export type RestAccess = 'write' | 'read';

/**
 * The routes read-only credentials may call: lists and finds, the console's state, WCS's statistics and the
 * metrics. Everything else (push, pull, terminate, the fleet's relay calls, routes added later) is a change.
 */
export function readRoute(url: string): boolean {
  return (
    /\/find(_all)?$/.test(url) ||
    url === '/' ||
    url === '/metrics' ||
    url.startsWith('/rest-api/console/') ||
    url === '/demo' ||
    url.startsWith('/demo/')
  );
}

/** The credentials the REST side accepts; the configured secrets never leave this object. */
export class RestCredentials {
  readonly #token: string | undefined;
  readonly #readToken: string | undefined;
  readonly #basic: { user: string; password: string } | undefined;

  constructor(options: RestAuthOptions) {
    this.#token = options.token || undefined;
    this.#readToken = options.readToken || undefined;
    this.#basic = options.basic && options.basic.user !== '' ? options.basic : undefined;
  }

  get configured(): boolean {
    return this.#token !== undefined || this.#readToken !== undefined || this.#basic !== undefined;
  }

  /** What an Authorization header's credentials allow; undefined when it carries none of the accepted ones. */
  access(header: string | undefined): RestAccess | undefined {
    if (header === undefined) return undefined;
    const match = /^([A-Za-z]+) +(.+)$/.exec(header);
    if (!match) return undefined;
    const scheme = (match[1] ?? '').toLowerCase();
    const value = match[2] ?? '';
    if (scheme === 'bearer') {
      // both compared, always: the time taken says nothing about which one it was close to
      const write = this.#token !== undefined && sameSecret(value, this.#token);
      const read = this.#readToken !== undefined && sameSecret(value, this.#readToken);
      return write ? 'write' : read ? 'read' : undefined;
    }
    if (scheme === 'basic' && this.#basic !== undefined) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      // both halves compared, always, so the time taken says nothing about which one was wrong
      const userOk = sameSecret(decoded.slice(0, colon), this.#basic.user);
      const passwordOk = sameSecret(decoded.slice(colon + 1), this.#basic.password);
      return userOk && passwordOk ? 'write' : undefined;
    }
    return undefined;
  }

  /** The WWW-Authenticate challenge of a 401. */
  challenge(): string {
    const schemes: string[] = [];
    if (this.#basic) schemes.push('Basic realm="streamfed", charset="UTF-8"');
    if (this.#token || this.#readToken) schemes.push('Bearer realm="streamfed"');
    return schemes.join(', ');
  }
}

/**
 * Authorisation decided on the route that will run, never on the request's spelling: every route gets, when
 * it is registered, an onRequest check unless it is public by its registered pattern. So `/%72est-api/...`,
 * `//rest-api/...` or whatever else the router resolves to a protected route meets the same check, and a
 * route added later is protected unless made public here. A request that matches no route (404) is answered
 * 401 without credentials too (fail closed: nothing about the route table leaks). Returns the registered
 * routes, filled in as routes are added.
 */
export function installRouteAuth(app: FastifyInstance, options: RestAuthOptions): RegisteredRoute[] {
  const credentials = new RestCredentials(options);
  // without credentials configured, every caller may change things
  app.decorateRequest('restAccess', credentials.configured ? undefined : 'write');
  const routes: RegisteredRoute[] = [];
  const isPublic = (route: RouteOptions): boolean => {
    if (!credentials.configured) return true;
    // CORS preflights carry no credentials by the Fetch standard; @fastify/cors's OPTIONS route answers them
    if (route.method === 'OPTIONS') return true;
    if (alwaysPublic.has(route.url)) return true;
    if (route.url === '/metrics') return !options.protectMetrics;
    if (route.url === '/demo' || route.url.startsWith('/demo/')) return !options.protectDemo;
    // the console's page and files hold no data: the page asks for credentials, its data calls need them
    if (route.url.startsWith('/console/')) return true;
    return false;
  };
  /** The credentials' access (kept on the request as `restAccess`), or 401. */
  const authenticate = (request: FastifyRequest, reply: FastifyReply): RestAccess => {
    const access = credentials.access(request.headers.authorization);
    if (access === undefined) {
      void reply.header('www-authenticate', credentials.challenge());
      throw new UnauthorizedError('missing or wrong credentials (Authorization: Bearer or Basic)');
    }
    request.restAccess = access;
    return access;
  };
  const authorize = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const access = authenticate(request, reply);
    const url = request.routeOptions.url ?? '';
    if (access === 'read' && !request.is404 && !readRoute(url))
      throw new ReadOnlyError(`these credentials may only read: ${request.method} ${url} changes things`);
  };
  // `/` is the console's page, public like its files, unless it is asked WCS's statistics (`?action=...`)
  const authorizeAction = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if ((request.query as { action?: unknown } | undefined)?.action !== undefined)
      await authorize(request, reply);
  };
  app.addHook('onRoute', (route) => {
    if (credentials.configured && route.url === '/' && route.method !== 'OPTIONS') {
      // listed public: the page answers without credentials (its `?action=` answers need them)
      routes.push(...[route.method].flat().map((method) => ({ method, url: route.url, protected: false })));
      route.onRequest = [authorizeAction, ...(route.onRequest === undefined ? [] : [route.onRequest].flat())];
      return;
    }
    const open = isPublic(route);
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, protected: !open });
    if (open) return;
    const own = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [authorize, ...own];
  });
  // Routes were checked above; this catches the requests that match none (they would answer 404). Added
  // once the plugins registered so far have loaded, so it runs after their onRequest hooks (CORS headers
  // on the 401 too), and before any body is read.
  if (credentials.configured)
    app.after(() =>
      app.addHook('onRequest', async (request, reply) => {
        if (request.is404) await authorize(request, reply);
      }),
    );
  return routes;
}
