import {
  PushFailureCode,
  deliveryStatuses,
  pushTargetKey,
  pushTransports,
  relayTypes,
  type PushDescription,
  type PushStatus,
  type PushTransport,
  type RelayType,
} from '../../contracts/pull-api.js';
import { isHttpTarget } from '../../contracts/whip-http.js';
import type { Logger } from '../../log.js';
import { BadRequestError, ConflictError, NotFoundError } from '../errors.js';
import type { MediaMetrics } from '../metrics.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { StreamService } from '../streams/stream-service.js';
import type { StreamUser } from '../streams/stream-users.js';
import { EgressLeg } from './egress-leg.js';
import { IngressLeg, pulledStream } from './ingress-leg.js';
import type { PushConfig } from '../media-options.js';
import { Relay, type PushTarget } from './relay.js';
import type { PipeContext } from './pipe-leg.js';
import type { PeerNetwork } from './rtc-peer.js';
import { chainOf } from './push-chain.js';
import { RelayError, codeOf } from './relay-error.js';
import { TargetPolicy } from './target-policy.js';
import type { PipeListen } from '../rtc/pipe-half.js';
import { PipeEgress } from './push-pipe.js';
import type { PipeTargets } from './pipe-publisher.js';
import { PipeIngress } from './pull-pipe.js';

export interface PushRequest {
  uri: string;
  localStreamName: string;
  remoteStreamName?: string | undefined;
  custom?: Record<string, unknown> | undefined;
  /** WHIP/WHEP targets: the endpoint's bearer token. */
  authToken?: string | undefined;
  /** Who asks for it (listed, never sent). */
  owner?: string | undefined;
}

export type PushQuery =
  | { localMediaSessionId: string }
  /** Without `uri`: wherever the stream goes. */
  | { uri?: string | undefined; localStreamName: string; remoteStreamName?: string | undefined };

/**
 * The remote end could not be reached or refused the stream: WCS answers 500 with the reason (409 for a
 * loop); the body carries the FAILED relay.
 */
export class PushFailedError extends RelayError {
  constructor(
    message: string,
    code: PushFailureCode,
    readonly push: PushDescription,
  ) {
    super(code, message);
  }

  override get details(): { push: PushDescription } {
    return { push: this.push };
  }
}

export interface PushManagerOptions {
  config: PushConfig;
  /** Where our peers open their sockets, and our own ICE servers (rtc-peer.ts). */
  network: PeerNetwork;
  /** Where our halves of push pipes listen (media-options.ts pushPipeListen). */
  pipeListen: PipeListen;
  /** Where our halves of pull pipes are made (the receiving halves pushes into this server use too). */
  pipeTargets: PipeTargets;
  streams: StreamService;
  engine: MediaEngine;
  /** The fleet's check (LoopGuard in push/push-chain.ts): refuses pushes to this server or back into its fleet. */
  loopGuard: (target: PushTarget) => Promise<void>;
  /** This server's fleet id (push-chain.ts): the hop a push adds to its stream's chain. */
  fleetId: () => string;
  metrics: MediaMetrics;
  log: Logger;
}

const statuses: PushStatus[] = ['NEW', 'PENDING', 'PUBLISHING', 'FAILED'];

/**
 * The pushes of this server. One push per (local stream, uri, remote name); a FAILED one stays listed, with
 * its reason, until terminated or replaced. Pushes end with their local stream.
 */
export class PushManager {
  private readonly pushes = new Map<string, Relay>();
  private readonly sampled = new WeakMap<Relay, { packets: number; bytes: number; delivered: number }>();
  /** Each push's use of its local stream (a relayed one is not let go while pushed). */
  private readonly uses = new Map<Relay, StreamUser>();
  private readonly config: PushConfig;
  private readonly network: PeerNetwork;
  private readonly pipeListen: PipeListen;
  private readonly pipeTargets: PipeTargets;
  private readonly streams: StreamService;
  private readonly engine: MediaEngine;
  private readonly policy: TargetPolicy;
  private readonly loopGuard: (target: PushTarget) => Promise<void>;
  private readonly fleetId: () => string;
  private readonly metrics: MediaMetrics;
  private readonly log: Logger;

  constructor(options: PushManagerOptions) {
    this.config = options.config;
    this.network = options.network;
    this.pipeListen = options.pipeListen;
    this.pipeTargets = options.pipeTargets;
    this.streams = options.streams;
    this.engine = options.engine;
    this.policy = new TargetPolicy(options.config.allow);
    this.loopGuard = options.loopGuard;
    this.fleetId = options.fleetId;
    this.metrics = options.metrics;
    this.log = options.log;
    this.streams.on('unpublished', (publisher) => {
      for (const push of this.pushesOf(publisher.name)) this.end(push, 'local stream unpublished');
    });
  }

  /** The pushes (not pulls) of a local stream to other servers. */
  private pushesOf(localStreamName: string): Relay[] {
    return [...this.pushes.values()].filter(
      (p) => p.type === 'push' && p.target.localStreamName === localStreamName,
    );
  }

