import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionIceServers } from '../../src/media/rtc/ice-credentials.js';
import { framesDecoded, framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { waitFor } from '../support/media-server.js';
import { createNetns, linkNetns, type Netns } from '../support/netns.js';
import { sdkPageHtml, sdkStream } from '../support/sdk-page.js';
import { cliScript, run } from '../support/tools.js';

const RTC_PORT = 20000;
const TURN_PORT = 3478;
const SECRET = 'turn-only-secret';
const REALM = 'streamfed.test';

/** Addresses on the links between the three namespaces (198.19.s.0/28: three /30s, none in the root namespace). */
const s = 1 + (process.pid % 250);
const net = {
  outsideToNode: `198.19.${s}.1`,
  nodeSignalling: `198.19.${s}.2`,
  outsideToTurn: `198.19.${s}.5`,
  turnListening: `198.19.${s}.6`,
  turnRelay: `198.19.${s}.9`,
  nodeMedia: `198.19.${s}.10`,
};
const restUrl = `http://${net.nodeSignalling}:8081`;
const wsUrl = `ws://${net.nodeSignalling}:8080`;

async function iptables(ns: Netns, ...rule: string[]): Promise<void> {
  const [cmd, args] = ns.command('iptables', rule);
  const r = await run(cmd, args, { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`iptables ${rule.join(' ')} in ${ns.name}: ${r.stderr.trim()}`);
}

const exited = (child: ChildProcess | undefined): Promise<unknown> =>
  !child || child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', r));

/** The page records every RTCPeerConnection the SDK makes (before the SDK loads), for getStats(). */
function keepPeerConnections(): void {
  const g = globalThis as unknown as {
    RTCPeerConnection: new (...args: unknown[]) => object;
    peerConnections: object[];
  };
  const Native = g.RTCPeerConnection;
  g.peerConnections = [];
  g.RTCPeerConnection = class extends Native {
    constructor(...args: unknown[]) {
      super(...args);
      g.peerConnections.push(this);
    }
  };
}

/**
 * Opens the SDK page on the node's origin (the document comes from the test: Playwright answers its request;
 * the SDK bundles come from the media server), connects a session whose media may only go through TURN over
 * TCP, and publishes or plays `name`; resolves with the stream's status (PUBLISHING / PLAYING, or FAILED).
 */
async function openSdkStream(
  browser: Browser,
  name: string,
  publish: boolean,
): Promise<{ page: Page; status: string; info: string; username: string }> {
  const page = await browser.newPage();
  await page.addInitScript(keepPeerConnections);
  const pageUrl = `${restUrl}/turn-only.html`;
  await page.route(pageUrl, (route) =>
    route.fulfill({ contentType: 'text/html', body: sdkPageHtml(restUrl) }),
  );
  await page.goto(pageUrl);
  // fresh TURN REST-API credentials, as the project mints them (coturn's use-auth-secret)
  const iceServers = sessionIceServers([{ urls: `turn:${net.turnListening}:${TURN_PORT}?transport=tcp` }], {
    secret: SECRET,
    ttlSeconds: 600,
  });
  const { status, info } = await sdkStream(page, wsUrl, name, publish, {
    mediaOptions: { iceServers, iceTransportPolicy: 'relay' },
  });
  return { page, status, info, username: iceServers[0]?.username ?? '' };
}

/** The local candidate of each recorded peer connection's selected pair: its type and relay protocol. */
async function selectedLocalCandidates(page: Page): Promise<{ type: string; relayProtocol: string }[]> {
  return page.evaluate(async () => {
    type Report = Record<string, unknown> & { type: string; id: string };
    type Pc = { getStats(): Promise<{ forEach(f: (r: Report) => void): void }> };
    const g = globalThis as unknown as { peerConnections: Pc[] };
    const found: { type: string; relayProtocol: string }[] = [];
    for (const pc of g.peerConnections) {
      const reports = new Map<string, Report>();
      (await pc.getStats()).forEach((r) => reports.set(r.id, r));
      for (const transport of [...reports.values()].filter((r) => r.type === 'transport')) {
        const pair = reports.get(String(transport['selectedCandidatePairId']));
        const local = pair && reports.get(String(pair['localCandidateId']));
        if (local)
          found.push({ type: String(local['candidateType']), relayProtocol: String(local['relayProtocol']) });
      }
    }
    return found;
  });
}

/**
 * Three "hosts" (network namespaces), linked to each other by veth pairs (each also has its createNetns link
 * to the test's root namespace: the node's serves the health check, the outside's is closed by its firewall):
 * - node: a media server; signalling (ws :8080, REST :8081) on its link to the outside, WebRTC announced
 *   only on its link to the TURN host (`--announced-ip`): the media address the outside has no route to;
 * - turn: Debian's coturn (TURN REST-API secret), listening on its link to the outside, relaying from its link
 *   to the node;
 * - outside: Chromium, with links to the node and the TURN host only, and a firewall (iptables in the
 *   namespace) that lets it reach the node's signalling TCP ports and the TURN server's TCP port, nothing else.
 * The server needs no TURN settings: the browser alone relays through TURN.
 */
describe('TURN only: a browser that can reach only a TURN server over TCP publishes and plays', () => {
  const namespaces: Netns[] = [];
  let node: ChildProcess | undefined;
  let turn: ChildProcess | undefined;
  let turnLog = '';
  let turnDir = '';
  let browser: Browser | undefined;
  let outside: Netns;

  beforeAll(async () => {
    const [n, t, o] = [await createNetns('sftn'), await createNetns('sftt'), await createNetns('sfto')];
    namespaces.push(n, t, o);
    outside = o;
    const tag = `sft${process.pid % 100000}`;
    await linkNetns(`${tag}s`, o, net.outsideToNode, n, net.nodeSignalling);
    await linkNetns(`${tag}t`, o, net.outsideToTurn, t, net.turnListening);
    await linkNetns(`${tag}m`, t, net.turnRelay, n, net.nodeMedia);
    // the outside: nothing to its root-namespace link; TCP to the node's signalling ports and the TURN port only
    await iptables(o, '-A', 'OUTPUT', '-o', 'lo', '-j', 'ACCEPT');
    await iptables(o, '-A', 'OUTPUT', '-m', 'state', '--state', 'ESTABLISHED,RELATED', '-j', 'ACCEPT');
    await iptables(
      o,
      '-A',
      'OUTPUT',
      '-d',
      net.nodeSignalling,
      '-p',
      'tcp',
      '-m',
      'multiport',
      '--dports',
      '8080,8081',
      '-j',
      'ACCEPT',
    );
    await iptables(
      o,
      '-A',
      'OUTPUT',
      '-d',
      net.turnListening,
      '-p',
      'tcp',
      '--dport',
      String(TURN_PORT),
      '-j',
      'ACCEPT',
    );
    await iptables(o, '-P', 'OUTPUT', 'DROP');

    const [nodeCmd, nodeArgs] = n.command(process.execPath, [
      cliScript,
      'media',
      '--listen-ip',
      '0.0.0.0',
      '--announced-ip',
      net.nodeMedia,
      '--internal-ip',
      net.nodeMedia,
      '--rtc-port',
      String(RTC_PORT),
      '--workers',
      '1',
      '--member-id',
      'turn-only-node',
    ]);
    node = spawn(nodeCmd, nodeArgs, { stdio: 'ignore' });

    turnDir = await mkdtemp(join(tmpdir(), 'streamfed-turn-'));
    const [turnCmd, turnArgs] = t.command('/usr/bin/turnserver', [
      '-n',
      '--listening-ip',
      net.turnListening,
      '--listening-port',
      String(TURN_PORT),
      '--relay-ip',
      net.turnRelay,
      '--no-udp',
      '--no-tls',
      '--no-dtls',
      '--no-tcp-relay',
      // long-term credentials from the shared secret (TURN REST API)
      '--use-auth-secret',
      '--static-auth-secret',
      SECRET,
      '--realm',
      REALM,
      // 198.18.0.0/15 is among coturn's default denied peer ranges: allow the node's media address alone
      '--allowed-peer-ip',
      net.nodeMedia,
      '--no-cli',
      '--log-file',
      'stdout',
      '--simple-log',
      '--verbose',
      '--pidfile',
      join(turnDir, 'turnserver.pid'),
      '--userdb',
      join(turnDir, 'turndb'),
    ]);
    turn = spawn(turnCmd, turnArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    turn.stdout?.on('data', (d: Buffer) => (turnLog += d.toString()));
    turn.stderr?.on('data', (d: Buffer) => (turnLog += d.toString()));

    // from the root namespace through the node's own veth: the server is up
    await waitFor(
      async () => (await fetch(`http://${n.nsAddress}:8081/healthz`).catch(() => undefined))?.status === 200,
      'the media server in the node namespace up',
      60_000,
    );
    const [ssCmd, ssArgs] = t.command('ss', ['-Hltn', 'src', `${net.turnListening}:${TURN_PORT}`]);
    await waitFor(async () => (await run(ssCmd, ssArgs)).stdout.trim(), 'turnserver listening', 20_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    node?.kill('SIGKILL');
    turn?.kill('SIGKILL');
    await Promise.all([exited(node), exited(turn)]);
    await Promise.all(namespaces.map((ns) => ns.delete()));
    if (turnDir) await rm(turnDir, { recursive: true, force: true });
  });

  it("publishes and plays through coturn's relay over TCP; each page's selected pair is a relay candidate", async () => {
    // the outside has no route to the node's media address, and its firewall passes only TCP it was allowed
    const [cmd, args] = outside.command('ip', ['-4', 'route', 'get', net.nodeMedia]);
    expect((await run(cmd, args)).code).not.toBe(0);
    // the node's WebRtcServer listens on every address, its signalling one too: the firewall keeps it from the outside
    const [tcpCmd, tcpArgs] = outside.command('timeout', [
      '3',
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${net.nodeSignalling}/${RTC_PORT}`,
    ]);
    expect((await run(tcpCmd, tcpArgs)).code).not.toBe(0);

    browser = await launchBrowser([restUrl], outside);
    const publisher = await openSdkStream(browser, 'behind-turn', true);
    expect(publisher.status, publisher.info).toBe('PUBLISHING');
    const player = await openSdkStream(browser, 'behind-turn', false);
    expect(player.status, player.info).toBe('PLAYING');
    await framesKeepDecoding(
      { framesDecoded: () => framesDecoded(player.page, '#display') },
      'through TURN',
      30_000,
    );

    for (const page of [publisher.page, player.page])
      expect(await selectedLocalCandidates(page)).toEqual([{ type: 'relay', relayProtocol: 'tcp' }]);
    // coturn allocated each page's relay with its minted REST-API credentials and let it send to the node
    for (const { username } of [publisher, player])
      expect(turnLog).toContain(`user <${username}>: incoming packet ALLOCATE processed, success`);
    expect(turnLog).toContain(`peer ${net.nodeMedia} lifetime updated`);
  }, 120_000);
});
