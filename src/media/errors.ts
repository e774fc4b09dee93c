import { RestErrorCode } from '../contracts/rest-error.js';
import { whipErrorStatus, type WhipErrorCode } from '../contracts/whip-http.js';

/**
 * The one error type of the media server: a stable `code` (fastify's `FST_ERR_*` is the model) and the HTTP
 * status the REST API answers with (fastify reads `statusCode`; rest-server.ts's error handler turns it into
 * the body). Stream errors' messages are also the WCS info texts the WebSocket side reports in FAILED
 * events. The subclasses below only preset a code and a status; families of codes (push, fleet, hooks) are
 * subclasses that carry their own code sets.
 */
export class StreamfedError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Fields the REST error body carries beside statusCode, code, error and message (none by default). */
  get details(): Record<string, unknown> | undefined {
    return undefined;
  }
}

export class BadRequestError extends StreamfedError {
  constructor(message: string, options?: ErrorOptions) {
    super(RestErrorCode.BAD_REQUEST, 400, message, options);
  }
}
export class UnauthorizedError extends StreamfedError {
  constructor(message: string, options?: ErrorOptions) {
    super(RestErrorCode.UNAUTHORIZED, 401, message, options);
  }
}
export class ForbiddenError extends StreamfedError {
  constructor(message: string, options?: ErrorOptions) {
    super(RestErrorCode.FORBIDDEN, 403, message, options);
  }
}
/** Read-only credentials asked for a change. */
export class ReadOnlyError extends StreamfedError {
  constructor(message: string, options?: ErrorOptions) {
    super(RestErrorCode.READ_ONLY, 403, message, options);
  }
}
export class NotFoundError extends StreamfedError {
  constructor(message: string, options?: ErrorOptions) {
    super(RestErrorCode.NOT_FOUND, 404, message, options);
  }
}
export class ConflictError extends StreamfedError {
  constructor(message: string, options?: ErrorOptions) {
    super(RestErrorCode.CONFLICT, 409, message, options);
  }
}
/** A WHIP/WHEP protocol refusal: its code, and the status whip-http.ts gives that code. */
export class WhipError extends StreamfedError {
  declare readonly code: WhipErrorCode;
  constructor(code: WhipErrorCode, message: string, options?: ErrorOptions) {
    super(code, whipErrorStatus[code], message, options);
  }
}
/** The server is draining (stopping): no new session or stream; the client goes to another member. */
export class DrainingError extends StreamfedError {
  constructor() {
    super(RestErrorCode.DRAINING, 503, 'the server is draining: publish or play on another member');
  }
}
