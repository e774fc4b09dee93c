import dgram from 'node:dgram';
import type { RTCPeerConnection } from 'werift';
import { createPeer } from '../../src/media/push/rtc-peer.js';
import { BROWSER_LIKE, clientIce } from './node-peer.js';
import { weriftCodec } from '../../src/media/rtc/codec-params.js';
import { mediaCodecs } from '../../src/media/rtc/codecs.js';

/** How the answering side of a fake remote behaves once it has answered. */
export type AnswerStall =
  /** The answer's only ICE candidate is a UDP port that never replies (ICE never connects). */
  | 'ice'
  /** Really connects (a werift peer) but never sends a receiver report (no delivery, ever). */
  | 'media'
  /** Really connects and reports what it receives for `reportForMs`, then falls silent (delivery stalls). */
  | 'stall-later';

/**
 * The media half of a fake remote (fake-wcs.ts, whip-endpoint.ts): answers an offer with a werift peer
 * that stalls as told, and closes every peer, socket and timer it made in close().
 */
export class FakeAnswerer {
  private readonly peers: RTCPeerConnection[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private blackhole: dgram.Socket | undefined;

  constructor(
    private readonly stall: AnswerStall,
    private readonly reportForMs = 2000,
  ) {}

  /** The answer SDP to `offer`. */
  async answer(offer: string): Promise<string> {
    const peer = createPeer(
      {
        audio: mediaCodecs.filter((c) => c.kind === 'audio').map((c) => weriftCodec(c, 'audio')),
        video: mediaCodecs
          .filter((c) => c.kind === 'video' && c.mimeType === 'video/VP8')
          .map((c) => weriftCodec(c, 'video')),
      },
      BROWSER_LIKE,
      clientIce(),
    );
    this.peers.push(peer);
    await peer.setRemoteDescription({ type: 'offer', sdp: offer });
    const silence = (): void => {
      for (const t of peer.getTransceivers()) {
        // a receiver that reports no more: the sender hears nothing back about its media
        t.receiver.runRtcp = async () => undefined;
        (t.receiver as unknown as { rtcpRunning: boolean }).rtcpRunning = false;
      }
    };
    if (this.stall === 'media') silence();
    if (this.stall === 'stall-later') {
      const timer = setTimeout(silence, this.reportForMs);
      this.timers.add(timer);
    }
    await peer.setLocalDescription(await peer.createAnswer());
    const sdp = peer.localDescription!.sdp;
    if (this.stall !== 'ice') return sdp;
    await peer.close();
    const port = (await this.blackholePort()).toString();
    return sdp
      .split('\r\n')
      .filter((l) => !l.startsWith('a=candidate:'))
      .join('\r\n')
      .replace(
        /(m=\w+ \d+ [^\r\n]+\r\n)/g,
        `$1a=candidate:1 1 udp 2130706431 127.0.0.1 ${port} typ host\r\n`,
      );
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.peers.splice(0).map((p) => p.close()));
    this.blackhole?.close();
    this.blackhole = undefined;
  }

  private async blackholePort(): Promise<number> {
    if (!this.blackhole) {
      const socket = dgram.createSocket('udp4');
      this.blackhole = socket;
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    }
    return this.blackhole.address().port;
  }
}
