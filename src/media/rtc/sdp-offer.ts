import * as sdpTransform from 'sdp-transform';
import type { MediaAttributes, MediaDescription } from 'sdp-transform';
import type * as ms from 'mediasoup/types';
import { mediaCodecs } from './codecs.js';
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
  /** The m-line's media type, protocol and payload list, echoed in a rejected answer section. */
  media: string;
  protocol: string;
  payloads: string;
}

export interface ParsedOffer {
  sections: OfferedSection[];
  fingerprint: ms.DtlsFingerprint;
  /** The offerer's a=setup: the answer takes the opposite DTLS role. */
  setup: 'actpass' | 'active' | 'passive';
  /** The offerer's ICE credentials (of the first section that has them, else the session's), if given. */
  ice?: { ufrag: string; pwd: string } | undefined;
}

/**
 * Reads a WebRTC offer into mediasoup terms: as browsers and the WCS Web SDK send it, and as WHIP clients do
 * (OBS and libdatachannel put ICE credentials, fingerprint and setup at session level for every m-section,
 * add `a=group:LS`, and write codec names in capitals: `OPUS`, `H264`).
 */
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
  const withIce = session.media.find((m) => m.iceUfrag && m.icePwd) ?? session;
  return {
    sections,
    fingerprint: { algorithm: fp.type as ms.FingerprintAlgorithm, value: fp.hash },
    setup,
    // sdp-transform reads an all-digit value as a number (`a=ice-ufrag:6283`): credentials are strings
    ice:
      withIce.iceUfrag && withIce.icePwd
        ? { ufrag: String(withIce.iceUfrag), pwd: String(withIce.icePwd) }
        : undefined,
  };
}

function readSection(m: MediaDescription, index: number): OfferedSection {
  const kind: MediaKind | undefined = m.type === 'audio' || m.type === 'video' ? m.type : undefined;
  const mid = m.mid !== undefined ? String(m.mid) : String(index);
  const base = {
    mid,
    kind,
    direction: (m.direction ?? 'sendrecv') as Direction,
    media: m.type,
    protocol: m.protocol,
    payloads: m.payloads ?? '',
  };
  // port 0 rejects a section, unless it is `bundle-only` (RFC 8843: it rides the bundle's transport)
  if (!kind || (m.port === 0 && m.bundleOnly === undefined))
    return { ...base, kind: undefined, codecs: [], headerExtensions: [] };
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
      mimeType: canonicalMimeType(kind, rtp.codec),
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

/** Codec names are case-insensitive (RFC 4855): spelled as our routers spell them (`OPUS` → `opus`). */
function canonicalMimeType(kind: MediaKind, codec: string): ms.RtpCodecParameters['mimeType'] {
  const mimeType = `${kind}/${codec}`.toLowerCase();
  const known = mediaCodecs.find((c) => c.mimeType.toLowerCase() === mimeType)?.mimeType;
  return (known ?? `${kind}/${codec}`) as ms.RtpCodecParameters['mimeType'];
}

function readSsrcs(m: MediaAttributes): Pick<OfferedSection, 'ssrc' | 'rtxSsrc' | 'cname'> {
  const ssrcLines = m.ssrcs ?? [];
  const fid = (m.ssrcGroups ?? []).find((g) => g.semantics === 'FID');
  const [primary, rtx] = fid ? fid.ssrcs.split(' ').map(Number) : [ssrcLines[0]?.id, undefined];
  const ssrc = primary === undefined ? undefined : Number(primary);
  const cname = ssrcLines.find((s) => Number(s.id) === ssrc && s.attribute === 'cname')?.value;
  return { ssrc, rtxSsrc: rtx, cname };
}
