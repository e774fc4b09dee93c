import {
  PushFailureCode,
  deliveryStatuses,
  pushTargetKey,
  type PushDescription,
  type PushStatus,
} from '../../contracts/pull-api.js';
import type { Logger } from '../../log.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { MediaMetrics } from '../metrics.js';
import type { MediaEngine } from '../rtc/media-engine.js';
import type { StreamService } from '../streams/stream-service.js';
import { EgressLeg } from './egress-leg.js';
import { IngressLeg } from './ingress-leg.js';
import { Relay, type PushTarget, type RelayDeadlines } from './relay.js';
import { chainOf } from './push-chain.js';
import { RelayError, codeOf } from './relay-error.js';
import type { TargetPolicy } from './target-policy.js';

export interface PushRequest {
  uri: string;
  localStreamName: string;
  remoteStreamName?: string | undefined;
  custom?: Record<string, unknown> | undefined;
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
  insecureTls: boolean;
  deadlines: RelayDeadlines;
  /** This server's fleet id (push-chain.ts): the hop a push adds to its stream's chain. */
  fleetId: () => string;
}

const statuses: PushStatus[] = ['NEW', 'PENDING', 'PUBLISHING', 'FAILED'];

/**
 * The pushes of this server. One push per (local stream, uri, remote name); a FAILED one stays listed, with
 * its reason, until terminated or replaced. Pushes end with their local stream.
 */
export class PushManager {
  private readonly pushes = new Map<string, Relay>();
  private readonly sampled = new WeakMap<Relay, { packets: number; bytes: number; delivered: number }>();
  private loopGuard: ((target: PushTarget) => Promise<void>) | undefined;

  constructor(
    private readonly streams: StreamService,
    private readonly engine: MediaEngine,
    private readonly policy: TargetPolicy,
    private readonly metrics: MediaMetrics,
    private readonly log: Logger,
    private readonly options: PushManagerOptions,
  ) {
    streams.on('unpublished', (publisher) => {
      for (const push of this.pushesOf(publisher.name)) this.end(push, 'local stream unpublished');
    });
  }

  /** The pushes (not pulls) of a local stream to other servers. */
  pushesOf(localStreamName: string): Relay[] {
    return [...this.pushes.values()].filter(
      (p) => p.type === 'push' && p.target.localStreamName === localStreamName,
    );
  }

  /** The loop check before connecting (push-chain.ts LoopGuard, the fleet's view): refuses pushes to this server or back into its fleet. */
  useLoopGuard(guard: (target: PushTarget) => Promise<void>): void {
    this.loopGuard = guard;
  }

  async push(request: PushRequest): Promise<PushDescription> {
    const target = await this.targetOf(request);
    await this.loopGuard?.(target);
    // a stream published on another member of the fleet is relayed here first (a Service may land anywhere)
    const source = await this.streams.resolve(request.localStreamName);
    if (!source) throw new NotFoundError(`local stream ${request.localStreamName} not found`);
    this.replaceFailed('push', target);
    const chain = chainOf(source.init.chain, this.options.fleetId(), source.name);
    return this.run(new Relay(target, () => new EgressLeg(source, chain)));
  }

  /** WCS's /pull/pull: play `remoteStreamName` from the server at `uri` and publish it here as `localStreamName`. */
  async pull(request: PushRequest): Promise<PushDescription> {
    const target = await this.targetOf(request);
    if (this.streams.publisher(request.localStreamName)) {
      throw new ConflictError(`stream ${request.localStreamName} is already published here`);
    }
    this.replaceFailed('pull', target);
    return this.run(
      new Relay(
        target,
        (localMediaSessionId) => new IngressLeg(target, localMediaSessionId, this.streams, this.engine),
      ),
    );
  }

  private async targetOf(request: PushRequest): Promise<PushTarget> {
    return {
      uri: request.uri,
      key: pushTargetKey(request.uri),
      url: await this.policy.check(request.uri),
      localStreamName: request.localStreamName,
      remoteStreamName: request.remoteStreamName ?? request.localStreamName,
      insecureTls: this.options.insecureTls,
      custom: request.custom,
      deadlines: this.options.deadlines,
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
    for (const p of this.pushes.values()) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
    for (const [status, n] of counts) this.metrics.pushes.set({ status }, n);
  }
}
