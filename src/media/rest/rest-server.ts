import { timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify';
import type { Logger } from '../../log.js';
import { packageRoot } from '../../paths.js';
import { UnauthorizedError } from '../errors.js';

export interface RestOptions {
  /** When set, /rest-api/* requires `Authorization: Bearer <token>`. */
  token?: string | undefined;
  bodyLimitBytes: number;
  tls?: { cert: Buffer; key: Buffer } | undefined;
}

/**
 * The HTTP side shared by the REST API, /metrics, health probes and the demo pages: JSON bodies validated
 * against route schemas (wrong types and unknown fields are refused, never coerced or stripped), an empty
 * body read as {}, errors answered as `{statusCode, error, message}`.
 */
export function createRestServer(options: RestOptions, log: Logger): FastifyInstance {
  const app = Fastify({
    // per-request logs are noise at info; errors still come through
    loggerInstance: log.child({ component: 'rest' }, { level: log.levelVal > 30 ? log.level : 'warn' }),
    bodyLimit: options.bodyLimitBytes,
    ...(options.tls ? { https: options.tls } : {}),
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
  }) as unknown as FastifyInstance;

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const e = new Error(`malformed JSON body: ${(error as Error).message}`) as FastifyError;
      (e as { statusCode: number }).statusCode = 400;
      done(e, undefined);
    }
  });

  const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;
  app.addHook('onRequest', async (request) => {
    if (!expected || !request.url.startsWith('/rest-api/')) return;
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new UnauthorizedError('missing or wrong bearer token');
    }
  });

  // Routes without a body schema still get {} so handlers see one shape.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {};
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error, url: request.url }, 'request failed');
    const message = error.validation ? `invalid request: ${error.message}` : error.message;
    void reply.status(statusCode).send({ statusCode, error: httpReason(statusCode), message });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send({ statusCode: 404, error: 'Not Found', message: `no route ${request.method} ${request.url}` });
  });

  // The official Web SDK demo pages, served from the dependency itself (they load ../../../../flashphoner.js).
  void app.register(fastifyStatic, {
    root: path.join(packageRoot, 'node_modules/@flashphoner/websdk'),
    prefix: '/demo/',
    index: false,
  });
  return app;
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
  };
  return reasons[code] ?? 'Error';
}
