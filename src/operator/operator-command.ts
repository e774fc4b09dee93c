import os from 'node:os';
import { helpText, logLevelOption, readOptions, type OptionSpecs } from '../config/options.js';
import { createLogger } from '../log.js';
import { onShutdown } from '../shutdown.js';
import { Operator } from './operator.js';

export const operatorOptionSpecs = {
  kubeconfig: {
    type: 'string',
    env: 'KUBECONFIG',
    description: 'kubeconfig file (unset: in-cluster service account)',
  },
  namespace: {
    type: 'string',
    env: 'STREAMFED_WATCH_NAMESPACE',
    description: 'watch StreamPush objects in this namespace only (unset: all)',
  },
  'media-token': {
    type: 'string',
    env: 'STREAMFED_REST_TOKEN',
    description: 'bearer token for the media servers REST API',
  },
  'metrics-host': {
    type: 'string',
    env: 'STREAMFED_METRICS_HOST',
    description: 'address of /metrics and /healthz',
    default: '0.0.0.0',
  },
  'metrics-port': {
    type: 'integer',
    env: 'STREAMFED_METRICS_PORT',
    description: 'port of /metrics and /healthz',
    default: 8082,
  },
  'resync-seconds': {
    type: 'integer',
    env: 'STREAMFED_RESYNC_SECONDS',
    description: 'full re-check of every StreamPush and media server',
    default: 30,
  },
  workers: {
    type: 'integer',
    env: 'STREAMFED_OPERATOR_WORKERS',
    description: 'concurrent reconciles (never two for one object)',
    default: 4,
  },
  'cluster-domain': {
    type: 'string',
    env: 'STREAMFED_CLUSTER_DOMAIN',
    description: 'DNS suffix for Service references',
    default: 'cluster.local',
  },
  'leader-elect': {
    type: 'boolean',
    env: 'STREAMFED_LEADER_ELECT',
    description: 'hold a Lease so only one replica acts',
    default: true,
  },
  'lease-namespace': {
    type: 'string',
    env: 'POD_NAMESPACE',
    description: 'namespace of the leader Lease',
    default: 'default',
  },
  'lease-name': {
    type: 'string',
    env: 'STREAMFED_LEASE_NAME',
    description: 'name of the leader Lease',
    default: 'streamfed-operator',
  },
  'lease-duration-seconds': {
    type: 'integer',
    env: 'STREAMFED_LEASE_DURATION_SECONDS',
    description: 'how long a Lease outlives its last renewal',
    default: 15,
  },
  identity: {
    type: 'string',
    env: 'POD_NAME',
    description: 'this replica in the Lease',
    default: os.hostname(),
  },
  'log-level': logLevelOption,
} satisfies OptionSpecs;

export async function runOperator(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(helpText('operator', 'Runs the StreamPush controller.', operatorOptionSpecs));
    return;
  }
  const o = readOptions(operatorOptionSpecs, argv);
  const log = createLogger(o['log-level'] as 'info', 'streamfed-operator');
  const resyncMs = o['resync-seconds'] * 1000;
  const operator = new Operator(
    {
      kubeconfig: o.kubeconfig,
      namespace: o.namespace,
      mediaToken: o['media-token'],
      metricsHost: o['metrics-host'],
      metricsPort: o['metrics-port'],
      resyncMs,
      workers: Math.max(1, o.workers),
      clusterDomain: o['cluster-domain'],
      defaultRetry: { initialMs: 1000, maxMs: 300_000 },
      leaderElection: o['leader-elect'],
      leaseNamespace: o['lease-namespace'],
      leaseName: o['lease-name'],
      identity: `${o.identity}-${process.pid}`,
      leaseDurationSeconds: o['lease-duration-seconds'],
      pendingRecheckMs: Math.min(2000, resyncMs),
    },
    log,
  );
  await operator.start();
  onShutdown(() => operator.stop());
}
