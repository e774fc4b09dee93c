import path from 'node:path';
import fastifyCors from '@fastify/cors';
import fastifyStatic from '@fastify/static';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import { RestErrorCode, type RestErrorBody } from '../../contracts/rest-error.js';
import type { Logger } from '../../log.js';
import { BadRequestError, NotFoundError, StreamfedError } from '../errors.js';
import { packageRoot } from '../../paths.js';
import { installRouteAuth, type RegisteredRoute, type RestAuthOptions } from './rest-auth.js';

export interface RestOptions {
  /** Credentials for /rest-api/* (and /metrics, /demo/ when asked); none configured: no auth. */
  auth: RestAuthOptions;
  /** Access-Control-Allow-Origin: `*` (WCS's default) or a list of origins. */
  corsOrigins: string[];
  bodyLimitBytes: number;
  tls?: { cert: Buffer; key: Buffer } | undefined;
}

export interface RestServer {
  app: FastifyInstance;
  /** Every route as registered (for the log line at start, and for tests of the whole table). */
  routes: RegisteredRoute[];
}

/**
 * The HTTP side shared by the REST API, /metrics, health probes and the demo pages, with WCS's policies:
 * - JSON bodies validated against route schemas with wrong types refused (400, never coerced) and unknown
 *   fields ignored: WCS's filters are loose and its callers send more than we read. This holds for every
 *   route whatever its schema says (`additionalProperties: false` is dropped when a schema is compiled).
 * - An empty body is read as {}; every `…/find` and `…/find_all` route answers GET as well as POST (the SDK's
 *   rest module sends GET when it has no body).
 * - CORS on every route, preflights answered.
 * - Authorisation per route (see rest-auth.ts); errors answered as `{statusCode, code, error, message}` (errorBody).
 */
export function createRestServer(options: RestOptions, log: Logger): RestServer {
  const app = Fastify({
    // per-request logs are noise at info; errors still come through
    loggerInstance: log.child({ component: 'rest' }, { level: log.levelVal > 30 ? log.level : 'warn' }),
    bodyLimit: options.bodyLimitBytes,
    // a stream name in a path (WHIP/WHEP) may be 256 characters, each up to 12 bytes URL-encoded
    routerOptions: { maxParamLength: 4096 },
    ...(options.tls ? { https: options.tls } : {}),
  }) as unknown as FastifyInstance;

  const ajv = new Ajv({ removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false });
  app.setValidatorCompiler(({ schema }) => ajv.compile(ignoringUnknownFields(schema) as object));

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new BadRequestError(`malformed JSON body: ${(error as Error).message}`), undefined);
    }
  });

  app.addHook('onRoute', (route) => {
    // Set before fastify registers the route, so GET shares the POST route's handler and schema (a GET has
    // no body here: the preValidation hook below gives it {}).
    if (route.method === 'POST' && /^\/rest-api\/.+\/find(_all)?$/.test(route.url))
      route.method = ['GET', 'POST'];
  });
  // CORS first: its headers go on every answer, a 401 included, so a browser app can read it
  void app.register(fastifyCors, {
    origin: options.corsOrigins.includes('*') ? '*' : options.corsOrigins,
    methods: ['GET', 'POST', 'OPTIONS'],
    maxAge: 600,
  });
  const routes = installRouteAuth(app, options.auth);

  // Routes without a body schema still get {} so handlers see one shape.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {};
  });

  // The one place an error becomes a REST body: routes throw, this answers (see errorBody).
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const body = errorBody(error);
    // ours are expected outcomes (a push that failed logs itself); anything else is a bug
    if (body.statusCode >= 500 && !(error instanceof StreamfedError))
      request.log.error({ err: error, url: request.url }, 'request failed');
    void reply.status(body.statusCode).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body = errorBody(new NotFoundError(`no route ${request.method} ${request.url}`));
    void reply.status(body.statusCode).send(body);
  });

  // The official Web SDK demo pages, served from the dependency itself (they load ../../../../flashphoner.js).
  void app.register(fastifyStatic, {
    root: path.join(packageRoot, 'node_modules/@flashphoner/websdk'),
    prefix: '/demo/',
    index: false,
  });
  return { app, routes };
}

/**
 * A copy of a JSON schema in which objects accept properties they do not declare (declared ones keep their
 * types). Symbol keys (TypeBox's markers) are left behind; Ajv does not read them.
 */
function ignoringUnknownFields(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(ignoringUnknownFields);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'additionalProperties' && value === false) continue;
    copy[key] = ignoringUnknownFields(value);
  }
  return copy;
}

/**
 * The body of a REST refusal, fastify-style, always with a stable `code`: ours (a StreamfedError carries its
 * code and status, and may add fields), fastify's own `FST_ERR_*` (validation, body too large, ...), or, for
 * anything else, the generic code of its status.
 */
export function errorBody(error: Error): RestErrorBody & Record<string, unknown> {
  if (error instanceof StreamfedError) {
    const { statusCode, code, message, details } = error;
    return { statusCode, code, error: httpReason(statusCode), message, ...details };
  }
  const e = error as Partial<FastifyError>;
  const statusCode = e.statusCode !== undefined && e.statusCode >= 400 ? e.statusCode : 500;
  const fastifyCode = typeof e.code === 'string' && e.code.startsWith('FST_ERR_') ? e.code : undefined;
  const code = fastifyCode ?? (e.validation ? 'FST_ERR_VALIDATION' : genericCode(statusCode));
  const message = e.validation ? `invalid request: ${error.message}` : error.message;
  return { statusCode, code, error: httpReason(statusCode), message };
}

function genericCode(statusCode: number): RestErrorCode {
  const codes: Record<number, RestErrorCode> = {
    401: RestErrorCode.UNAUTHORIZED,
    403: RestErrorCode.FORBIDDEN,
    404: RestErrorCode.NOT_FOUND,
    409: RestErrorCode.CONFLICT,
  };
  return codes[statusCode] ?? (statusCode >= 500 ? RestErrorCode.INTERNAL : RestErrorCode.BAD_REQUEST);
}

function httpReason(code: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
  };
  return reasons[code] ?? 'Error';
}
