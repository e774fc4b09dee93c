import { NodePeer, TAG_OFFSET } from '../../test/support/node-peer.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The tagged-RTP method for one-way latency: a Node sender in this process publishes VP8-shaped RTP whose
 * payload carries a packet counter (its tag); a Node player, also here, looks each received tag up in when
 * it was sent. One process, one clock: no clock sync needed.
 */
export class TaggedSource {
  private constructor(
    readonly peer: NodePeer,
    private readonly sentAt: Map<number, number>,
  ) {}

  /** Publishes `name` on `wsUrl`, video only at `bitrate`, and waits for PUBLISHING. */
  static async publish(wsUrl: string, name: string, bitrate: number): Promise<TaggedSource> {
    const sentAt = new Map<number, number>();
    const peer = await NodePeer.publish(wsUrl, name, {
      videoBitrate: bitrate,
      onSend: (tag) => {
        sentAt.set(tag, performance.now());
        // a few seconds of history, not the whole run
        sentAt.delete(tag - 5000);
      },
    });
    await peer.waitStatus('PUBLISHING');
    return new TaggedSource(peer, sentAt);
  }

  /**
   * Plays `name` on `wsUrl` (video only) for `seconds` after a 2 s warm-up and returns each tagged packet's
   * one-way time in ms, sender → player.
   */
  async oneWay(wsUrl: string, name: string, seconds: number): Promise<number[]> {
    const samples: number[] = [];
    let on = false;
    const player = await NodePeer.play(wsUrl, name, {
      kinds: ['video'],
      onRtp: (rtp) => {
        if (!on || rtp.payload.length < TAG_OFFSET + 4) return;
        const t = this.sentAt.get(rtp.payload.readUInt32BE(TAG_OFFSET));
        if (t !== undefined) samples.push(performance.now() - t);
      },
    });
    await player.waitStatus('PLAYING');
    await sleep(2000);
    on = true;
    await sleep(seconds * 1000);
    on = false;
    await player.stop();
    if (samples.length === 0) throw new Error(`no packets measured on ${name}`);
    return samples;
  }

  stop(): Promise<void> {
    return this.peer.stop();
  }
}
