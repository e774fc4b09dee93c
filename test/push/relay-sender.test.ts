import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GenericNack,
  MediaStreamTrack,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  type RTCPeerConnection,
  type RTCRtpTransceiver,
} from 'werift';
import { RelaySender, senderState } from '../../src/media/push/relay-sender.js';
import { createPeer } from '../../src/media/push/rtc-peer.js';
import { weriftCodec } from '../../src/media/rtc/codec-params.js';
import { mediaCodecs } from '../../src/media/rtc/codecs.js';
import { clientIce } from '../support/node-peer.js';
import { waitFor } from '../support/media-server.js';

const vp8 = mediaCodecs.find((c) => c.mimeType === 'video/VP8')!;
const NO_FEEDBACK = { congestionFeedback: false };

/** A packet as the tap hands it on: the source's SSRC and payload type, no header extensions. */
function tapped(sequenceNumber: number): RtpPacket {
  const header = new RtpHeader();
  header.payloadType = 101;
  header.ssrc = 0x1234;
  header.sequenceNumber = sequenceNumber;
  header.timestamp = 90 * sequenceNumber;
  return new RtpPacket(header, Buffer.alloc(1000, sequenceNumber & 0xff));
}

describe("RelaySender: a push's werift sender without the per-packet work a relay does not use", () => {
  const peers: RTCPeerConnection[] = [];
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });

  it('sends as sendRtp does, keeps the counters, answers NACKs from its history and reports SRs', async () => {
    // a push's sendonly peer (as egress-leg.ts builds it) and a receiver asking for NACK
    const sender = createPeer(
      { audio: [], video: [weriftCodec(vp8, 'video', NO_FEEDBACK)] },
      NO_FEEDBACK,
      clientIce(),
    );
    const receiver = createPeer(
      { audio: [], video: [weriftCodec(vp8, 'video', NO_FEEDBACK)] },
      NO_FEEDBACK,
      clientIce(),
    );
    peers.push(sender, receiver);
    const out = sender.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
    const received: RtpPacket[] = [];
    const reports: RtcpSrPacket[] = [];
    receiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => received.push(rtp)));
    let inbound: RTCRtpTransceiver | undefined;
    receiver.onTransceiverAdded.subscribe((t) => {
      inbound = t;
      t.dtlsTransport.onRtcp.subscribe((rtcp) => {
        if (rtcp instanceof RtcpSrPacket) reports.push(rtcp);
      });
    });
    await sender.setLocalDescription(await sender.createOffer());
    await receiver.setRemoteDescription(sender.localDescription!);
    await receiver.setLocalDescription(await receiver.createAnswer());
    await sender.setRemoteDescription(receiver.localDescription!);
    await waitFor(
      () => sender.connectionState === 'connected' && receiver.connectionState === 'connected',
      'both peers connected',
      10_000,
    );

    // the lean path, not the fallback to sendRtp
    let fallbacks = 0;
    const sendRtp = out.sender.sendRtp.bind(out.sender);
    out.sender.sendRtp = (rtp) => {
      fallbacks++;
      return sendRtp(rtp);
    };
    const relay = new RelaySender(out.sender);
    // paced as a stream is (a burst of 100 would overflow the receiving socket on loopback)
    for (let seq = 1000; seq < 1100; seq++) {
      relay.send(tapped(seq));
      if (seq % 10 === 9) await sleep(5);
    }
    await waitFor(() => received.length === 100, '100 packets at the receiver', 5000);
    expect(fallbacks).toBe(0);
    const payloadType = out.sender.codec!.payloadType;
    expect(received.map((p) => p.header.sequenceNumber)).toEqual([...Array(100).keys()].map((i) => 1000 + i));
    for (const p of received) {
      expect(p.header.ssrc).toBe(out.sender.ssrc);
      expect(p.header.payloadType).toBe(payloadType);
      expect(p.payload).toEqual(Buffer.alloc(1000, p.header.sequenceNumber & 0xff));
    }
    // what egress-leg.ts reads for delivery (sentSoFar, the first sequence number on the wire)
    const counters = senderState(out.sender);
    expect(counters.packetCount).toBe(100);
    expect(counters.sequenceNumber).toBe(1099);

    // a NACK for 1010 is answered from the sender's history
    await inbound!.dtlsTransport.sendRtcp([
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: out.sender.ssrc, lost: [1010] }),
      }),
    ]);
    await waitFor(() => received.length === 101, 'the retransmission', 5000);
    expect(received[100]!.header.sequenceNumber).toBe(1010);
    expect(received[100]!.payload).toEqual(Buffer.alloc(1000, 1010 & 0xff));

    // sender reports (every 0.5–1.5 s) carry the counts and a timestamp of what went out
    await waitFor(() => reports.length > 0, 'a sender report', 5000);
    const sr = reports.at(-1)!;
    expect(sr.ssrc).toBe(out.sender.ssrc);
    expect(sr.senderInfo.packetCount).toBe(100);
    expect(sr.senderInfo.octetCount).toBe(100 * 1000);
    // the pair of the SR: the timestamp of a packet sent (taken at most every 100 ms, the first one included)
    expect(sr.senderInfo.rtpTimestamp % 90).toBe(0);
    expect(sr.senderInfo.rtpTimestamp / 90).toBeGreaterThanOrEqual(1000);
    expect(sr.senderInfo.rtpTimestamp / 90).toBeLessThan(1100);
    expect(sr.senderInfo.ntpTimestamp).toBeGreaterThan(0n);
  }, 30_000);
});
