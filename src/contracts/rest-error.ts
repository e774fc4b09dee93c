import { Type, type Static } from '@sinclair/typebox';

/**
 * Every 4xx/5xx the media server's REST API answers, fastify-style: the HTTP status, its reason, a message
 * for people and a stable `code` for programs. Clients branch on `code` (and `statusCode`), never on text.
 * Codes: ours (`STREAMFED_ERR_*` below), fastify's own (`FST_ERR_*`: validation, body too large, unsupported
 * media type, ...), the push/pull codes (`PUSH_ERR_*`, pull-api.ts), the fleet codes (`FLEET_*`, below) and
 * the REST hook codes (`STREAMFED_HOOK_*`). What a receiver does on each code: error-policy.ts.
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
  /** Credentials that may read (`--rest-read-token`) asked for a change (a push, a terminate): 403. */
  READ_ONLY: 'STREAMFED_ERR_READ_ONLY',
  /** No such stream, connection, push, or route. */
  NOT_FOUND: 'STREAMFED_ERR_NOT_FOUND',
  /** The request contradicts what exists (already pushed, already published). */
  CONFLICT: 'STREAMFED_ERR_CONFLICT',
  /** The server is draining (stopping): it takes no new session or stream; another member will (503). */
  DRAINING: 'STREAMFED_ERR_DRAINING',
  /** A failure of ours (a bug): the message says what. */
  INTERNAL: 'STREAMFED_ERR_INTERNAL',
} as const;
export type RestErrorCode = (typeof RestErrorCode)[keyof typeof RestErrorCode];

/** The generic code of a status, for an error that carries no more specific one (and a server that sends none). */
export function restErrorCodeOf(statusCode: number): RestErrorCode {
  const codes: Record<number, RestErrorCode> = {
    401: RestErrorCode.UNAUTHORIZED,
    403: RestErrorCode.FORBIDDEN,
    404: RestErrorCode.NOT_FOUND,
    409: RestErrorCode.CONFLICT,
  };
  return codes[statusCode] ?? (statusCode >= 500 ? RestErrorCode.INTERNAL : RestErrorCode.BAD_REQUEST);
}

/** The codes of fastify's own refusals that our routes answer with (fastify names them; listed for receivers). */
export const FastifyErrorCode = {
  /** A field of the wrong type or shape (400). */
  VALIDATION: 'FST_ERR_VALIDATION',
  /** A body over the limit (413). */
  BODY_TOO_LARGE: 'FST_ERR_CTP_BODY_TOO_LARGE',
  /** A body that is not JSON (415). */
  INVALID_MEDIA_TYPE: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
} as const;
export type FastifyErrorCode = (typeof FastifyErrorCode)[keyof typeof FastifyErrorCode];

/** Stable codes of fleet failures: metrics, logs and REST bodies carry the code, never parsed text. */
export const FleetErrorCode = {
  /** The member did not answer (refused, timed out, or answered 5xx). */
  MEMBER_UNREACHABLE: 'FLEET_MEMBER_UNREACHABLE',
  /** Asked a member for a stream it does not originate (a relay never feeds another relay). */
  NOT_ORIGIN: 'FLEET_NOT_ORIGIN',
  /** The origin refused or could not build its half of a relay. */
  RELAY_REFUSED: 'FLEET_RELAY_REFUSED',
  /** The relay's control channel went silent or broke: the origin is gone. */
  ORIGIN_LOST: 'FLEET_ORIGIN_LOST',
  /** An offer or claim from a caller that is not a member of this fleet. */
  NOT_MEMBER: 'FLEET_NOT_MEMBER',
} as const;
export type FleetErrorCode = (typeof FleetErrorCode)[keyof typeof FleetErrorCode];

/** The HTTP status each fleet code is answered with. */
export const fleetErrorStatus: Record<FleetErrorCode, number> = {
  FLEET_MEMBER_UNREACHABLE: 502,
  FLEET_NOT_ORIGIN: 404,
  FLEET_RELAY_REFUSED: 502,
  FLEET_ORIGIN_LOST: 502,
  FLEET_NOT_MEMBER: 403,
};
