import { ntpTime, type RTCDtlsTransport, type RTCRtpSender, type RtpPacket } from 'werift';

/**
 * What werift 0.24's RTCRtpSender.sendRtp reads and writes (private in its typings, public at run time):
 * its send state, the statistics its sender reports (SR) and NACK answers are made of, and its RTCP loop.
 * `packetCount`: packets sent since DTLS connected; `sequenceNumber`: the last one sent.
 */
export interface SenderState {
  ssrc: number;
  codec?: { payloadType: number };
  dtlsTransport: RTCDtlsTransport;
  headerExtensions: unknown[];
  redRedundantPayloadType?: number;
  seqOffset: number;
  timestampOffset: number;
  sequenceNumber?: number;
  timestamp?: number;
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  octetCount: number;
  packetCount: number;
  headerBytesSent: number;
  rtpCache: (RtpPacket | undefined)[];
  rtcpRunning: boolean;
  runRtcp(): Promise<void>;
}

/** A werift sender's own state (see SenderState). */
export const senderState = (sender: RTCRtpSender): SenderState => sender as unknown as SenderState;

/** werift's RTP_HISTORY_SIZE: the packets its sender keeps to answer NACKs from. */
const HISTORY = 128;
/**
 * How often the (NTP, RTP timestamp) pair of the next sender report is taken: werift's SRs go out every
 * 0.5–1.5 s, so each carries the pair of a packet sent at most this long before it (a video push sends a
 * packet every ~17 ms at 1 Mbps: per packet, werift's NTP time was 4–5 % of the leg's Node CPU).
 */
const NTP_EVERY_MS = 100;

/**
 * werift's RTCRtpSender.sendRtp without what a relay does not use, for every packet of a push.
 *
 * A push sends one track as it comes: the remote negotiated no header extensions we write (mediasoup's are
 * dropped at the tap; no transport-wide-cc or abs-send-time, see rtc-peer.ts PeerOptions), no RED, and the
 * track is never replaced (sequence and timestamp offsets stay 0). sendRtp still does, per packet: rebuilds
 * the (empty) extension list three times over, takes an NTP time through a number → string → Buffer →
 * BigInt round trip, and feeds a send-side bandwidth estimator whose only input, transport-wide-cc
 * feedback, never comes. Here the packet gets what sendRtp gives it (SSRC, payload type), the sender the
 * state it keeps (sequence number, timestamp, packet and octet counts, the NACK history), the NTP/RTP pair
 * of its sender reports every NTP_EVERY_MS (a true pair, as werift's is: the time a packet went out and its
 * timestamp), and SRTP and the socket are werift's (RTCDtlsTransport.sendRtp).
 *
 * Where the sender is not in that state (extensions or RED negotiated, a replaced track), this is
 * sender.sendRtp.
 */
export class RelaySender {
  readonly #sender: RTCRtpSender;
  readonly #s: SenderState;
  #ntpAt = -Infinity;

  constructor(sender: RTCRtpSender) {
    this.#sender = sender;
    this.#s = senderState(sender);
  }

  /** The packet's header is rewritten in place (SSRC, payload type), as sendRtp does. */
  send(packet: RtpPacket): void {
    const s = this.#s;
    if (
      s.headerExtensions.length > 0 ||
      s.redRedundantPayloadType !== undefined ||
      s.seqOffset !== 0 ||
      s.timestampOffset !== 0
    ) {
      void this.#sender.sendRtp(packet);
      return;
    }
    if (s.dtlsTransport.state !== 'connected' || !s.codec) return;
    const { header, payload } = packet;
    header.ssrc = s.ssrc;
    header.payloadType = s.codec.payloadType;
    s.timestamp = header.timestamp;
    s.sequenceNumber = header.sequenceNumber;
    const now = performance.now();
    if (now - this.#ntpAt >= NTP_EVERY_MS) {
      this.#ntpAt = now;
      s.ntpTimestamp = ntpTime();
      s.rtpTimestamp = header.timestamp;
    }
    s.octetCount += payload.length;
    s.headerBytesSent += 12 + 4 * header.csrc.length;
    s.packetCount = (s.packetCount + 1) >>> 0;
    s.rtpCache[header.sequenceNumber % HISTORY] = packet;
    void s.dtlsTransport.sendRtp(payload, header);
    if (!s.rtcpRunning) void s.runRtcp();
  }
}
