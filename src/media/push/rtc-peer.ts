import { isIP } from 'node:net';
import {
  RTCPeerConnection,
  RTCRtpHeaderExtensionParameters,
  type RTCPeerConnection as Peer,
  type RTCRtpCodecParameters,
} from 'werift';
import type { IceServer } from '../../contracts/whip-http.js';

/**
 * Congestion feedback (transport-wide-cc, and abs-send-time for REMB) is for a sender that can adapt its
 * bitrate. A push forwards one encoding as it comes and cannot, so it does not ask for it: every feedback
 * packet would cost an SRTCP decrypt, a parse and a bandwidth-estimator update for nothing.
 */
export interface PeerOptions {
  congestionFeedback: boolean;
}

/**
 * A werift peer connection for talking to the media server at `host`. A loopback target needs a loopback
 * host candidate, which werift leaves out unless told.
 *
 * `max-bundle`: one ICE/DTLS transport for all media from the start. Under werift's default
 * (`max-compat`) every transceiver gathers its own transport for the offer, and when the answer bundles
 * them werift re-points the transceivers at the first one and never closes the others: their UDP sockets
 * outlived every push and pull (two per relay, see test/media/os-leak.test.ts). No STUN server: a media
 * server's host candidates are what it reaches (werift's default is a public Google STUN server), unless
 * the remote announced its own (`iceServers`: a WHIP/WHEP endpoint's `Link` headers).
 */
export function createPeer(
  host: string,
  codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] },
  { congestionFeedback }: PeerOptions = { congestionFeedback: true },
  iceServers: readonly IceServer[] = [],
): Peer {
  const loopback = host === 'localhost' || host.startsWith('127.') || host === '::1';
  const v4 = isIP(host) !== 6;
  return new RTCPeerConnection({
    bundlePolicy: 'max-bundle',
    iceServers: iceServers.map((s) => ({
      urls: s.urls,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    })),
    codecs,
    headerExtensions: {
      audio: [],
      video: congestionFeedback
        ? [
            new RTCRtpHeaderExtensionParameters({
              uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
              id: 3,
            }),
            new RTCRtpHeaderExtensionParameters({
              uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
              id: 5,
            }),
          ]
        : [],
    },
    iceUseIpv6: !v4,
    ...(loopback
      ? { iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' } }
      : {}),
  });
}
