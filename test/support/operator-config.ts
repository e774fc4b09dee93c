import type { OperatorConfig } from '../../src/operator/operator.js';

/** An operator for tests: out of cluster on that kubeconfig, every namespace, fast resync and backoff. */
export const testOperatorConfig = (
  kubeconfig: string,
  overrides: Partial<OperatorConfig> = {},
): OperatorConfig => ({
  kubeconfig,
  namespace: undefined,
  resyncMs: 1000,
  workers: 2,
  clusterDomain: 'cluster.local',
  defaultRetry: { initialMs: 500, maxMs: 2000 },
  metricsHost: '127.0.0.1',
  metricsPort: 0,
  leaderElection: false,
  leaseNamespace: 'default',
  leaseName: 'streamfed-operator-test',
  identity: 'operator-test',
  leaseDurationSeconds: 15,
  pendingRecheckMs: 500,
  ...overrides,
});
