import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../paths.js';

/**
 * mediasoup reads MEDIASOUP_WORKER_BIN once, when its module loads, so this must run before the first
 * import of 'mediasoup'. The worker is built from the package's own sources by `npm run setup` into
 * .cache/mediasoup-worker/<version>/ because the prebuilt download is unreachable on our machines.
 */
export function ensureWorkerBin(): string {
  const fromEnv = process.env['MEDIASOUP_WORKER_BIN'];
  if (fromEnv) return fromEnv;
  const pkg = JSON.parse(
    readFileSync(path.join(packageRoot, 'node_modules/mediasoup/package.json'), 'utf8'),
  ) as {
    version: string;
  };
  const built = path.join(packageRoot, '.cache/mediasoup-worker', pkg.version, 'mediasoup-worker');
  if (!existsSync(built)) {
    throw new Error(
      `mediasoup worker binary not found at ${built}: run "npm run setup" (or set MEDIASOUP_WORKER_BIN)`,
    );
  }
  process.env['MEDIASOUP_WORKER_BIN'] = built;
  return built;
}
