import { PushFailureCode } from './pull-api.js';
import {
  FastifyErrorCode,
  FleetErrorCode,
  RestErrorCode,
  restErrorCodeOf,
  type RestErrorBody,
} from './rest-error.js';

/**
 * What a client of the media server's REST API (the operator) does with each error code: the one table, next
 * to the codes, that conditions, Events and retries follow. A receiver reads the body's `code`; the HTTP
 * status is read only when there is no code it knows (a foreign or older server), through the generic code
 * of that status (restErrorCodeOf).
 */
export interface ErrorPolicy {
  /** The StreamPush's Ready condition reason, and the reason of the Event that marks it. */
  reason: string;
  /**
   * `backoff`: transient, tried again after the object's exponential backoff. `never`: only a change can
   * help (the StreamPush's spec, the operator's token, the media server's configuration): not tried again
   * until the spec changes or the operator restarts (controller-runtime's TerminalError).
   */
  retry: 'backoff' | 'never';
  /** The type of the Event that marks the condition. */
  event: 'Normal' | 'Warning';
}

/**
 * The operator's own codes, for failures that reach it without a body: no HTTP answer at all, a Service it
 * cannot read through the Kubernetes API, a WHIP token's Secret it cannot read. Never on the wire.
 */
export const OperatorErrorCode = {
  SOURCE_UNREACHABLE: 'STREAMFED_OPERATOR_SOURCE_UNREACHABLE',
  SERVICE_UNRESOLVED: 'STREAMFED_OPERATOR_SERVICE_UNRESOLVED',
  /** The Secret a WHIP target's tokenSecretRef names cannot give its token (missing, forbidden, no such key). */
  SECRET_UNRESOLVED: 'STREAMFED_OPERATOR_SECRET_UNRESOLVED',
} as const;
export type OperatorErrorCode = (typeof OperatorErrorCode)[keyof typeof OperatorErrorCode];

export type KnownErrorCode =
  RestErrorCode | FastifyErrorCode | PushFailureCode | FleetErrorCode | OperatorErrorCode;

const backoff = (reason: string): ErrorPolicy => ({ reason, retry: 'backoff', event: 'Warning' });
const never = (reason: string): ErrorPolicy => ({ reason, retry: 'never', event: 'Warning' });

/** Every code a receiver can meet, with what it does (README: "What each code does"). */
export const errorPolicies: Readonly<Record<KnownErrorCode, ErrorPolicy>> = {
  [RestErrorCode.BAD_REQUEST]: never('BadRequest'),
  [RestErrorCode.NO_FILTER]: never('BadRequest'),
  [RestErrorCode.UNAUTHORIZED]: never('Unauthorized'),
  [RestErrorCode.FORBIDDEN]: never('TargetNotAllowed'),
  // the operator was given read-only credentials: it cannot push until someone gives it others
  [RestErrorCode.READ_ONLY]: never('Unauthorized'),
  [RestErrorCode.NOT_FOUND]: backoff('StreamNotFound'),
  // already pushed (by someone else, or an answer lost on the way): the next look finds it and adopts it
  [RestErrorCode.CONFLICT]: { reason: 'PushConflict', retry: 'backoff', event: 'Normal' },
  [RestErrorCode.INTERNAL]: backoff('PushFailed'),
  [RestErrorCode.DRAINING]: backoff('ServerDraining'),
  [FastifyErrorCode.VALIDATION]: never('BadRequest'),
  [FastifyErrorCode.BODY_TOO_LARGE]: never('BadRequest'),
  [FastifyErrorCode.INVALID_MEDIA_TYPE]: never('BadRequest'),
  [PushFailureCode.UNREACHABLE]: backoff('TargetUnreachable'),
  [PushFailureCode.CONNECT_TIMEOUT]: backoff('TargetUnreachable'),
  [PushFailureCode.HANDSHAKE_TIMEOUT]: backoff('TargetNotAnswering'),
  [PushFailureCode.ANSWER_TIMEOUT]: backoff('TargetNotAnswering'),
  [PushFailureCode.ICE_TIMEOUT]: backoff('IceFailed'),
  [PushFailureCode.ICE_FAILED]: backoff('IceFailed'),
  [PushFailureCode.STATUS_TIMEOUT]: backoff('TargetNotPublishing'),
  [PushFailureCode.NO_MEDIA]: backoff('PushNotDelivering'),
  [PushFailureCode.REMOTE_REJECTED]: backoff('TargetRejected'),
  [PushFailureCode.REMOTE_DISCONNECTED]: backoff('TargetDisconnected'),
  [PushFailureCode.WEBRTC]: backoff('WebRtcFailed'),
  [PushFailureCode.LOCAL_ENDED]: backoff('SourceEnded'),
  [PushFailureCode.LOOP]: never('PushLoop'),
  // the target answered but not as its protocol says (a WHIP 201 without Location): its software must change
  [PushFailureCode.PROTOCOL]: never('TargetProtocolError'),
  [PushFailureCode.INTERNAL]: backoff('PushFailed'),
  [FleetErrorCode.MEMBER_UNREACHABLE]: backoff('SourceUnreachable'),
  [FleetErrorCode.NOT_ORIGIN]: backoff('StreamNotFound'),
  [FleetErrorCode.RELAY_REFUSED]: backoff('FleetRelayFailed'),
  [FleetErrorCode.ORIGIN_LOST]: backoff('FleetRelayFailed'),
  [FleetErrorCode.NOT_MEMBER]: never('NotFleetMember'),
  [OperatorErrorCode.SOURCE_UNREACHABLE]: backoff('SourceUnreachable'),
  [OperatorErrorCode.SERVICE_UNRESOLVED]: backoff('ServiceUnresolved'),
  [OperatorErrorCode.SECRET_UNRESOLVED]: backoff('SecretUnresolved'),
};

const isKnown = (code: string | undefined): code is KnownErrorCode =>
  code !== undefined && Object.hasOwn(errorPolicies, code);

/**
 * The code a refusal stands for: the body's own `code` when it is one of ours, else (no code, or one we do
 * not know) the generic code of the HTTP status.
 */
export function errorCodeOf(body: unknown, statusCode: number): KnownErrorCode {
  const code = (body as Partial<RestErrorBody> | undefined)?.code;
  return isKnown(code) ? code : restErrorCodeOf(statusCode);
}