  async push(request: PushRequest): Promise<PushDescription> {
    const target = await this.targetOf('push', request);
    await this.loopGuard(target);
    // a stream published on another member of the fleet is relayed here first (a Service may land anywhere)
    const source = await this.streams.resolve(request.localStreamName);
    if (!source) throw new NotFoundError(`local stream ${request.localStreamName} not found`);
    this.replaceFailed('push', target);
    const chain = chainOf(source.init.chain, this.fleetId(), source.name);
    // a WCS target may turn out to be a streamfed server that takes the push over a pipe (push-pipe.ts)
    const pipe =
      this.config.pipe && target.protocol === 'wcs'
        ? {
            fleetId: this.fleetId(),
            chain,
            hasAudio: source.producers.has('audio'),
            hasVideo: source.producers.has('video'),
            open: () => PipeEgress.open(source, this.pipeListen),
          }
        : undefined;
    const relay = new Relay(target, () => new EgressLeg(source, chain), pipe);
    this.uses.set(relay, this.streams.use(source, 'push'));
    return this.run(relay);
  }

  /** WCS's /pull/pull: play `remoteStreamName` from the server at `uri` and publish it here as `localStreamName`. */
  async pull(request: PushRequest): Promise<PushDescription> {
    const target = await this.targetOf('pull', request);
    if (this.streams.publisher(request.localStreamName)) {
      throw new ConflictError(`stream ${request.localStreamName} is already published here`);
    }
    this.replaceFailed('pull', target);
    // a WCS source may turn out to be a streamfed server that serves the pull over a pipe (pull-pipe.ts)
    const pipe =
      this.config.pipe && target.protocol === 'wcs'
        ? {
            fleetId: this.fleetId(),
            chain: [],
            hasAudio: true,
            hasVideo: true,
            open: ({ remoteFleetId, localMediaSessionId, sink }: PipeContext) =>
              PipeIngress.open(
                this.pipeTargets,
                pulledStream(target, localMediaSessionId, remoteFleetId),
                this.streams,
                sink,
              ),
          }
        : undefined;
    return this.run(
      new Relay(
        target,
        (localMediaSessionId) => new IngressLeg(target, localMediaSessionId, this.streams, this.engine),
        pipe,
      ),
    );
  }

  /**
   * What a push or pull goes to, and how: an http(s) `uri` is a WHIP endpoint (push) or a WHEP endpoint
   * (pull), whose URL names the remote stream (its last path segment is the name listed by default); a
   * ws(s) `uri` is a WCS server. This is the one place the protocol is chosen (signalling.ts reads it).
   */
  private async targetOf(type: Relay['type'], request: PushRequest): Promise<PushTarget> {
    const http = isHttpTarget(request.uri);
    if (request.authToken !== undefined && !http)
      throw new BadRequestError(
        'authToken is for WHIP/WHEP targets (http:// or https://); a WCS server takes its token in custom',
      );
    const url = await this.policy.check(request.uri);
    return {
      network: this.network,
      uri: request.uri,
      protocol: http ? (type === 'push' ? 'whip' : 'whep') : 'wcs',
      key: pushTargetKey(request.uri),
      url,
      localStreamName: request.localStreamName,
      remoteStreamName:
        request.remoteStreamName ?? (http ? endpointStreamName(url) : undefined) ?? request.localStreamName,
      insecureTls: this.config.insecureTls,
      custom: request.custom,
      owner: request.owner,
      ...(http ? { authToken: request.authToken, allow: (to: URL) => this.policy.check(to.href) } : {}),
      deadlines: this.config.deadlines,
    };
  }

  /** One live relay per (type, uri, local name, remote name): 409 for a second; a FAILED one is replaced. */
  private replaceFailed(type: Relay['type'], target: PushTarget): void {
    const same = this.match(target).filter((r) => r.type === type);
    if (same.some((r) => r.status !== 'FAILED')) {
      const { localStreamName, uri, remoteStreamName } = target;
      throw new ConflictError(
        type === 'push'
          ? `stream ${localStreamName} is already pushed to ${uri} as ${remoteStreamName}`
          : `${remoteStreamName} from ${uri} is already pulled as ${localStreamName}`,
      );
    }
    for (const failed of same) this.end(failed, `replaced by a new ${type}`);
  }

