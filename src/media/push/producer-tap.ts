import dgram from 'node:dgram';
import type * as ms from 'mediasoup/types';
import { RtpHeader, RtpPacket } from 'werift';
import { rtpPayloadBounds } from '../rtc/rtp-payload.js';
import { isRtx } from '../rtc/codec-params.js';

/**
 * An RTP packet from the tap as werift's RtpPacket, without its header extensions (and padding).
 *
 * mediasoup puts its own extensions on every packet it sends, negotiated or not: mid, and on video
 * abs-send-time and transport-wide-cc, under its internal ids. Handed to werift as a Buffer, they made the
 * largest per-packet cost on this path that is ours: werift's RtpHeader.deSerialize reads the first bytes
 * bit by bit through strings and copies the extension list once per extension, and its sender then merges
 * them into the extensions it writes itself, by id — replacing its own where the ids collide (its
 * abs-send-time, id 1, went out as mediasoup's one-byte mid) and passing the rest on to a remote that
 * never negotiated them. The sender writes what the remote did negotiate, so the header is read here with
 * a few fixed-offset reads and mediasoup's extensions are dropped.
 */
export function tapPacket(packet: Buffer): RtpPacket | undefined {
  const bounds = rtpPayloadBounds(packet);
  if (!bounds) return undefined;
  const csrcs = packet[0]! & 0x0f;
  const b1 = packet[1]!;
  const header = new RtpHeader();
  header.marker = (b1 & 0x80) !== 0;
  header.payloadType = b1 & 0x7f;
  header.sequenceNumber = packet.readUInt16BE(2);
  header.timestamp = packet.readUInt32BE(4);
  header.ssrc = packet.readUInt32BE(8);
  for (let i = 0; i < csrcs; i++) header.csrc.push(packet.readUInt32BE(12 + 4 * i));
  return new RtpPacket(header, packet.subarray(bounds.start, bounds.end));
}

/**
 * Takes a producer's RTP out of mediasoup into this process: a PlainTransport consumer sending to a UDP
 * socket on loopback. No RTX on this leg and no header extensions reach the WebRTC stack that sends the
 * packets on (see tapPacket): it writes its own, and answers the remote's NACKs itself.
 */
export class ProducerTap {
  private constructor(
    readonly consumer: ms.Consumer,
    private readonly transport: ms.PlainTransport,
    private readonly socket: dgram.Socket,
  ) {}

  static async open(
    router: ms.Router,
    producer: ms.Producer,
    onRtp: (packet: RtpPacket, bytes: number) => void,
  ): Promise<ProducerTap> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    const transport = await router
      .createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: true,
        comedia: false,
      })
      .catch((error: unknown) => {
        socket.close();
        throw error;
      });
    try {
      await transport.connect({ ip: '127.0.0.1', port: socket.address().port });
      const codecs = (router.rtpCapabilities.codecs ?? []).filter(
        (c) => c.kind === producer.kind && !isRtx(c),
      );
      const consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: { codecs, headerExtensions: [] },
        paused: true,
      });
      socket.on('message', (data) => {
        // RTCP shares the port (rtcp-mux): payload types 200-207 in the second byte.
        const pt = (data[1] ?? 0) & 0x7f;
        if (pt >= 72 && pt <= 79) return;
        const packet = tapPacket(data);
        if (packet) onRtp(packet, data.length);
      });
      return new ProducerTap(consumer, transport, socket);
    } catch (error) {
      transport.close();
      socket.close();
      throw error;
    }
  }

  /** The codec mediasoup sends on this leg (the producer's, with the router's payload type). */
  get codec(): ms.RtpCodecParameters {
    const codec = this.consumer.rtpParameters.codecs[0];
    if (!codec) throw new Error('consumer has no codec');
    return codec;
  }

  close(): void {
    this.transport.close();
    this.socket.close();
  }
}
