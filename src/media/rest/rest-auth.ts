import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { WhipPath } from '../../contracts/whip-http.js';
import { UnauthorizedError } from '../errors.js';
import { sameSecret } from '../same-secret.js';

export interface RestAuthOptions {
  /** `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** `Authorization: Basic base64(user:password)`, WCS's scheme when its REST auth is on. */
  basic?: { user: string; password: string } | undefined;
  /** Also protect /metrics (a Prometheus scrape then needs the credentials). */
  protectMetrics?: boolean | undefined;
  /** Also protect the demo pages under /demo/. */
  protectDemo?: boolean | undefined;
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

/** The credentials the REST side accepts; the configured secrets never leave this object. */
export class RestCredentials {
  readonly #token: string | undefined;
  readonly #basic: { user: string; password: string } | undefined;

  constructor(options: RestAuthOptions) {
    this.#token = options.token || undefined;
    this.#basic = options.basic && options.basic.user !== '' ? options.basic : undefined;
  }

  get configured(): boolean {
    return this.#token !== undefined || this.#basic !== undefined;
  }

  /** Whether an Authorization header carries one of the accepted credentials. */
  accepts(header: string | undefined): boolean {
    if (header === undefined) return false;
    const match = /^([A-Za-z]+) +(.+)$/.exec(header);
    if (!match) return false;
    const scheme = (match[1] ?? '').toLowerCase();
    const value = match[2] ?? '';
    if (scheme === 'bearer' && this.#token !== undefined) return sameSecret(value, this.#token);
    if (scheme === 'basic' && this.#basic !== undefined) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return false;
      // both halves compared, always, so the time taken says nothing about which one was wrong
      const userOk = sameSecret(decoded.slice(0, colon), this.#basic.user);
      const passwordOk = sameSecret(decoded.slice(colon + 1), this.#basic.password);
      return userOk && passwordOk;
    }
    return false;
  }

  /** The WWW-Authenticate challenge of a 401. */
  challenge(): string {
    const schemes: string[] = [];
    if (this.#basic) schemes.push('Basic realm="streamfed", charset="UTF-8"');
    if (this.#token) schemes.push('Bearer realm="streamfed"');
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
  const authorize = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (credentials.accepts(request.headers.authorization)) return;
    void reply.header('www-authenticate', credentials.challenge());
    throw new UnauthorizedError('missing or wrong credentials (Authorization: Bearer or Basic)');
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
