#!/usr/bin/env node
import { readFileSync } from 'node:fs';
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
  if ((o['rest-user'] === undefined) !== (o['rest-password'] === undefined))
    throw new UsageError('--rest-user and --rest-password go together');
  if ((o['rest-protect-metrics'] || o['rest-protect-demo']) && !o['rest-token'] && !o['rest-user'])
    throw new UsageError('--rest-protect-metrics and --rest-protect-demo need --rest-token or --rest-user');
  if (o['hooks-secret'] !== undefined && o['hooks-url'] === undefined)
    throw new UsageError('--hooks-secret needs --hooks-url');
  if (o['hooks-url'] !== undefined && !/^https?:\/\/[^/]/.test(o['hooks-url']))
    throw new UsageError(`--hooks-url must be an http:// or https:// URL, got "${o['hooks-url']}"`);
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
  };
  const { server } = await MediaServer.start(config, log);
  onShutdown(() => server.stop());
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
