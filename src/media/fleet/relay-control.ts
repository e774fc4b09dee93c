import { EventEmitter } from 'node:events';
import { CONTROL_HEARTBEAT_MS, type ControlEvent } from '../../contracts/fleet-api.js';
import { FleetError, FleetErrorCode } from './fleet-errors.js';
import type { MemberClient } from './member-client.js';

/** A control channel silent this long means the origin is gone (heartbeats come every second). */
export const CONTROL_SILENCE_MS = 3 * CONTROL_HEARTBEAT_MS;

export interface RelayControlEvents {
  /** The origin's stream ended normally (unpublished). */
  ended: [];
  /** The channel broke or went silent: the origin (or the way to it) is gone. */
  lost: [error: FleetError];
}

/**
 * The member's control client for one relay: holds the origin's NDJSON control channel open, watches its
 * heartbeats, and says whether the stream ended (`ended`) or the origin was lost (`lost`), once. `close()`
 * aborts the channel and asks the origin to drop its half.
 */
export class RelayControl extends EventEmitter<RelayControlEvents> {
  readonly #client: MemberClient;
  readonly #relayId: string;
  readonly #abort = new AbortController();
  #silence: NodeJS.Timeout | undefined;
  #done = false;

  constructor(client: MemberClient, relayId: string) {
    super();
    this.#client = client;
    this.#relayId = relayId;
  }

  /** Opens the channel; resolves once the origin answered it. */
  async open(): Promise<void> {
    const response = await this.#client.control(this.#relayId, this.#abort.signal);
    this.#arm();
    void this.#read(response.body as ReadableStream<Uint8Array>);
  }

  close(): void {
    if (this.#abort.signal.aborted) return;
    this.#done = true;
    clearTimeout(this.#silence);
    this.#abort.abort();
    void this.#client.closeRelay(this.#relayId);
    this.removeAllListeners();
  }

  #arm(): void {
    clearTimeout(this.#silence);
    this.#silence = setTimeout(
      () => this.#lost(`no heartbeat from the origin for ${CONTROL_SILENCE_MS} ms`),
      CONTROL_SILENCE_MS,
    );
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of body) {
        buffered += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) this.#onEvent(JSON.parse(line) as ControlEvent);
        }
      }
      this.#lost('the origin closed the control channel');
    } catch (error) {
      this.#lost(`control channel broke: ${(error as Error).message}`);
    }
  }

  #onEvent(event: ControlEvent): void {
    if (this.#done) return;
    this.#arm();
    if (event.event !== 'ended') return;
    this.#done = true;
    clearTimeout(this.#silence);
    this.emit('ended');
  }

  #lost(why: string): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#silence);
    this.emit('lost', new FleetError(FleetErrorCode.ORIGIN_LOST, why));
  }
}
