import { MediaStreamTrack, RtcpRrPacket, type RTCPeerConnection, type RTCRtpSender } from 'werift';
import type { ChainHop } from '../../contracts/wcs-protocol.js';
import { PushFailureCode } from '../../contracts/pull-api.js';
import type { Publisher } from '../streams/publisher.js';
import { StreamStatus } from '../streams/status.js';
import { ProducerTap } from './producer-tap.js';
import { Relay, type PushTarget } from './relay.js';
import { createPeer, weriftCodec } from './rtc-peer.js';
import type { OfferOptions, StreamStatusEvent } from './wcs-client.js';

/** A push forwards what it gets and cannot adapt its bitrate: no congestion feedback (see PeerOptions). */
const NO_FEEDBACK = { congestionFeedback: false };

/**
 * What werift's sender knows of the RTP it put on the wire (fields private in its typings, public at
 * run time in werift 0.24): packets sent since DTLS connected, and the last sequence number sent.
 */
interface SenderCounters {
  packetCount: number;
  sequenceNumber?: number;
  ssrc: number;
}
const countersOf = (sender: RTCRtpSender): SenderCounters => sender as unknown as SenderCounters;

/** One leg per media kind: mediasoup producer → tap → werift track → sender. */
interface Leg {
  tap: ProducerTap;
  track: MediaStreamTrack;
  sender?: RTCRtpSender;
  /** From the remote's receiver reports: packets it received and lost on this leg. */
  received: number;
  lost: number;
}

/**
 * Republishes a local stream to a remote WCS server over WebRTC: we are the remote's client, exactly as a
 * browser would be (publishStream with our offer), fed with the local producers' RTP through ProducerTaps.
 * What reaches the remote is read from its RTCP receiver reports.
 */
export class Push extends Relay {
  readonly type = 'push';
  private readonly legs: Leg[] = [];

  constructor(
    target: PushTarget,
    private readonly source: Publisher,
    /** The push chain sent in publishStream (push-chain.ts chainOf). */
    private readonly chain: ChainHop[],
  ) {
    super(target);
  }

  protected async prepare(): Promise<void> {
    for (const producer of this.source.producers.values()) {
      const track = new MediaStreamTrack({ kind: producer.kind });
      const tap = await ProducerTap.open(this.source.router, producer, (packet, bytes) => {
        this.counted(bytes);
        track.writeRtp(packet);
      });
      this.legs.push({ tap, track, received: 0, lost: 0 });
      if (this.terminated || this.status === 'FAILED') {
        this.releaseMedia();
        return;
      }
    }
  }

  protected createPeer(): { peer: RTCPeerConnection; offer: OfferOptions } {
    const codecs = { audio: this.codecsOf('audio'), video: this.codecsOf('video') };
    const peer = createPeer(this.target.url.hostname.replace(/^\[|\]$/g, ''), codecs, NO_FEEDBACK);
    for (const leg of this.legs) {
      const transceiver = peer.addTransceiver(leg.track, { direction: 'sendonly' });
      leg.sender = transceiver.sender;
      transceiver.sender.onPictureLossIndication.subscribe(() => this.requestKeyFrame(leg.tap));
      transceiver.sender.onRtcp.subscribe((rtcp) => {
        if (rtcp instanceof RtcpRrPacket) this.onReceiverReport(leg, rtcp);
      });
    }
    const kinds = new Set(this.legs.map((l) => l.tap.consumer.kind));
    return {
      peer,
      offer: { hasAudio: kinds.has('audio'), hasVideo: kinds.has('video'), chain: this.chain },
    };
  }

  protected async onAnswered(): Promise<void> {
    for (const { tap } of this.legs) await tap.consumer.resume();
  }

  protected onPublishing(): void {
    for (const { tap } of this.legs) this.requestKeyFrame(tap);
  }

  protected sentSoFar(): number {
    return this.legs.reduce((n, l) => n + (l.sender ? countersOf(l.sender).packetCount : 0), 0);
  }

  protected onRemoteStatus(event: StreamStatusEvent): void {
    if (event.status === StreamStatus.PUBLISHING) this.remoteUp();
    else if (event.status === StreamStatus.FAILED || event.status === StreamStatus.UNPUBLISHED)
      this.fail(
        PushFailureCode.REMOTE_REJECTED,
        `remote stream ${event.status}${event.info ? `: ${event.info}` : ''}`,
      );
  }

  /**
   * A receiver report for our SSRC says how far the remote got: its extended highest sequence number and
   * cumulative loss. Our first packet on the wire had sequence number (last sent − packets sent + 1), so
   * received = highest − first + 1 − lost.
   */
  private onReceiverReport(leg: Leg, rr: RtcpRrPacket): void {
    if (!leg.sender) return;
    const sender = countersOf(leg.sender);
    if (sender.sequenceNumber === undefined || sender.packetCount === 0) return;
    for (const report of rr.reports) {
      if (report.ssrc !== sender.ssrc) continue;
      const first = (sender.sequenceNumber - sender.packetCount + 1) & 0xffff;
      leg.received = Math.max(0, report.highestSequence - first + 1 - report.packetsLost);
      leg.lost = Math.max(0, report.packetsLost);
    }
    const total = (pick: (l: Leg) => number): number => this.legs.reduce((n, l) => n + pick(l), 0);
    this.delivery.update(
      total((l) => l.received),
      total((l) => l.lost),
    );
  }

  protected releaseMedia(): void {
    for (const { tap, track } of this.legs.splice(0)) {
      tap.close();
      track.stop();
    }
  }

  private requestKeyFrame(tap: ProducerTap): void {
    if (tap.consumer.kind === 'video' && !tap.consumer.closed)
      void tap.consumer.requestKeyFrame().catch(() => undefined);
  }

  private codecsOf(kind: 'audio' | 'video'): ReturnType<typeof weriftCodec>[] {
    return this.legs
      .filter((l) => l.tap.consumer.kind === kind)
      .map((l) => weriftCodec(l.tap.codec, kind, NO_FEEDBACK));
  }
}
