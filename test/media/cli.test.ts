import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { spawnMedia } from '../support/media-process.js';
import { waitFor } from '../support/media-server.js';
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

  it('drains on SIGTERM: readiness off and new sessions refused first, then sessions cut as by a lost server, exit 0', async () => {
    const media = await spawnMedia(['--drain-seconds', '4']);
    const publisher = await NodePeer.publish(media.wsUrl, 'bye');
    await publisher.waitStatus('PUBLISHING');
    const player = await NodePeer.play(media.wsUrl, 'bye');
    await player.waitStatus('PLAYING');
    const ready = async (): Promise<number> => (await fetch(`${media.restUrl}/readyz`)).status;
    expect(await ready()).toBe(200);
    const cut = [publisher, player].map(
      (peer) => new Promise<string>((resolve) => peer.client.once('closed', resolve)),
    );

    const exit = media.stop();
    await waitFor(async () => (await ready()) === 503, 'readiness off');
    // the sessions are still open and streaming: readiness went off before they end
    expect([publisher.client.closed, player.client.closed]).toEqual([false, false]);
    // a new connection is refused at the upgrade (the Service sends it to another pod)
    expect(await upgradeStatus(media.wsUrl)).toBe(503);

    // then cut with no closing handshake (1006) and no final status: the Web SDK's session FAILS and restores
    expect(await Promise.all(cut)).toEqual(['connection closed (1006)', 'connection closed (1006)']);
    expect([publisher.lastStatus(), player.lastStatus()]).toEqual(['PUBLISHING', 'PLAYING']);
    expect(await exit).toBe(0);
    expect(media.output()).toContain('draining');
    expect(media.output()).toContain('media server stopped');
    await publisher.close();
    await player.close();
  });
});

/** The HTTP status a WebSocket upgrade gets (101 when it opens). */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('upgrade', () => {
      socket.terminate();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}
