import { StreamfedError } from '../errors.js';

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
  /** A push would bring a stream back into a fleet that already has it. */
  LOOP: 'FLEET_LOOP',
} as const;
export type FleetErrorCode = (typeof FleetErrorCode)[keyof typeof FleetErrorCode];

const statusOf: Record<FleetErrorCode, number> = {
  FLEET_MEMBER_UNREACHABLE: 502,
  FLEET_NOT_ORIGIN: 404,
  FLEET_RELAY_REFUSED: 502,
  FLEET_ORIGIN_LOST: 502,
  FLEET_NOT_MEMBER: 403,
  FLEET_LOOP: 409,
};

export class FleetError extends StreamfedError {
  declare readonly code: FleetErrorCode;
  constructor(code: FleetErrorCode, message: string, options?: ErrorOptions) {
    super(code, statusOf[code], message, options);
  }
}
