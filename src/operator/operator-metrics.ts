import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's metrics; dashboards and alerts may only use names declared here. */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'streamfed_operator_reconciles_total',
    help: 'Reconciles by result (success, error, requeue)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: 'streamfed_operator_reconcile_duration_seconds',
    help: 'Time spent in one reconcile',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'streamfed_operator_queue_depth',
    help: 'Keys waiting in the work queue',
    registers: [this.registry],
  });
  readonly pushesDesired = new Gauge({
    name: 'streamfed_operator_pushes_desired',
    help: 'StreamPush objects the operator manages (not being deleted)',
    registers: [this.registry],
  });
  readonly pushesActive = new Gauge({
    name: 'streamfed_operator_pushes_active',
    help: 'StreamPush objects whose push is PUBLISHING',
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'streamfed_operator_leader',
    help: '1 while this replica holds the leader Lease',
    registers: [this.registry],
  });
  readonly orphansTerminated = new Counter({
    name: 'streamfed_operator_orphan_pushes_terminated_total',
    help: 'Pushes found on media servers that no StreamPush owns, terminated',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const result of ['success', 'error', 'requeue']) this.reconciles.inc({ result }, 0);
  }
}
