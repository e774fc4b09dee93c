import { PushFailureCode, pushFailureStatus } from '../../contracts/pull-api.js';
import { StreamfedError } from '../errors.js';

/** A push or pull step that failed, with the stable code that says which (see PushFailureCode). */
export class RelayError extends StreamfedError {
  declare readonly code: PushFailureCode;
  constructor(code: PushFailureCode, message: string, options?: ErrorOptions) {
    super(code, pushFailureStatus(code), message, options);
  }
}

/** The code of any error thrown while a relay starts: ours, or INTERNAL for an unexpected one. */
export const codeOf = (error: unknown): PushFailureCode =>
  error instanceof RelayError ? error.code : PushFailureCode.INTERNAL;

/**
 * Waits for `promise`, but no longer than `ms`: then rejects with a RelayError of `code`. `onTimeout` runs
 * first (to drop what the step was waiting on); the timer never outlives the wait.
 */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  code: PushFailureCode,
  message: string,
  onTimeout?: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new RelayError(code, `${message} within ${ms} ms`));
      onTimeout?.();
    }, ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
