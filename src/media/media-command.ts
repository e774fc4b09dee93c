import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { helpText, readOptions, UsageError } from '../config/options.js';
import { createLogger } from '../log.js';
import { onShutdown } from '../shutdown.js';
import { mediaOptionSpecs, parseIceServers, pushDeadlines } from './media-options.js';
import { MediaServer, type MediaServerConfig } from './media-server.js';
import { mediaPorts } from './ordinal-ports.js';

/** `streamfed media`: the WCS-compatible media server. */
export async function runMedia(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(helpText('media', 'Starts the WCS-compatible media server.', mediaOptionSpecs));
    return;
  }
  const o = readOptions(mediaOptionSpecs, argv);
  if ((o['tls-cert'] === undefined) !== (o['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  if ((o['rest-user'] === undefined) !== (o['rest-password'] === undefined))
    throw new UsageError('--rest-user and --rest-password go together');
  if ((o['rest-protect-metrics'] || o['rest-protect-demo']) && !o['rest-token'] && !o['rest-user'])
    throw new UsageError('--rest-protect-metrics and --rest-protect-demo need --rest-token or --rest-user');
  if (o['hooks-secret'] !== undefined && o['hooks-url'] === undefined)
    throw new UsageError('--hooks-secret needs --hooks-url');
  if (o['hooks-url'] !== undefined && !/^https?:\/\/[^/]/.test(o['hooks-url']))
    throw new UsageError(`--hooks-url must be an http:// or https:// URL, got "${o['hooks-url']}"`);
  const ports = mediaPorts(o);
  const log = createLogger(o['log-level'] as 'info', 'streamfed-media');
  const config: MediaServerConfig = {
    listenIp: o['listen-ip'],
    announcedIp: o['announced-ip'],
    wsPort: ports.ws,
    wssPort: ports.wss,
    restPort: ports.rest,
    restTlsPort: ports.restTls,
    tls:
      o['tls-cert'] && o['tls-key']
        ? { cert: readFileSync(o['tls-cert']), key: readFileSync(o['tls-key']) }
        : undefined,
    rtcMinPort: ports.rtcMin,
    rtcMaxPort: ports.rtcMax,
    workers: Math.max(1, o.workers),
    restToken: o['rest-token'],
    restBasic:
      o['rest-user'] !== undefined ? { user: o['rest-user'], password: o['rest-password'] ?? '' } : undefined,
    restProtectMetrics: o['rest-protect-metrics'],
    restProtectDemo: o['rest-protect-demo'],
    corsOrigins: o['cors-origin'],
    hooks: o['hooks-url']
      ? { url: o['hooks-url'], secret: o['hooks-secret'], timeoutMs: o['hooks-timeout-ms'] }
      : undefined,
    pushAllow: o['push-allow'],
    pushInsecureTls: o['push-insecure-tls'],
    pushDeadlines: pushDeadlines(o),
    pingIntervalMs: o['ping-interval-ms'],
    pingProbes: o['ping-probes'],
    fleetId: o['fleet-id'],
    iceServers: parseIceServers(o['ice-server']),
    fleet: {
      memberId: o['member-id'] ?? `${hostname()}:${ports.rest}`,
      peers: o.peers,
      kube: o['fleet-kube-selector']
        ? {
            labelSelector: o['fleet-kube-selector'],
            namespace: o['fleet-kube-namespace'] ?? podNamespace(),
            kubeconfig: o['fleet-kubeconfig'],
          }
        : undefined,
      relayIdleMs: o['relay-idle-seconds'] * 1000,
      probeIntervalMs: 1000,
    },
  };
  const { server } = await MediaServer.start(config, log);
  onShutdown(() => server.stop());
}

/** The namespace a pod runs in, from its service account (or `default` out of cluster). */
function podNamespace(): string {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return process.env['POD_NAMESPACE'] ?? 'default';
  }
}
