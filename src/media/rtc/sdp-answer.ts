import * as sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import type * as ms from 'mediasoup/types';
import { formatFmtp } from './codec-params.js';
import type { OfferedSection } from './sdp-offer.js';

export type AnswerSection =
  | { offered: OfferedSection; accepted: false }
  | {
      offered: OfferedSection;
      accepted: true;
      direction: 'recvonly' | 'sendonly';
      rtpParameters: ms.RtpParameters;
      /** msid for a sendonly section: "<stream id> <track id>". */
      msid?: string;
    };

export interface AnswerTransport {
  iceParameters: ms.IceParameters;
  iceCandidates: ms.IceCandidate[];
  dtlsParameters: ms.DtlsParameters;
}

let sessionVersion = 1;

/** Our SDP answer: ICE-lite, one BUNDLEd transport, DTLS passive (the offerer connects to us). */
export function writeAnswer(transport: AnswerTransport, sections: AnswerSection[]): string {
  const fingerprint = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  if (!fingerprint) throw new Error('transport has no sha-256 fingerprint');
  const bundled = sections.filter((s) => s.accepted).map((s) => s.offered.mid);
  const session: SessionDescription = {
    version: 0,
    origin: {
      username: 'streamfed',
      sessionId: Date.now(),
      sessionVersion: sessionVersion++,
      netType: 'IN',
      ipVer: 4,
      address: '127.0.0.1',
    },
    name: '-',
    timing: { start: 0, stop: 0 },
    icelite: 'ice-lite',
    msidSemantic: { semantic: 'WMS', token: '*' },
    groups: bundled.length ? [{ type: 'BUNDLE', mids: bundled.join(' ') }] : [],
    fingerprint: { type: fingerprint.algorithm, hash: fingerprint.value },
    media: sections.map((s) => (s.accepted ? acceptedSection(s, transport) : rejectedSection(s.offered))),
  };
  return sdpTransform.write(session);
}

function rejectedSection(offered: OfferedSection): MediaDescription {
  return {
    type: offered.media,
    port: 0,
    protocol: offered.protocol,
    payloads: offered.payloads,
    connection: { version: 4, ip: '0.0.0.0' },
    mid: offered.mid,
    direction: 'inactive',
    rtp: [],
    fmtp: [],
  };
}

function acceptedSection(
  s: Extract<AnswerSection, { accepted: true }>,
  transport: AnswerTransport,
): MediaDescription {
  const { rtpParameters } = s;
  const media: MediaDescription = {
    type: s.offered.kind ?? 'video',
    port: 7,
    protocol: 'UDP/TLS/RTP/SAVPF',
    payloads: rtpParameters.codecs.map((c) => c.payloadType).join(' '),
    connection: { version: 4, ip: '127.0.0.1' },
    mid: s.offered.mid,
    direction: s.direction,
    iceUfrag: transport.iceParameters.usernameFragment,
    icePwd: transport.iceParameters.password,
    setup: 'passive',
    rtcpMux: 'rtcp-mux',
    rtcpRsize: 'rtcp-rsize',
    candidates: transport.iceCandidates.map((c) => ({
      foundation: c.foundation,
      component: 1,
      transport: c.protocol,
      priority: c.priority,
      ip: c.address,
      port: c.port,
      type: c.type,
      ...(c.tcpType ? { tcptype: c.tcpType } : {}),
    })),
    endOfCandidates: 'end-of-candidates',
    rtp: rtpParameters.codecs.map((c) => ({
      payload: c.payloadType,
      codec: c.mimeType.split('/')[1] ?? '',
      rate: c.clockRate,
      ...(c.channels && c.channels > 1 ? { encoding: c.channels } : {}),
    })),
    fmtp: rtpParameters.codecs
      .filter((c) => c.parameters && Object.keys(c.parameters).length)
      .map((c) => ({
        payload: c.payloadType,
        config: formatFmtp(c.parameters),
      })),
    rtcpFb: rtpParameters.codecs.flatMap((c) =>
      (c.rtcpFeedback ?? []).map((fb) => ({
        payload: c.payloadType,
        type: fb.type,
        ...(fb.parameter ? { subtype: fb.parameter } : {}),
      })),
    ),
    ext: (rtpParameters.headerExtensions ?? []).map((e) => ({ value: e.id, uri: e.uri })),
  };
  const encoding = rtpParameters.encodings?.[0];
  if (s.direction === 'sendonly' && encoding?.ssrc !== undefined) {
    const cname = rtpParameters.rtcp?.cname ?? 'streamfed';
    const ssrcs = [encoding.ssrc, ...(encoding.rtx?.ssrc !== undefined ? [encoding.rtx.ssrc] : [])];
    media.ssrcs = ssrcs.flatMap((id) => [
      { id, attribute: 'cname', value: cname },
      ...(s.msid ? [{ id, attribute: 'msid', value: s.msid }] : []),
    ]);
    if (ssrcs.length > 1) media.ssrcGroups = [{ semantics: 'FID', ssrcs: ssrcs.join(' ') }];
    if (s.msid) media.msid = s.msid as unknown as MediaDescription['msid']; // sdp-transform 2.15 writes it as text
  }
  return media;
}
