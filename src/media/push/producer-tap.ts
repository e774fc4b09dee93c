import dgram from 'node:dgram';
import type * as ms from 'mediasoup/types';

/**
 * Takes a producer's RTP out of mediasoup into this process: a PlainTransport consumer sending to a UDP
 * socket on loopback. No header extensions and no RTX on this leg: the WebRTC stack that sends the
 * packets on writes its own, and answers the remote's NACKs itself.
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
    onRtp: (packet: Buffer) => void,
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
        (c) => c.kind === producer.kind && !c.mimeType.toLowerCase().endsWith('/rtx'),
      );
      const consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: { codecs, headerExtensions: [] },
        paused: true,
      });
      socket.on('message', (packet) => {
        // RTCP shares the port (rtcp-mux): payload types 200-207 in the second byte.
        const pt = (packet[1] ?? 0) & 0x7f;
        if (packet.length >= 12 && !(pt >= 72 && pt <= 79)) onRtp(packet);
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
