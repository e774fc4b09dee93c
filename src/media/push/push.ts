import { MediaStreamTrack } from 'werift';
import type { Publisher } from '../streams/publisher.js';
import { StreamStatus } from '../streams/status.js';
import { ProducerTap } from './producer-tap.js';
import { Relay } from './relay.js';
import { createPeer, weriftCodec } from './rtc-peer.js';
import type { StreamStatusEvent } from './wcs-client.js';

/** A push forwards what it gets and cannot adapt its bitrate: no congestion feedback (see PeerOptions). */
const NO_FEEDBACK = { congestionFeedback: false };

/**
 * Republishes a local stream to a remote WCS server over WebRTC: we are the remote's client, exactly as a
 * browser would be (publishStream with our offer), fed with the local producers' RTP through ProducerTaps.
 */
export class Push extends Relay {
  readonly type = 'push';
  /** One leg per media kind: mediasoup producer → tap → werift track. */
  private readonly legs: { tap: ProducerTap; track: MediaStreamTrack }[] = [];

  /** Sets the push up; resolves once the remote answered (status PENDING), rejects and cleans up on failure. */
  async start(source: Publisher): Promise<void> {
    try {
      for (const producer of source.producers.values()) {
        const track = new MediaStreamTrack({ kind: producer.kind });
        const tap = await ProducerTap.open(source.router, producer, (packet, bytes) => {
          this.counted(bytes);
          track.writeRtp(packet);
        });
        this.legs.push({ tap, track });
        if (this.terminated) throw new Error('terminated');
      }
      const codecs = { audio: this.codecsOf('audio'), video: this.codecsOf('video') };
      const peer = createPeer(this.target.url.hostname.replace(/^\[|\]$/g, ''), codecs, NO_FEEDBACK);
      for (const { tap, track } of this.legs) {
        const transceiver = peer.addTransceiver(track, { direction: 'sendonly' });
        transceiver.sender.onPictureLossIndication.subscribe(() => this.requestKeyFrame(tap));
      }
      await this.negotiate(peer);
      for (const { tap } of this.legs) await tap.consumer.resume();
    } catch (error) {
      this.fail((error as Error).message);
      throw error;
    }
  }

  protected onRemoteStatus(event: StreamStatusEvent): void {
    if (event.status === StreamStatus.PUBLISHING) {
      this.setStatus('PUBLISHING');
      for (const { tap } of this.legs) this.requestKeyFrame(tap);
    } else if (event.status === StreamStatus.FAILED || event.status === StreamStatus.UNPUBLISHED) {
      this.fail(`remote stream ${event.status}${event.info ? `: ${event.info}` : ''}`);
    }
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
