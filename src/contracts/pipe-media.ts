import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * What two media servers tell each other to join a mediasoup PipeTransport pair (SRTP, RTX/NACK): the fleet's
 * hops (fleet-api.ts) and a push between two streamfed servers (wcs-protocol.ts `streamfedPipe`) both carry
 * these shapes.
 */

/** Opaque mediasoup parameters: the contract carries them, mediasoup checks them. */
export const Opaque = <T>(): TSchema & { static: T } =>
  Type.Unsafe<T>(Type.Object({}, { additionalProperties: true }));

export interface SrtpParameters {
  cryptoSuite: string;
  keyBase64: string;
}
export const SrtpParametersSchema = Type.Object(
  { cryptoSuite: Type.String({ minLength: 1 }), keyBase64: Type.String({ minLength: 1 }) },
  { additionalProperties: false },
);

/** One end of a pipe: where its PipeTransport receives and the SRTP key it sends with. */
export const PipeTuple = Type.Object({
  ip: Type.String({ minLength: 1, maxLength: 64 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  srtpParameters: SrtpParametersSchema,
});
export type PipeTuple = Static<typeof PipeTuple>;

/** A producer sent over a pipe: the sending end's pipe consumer's parameters, with which the far end produces. */
export const PipeProducer = Type.Object({
  kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  rtpParameters: Opaque<import('mediasoup/types').RtpParameters>(),
  paused: Type.Boolean(),
});
export type PipeProducer = Static<typeof PipeProducer>;
