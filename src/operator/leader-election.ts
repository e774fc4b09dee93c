import { EventEmitter } from 'node:events';
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { httpCode, type Kube } from './kube.js';

/**
 * A Lease's times are metav1.MicroTime: RFC 3339 with six fractional digits, which the API server insists
 * on. client-node serialises a Date with toISOString (three digits), so pad them.
 */
class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** How often to renew (as leader) or try (as candidate). */
  retryPeriodMs: number;
  /**
   * A leader that has not renewed for this long steps down, even while its renewal is still in flight:
   * shorter than the lease, so it has stopped before a candidate may take over (client-go's RenewDeadline).
   */
  renewDeadlineMs: number;
}

export interface LeaderEvents {
  started: [];
  stopped: [];
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: a candidate takes the
 * Lease when it is free or its holder let it expire, the leader renews it; every write is guarded by the
 * Lease's resourceVersion. A failed renewal, or none within the renew deadline (an API server that stopped
 * answering), means stepping down before the Lease can expire, so two replicas never both lead.
 */
export class LeaderElector extends EventEmitter<LeaderEvents> {
  private leading = false;
  /** When the last successful renewal was sent. */
  private renewedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly kube: Kube,
    private readonly options: LeaderElectionOptions,
    private readonly log: Logger,
  ) {
    super();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Steps down, releasing the Lease so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.kube.readLease(this.options.namespace, this.options.name);
      const spec = lease.spec;
      if (spec?.holderIdentity === this.options.identity) {
        // an expired, holderless Lease: the next candidate takes it at once
        lease.spec = {
          leaseDurationSeconds: 1,
          leaseTransitions: spec.leaseTransitions ?? 0,
          renewTime: new MicroTime(0),
          ...(spec.acquireTime ? { acquireTime: new MicroTime(spec.acquireTime) } : {}),
        };
        await this.kube.replaceLease(this.options.namespace, this.options.name, lease);
      }
    } catch (error) {
      this.log.debug({ err: error }, 'could not release the lease');
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const sentAt = Date.now();
    const { renewDeadlineMs } = this.options;
    try {
      const held = await settleBy(
        this.tryAcquireOrRenew(),
        (this.leading ? this.renewedAt : sentAt) + renewDeadlineMs,
        `no answer from the API server within the ${renewDeadlineMs} ms renew deadline`,
      );
      if (held) this.renewedAt = sentAt;
      if (!this.stopped) this.setLeading(held);
    } catch (error) {
      this.log.warn({ err: error }, 'leader election: lease update failed');
      this.setLeading(false);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.options.retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.options;
    const now = new MicroTime();
    let lease: V1Lease;
    try {
      lease = await this.kube.readLease(namespace, name);
    } catch (error) {
      if (httpCode(error) !== 404) throw error;
      await this.kube.createLease(namespace, {
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 < now.getTime();
    if (holder && holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    lease.spec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: now,
      acquireTime: takeover || !spec.acquireTime ? now : new MicroTime(spec.acquireTime),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover ? 1 : 0),
    };
    try {
      await this.kube.replaceLease(namespace, name, lease); // 409 if someone else wrote it meanwhile
      return true;
    } catch (error) {
      if (httpCode(error) === 409) return false;
      throw error;
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.log.info(
      { identity: this.options.identity, leading },
      leading ? 'became leader' : 'stopped leading',
    );
    this.emit(leading ? 'started' : 'stopped');
  }
}

/** The promise's outcome, or a rejection once `deadline` (epoch ms) passes; a late outcome is ignored. */
function settleBy<T>(promise: Promise<T>, deadline: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
