import { helpText, readOptions, UsageError } from '../config/options.js';
import { createLogger } from '../log.js';
import { onShutdown } from '../shutdown.js';
import { mediaConfig, mediaOptionSpecs, type MediaOptionValues } from './media-options.js';
import { MediaServer } from './media-server.js';
import { parseNodeAddressSource, readNodeAddress } from './node-address.js';

/** `streamfed media`: the WCS-compatible media server. */
export async function runMedia(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(helpText('media', 'Starts the WCS-compatible media server.', mediaOptionSpecs));
    return;
  }
  const o = readOptions(mediaOptionSpecs, argv);
  checkUsage(o);
  const config = mediaConfig(o);
  const nodeSource = o['announced-node-address'];
  if (nodeSource !== undefined && o['node-name'] !== undefined) {
    config.listen.announcedIps = [
      await readNodeAddress({
        nodeName: o['node-name'],
        source: parseNodeAddressSource(nodeSource),
        kubeconfig: o['fleet-kubeconfig'],
      }),
    ];
  }
  const log = createLogger(o['log-level'] as 'info', 'streamfed-media');
  const { server } = await MediaServer.start({ config, log });
  onShutdown(() => server.drain());
}

/** The options that only make sense together, or in a given form. */
function checkUsage(o: MediaOptionValues): void {
  if ((o['tls-cert'] === undefined) !== (o['tls-key'] === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  if ((o['rest-user'] === undefined) !== (o['rest-password'] === undefined))
    throw new UsageError('--rest-user and --rest-password go together');
  if ((o['rest-protect-metrics'] || o['rest-protect-demo']) && !o['rest-token'] && !o['rest-user'])
    throw new UsageError('--rest-protect-metrics and --rest-protect-demo need --rest-token or --rest-user');
  if (o['announced-node-address'] !== undefined) {
    parseNodeAddressSource(o['announced-node-address']);
    if (o['node-name'] === undefined) throw new UsageError('--announced-node-address needs --node-name');
    if (o['announced-ip'].length > 0)
      throw new UsageError(
        '--announced-node-address and --announced-ip are two answers to one question: give one',
      );
  }
  if (o['hooks-secret'] !== undefined && o['hooks-url'] === undefined)
    throw new UsageError('--hooks-secret needs --hooks-url');
  if (o['hooks-url'] !== undefined && !/^https?:\/\/[^/]/.test(o['hooks-url']))
    throw new UsageError(`--hooks-url must be an http:// or https:// URL, got "${o['hooks-url']}"`);
}
