import { readFileSync } from 'node:fs';
import { helpText, readOptions, UsageError } from '../config/options.js';
import { createLogger } from '../log.js';
import { onShutdown } from '../shutdown.js';
import { mediaOptionSpecs, pushDeadlines } from './media-options.js';
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
    pushDeadlines: pushDeadlines(o),
    pingIntervalMs: o['ping-interval-ms'],
    pingProbes: o['ping-probes'],
  };
  const { server } = await MediaServer.start(config, log);
  onShutdown(() => server.stop());
}
