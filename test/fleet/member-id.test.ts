import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

/**
 * Two servers of one host on different addresses (127.0.0.2, 127.0.0.3) with the same REST port and no
 * `--member-id`: each default id names its address, so each sees the other as a member, not as itself, and a
 * stream published on one plays on the other.
 */
describe('the default member id is unique per server, not per host and REST port', () => {
  const servers: RunningMedia[] = [];
  const peers: NodePeer[] = [];

  beforeAll(async () => {
    const restPort = await freePort();
    const member = (ip: string, other: string): Parameters<typeof startMedia>[0] => ({
      listen: { ip, announcedIps: [ip] },
      rest: { port: restPort },
      fleet: { peers: [`http://${other}:${restPort}`], probeIntervalMs: 200 },
    });
    servers.push(await startMedia(member('127.0.0.2', '127.0.0.3')));
    servers.push(await startMedia(member('127.0.0.3', '127.0.0.2')));
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    for (const s of servers) await s.stop(); // one by one: a member's REST stays open while the other stops
  });

  it('gives each its own id, and each sees the other up', async () => {
    const [a, b] = servers as [RunningMedia, RunningMedia];
    expect(a.server.fleet.memberId).not.toBe(b.server.fleet.memberId);
    expect(a.server.fleet.memberId).toContain('127.0.0.2');
    for (const s of servers)
      await waitFor(() => s.server.fleet.members().some((m) => m.up), 'the other member up', 10_000);
  });

  it('plays on one server a stream published on the other', async () => {
    const [a, b] = servers as [RunningMedia, RunningMedia];
    await NodePeer.relayed(a.wsUrl, b.wsUrl, 'across addresses', (p) => peers.push(p));
  });
});
