import { PushFailureCode, pushFailureStatus } from '../../contracts/pull-api.js';
import { streamNameProblem } from '../../contracts/stream-name.js';
import { WhipErrorCode } from '../../contracts/whip-http.js';
import { BadRequestError, DrainingError, StreamfedError, WhipError } from '../errors.js';
import type { SignallingHooks } from '../hooks/rest-hooks.js';
import { sameSecret } from '../same-secret.js';
import { loopProblem } from '../../contracts/loop-rule.js';
import type { MediaSession, MediaSessionInit } from './media-session.js';
import type { Player } from './player.js';
import type { Publisher } from './publisher.js';
import { StreamInfo, StreamStatus, type StreamDescription } from './status.js';
import type { StreamService } from './stream-service.js';

export interface AdmissionRequest {
  init: MediaSessionInit;
  /** What the REST hooks are told of the request: the WCS message's fields, or their WHIP/WHEP equivalent. */
  fields: Record<string, unknown>;
  /** The client's SDP offer. */
  sdp: unknown;
  /**
   * A WHIP publisher's bearer token: the first publish of a name binds the token to it, and a later publish
   * of the name must carry the same one (WCS's stream-bound WHIP tokens).
   */
  token?: string | undefined;
}

/**
 * The one place that decides whether a publish or play may go ahead, and starts it: both front doors (the
 * WCS WebSocket session and the WHIP/WHEP routes) come through here. In order: none while the server
 * drains, the name rule, a push chain that would loop back into this fleet, a WHIP name bound to another
 * token, the REST hooks' `publishStream` or `playStream`; then the stream service's own rules (one publisher per name in the fleet, a play needs a
 * publisher somewhere in it). A refusal is a StreamfedError (its code and status say which) and is told to
 * the hooks as the stream's FAILED status.
 */
export class StreamAdmission {
  /** WHIP names and the token their first publish bound (for the life of the process, as WCS keeps them). */
  readonly #boundTokens = new Map<string, string>();
  #draining = false;

  constructor(
    readonly streams: StreamService,
    readonly hooks: SignallingHooks,
    /** This server's fleet id (push-chain.ts), against which push chains are checked. */
    readonly fleetId: () => string,
  ) {}

  /** Refuses every publish and play from now on (DrainingError): the server drains before it stops. */
  refuseNew(): void {
    this.#draining = true;
  }

  publish(request: AdmissionRequest): Promise<{ session: Publisher; answer: string }> {
    return this.#publish(request, () => this.streams.publish(request.init, request.sdp));
  }

  /**
   * A publish whose media is not an SDP offer (a push over a pipe, push/pipe-publisher.ts): the same rules
   * and hooks, then `create` makes the publisher once its name is free across the fleet.
   */
  publishWith<T extends { session: Publisher }>(
    request: AdmissionRequest,
    create: () => Promise<T>,
  ): Promise<T> {
    return this.#publish(request, () => this.streams.publishWith(request.init, create));
  }

  #publish<T extends { session: Publisher }>(request: AdmissionRequest, start: () => Promise<T>): Promise<T> {
    return this.#admit('publishStream', request, async () => {
      const { init, token } = request;
      const loop = loopProblem(init.chain ?? [], this.fleetId(), init.name);
      if (loop !== undefined)
        throw new StreamfedError(PushFailureCode.LOOP, pushFailureStatus(PushFailureCode.LOOP), loop);
      const bound = this.#boundTokens.get(init.name);
      if (bound !== undefined && (token === undefined || !sameSecret(token, bound)))
        throw new WhipError(
          WhipErrorCode.TOKEN_BOUND,
          `stream ${init.name} is bound to another token by its first publish`,
        );
      await this.hooks.stream('publishStream', init, request.fields);
      const started = await start();
      if (token !== undefined && bound === undefined) this.#boundTokens.set(init.name, token);
      return started;
    });
  }

  play(request: AdmissionRequest): Promise<{ session: Player; answer: string }> {
    return this.#play(request, () => this.streams.play(request.init, request.sdp));
  }

  /**
   * A play whose media is not an SDP answer (a pull over a pipe, push/pipe-publisher.ts): the same rules and
   * hooks, then `create` makes the player of the stream's publisher.
   */
  playWith<T extends { session: Player }>(
    request: AdmissionRequest,
    create: (source: Publisher) => Promise<T>,
  ): Promise<T> {
    return this.#play(request, () => this.streams.playWith(request.init, create));
  }

  #play<T extends { session: Player }>(request: AdmissionRequest, start: () => Promise<T>): Promise<T> {
    return this.#admit('playStream', request, async () => {
      await this.hooks.stream('playStream', request.init, request.fields);
      return start();
    });
  }

  async #admit<T extends { session: MediaSession }>(
    hook: 'publishStream' | 'playStream',
    { init }: AdmissionRequest,
    start: () => Promise<T>,
  ): Promise<T> {
    try {
      if (this.#draining) throw new DrainingError();
      const problem = streamNameProblem(init.name);
      if (problem !== undefined) throw new BadRequestError(problem);
      return await start();
    } catch (error) {
      const info = error instanceof StreamfedError ? error.message : StreamInfo.FAILED_BY_ERROR;
      const publish = hook === 'publishStream';
      const { appKey, sessionId, mediaSessionId, name } = init;
      const failed = {
        appKey,
        sessionId,
        mediaSessionId,
        name,
        published: publish,
        mediaType: publish ? 'publish' : 'play',
        mediaProvider: init.mediaProvider ?? 'WebRTC',
        status: StreamStatus.FAILED,
        info,
      };
      this.hooks.streamStatus(failed as StreamDescription);
      throw error;
    }
  }
}
