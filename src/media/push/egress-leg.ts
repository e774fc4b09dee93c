import { EventEmitter } from 'node:events';
import {
  MediaStreamTrack,
  RtcpRrPacket,
  type PeerConfig,
  type RTCPeerConnection,
  type RTCRtpSender,
} from 'werift';
import type { ChainHop } from '../../contracts/wcs-protocol.js';
import type { Publisher } from '../streams/publisher.js';
import { StreamStatus } from '../streams/status.js';
import type { MediaLeg, MediaLegEvents } from './media-leg.js';
import { ProducerTap } from './producer-tap.js';
import { RelaySender, senderState } from './relay-sender.js';
import { weriftCodec } from '../rtc/codec-params.js';
import { createPeer } from './rtc-peer.js';
import type { OfferOptions } from './signalling.js';

/** A push forwards what it gets and cannot adapt its bitrate: no congestion feedback (see PeerOptions). */
const NO_FEEDBACK = { congestionFeedback: false };

/** One track per media kind: mediasoup producer → tap → sender (werift's, through RelaySender). */
interface Track {
  tap: ProducerTap;
  track: MediaStreamTrack;
  sender?: RTCRtpSender;
  /** Where the tap's packets go, once the peer exists. */
  out: { relay?: RelaySender };
  /** From the remote's receiver reports: packets it received and lost on this track. */
  received: number;
  lost: number;
}

/**
 * The media leg of a push: a local stream's producers' RTP, taken out of mediasoup by ProducerTaps, fed to
 * a sendonly werift peer, exactly as a browser would publish it to the remote. What reaches the remote is
 * read from its RTCP receiver reports.
 */
export class EgressLeg extends EventEmitter<MediaLegEvents> implements MediaLeg {
  readonly type = 'push';
  readonly remoteUp = StreamStatus.PUBLISHING;
  readonly remoteEnds = [StreamStatus.FAILED, StreamStatus.UNPUBLISHED];
  readonly #source: Publisher;
  readonly #chain: ChainHop[];
  readonly #tracks: Track[] = [];
  #closed = false;

  /** `chain`: the push chain sent in publishStream (push-chain.ts chainOf). */
  constructor(source: Publisher, chain: ChainHop[]) {
    super();
    this.#source = source;
    this.#chain = chain;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async prepare(): Promise<void> {
    for (const producer of this.#source.producers.values()) {
      const track = new MediaStreamTrack({ kind: producer.kind });
      const out: Track['out'] = {};
      // straight to the sender: track.writeRtp would only fan the packet out to it through werift's
      // event (an async closure and a promise per packet, for one listener)
      const tap = await ProducerTap.open(this.#source.router, producer, (packet, bytes) => {
        this.emit('forwarded', bytes);
        out.relay?.send(packet);
      });
      this.#tracks.push({ tap, track, out, received: 0, lost: 0 });
      if (this.#closed) return this.#freeTracks();
    }
  }

  createPeer(ice: Partial<PeerConfig>): { peer: RTCPeerConnection; offer: OfferOptions } {
    const codecs = { audio: this.#codecsOf('audio'), video: this.#codecsOf('video') };
    const peer = createPeer(codecs, NO_FEEDBACK, ice);
    for (const t of this.#tracks) {
      const transceiver = peer.addTransceiver(t.track, { direction: 'sendonly' });
      t.sender = transceiver.sender;
      t.out.relay = new RelaySender(transceiver.sender);
      transceiver.sender.onPictureLossIndication.subscribe(() => this.#requestKeyFrame(t.tap));
      transceiver.sender.onRtcp.subscribe((rtcp) => {
        if (rtcp instanceof RtcpRrPacket) this.#onReceiverReport(t, rtcp);
      });
    }
    const kinds = new Set(this.#tracks.map((t) => t.tap.consumer.kind));
    return {
      peer,
      offer: { hasAudio: kinds.has('audio'), hasVideo: kinds.has('video'), chain: this.#chain },
    };
  }

  async answered(): Promise<void> {
    for (const { tap } of this.#tracks) await tap.consumer.resume();
  }

  publishing(): void {
    for (const { tap } of this.#tracks) this.#requestKeyFrame(tap);
  }

  sentSoFar(): number {
    return this.#tracks.reduce((n, t) => n + (t.sender ? senderState(t.sender).packetCount : 0), 0);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#freeTracks();
    this.removeAllListeners();
  }

  /**
   * A receiver report for our SSRC says how far the remote got: its extended highest sequence number and
   * cumulative loss. Our first packet on the wire had sequence number (last sent − packets sent + 1), so
   * received = highest − first + 1 − lost.
   */
  #onReceiverReport(t: Track, rr: RtcpRrPacket): void {
    if (!t.sender) return;
    const sender = senderState(t.sender);
    if (sender.sequenceNumber === undefined || sender.packetCount === 0) return;
    for (const report of rr.reports) {
      if (report.ssrc !== sender.ssrc) continue;
      const first = (sender.sequenceNumber - sender.packetCount + 1) & 0xffff;
      t.received = Math.max(0, report.highestSequence - first + 1 - report.packetsLost);
      t.lost = Math.max(0, report.packetsLost);
    }
    const total = (pick: (t: Track) => number): number => this.#tracks.reduce((n, x) => n + pick(x), 0);
    this.emit(
      'delivered',
      total((x) => x.received),
      total((x) => x.lost),
    );
  }

  #freeTracks(): void {
    for (const { tap, track } of this.#tracks.splice(0)) {
      tap.close();
      track.stop();
    }
  }

  #requestKeyFrame(tap: ProducerTap): void {
    if (tap.consumer.kind === 'video' && !tap.consumer.closed)
      void tap.consumer.requestKeyFrame().catch(() => undefined);
  }

  #codecsOf(kind: 'audio' | 'video'): ReturnType<typeof weriftCodec>[] {
    return this.#tracks
      .filter((t) => t.tap.consumer.kind === kind)
      .map((t) => weriftCodec(t.tap.codec, kind, NO_FEEDBACK));
  }
}