  /** Registers a push or pull, counts and logs its transitions, and starts it. */
  private async run(relay: Relay): Promise<PushDescription> {
    this.pushes.set(relay.localMediaSessionId, relay);
    const startedAt = process.hrtime.bigint();
    const { uri, localStreamName } = relay.target;
    const type = relay.describe().type;
    const log = this.log.child({ push: relay.localMediaSessionId, type, uri, stream: localStreamName });
    relay.on('status', (status, info, code) => {
      this.metrics.pushTransitions.inc({ status });
      if (status === 'PUBLISHING') {
        this.metrics.pushSetupSeconds.observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
      }
      if (status === 'FAILED') {
        this.metrics.pushFailures.inc({ reason: code ?? PushFailureCode.INTERNAL });
        this.metrics.errors.inc({ kind: 'push' });
        log.warn({ status, code, info }, `${type} failed`);
      } else {
        log.info({ status }, `${type} status`);
      }
      this.updateGauge();
    });
    relay.on('fallback', ({ code, info }) => {
      this.metrics.pushPipeFallbacks.inc({ type, reason: code });
      log.warn({ code, info }, `${type} falls back from a pipe to WebRTC`);
    });
    this.updateGauge();
    try {
      await relay.start();
    } catch (error) {
      // a loop is refused before anything was published: nothing to list
      if (codeOf(error) === PushFailureCode.LOOP) this.end(relay, 'loop refused');
      throw new PushFailedError(
        `${type} with ${uri} failed: ${(error as Error).message}`,
        codeOf(error),
        relay.describe(),
      );
    }
    return relay.describe();
  }

  list(): PushDescription[] {
    return [...this.pushes.values()].map((p) => p.describe());
  }

  /** Adds what each push forwarded since the last call to the per-push counters (called at scrape). */
  sampleMetrics(): void {
    const delivery = new Map(deliveryStatuses.map((s) => [s, 0]));
    for (const push of this.pushes.values()) {
      this.sample(push);
      if (push.status === 'PUBLISHING') {
        const { status } = push.describe().delivery;
        delivery.set(status, (delivery.get(status) ?? 0) + 1);
      }
    }
    for (const [status, n] of delivery) this.metrics.pushDelivery.set({ status }, n);
  }

  /** Stops the pushes matching the query; 404 when none does. */
  terminate(query: PushQuery): PushDescription[] {
    const matches = this.match(query);
    if (matches.length === 0) throw new NotFoundError('push not found');
    return matches.map((push) => {
      const d = push.describe();
      // ending a pull unpublishes its stream, which ends that stream's pushes: one may be gone already
      if (this.pushes.has(push.localMediaSessionId)) this.end(push, 'terminated by request');
      return d;
    });
  }

  terminateAll(): void {
    for (const push of [...this.pushes.values()]) this.end(push, 'server shutdown');
  }

  private match(query: PushQuery | PushTarget): Relay[] {
    const key = 'uri' in query && query.uri !== undefined ? pushTargetKey(query.uri) : undefined;
    return [...this.pushes.values()].filter((p) => {
      if ('localMediaSessionId' in query) return p.localMediaSessionId === query.localMediaSessionId;
      const t = p.target;
      return (
        (key === undefined || t.key === key) &&
        t.localStreamName === query.localStreamName &&
        (query.remoteStreamName === undefined || t.remoteStreamName === query.remoteStreamName)
      );
    });
  }

  private end(push: Relay, why: string): void {
    const d = push.describe();
    this.metrics.pushBytes.remove({ push: d.localMediaSessionId });
    this.metrics.pushPackets.remove({ push: d.localMediaSessionId });
    this.metrics.pushDelivered.remove({ push: d.localMediaSessionId });
    this.sampled.delete(push);
    this.uses.get(push)?.release();
    this.uses.delete(push);
    push.close();
    this.pushes.delete(push.localMediaSessionId);
    this.log.info({ push: d.localMediaSessionId, why, packets: d.packets }, 'push ended');
    this.updateGauge();
  }

  private sample(push: Relay): void {
    const { localMediaSessionId: id, packets, bytes, delivery } = push.describe();
    const last = this.sampled.get(push) ?? { packets: 0, bytes: 0, delivered: 0 };
    this.metrics.pushPackets.inc({ push: id }, packets - last.packets);
    this.metrics.pushBytes.inc({ push: id }, bytes - last.bytes);
    this.metrics.pushDelivered.inc({ push: id }, Math.max(0, delivery.packets - last.delivered));
    this.sampled.set(push, { packets, bytes, delivered: Math.max(last.delivered, delivery.packets) });
  }

  private updateGauge(): void {
    const counts = new Map(statuses.map((s) => [s, 0]));
    const live: [RelayType, PushTransport | undefined][] = [];
    for (const p of this.pushes.values()) {
      counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
      if (p.status === 'PUBLISHING') live.push([p.type, p.describe().transport]);
    }
    for (const [status, n] of counts) this.metrics.pushes.set({ status }, n);
    for (const type of relayTypes)
      for (const transport of pushTransports)
        this.metrics.pushTransport.set(
          { type, transport },
          live.filter(([t, how]) => t === type && how === transport).length,
        );
  }
}

/** The stream a WHIP/WHEP endpoint URL names: its last path segment (`/whip/<name>`), if any. */
function endpointStreamName(url: URL): string | undefined {
  const last = url.pathname.split('/').filter(Boolean).pop();
  if (last === undefined) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
