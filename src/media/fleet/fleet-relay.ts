import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type * as ms from 'mediasoup/types';
import { StreamStatus } from '../streams/status.js';
import { FleetError, FleetErrorCode } from './fleet-errors.js';
import { FleetPipe, type PipeListen } from '../rtc/pipe-half.js';
import type { MemberClient } from './member-client.js';
import { RelayControl } from './relay-control.js';
import { RelayedPublisher } from './relayed-publisher.js';

export type RelayState = 'connecting' | 'live' | 'closed';

export interface FleetRelayEvents {
  state: [state: RelayState];
  /** Once, with the failure when it ended because of one (undefined: a normal end). */
  close: [error: FleetError | undefined];
}

export interface RelayOrigin {
  memberId: string;
  client: MemberClient;
}

/**
 * One relay of one stream from its origin member to this server, shared by all the stream's players here:
 * a control client (the origin's control channel) + a media leg (the fleet pipe) + the publisher local
 * players see. The relay owns all three: `close()` cascades to them, and the pipe is closed by nobody else.
 * The origin ending the stream or going silent closes it, and so does its publisher ending (a REST
 * terminate, a shutdown). The players are not the relay's: each ends through its own consumers as the pipe's
 * producers close (RelayedPublisher.playerEnd says how).
 */
export class FleetRelay extends EventEmitter<FleetRelayEvents> {
  readonly id = randomUUID();
  readonly name: string;
  readonly origin: RelayOrigin;
  readonly createdAt = Date.now();
  #state: RelayState = 'connecting';
  #pipe: FleetPipe | undefined;
  #control: RelayControl | undefined;
  #publisher: RelayedPublisher | undefined;
  #idleSince: number | undefined;

  constructor(name: string, origin: RelayOrigin) {
    super();
    this.name = name;
    this.origin = origin;
  }

  get state(): RelayState {
    return this.#state;
  }
  get publisher(): RelayedPublisher | undefined {
    return this.#publisher;
  }
  get pipe(): FleetPipe | undefined {
    return this.#pipe;
  }

  /**
   * Sets the relay up (the pipeToRouter recipe over REST): our pipe half, the origin's half from our offer,
   * connect ours to it, produce what it sends, open the control channel. Any failure closes what was made.
   */
  async open(router: ms.Router, listen: PipeListen, memberId: string): Promise<RelayedPublisher> {
    try {
      const pipe = await FleetPipe.open(router, listen);
      this.#pipe = pipe;
      const answer = await this.origin.client.offer({ name: this.name, memberId, ...pipe.endpoint() });
      const control = new RelayControl(this.origin.client, answer.relayId);
      this.#control = control;
      this.#throwIfClosed();
      await pipe.connect(answer);
      await control.open();
      control.once('ended', () => this.close());
      control.once('lost', (error) => this.close(error));
      const init = {
        appKey: 'defaultApp',
        sessionId: `fleet:${this.origin.memberId}`,
        mediaSessionId: this.id,
        name: this.name,
        // a push of the relayed copy extends the chain the origin's stream came by (push-chain.ts)
        ...(answer.chain ? { chain: answer.chain } : {}),
      };
      const media = { transport: pipe.transport, router, producers: pipe.producers };
      const publisher = new RelayedPublisher(init, media, this.origin.memberId);
      this.#publisher = publisher;
      publisher.on('status', () => {
        if (publisher.ended) this.close();
      });
      this.#throwIfClosed();
      publisher.connected();
      this.#setState('live');
      return publisher;
    } catch (error) {
      const failure =
        error instanceof FleetError
          ? error
          : new FleetError(FleetErrorCode.RELAY_REFUSED, (error as Error).message, { cause: error });
      this.close(failure);
      throw failure;
    }
  }

  /** Tracks how long the relay has had no players; true once that exceeds `idleMs`. */
  idle(players: number, idleMs: number, now = Date.now()): boolean {
    if (players > 0 || this.#state !== 'live') {
      this.#idleSince = undefined;
      return false;
    }
    this.#idleSince ??= now;
    return now - this.#idleSince >= idleMs;
  }

  /**
   * Ends the relay once: its publisher ends (FAILED after a failure), then the pipe closes, and with it the
   * producers the players consume: a normal end leaves them STOPPED, as when a local publisher stops; a
   * failure FAILED.
   */
  close(error?: FleetError): void {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    this.#control?.close();
    this.#publisher?.end(error ? StreamStatus.FAILED : StreamStatus.UNPUBLISHED, error?.message);
    this.#pipe?.close();
    this.emit('close', error);
    this.removeAllListeners();
  }

  #throwIfClosed(): void {
    if (this.#state === 'closed')
      throw new FleetError(FleetErrorCode.RELAY_REFUSED, 'relay closed while opening');
  }

  #setState(state: RelayState): void {
    this.#state = state;
    this.emit('state', state);
  }
}
