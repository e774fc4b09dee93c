import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushFailureCode } from '../../src/contracts/pull-api.js';
import { freePort } from '../support/ports.js';
import { findPushes, rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

/**
 * "This server", for the self-push check, is the address it listens on and its port: a server on 127.0.0.3
 * with the same WebSocket port as one on 127.0.0.2 is another server, and the IPv4-mapped IPv6 spelling of its
 * own address is itself.
 */
describe('a push to itself is refused by the address it listens on, not by every address of the host', () => {
  let a: RunningMedia;
  let b: RunningMedia;
  let wsPort: number;
  let publisher: NodePeer;

  beforeAll(async () => {
    wsPort = await freePort();
    const on = (ip: string): Parameters<typeof startMedia>[0] => ({
      listen: { ip, announcedIps: [ip] },
      signalling: { wsPort },
    });
    a = await startMedia(on('127.0.0.2'));
    b = await startMedia(on('127.0.0.3'));
    publisher = await NodePeer.publish(a.wsUrl, 'self');
    await publisher.waitStatus('PUBLISHING');
  });
  afterAll(async () => {
    await publisher?.stop();
    for (const s of [a, b]) await s?.stop();
  });

  it('refuses ws://[::ffff:<own address>]:<own port> with 409 PUSH_ERR_LOOP, as the plain spelling', async () => {
    for (const uri of [`ws://[::ffff:127.0.0.2]:${wsPort}/`, `ws://127.0.0.2:${wsPort}/`]) {
      const refused = await rest(a.restUrl, '/rest-api/pull/push', { uri, localStreamName: 'self' });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ statusCode: 409, code: PushFailureCode.LOOP });
      expect((refused.body as { message: string }).message).toContain('is this server');
    }
    expect(await findPushes(a.restUrl)).toEqual([]);
  });

  it('pushes to the other server on another address of the host with the same port', async () => {
    const pushed = await rest(a.restUrl, '/rest-api/pull/push', {
      uri: `ws://127.0.0.3:${wsPort}/`,
      localStreamName: 'self',
    });
    expect(pushed.status).toBe(200);
    await waitFor(async () => {
      const found = await rest(b.restUrl, '/rest-api/stream/find_all');
      const all = found.status === 200 ? (found.body as { name: string; published: boolean }[]) : [];
      return all.some((s) => s.name === 'self' && s.published);
    }, 'the stream published on the other server');
  });
});
