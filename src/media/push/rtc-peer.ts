import { isIP } from 'node:net';
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  type RTCPeerConnection as Peer,
} from 'werift';
import type * as ms from 'mediasoup/types';

const feedback = {
  audio: [],
  video: [
    { type: 'nack' },
    { type: 'nack', parameter: 'pli' },
    { type: 'ccm', parameter: 'fir' },
    { type: 'transport-cc' },
  ],
};

/** werift's codec entry for a mediasoup codec: the same codec and fmtp, so nothing is transcoded. */
export function weriftCodec(
  codec: Pick<ms.RtpCodecParameters, 'mimeType' | 'clockRate' | 'channels' | 'parameters'>,
  kind: 'audio' | 'video',
): RTCRtpCodecParameters {
  const params = Object.entries(codec.parameters ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(';');
  return new RTCRtpCodecParameters({
    mimeType: codec.mimeType,
    clockRate: codec.clockRate,
    ...(codec.channels ? { channels: codec.channels } : {}),
    ...(params ? { parameters: params } : {}),
    rtcpFeedback: feedback[kind],
  });
}

/**
 * A werift peer connection for talking to the media server at `host`. A loopback target needs a loopback
 * host candidate, which werift leaves out unless told.
 */
export function createPeer(
  host: string,
  codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] },
): Peer {
  const loopback = host === 'localhost' || host.startsWith('127.') || host === '::1';
  const v4 = isIP(host) !== 6;
  return new RTCPeerConnection({
    codecs,
    headerExtensions: {
      audio: [],
      video: [
        new RTCRtpHeaderExtensionParameters({
          uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
          id: 3,
        }),
        new RTCRtpHeaderExtensionParameters({
          uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
          id: 5,
        }),
      ],
    },
    iceUseIpv6: !v4,
    ...(loopback
      ? { iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' } }
      : {}),
  });
}
