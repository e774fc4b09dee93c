import { describe, expect, it } from 'vitest';
import { spawnMedia } from '../support/media-process.js';
import { NodePeer } from '../support/node-peer.js';
import { streamfed as cli } from '../support/tools.js';

describe('streamfed command line', () => {
  it('documents every media option with its environment variable', async () => {
    const r = await cli(['media', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--ws-port',
      '--wss-port',
      '--rest-port',
      '--rtc-min-port',
      '--rtc-max-port',
      '--announced-ip',
      '--workers',
      '--log-level',
      '--rest-token',
      '--rest-user',
      '--rest-password',
      '--rest-protect-metrics',
      '--rest-protect-demo',
      '--cors-origin',
      '--hooks-url',
      '--hooks-secret',
      '--hooks-timeout-ms',
      '--push-allow',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('env STREAMFED_WS_PORT');
    expect((await cli(['operator', '--help'])).stdout).toContain('--lease-duration-seconds');
  });

  it('refuses bad options with a usage error', async () => {
    const unknown = await cli(['media', '--no-such-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--no-such-flag'/);
    const badPort = await cli(['media', '--ws-port', 'eighty']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/--ws-port must be a whole number/);
    expect((await cli(['nonsense'])).code).toBe(2);
    for (const [args, message] of [
      [['--rest-user', 'admin'], /--rest-user and --rest-password go together/],
      [['--rest-protect-metrics'], /need --rest-token or --rest-user/],
      [['--hooks-secret', 's'], /--hooks-secret needs --hooks-url/],
      [['--hooks-url', 'backend/hooks'], /--hooks-url must be an http:\/\/ or https:\/\/ URL/],
    ] as const) {
      const r = await cli(['media', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
  });

  it('stops gracefully on SIGTERM: publishers get UNPUBLISHED, players STOPPED, exit 0', async () => {
    const media = await spawnMedia();
    const publisher = await NodePeer.publish(media.wsUrl, 'bye');
    await publisher.waitStatus('PUBLISHING');
    const player = await NodePeer.play(media.wsUrl, 'bye');
    await player.waitStatus('PLAYING');
    const exit = media.stop();
    await publisher.waitStatus('UNPUBLISHED');
    await player.waitStatus('STOPPED');
    expect(await exit).toBe(0);
    expect(media.output()).toContain('media server stopped');
    await publisher.stop();
    await player.stop();
  });
});
