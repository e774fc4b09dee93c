import { isIP } from 'node:net';
import { isLoopbackIp } from '../addresses.js';
import {
  RTCPeerConnection,
  RTCRtpHeaderExtensionParameters,
  type RTCPeerConnection as Peer,
  type PeerConfig,
  type RTCRtpCodecParameters,
} from 'werift';
import type { IceServer } from '../../contracts/whip-http.js';

/**
 * Congestion feedback (transport-wide-cc, and abs-send-time for REMB) is for a sender that can adapt its
 * bitrate. A push forwards one encoding as it comes and cannot, so it does not ask for it: every feedback
 * packet would cost an SRTCP decrypt, a parse and a bandwidth-estimator update for nothing.
 */
export interface PeerOptions {
  congestionFeedback: boolean;
}

/**
 * Where our own push/pull peers open their sockets, and the STUN/TURN servers they use: one per server
 * (push-manager.ts), built from the listen configuration (peerNetworkOf in media-server.ts).
 *
 * werift's own port search (icePortRange) probes the range from its low end and then binds: two peers
 * gathering at once would both find the same free port, and the loser's bind fails outside any handler. So each
 * peer is given its own pair of ports (its host socket, and a TURN allocation's), taken in turn round the range.
 */
export class PeerNetwork {
  readonly bindIp: string;
  readonly #min: number;
  readonly #max: number;
  readonly #iceServers: () => readonly IceServer[];
  #next: number;

  constructor(options: {
    /** The address our peers bind (the internal address). */
    bindIp: string;
    /** The RTC range (at least two ports). */
    portRange: [number, number];
    /** Our own STUN/TURN servers (`--ice-server`), read per peer (TURN credentials may be minted per session). */
    iceServers: () => readonly IceServer[];
  }) {
    this.bindIp = options.bindIp;
    [this.#min, this.#max] = options.portRange;
    this.#iceServers = options.iceServers;
    this.#next = this.#min;
  }

  /**
   * werift's ICE and socket options for a peer talking to `host`, whose server announced `remoteIceServers`:
   * one host candidate, on the bind address (a loopback target is reached from loopback), in the next pair of
   * ports; our ICE servers and the remote's, and no others (werift's default is a public Google STUN server).
   */
  iceConfig(host: string, remoteIceServers: readonly IceServer[]): Partial<PeerConfig> {
    const v6 = isIP(host) === 6;
    const loopback = host === 'localhost' || isLoopbackIp(host);
    const bind = loopback && !isLoopbackIp(this.bindIp) ? (v6 ? '::1' : '127.0.0.1') : this.bindIp;
    const iceServers = [...this.#iceServers(), ...remoteIceServers].map((s) => ({
      urls: s.urls,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.credential !== undefined ? { credential: s.credential } : {}),
    }));
    const sameFamily = (isIP(bind) === 6) === v6;
    // a loopback bind address (a lone server listening on 127.0.0.1) cannot reach a target elsewhere (a WHIP
    // endpoint on another host): there the interfaces that route to it are used, still inside the RTC range
    const unreachable = isLoopbackIp(bind) && !loopback;
    if (!sameFamily || unreachable) return { iceServers, iceUseIpv6: v6, icePortRange: this.#ports() };
    return {
      iceServers,
      // host addresses: only the bind address (werift would add every interface's)
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: [bind],
      iceInterfaceAddresses: v6 ? { udp6: bind } : { udp4: bind },
      icePortRange: this.#ports(),
    };
  }

  #ports(): [number, number] {
    if (this.#next + 1 > this.#max) this.#next = this.#min;
    const low = this.#next;
    this.#next += 2;
    return [low, low + 1];
  }
}

/**
 * A werift peer connection, its sockets and ICE servers as `ice` says (PeerNetwork.iceConfig).
 *
 * `max-bundle`: one ICE/DTLS transport for all media from the start. Under werift's default
 * (`max-compat`) every transceiver gathers its own transport for the offer, and when the answer bundles
 * them werift re-points the transceivers at the first one and never closes the others: their UDP sockets
 * outlived every push and pull (two per relay, see test/media/os-leak.test.ts).
 */
export function createPeer(
  codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] },
  { congestionFeedback }: PeerOptions,
  ice: Partial<PeerConfig>,
): Peer {
  return new RTCPeerConnection({
    ...ice,
    bundlePolicy: 'max-bundle',
    codecs,
    headerExtensions: {
      audio: [],
      video: congestionFeedback
        ? [
            new RTCRtpHeaderExtensionParameters({
              uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
              id: 3,
            }),
            new RTCRtpHeaderExtensionParameters({
              uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
              id: 5,
            }),
          ]
        : [],
    },
  });
}
