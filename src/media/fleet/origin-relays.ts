import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type * as ms from 'mediasoup/types';
import {
  CONTROL_HEARTBEAT_MS,
  type ControlEvent,
  type RelayAnswer,
  type RelayOffer,
} from '../../contracts/fleet-api.js';
import type { Publisher } from '../streams/publisher.js';
import type { StreamUser, StreamUsers } from '../streams/stream-users.js';
import { FleetError, FleetErrorCode } from './fleet-errors.js';
import { createPipeHalf, pipeEndpoint, type PipeListen } from '../rtc/pipe-half.js';

export interface ServedRelay {
  relayId: string;
  name: string;
  /** The member the stream is relayed to. */
  memberId: string;
  keyFrameRequests: number;
}

/** How long the origin keeps a half whose member never opened the control channel. */
const CONTROL_OPEN_TIMEOUT_MS = 10_000;

/** The origin's half of one relay: a PipeTransport with one pipe consumer per kind of the local publisher. */
class OriginHalf {
  readonly id = randomUUID();
  readonly #transport: ms.PipeTransport;
  readonly consumers: ms.Consumer[] = [];
  #control: ServerResponse | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #openDeadline: NodeJS.Timeout;
  #closed = false;

  constructor(
    readonly name: string,
    readonly memberId: string,
    transport: ms.PipeTransport,
    /** The half's use of the publisher it serves, released when it closes. */
    private readonly user: StreamUser,
    private readonly onClosed: (half: OriginHalf) => void,
  ) {
    this.#transport = transport;
    this.#openDeadline = setTimeout(() => this.close('closed'), CONTROL_OPEN_TIMEOUT_MS);
  }

  get transport(): ms.PipeTransport {
    return this.#transport;
  }

  /** The member's control channel: heartbeats until the stream or the relay ends; its loss closes the half. */
  attach(response: ServerResponse): void {
    if (this.#closed || this.#control) {
      response.statusCode = 409;
      response.end();
      return;
    }
    clearTimeout(this.#openDeadline);
    this.#control = response;
    response.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    this.#write({ event: 'heartbeat' });
    this.#heartbeat = setInterval(() => this.#write({ event: 'heartbeat' }), CONTROL_HEARTBEAT_MS);
    response.once('close', () => this.close('closed'));
  }

  /**
   * Ends the half as a lost origin does: the control channel is cut with no `ended` event, so the member's
   * relay is lost and its players fail, as when the origin dies.
   */
  drop(): void {
    this.#control?.destroy();
    this.close('closed');
  }

  close(reason: 'unpublished' | 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#openDeadline);
    clearInterval(this.#heartbeat);
    if (this.#control && !this.#control.writableEnded && !this.#control.destroyed) {
      this.#write({ event: 'ended', reason });
      this.#control.end();
    }
    this.#transport.close();
    this.user.release();
    this.onClosed(this);
  }

  #write(event: ControlEvent): void {
    this.#control?.write(`${JSON.stringify(event)}\n`);
  }
}

/**
 * The relays this server serves as an origin. Only a stream published here (never one relayed here) is
 * served, so a relay never feeds another relay: members fetch from the origin or not at all.
 */
export interface OriginRelaysOptions {
  listen: PipeListen;
  memberId: string;
  /** Each served relay is a user of its publisher while it lasts. */
  users: StreamUsers;
}

export class OriginRelays {
  readonly #halves = new Map<string, OriginHalf>();
  readonly #listen: PipeListen;
  readonly #memberId: string;
  readonly #users: StreamUsers;

  constructor(options: OriginRelaysOptions) {
    this.#listen = options.listen;
    this.#memberId = options.memberId;
    this.#users = options.users;
  }

  async serve(offer: RelayOffer, publisher: Publisher): Promise<RelayAnswer> {
    const transport = await createPipeHalf(publisher.router, this.#listen);
    const user = this.#users.acquire(publisher, 'relay');
    const half = new OriginHalf(offer.name, offer.memberId, transport, user, (h) =>
      this.#halves.delete(h.id),
    );
    this.#halves.set(half.id, half);
    try {
      await transport.connect({
        ip: offer.ip,
        port: offer.port,
        srtpParameters: offer.srtpParameters as ms.SrtpParameters,
      });
      const producers: RelayAnswer['producers'] = [];
      for (const [kind, producer] of publisher.producers) {
        const consumer = await transport.consume({ producerId: producer.id });
        consumer.once('producerclose', () => half.close('unpublished'));
        half.consumers.push(consumer);
        producers.push({ kind, rtpParameters: consumer.rtpParameters, paused: consumer.producerPaused });
      }
      if (publisher.ended) throw new FleetError(FleetErrorCode.NOT_ORIGIN, 'the stream ended');
      return {
        relayId: half.id,
        originMemberId: this.#memberId,
        publishedAt: publisher.createdAt,
        ...pipeEndpoint(transport),
        producers,
        ...(publisher.init.chain ? { chain: publisher.init.chain } : {}),
      };
    } catch (error) {
      half.close('closed');
      throw error;
    }
  }

  attach(relayId: string, response: ServerResponse): boolean {
    const half = this.#halves.get(relayId);
    if (!half) return false;
    half.attach(response);
    return true;
  }

  close(relayId: string): boolean {
    const half = this.#halves.get(relayId);
    half?.close('closed');
    return half !== undefined;
  }

  /** The served relays with the key-frame requests (PLI, FIR) that came back over each hop from its players. */
  async describe(): Promise<ServedRelay[]> {
    return Promise.all(
      [...this.#halves.values()].map(async (h) => {
        let keyFrameRequests = 0;
        for (const consumer of h.consumers) {
          for (const s of await consumer.getStats().catch(() => [])) {
            if (s.type === 'outbound-rtp') keyFrameRequests += s.pliCount + s.firCount;
          }
        }
        return { relayId: h.id, name: h.name, memberId: h.memberId, keyFrameRequests };
      }),
    );
  }

  /** How many relay halves this origin serves. */
  get size(): number {
    return this.#halves.size;
  }

  /** Bytes sent over the hops this origin serves. */
  async bytesSent(): Promise<number> {
    let bytes = 0;
    for (const half of this.#halves.values()) {
      const stats = (await half.transport.getStats().catch(() => []))[0] as
        { bytesSent?: number } | undefined;
      bytes += stats?.bytesSent ?? 0;
    }
    return bytes;
  }

  closeAll(): void {
    for (const half of [...this.#halves.values()]) half.close('closed');
  }

  /** Ends every served relay as a lost origin does (OriginHalf.drop). */
  dropAll(): void {
    for (const half of [...this.#halves.values()]) half.drop();
  }
}
