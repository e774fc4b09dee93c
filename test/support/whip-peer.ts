import { MediaStreamTrack, type RTCPeerConnection, type RtpPacket } from 'werift';
import { WhipMediaType, sessionUrl } from '../../src/contracts/whip-http.js';
import { createPeer } from '../../src/media/push/rtc-peer.js';
import { BROWSER_LIKE, clientIce } from './node-peer.js';
import { weriftCodec } from '../../src/media/rtc/codec-params.js';
import { mediaCodecs } from '../../src/media/rtc/codecs.js';
import { SYNTHETIC_VIDEO_SIZE, sendSynthetic } from './node-peer.js';

const opus = mediaCodecs.find((c) => c.mimeType === 'audio/opus')!;
const vp8 = mediaCodecs.find((c) => c.mimeType === 'video/VP8')!;

export interface WhipAnswer {
  status: number;
  headers: Headers;
  /** The answer SDP (201) or the refusal's body (text). */
  body: string;
}

/** POSTs an SDP offer to a WHIP/WHEP endpoint. */
export async function postOffer(
  endpoint: string,
  sdp: string,
  headers: Record<string, string> = {},
): Promise<WhipAnswer> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': WhipMediaType.SDP, ...headers },
    body: sdp,
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** A WHIP publisher or WHEP player in Node (werift), synthetic media as NodePeer sends it. */
export class WhipPeer {
  private timer: NodeJS.Timeout | undefined;
  received = 0;
  sentPackets = 0;
  videoSize = { ...SYNTHETIC_VIDEO_SIZE };

  private constructor(
    readonly peer: RTCPeerConnection,
    /** The offer as posted. */
    readonly offer: string,
    /** The answer of the POST (status 201 when the peer exists). */
    readonly answer: WhipAnswer,
    /** The session URL (the 201's Location). */
    readonly session: URL,
    private readonly headers: Record<string, string>,
  ) {}

  /** The werift peer's offer, for tests that post it themselves. */
  static async offer(direction: 'sendonly' | 'recvonly'): Promise<{ peer: RTCPeerConnection; sdp: string }> {
    const peer = createPeer(
      {
        audio: [weriftCodec(opus, 'audio')],
        video: [weriftCodec(vp8, 'video')],
      },
      BROWSER_LIKE,
      clientIce(),
    );
    if (direction === 'sendonly') {
      peer.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction });
      peer.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction });
    } else {
      peer.addTransceiver('audio', { direction });
      peer.addTransceiver('video', { direction });
    }
    await peer.setLocalDescription(await peer.createOffer());
    return { peer, sdp: peer.localDescription?.sdp ?? '' };
  }

  /** Publishes to a WHIP endpoint; throws with the answer when it is not a 201. */
  static async publish(endpoint: string, headers: Record<string, string> = {}): Promise<WhipPeer> {
    const self = await WhipPeer.negotiate(endpoint, 'sendonly', headers);
    const [audio, video] = self.peer.getTransceivers().map((t) => t.sender.track!);
    self.timer = sendSynthetic(audio!, video!, {}, self);
    return self;
  }

  /** Plays from a WHEP endpoint, counting the RTP packets received (`onRtp` sees each, with its kind). */
  static async play(
    endpoint: string,
    headers: Record<string, string> = {},
    onRtp?: (packet: RtpPacket, kind: string) => void,
  ): Promise<WhipPeer> {
    return WhipPeer.negotiate(endpoint, 'recvonly', headers, onRtp);
  }

  private static async negotiate(
    endpoint: string,
    direction: 'sendonly' | 'recvonly',
    headers: Record<string, string>,
    onRtp?: (packet: RtpPacket, kind: string) => void,
  ): Promise<WhipPeer> {
    const { peer, sdp } = await WhipPeer.offer(direction);
    let received = 0;
    peer.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) => {
        received++;
        onRtp?.(rtp, track.kind);
      }),
    );
    try {
      const answer = await postOffer(endpoint, sdp, headers);
      const session = sessionUrl(endpoint, answer.headers.get('location'));
      if (answer.status !== 201 || !session)
        throw new Error(`WHIP/WHEP POST answered ${answer.status}: ${answer.body}`);
      const self = new WhipPeer(peer, sdp, answer, session, headers);
      Object.defineProperty(self, 'received', { get: () => received });
      await peer.setRemoteDescription({ type: 'answer', sdp: answer.body });
      return self;
    } catch (error) {
      await peer.close();
      throw error;
    }
  }

  /** Ends the session the protocol way (DELETE on its URL); returns the status. Closes the peer too. */
  async delete(headers: Record<string, string> = this.headers): Promise<number> {
    const response = await fetch(this.session, { method: 'DELETE', headers });
    await this.close();
    return response.status;
  }

  /** Closes the peer without telling the server. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.peer.close();
  }
}
