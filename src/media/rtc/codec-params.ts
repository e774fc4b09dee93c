import type * as ms from 'mediasoup/types';
import * as sdpTransform from 'sdp-transform';
import { RTCRtpCodecParameters } from 'werift';

/**
 * Codec entries between their three forms here: mediasoup's RtpCodecParameters (parameters as an object),
 * SDP's fmtp lines and werift's RTCRtpCodecParameters (parameters as an fmtp string). Each translation has
 * one home, both ways.
 */

/** An RTX (retransmission) entry, not a media codec. */
export const isRtx = (codec: { mimeType: string }): boolean => codec.mimeType.toLowerCase().endsWith('/rtx');

/** mediasoup's codec parameters as an fmtp string (`a=1;b=x`), empty when there are none. */
export function formatFmtp(parameters: ms.RtpCodecParameters['parameters']): string {
  return Object.entries(parameters ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(';');
}

/** An fmtp string as mediasoup's codec parameters (integer values as numbers, as mediasoup compares them). */
export function parseFmtp(fmtp: string | undefined): Record<string, unknown> {
  return fmtp ? sdpTransform.parseParams(fmtp) : {};
}

const repair = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];

/**
 * werift's codec entry for a mediasoup codec: the same codec and fmtp, so nothing is transcoded. Video asks
 * for repair (NACK, PLI, FIR) and, with `congestionFeedback`, transport-wide-cc (see rtc-peer.ts PeerOptions).
 */
export function weriftCodec(
  codec: Pick<ms.RtpCodecParameters, 'mimeType' | 'clockRate' | 'channels' | 'parameters'>,
  kind: 'audio' | 'video',
  { congestionFeedback }: { congestionFeedback: boolean } = { congestionFeedback: true },
): RTCRtpCodecParameters {
  const parameters = formatFmtp(codec.parameters);
  return new RTCRtpCodecParameters({
    mimeType: codec.mimeType,
    clockRate: codec.clockRate,
    ...(codec.channels ? { channels: codec.channels } : {}),
    ...(parameters ? { parameters } : {}),
    rtcpFeedback: kind === 'audio' ? [] : congestionFeedback ? [...repair, { type: 'transport-cc' }] : repair,
  });
}

/** mediasoup's codec for one werift negotiated, under the payload type and feedback we give it. */
export function mediasoupCodec(
  codec: Pick<RTCRtpCodecParameters, 'mimeType' | 'clockRate' | 'channels' | 'parameters'>,
  { payloadType, rtcpFeedback }: { payloadType: number; rtcpFeedback: ms.RtcpFeedback[] },
): ms.RtpCodecParameters {
  return {
    mimeType: codec.mimeType as ms.RtpCodecParameters['mimeType'],
    payloadType,
    clockRate: codec.clockRate,
    ...(codec.channels ? { channels: codec.channels } : {}),
    parameters: parseFmtp(codec.parameters),
    rtcpFeedback,
  };
}
