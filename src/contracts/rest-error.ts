import { Type, type Static } from '@sinclair/typebox';

/**
 * Every 4xx/5xx the media server's REST API answers, fastify-style: the HTTP status, its reason, a message
 * for people and a stable `code` for programs. Clients branch on `code` (and `statusCode`), never on text.
 * Codes: ours (`STREAMFED_ERR_*` below), fastify's own (`FST_ERR_*`: validation, body too large, unsupported
 * media type, ...), the push/pull codes (`PUSH_ERR_*`, pull-api.ts), the fleet codes (`FLEET_*`,
 * fleet-errors.ts) and the REST hook codes (`STREAMFED_HOOK_*`).
 */
export const RestErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
});
export type RestErrorBody = Static<typeof RestErrorBody>;

/** The generic codes of REST refusals that no more specific code describes. */
export const RestErrorCode = {
  /** A malformed body (JSON syntax) or a request the route cannot act on. */
  BAD_REQUEST: 'STREAMFED_ERR_BAD_REQUEST',
  /**
   * A request that would end or change things but names nothing it knows to act on (e.g. a
   * /stream/terminate whose only field is a typo): refused, nothing changed.
   */
  NO_FILTER: 'STREAMFED_ERR_NO_FILTER',
  /** Missing or wrong credentials. */
  UNAUTHORIZED: 'STREAMFED_ERR_UNAUTHORIZED',
  /** Not allowed (e.g. a push target outside the allow-list). */
  FORBIDDEN: 'STREAMFED_ERR_FORBIDDEN',
  /** No such stream, connection, push, or route. */
  NOT_FOUND: 'STREAMFED_ERR_NOT_FOUND',
  /** The request contradicts what exists (already pushed, already published). */
  CONFLICT: 'STREAMFED_ERR_CONFLICT',
  /** A failure of ours (a bug): the message says what. */
  INTERNAL: 'STREAMFED_ERR_INTERNAL',
} as const;
export type RestErrorCode = (typeof RestErrorCode)[keyof typeof RestErrorCode];
