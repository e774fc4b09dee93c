import * as sdpTransform from 'sdp-transform';
import type { MediaAttributes, MediaDescription } from 'sdp-transform';
import type * as ms from 'mediasoup/types';
import { parseFmtp } from './codec-params.js';

export class SdpError extends Error {
  override readonly name = 'SdpError';
}

export type MediaKind = 'audio' | 'video';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface OfferedSection {
  mid: string;
  /** undefined for m-sections we cannot carry (application, or a type we do not know). */
  kind: MediaKind | undefined;
  direction: Direction;
  codecs: ms.RtpCodecParameters[];
  headerExtensions: ms.RtpHeaderExtensionParameters[];
  ssrc?: number | undefined;
  rtxSsrc?: number | undefined;
  cname?: string | undefined;
  /** The m-line's protocol and payload list, echoed in a rejected answer section. */
  protocol: string;
  payloads: string;
}

export interface ParsedOffer {
  sections: OfferedSection[];
  fingerprint: ms.DtlsFingerprint;
  /** The offerer's a=setup: the answer takes the opposite DTLS role. */
  setup: 'actpass' | 'active' | 'passive';
}

/** Reads a WebRTC offer (as browsers and the WCS Web SDK send it) into mediasoup terms. */
export function parseOffer(sdp: unknown): ParsedOffer {
  if (typeof sdp !== 'string' || !sdp.startsWith('v=0')) throw new SdpError('sdp must be an SDP offer text');
  let session: sdpTransform.SessionDescription;
  try {
    session = sdpTransform.parse(sdp);
  } catch (error) {
    throw new SdpError(`unparseable SDP: ${(error as Error).message}`);
  }
  if (!session.media?.length) throw new SdpError('SDP offer has no media sections');
  const fp = session.fingerprint ?? session.media.find((m) => m.fingerprint)?.fingerprint;
  if (!fp) throw new SdpError('SDP offer has no DTLS fingerprint');
  const setup = session.setup ?? session.media.find((m) => m.setup)?.setup ?? 'actpass';
  if (setup !== 'actpass' && setup !== 'active' && setup !== 'passive') {
    throw new SdpError(`unsupported a=setup:${setup}`);
  }
  const sections = session.media.map((m, index) => readSection(m, index));
  return {
    sections,
    fingerprint: { algorithm: fp.type as ms.FingerprintAlgorithm, value: fp.hash },
    setup,
  };
}

function readSection(m: MediaDescription, index: number): OfferedSection {
  const kind: MediaKind | undefined = m.type === 'audio' || m.type === 'video' ? m.type : undefined;
  const mid = m.mid !== undefined ? String(m.mid) : String(index);
  const base = {
    mid,
    kind,
    direction: (m.direction ?? 'sendrecv') as Direction,
    protocol: m.protocol,
    payloads: m.payloads ?? '',
  };
  if (!kind || m.port === 0) return { ...base, kind: undefined, codecs: [], headerExtensions: [] };
  return {
    ...base,
    codecs: readCodecs(m, kind),
    headerExtensions: (m.ext ?? []).map((e) => ({ uri: e.uri as ms.RtpHeaderExtensionUri, id: e.value })),
    ...readSsrcs(m),
  };
}

function readCodecs(m: MediaDescription, kind: MediaKind): ms.RtpCodecParameters[] {
  const fmtp = new Map((m.fmtp ?? []).map((f) => [f.payload, parseFmtp(f.config)]));
  return m.rtp.map((rtp) => {
    const codec: ms.RtpCodecParameters = {
      mimeType: `${kind}/${rtp.codec}` as ms.RtpCodecParameters['mimeType'],
      payloadType: rtp.payload,
      clockRate: rtp.rate ?? (kind === 'audio' ? 8000 : 90000),
      parameters: fmtp.get(rtp.payload) ?? {},
      rtcpFeedback: (m.rtcpFb ?? [])
        .filter((fb) => fb.payload === '*' || Number(fb.payload) === rtp.payload)
        .map((fb) => ({ type: fb.type, parameter: fb.subtype ?? '' })),
    };
    if (kind === 'audio' && rtp.encoding) codec.channels = Number(rtp.encoding);
    return codec;
  });
}

function readSsrcs(m: MediaAttributes): Pick<OfferedSection, 'ssrc' | 'rtxSsrc' | 'cname'> {
  const ssrcLines = m.ssrcs ?? [];
  const fid = (m.ssrcGroups ?? []).find((g) => g.semantics === 'FID');
  const [primary, rtx] = fid ? fid.ssrcs.split(' ').map(Number) : [ssrcLines[0]?.id, undefined];
  const ssrc = primary === undefined ? undefined : Number(primary);
  const cname = ssrcLines.find((s) => Number(s.id) === ssrc && s.attribute === 'cname')?.value;
  return { ssrc, rtxSsrc: rtx, cname };
}
