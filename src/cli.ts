#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { helpText, readOptions, UsageError } from './config/options.js';
import { createLogger } from './log.js';
import { mediaOptionSpecs, pushDeadlines } from './media/media-options.js';
import { MediaServer, type MediaServerConfig } from './media/media-server.js';
import { onShutdown } from './shutdown.js';

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  media: runMedia,
  operator: async (argv) => (await import('./operator/operator-command.js')).runOperator(argv),
};

async function runMedia(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(helpText('media', 'Starts the WCS-compatible media server.', mediaOptionSpecs));
    return;
  }
  const o = readOptions(mediaOptionSpecs, argv);
  if ((o['tls-cert'] === undefined) !== (o['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  if (o['rtc-min-port'] > o['rtc-max-port'])
    throw new UsageError('--rtc-min-port must not exceed --rtc-max-port');
  const log = createLogger(o['log-level'] as 'info', 'streamfed-media');
  const config: MediaServerConfig = {
    listenIp: o['listen-ip'],
    announcedIp: o['announced-ip'],
    wsPort: o['ws-port'],
    wssPort: o['wss-port'],
    restPort: o['rest-port'],
    restTlsPort: o['rest-tls-port'],
    tls:
      o['tls-cert'] && o['tls-key']
        ? { cert: readFileSync(o['tls-cert']), key: readFileSync(o['tls-key']) }
        : undefined,
    rtcMinPort: o['rtc-min-port'],
    rtcMaxPort: o['rtc-max-port'],
    workers: Math.max(1, o.workers),
    restToken: o['rest-token'],
    pushAllow: o['push-allow'],
    pushInsecureTls: o['push-insecure-tls'],
    pushDeadlines: pushDeadlines(o),
    pingIntervalMs: o['ping-interval-ms'],
    pingProbes: o['ping-probes'],
    fleet: {
      memberId: o['member-id'] ?? `${hostname()}:${o['rest-port']}`,
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

async function main(): Promise<void> {
  const [command, ...argv] = process.argv.slice(2);
  const run = command ? commands[command] : undefined;
  if (!run) {
    process.stdout.write(
      'Usage: streamfed <media|operator> [options]   (streamfed <command> --help for options)\n',
    );
    process.exitCode = command === undefined || command === '--help' ? 0 : 2;
    return;
  }
  await run(argv);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`streamfed: ${(error as Error).message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
