/**
 * Errors as types. Each carries the HTTP status the REST API answers with (fastify reads `statusCode`) and,
 * for stream errors, the WCS info text the WebSocket side reports in FAILED events.
 */
export class StreamfedError extends Error {
  readonly statusCode: number = 500;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequestError extends StreamfedError {
  override readonly statusCode = 400;
}
export class UnauthorizedError extends StreamfedError {
  override readonly statusCode = 401;
}
export class ForbiddenError extends StreamfedError {
  override readonly statusCode = 403;
}
export class NotFoundError extends StreamfedError {
  override readonly statusCode = 404;
}
export class ConflictError extends StreamfedError {
  override readonly statusCode = 409;
}
