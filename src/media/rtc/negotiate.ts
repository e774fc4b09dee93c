import { isSameProfile } from 'h264-profile-level-id';
import type * as ms from 'mediasoup/types';
import { isRtx } from './codec-params.js';
import { SdpError, type OfferedSection } from './sdp-offer.js';

function sameCodec(offered: ms.RtpCodecParameters, cap: ms.RtpCodecCapability): boolean {
  if (offered.mimeType.toLowerCase() !== cap.mimeType.toLowerCase()) return false;
  if (offered.clockRate !== cap.clockRate) return false;
  if (cap.kind === 'audio' && (offered.channels ?? 1) !== (cap.channels ?? 1)) return false;
  if (cap.mimeType.toLowerCase() === 'video/h264') {
    const mode = (p: Record<string, unknown> | undefined): number => Number(p?.['packetization-mode'] ?? 0);
    if (mode(offered.parameters) !== mode(cap.parameters)) return false;
    if (!isSameProfile(offered.parameters, cap.parameters)) return false;
  }
  return true;
}

/**
 * The parameters of a producer for what a publisher offered in one m-section: the first offered codec the
 * router forwards (in the offerer's preference order), its RTX, and the header extensions and feedback we
 * both understand. Payload types and extension ids stay the offerer's, as it will send them.
 */
export function producerParameters(section: OfferedSection, router: ms.RtpCapabilities): ms.RtpParameters {
  const kind = section.kind;
  if (!kind) throw new SdpError(`m-section ${section.mid} is not audio or video`);
  let cap: ms.RtpCodecCapability | undefined;
  const codec = section.codecs.find(
    (c) =>
      !isRtx(c) && (cap = router.codecs?.find((rc) => rc.kind === kind && sameCodec(c, rc))) !== undefined,
  );
  if (!codec || !cap) throw new SdpError(`No common codecs for ${kind}`);
  const feedback = new Set((cap.rtcpFeedback ?? []).map((fb) => `${fb.type} ${fb.parameter ?? ''}`));
  const selected: ms.RtpCodecParameters = {
    ...codec,
    rtcpFeedback: (codec.rtcpFeedback ?? []).filter((fb) => feedback.has(`${fb.type} ${fb.parameter ?? ''}`)),
  };
  const rtx = section.codecs.find((c) => isRtx(c) && Number(c.parameters?.['apt']) === codec.payloadType);
  const codecs = rtx ? [selected, { ...rtx, rtcpFeedback: [] }] : [selected];
  const encoding: ms.RtpEncodingParameters = {};
  if (section.ssrc !== undefined) encoding.ssrc = section.ssrc;
  if (rtx && section.rtxSsrc !== undefined) encoding.rtx = { ssrc: section.rtxSsrc };
  return {
    mid: section.mid,
    codecs,
    headerExtensions: supportedExtensions(section, router, 'recvonly'),
    encodings: [encoding],
    rtcp: { cname: section.cname ?? `streamfed-${section.mid}`, reducedSize: true },
  };
}

/** What a player's recvonly m-section can receive, as mediasoup consumer capabilities. */
export function receiverCapabilities(section: OfferedSection): ms.RtpCapabilities {
  const kind = section.kind;
  if (!kind) return { codecs: [], headerExtensions: [] };
  return {
    codecs: section.codecs.map((c) => ({
      kind,
      mimeType: c.mimeType,
      preferredPayloadType: c.payloadType,
      clockRate: c.clockRate,
      ...(c.channels !== undefined ? { channels: c.channels } : {}),
      parameters: c.parameters ?? {},
      rtcpFeedback: c.rtcpFeedback ?? [],
    })),
    headerExtensions: section.headerExtensions.map((e) => ({
      kind,
      uri: e.uri,
      preferredId: e.id,
      direction: 'sendrecv' as const,
    })),
  };
}

function supportedExtensions(
  section: OfferedSection,
  router: ms.RtpCapabilities,
  direction: 'recvonly' | 'sendonly',
): ms.RtpHeaderExtensionParameters[] {
  return section.headerExtensions.filter((e) =>
    (router.headerExtensions ?? []).some(
      (h) =>
        h.kind === section.kind &&
        h.uri === e.uri &&
        (h.direction === 'sendrecv' || h.direction === direction || h.direction === undefined),
    ),
  );
}
