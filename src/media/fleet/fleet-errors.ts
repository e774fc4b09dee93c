import { FleetErrorCode, fleetErrorStatus } from '../../contracts/rest-error.js';
import { StreamfedError } from '../errors.js';

// the codes and their statuses are a wire contract (contracts/rest-error.ts); fleet code imports them here
export { FleetErrorCode };

export class FleetError extends StreamfedError {
  declare readonly code: FleetErrorCode;
  constructor(code: FleetErrorCode, message: string, options?: ErrorOptions) {
    super(code, fleetErrorStatus[code], message, options);
  }
}
