import type * as ms from 'mediasoup/types';
import type { RelayAnswer, SrtpParameters } from '../../contracts/fleet-api.js';

/**
 * Where this server's fleet pipes listen: the internal address (--internal-ip: members reach each other there,
 * never through the addresses announced to browsers) and the RTC port range.
 */
export interface PipeListen {
  /** The address the pipe binds. */
  internalIp: string;
  /** What the other half is told, when it is not the bound address (a push to another cluster). */
  announcedIp?: string | undefined;
  rtcMinPort: number;
  rtcMaxPort: number;
}

/**
 * One half of a fleet hop: a mediasoup PipeTransport with SRTP and RTX/NACK (the pipeToRouter recipe, with the
 * two halves in two processes). Both ends make theirs with this, so they always agree on the options.
 */
export async function createPipeHalf(router: ms.Router, listen: PipeListen): Promise<ms.PipeTransport> {
  return router.createPipeTransport({
    listenInfo: {
      protocol: 'udp',
      ip: listen.internalIp,
      ...(listen.announcedIp !== undefined ? { announcedAddress: listen.announcedIp } : {}),
      portRange: { min: listen.rtcMinPort, max: listen.rtcMaxPort },
    },
    enableSctp: false,
    enableRtx: true,
    enableSrtp: true,
  });
}

/** The address and SRTP key the other half connects to. */
export function pipeEndpoint(transport: ms.PipeTransport): {
  ip: string;
  port: number;
  srtpParameters: SrtpParameters;
} {
  const srtp = transport.srtpParameters;
  if (!srtp) throw new Error('fleet pipe has no SRTP parameters');
  return {
    ip: transport.tuple.localAddress,
    port: transport.tuple.localPort,
    srtpParameters: { cryptoSuite: srtp.cryptoSuite, keyBase64: srtp.keyBase64 },
  };
}

/**
 * The member's half of a relay: the media leg. Connects its PipeTransport to the origin's and produces what
 * the origin's pipe consumers send; those producers are what local players consume. `close()` closes the
 * transport and with it every producer (mediasoup's own cascade), so players see their producer close.
 */
export class FleetPipe {
  readonly #transport: ms.PipeTransport;
  readonly #producers = new Map<'audio' | 'video', ms.Producer>();
  #closed = false;

  private constructor(transport: ms.PipeTransport) {
    this.#transport = transport;
  }

  static async open(router: ms.Router, listen: PipeListen): Promise<FleetPipe> {
    return new FleetPipe(await createPipeHalf(router, listen));
  }

  get transport(): ms.PipeTransport {
    return this.#transport;
  }
  /** What the origin sends, one producer per kind, once connected. */
  get producers(): ReadonlyMap<'audio' | 'video', ms.Producer> {
    return this.#producers;
  }
  get closed(): boolean {
    return this.#closed || this.#transport.closed;
  }

  endpoint(): ReturnType<typeof pipeEndpoint> {
    return pipeEndpoint(this.#transport);
  }

  /** Connects to the origin's half (a push's sending half) and makes one producer per relayed kind. */
  async connect(answer: Pick<RelayAnswer, 'ip' | 'port' | 'srtpParameters' | 'producers'>): Promise<void> {
    await this.#transport.connect({
      ip: answer.ip,
      port: answer.port,
      srtpParameters: answer.srtpParameters as ms.SrtpParameters,
    });
    for (const p of answer.producers) {
      const producer = await this.#transport.produce({
        kind: p.kind,
        rtpParameters: p.rtpParameters,
        paused: p.paused,
      });
      this.#producers.set(p.kind, producer);
    }
  }

  /** Bytes received over the hop and packets lost on it, summed over the producers. */
  async stats(): Promise<{ bytes: number; packets: number; lost: number }> {
    if (this.closed) return { bytes: 0, packets: 0, lost: 0 };
    const transport = (await this.#transport.getStats().catch(() => []))[0] as
      { bytesReceived?: number } | undefined;
    let packets = 0;
    let lost = 0;
    for (const producer of this.#producers.values()) {
      for (const s of await producer.getStats().catch(() => [])) {
        packets += s.packetCount;
        lost += s.packetsLost;
      }
    }
    return { bytes: transport?.bytesReceived ?? 0, packets, lost };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
  }
}
