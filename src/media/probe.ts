import { request } from 'node:http';
import { helpText, readOptions } from '../config/options.js';
import { mediaOptionSpecs } from './media-options.js';
import { mediaPorts } from './ordinal-ports.js';

const probeSpecs = {
  ...mediaOptionSpecs,
  path: {
    type: 'string',
    env: 'STREAMFED_PROBE_PATH',
    description: '/readyz or /healthz',
    default: '/readyz',
  },
} as const;

/**
 * `streamfed probe --path /readyz`: asks this pod's own media server (the ports `streamfed media` computes from
 * the same options and environment) and exits 0 on 2xx, 1 otherwise. For exec probes, when the port differs
 * from pod to pod (--ordinal-port-stride) and an httpGet probe cannot name it.
 */
export async function runProbe(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    process.stdout.write(
      helpText('probe', "Checks this pod's media server: exit 0 when the path answers 2xx.", probeSpecs),
    );
    return;
  }
  const o = readOptions(probeSpecs, argv);
  const { rest } = mediaPorts(o);
  const listen = o['listen-ip'];
  const host = listen === '0.0.0.0' ? '127.0.0.1' : listen === '::' ? '::1' : listen;
  const status = await new Promise<number | string>((resolve) => {
    const req = request({ host, port: rest, path: o.path, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
  const ok = typeof status === 'number' && status >= 200 && status < 300;
  process.stdout.write(`http://${host}:${rest}${o.path}: ${status}\n`);
  process.exitCode = ok ? 0 : 1;
}
