import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { waitFor } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import { createNetns, type Netns } from '../support/netns.js';
import { NodePeer } from '../support/node-peer.js';
import { inetSockets, mediasoupWorkers } from '../support/os-resources.js';
import { cliScript, run } from '../support/tools.js';
import { PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';

const RTC_PORT = 20000;
const RANGE = [40000, 40099] as const;

interface Node {
  ns: Netns;
  internalIp: string;
  child: ChildProcess;
  restUrl: string;
  wsUrl: string;
}

async function ip(...args: string[]): Promise<void> {
  const r = await run('ip', args, { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/**
 * Two "nodes" (network namespaces), each a media server of one fleet: the test process is the outside, joined
 * to each node by its own veth (the announced addresses); the nodes share a node network of their own
 * (198.19.x.0/30, the internal addresses) that the outside has no route to.
 */
describe('separate hosts: clients outside reach the announced addresses, the fleet pipes only the internal ones', () => {
  const nodes: Node[] = [];
  const namespaces: Netns[] = [];

  beforeAll(async () => {
    const [a, b] = [await createNetns('sfra'), await createNetns('sfrb')];
    namespaces.push(a, b);
    const subnet = 1 + (process.pid % 250);
    const internal = [`198.19.${subnet}.1`, `198.19.${subnet}.2`];
    const [ia, ib] = [`sfi${process.pid % 100000}a`, `sfi${process.pid % 100000}b`];
    await ip('link', 'add', ia, 'type', 'veth', 'peer', 'name', ib);
    await ip('link', 'set', ia, 'netns', a.name);
    await ip('link', 'set', ib, 'netns', b.name);
    for (const [ns, dev, address] of [
      [a, ia, internal[0]],
      [b, ib, internal[1]],
    ] as const) {
      await ip('-n', ns.name, 'addr', 'add', `${address}/30`, 'dev', dev);
      await ip('-n', ns.name, 'link', 'set', dev, 'up');
    }
    for (const [i, ns] of [a, b].entries()) {
      const internalIp = internal[i]!;
      const peer = internal[1 - i]!;
      const [cmd, args] = ns.command(process.execPath, [
        cliScript,
        'media',
        '--listen-ip',
        '0.0.0.0',
        '--announced-ip',
        ns.nsAddress,
        '--internal-ip',
        internalIp,
        '--rtc-port',
        String(RTC_PORT),
        '--rtc-min-port',
        String(RANGE[0]),
        '--rtc-max-port',
        String(RANGE[1]),
        '--workers',
        '1',
        '--member-id',
        `node-${i}`,
        '--peers',
        `http://${peer}:8081`,
      ]);
      const child = spawn(cmd, args, { stdio: 'ignore' });
      nodes.push({
        ns,
        internalIp,
        child,
        restUrl: `http://${ns.nsAddress}:8081`,
        wsUrl: `ws://${ns.nsAddress}:8080`,
      });
    }
    for (const node of nodes)
      await waitFor(
        async () =>
          (await metric(node.restUrl, 'streamfed_fleet_members', { state: 'up' }).catch(() => 0)) === 1,
        `${node.ns.name} up and seeing the other member`,
        60_000,
      );
  }, 120_000);

  afterAll(async () => {
    for (const node of nodes) node.child.kill('SIGKILL');
    await Promise.all(
      nodes.map((n) => new Promise((r) => (n.child.exitCode !== null ? r(null) : n.child.once('exit', r)))),
    );
    await Promise.all(namespaces.map((ns) => ns.delete()));
  });

  it('publishes to node A and plays from node B from outside; the pipe between them uses the node network only', async () => {
    const [a, b] = nodes as [Node, Node];
    // the outside has no route to the node network: only the announced addresses can carry this media
    // (the outside's route to a node's internal address is not through either node's link)
    for (const node of nodes) {
      const route = (await run('ip', ['-4', 'route', 'get', node.internalIp])).stdout;
      for (const other of nodes) expect(route).not.toContain(`src ${other.ns.hostAddress}`);
    }
    expect((await fetch(`${b.restUrl}/healthz`)).status).toBe(200);
    const publisher = await NodePeer.publish(a.wsUrl, 'far', { bindIp: a.ns.hostAddress });
    const player = await NodePeer.play(b.wsUrl, 'far', { bindIp: b.ns.hostAddress });
    try {
      await publisher.waitStatus('PUBLISHING', 30_000);
      await player.waitStatus('PLAYING', 30_000);
      await waitFor(() => player.received > 50, 'media from node A played on node B', 30_000);
      expect(await metric(b.restUrl, 'streamfed_fleet_relays')).toBe(1);

      for (const node of nodes) {
        const sockets = mediasoupWorkers(node.child.pid!).flatMap((pid) => inetSockets(pid));
        // WebRTC on its one port (UDP and TCP); every other socket of the worker is a pipe on the internal address
        expect(sockets.filter((s) => s.listening).map((s) => `${s.localIp}:${s.localPort}`)).toEqual([
          `0.0.0.0:${RTC_PORT}`,
        ]);
        const udp = sockets.filter((s) => s.proto.startsWith('udp') && s.localPort !== RTC_PORT);
        expect(udp.length).toBeGreaterThanOrEqual(1);
        for (const s of udp) {
          expect(s.localIp).toBe(node.internalIp);
          expect(s.localPort).toBeGreaterThanOrEqual(RANGE[0]);
          expect(s.localPort).toBeLessThanOrEqual(RANGE[1]);
        }
        // nothing bound to the announced address but through the WebRtcServer's wildcard socket
        expect(sockets.filter((s) => s.localIp === node.ns.nsAddress)).toEqual([]);
      }
    } finally {
      await Promise.all([player.close(), publisher.close()]);
    }
  }, 120_000);

  it('Chromium outside publishes to node A and plays from node B with the official SDK pages: frames decode', async () => {
    const [a, b] = nodes as [Node, Node];
    const browser = await launchBrowser([a.restUrl, b.restUrl]);
    try {
      const publisher = await TwoWayStreamingPage.open(browser, a.restUrl, a.wsUrl);
      await publisher.publish('far-sdk');
      await publisher.waitPublishStatus('PUBLISHING', 30_000);
      const player = await PlayerPage.open(browser, b.restUrl, b.wsUrl, 'far-sdk');
      await player.waitStatus('PLAYING', 30_000);
      await framesKeepDecoding(player, 'on node B', 30_000);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
