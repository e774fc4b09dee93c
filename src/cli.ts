#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { helpText, readOptions, UsageError } from './config/options.js';
import { createLogger } from './log.js';
import { mediaOptionSpecs } from './media/media-options.js';
import { MediaServer, type MediaServerConfig } from './media/media-server.js';
import { mediaPorts } from './media/ordinal-ports.js';
import { onShutdown } from './shutdown.js';

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  media: runMedia,
  operator: async (argv) => (await import('./operator/operator-command.js')).runOperator(argv),
  probe: async (argv) => (await import('./media/probe.js')).runProbe(argv),
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
    pushAllow: o['push-allow'],
    pushInsecureTls: o['push-insecure-tls'],
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
      'Usage: streamfed <media|operator|probe> [options]   (streamfed <command> --help for options)\n',
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
