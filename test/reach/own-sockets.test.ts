import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerNetwork } from '../../src/media/push/rtc-peer.js';
import { startMedia, rest, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { inetSockets } from '../support/os-resources.js';
import { listPushes } from '../support/pushes.js';

const RANGE = [45600, 45699] as const;

describe("our own push/pull peers bind the server's internal address, in its RTC range", () => {
  let from: RunningMedia;
  let to: RunningMedia;
  let publisher: NodePeer | undefined;

  beforeAll(async () => {
    // the server on 127.0.0.2 pushes to one on 127.0.0.1 (both loopback: a case where werift took 127.0.0.1)
    from = await startMedia({
      listen: { ip: '127.0.0.2', announcedIps: ['127.0.0.2'], rtcMinPort: RANGE[0], rtcMaxPort: RANGE[1] },
      // werift peers for both: a push to another streamfed server would otherwise go over a mediasoup pipe
      push: { pipe: false },
    });
    to = await startMedia();
  });

  afterAll(async () => {
    await publisher?.close();
    await Promise.all([from?.stop(), to?.stop()]);
  });

  it('a push and a pull open UDP sockets on 127.0.0.2 inside 45600-45699 only, and deliver', async () => {
    publisher = await NodePeer.publish(from.wsUrl, 'own');
    await publisher.waitStatus('PUBLISHING');
    const before = new Set(inetSockets(process.pid).map((s) => `${s.proto} ${s.localIp}:${s.localPort}`));
    expect(
      (await rest(from.restUrl, '/rest-api/pull/push', { uri: to.wsUrl, localStreamName: 'own' })).status,
    ).toBe(200);
    const pulled = await rest(from.restUrl, '/rest-api/pull/pull', {
      uri: to.wsUrl,
      remoteStreamName: 'own',
      localStreamName: 'own-back',
    });
    expect(pulled.status).toBe(200);
    await waitFor(
      async () => (await listPushes(from.restUrl)).every((p) => p.status === 'PUBLISHING'),
      'the push and the pull PUBLISHING',
      30_000,
    );
    // the new UDP sockets of this process: the peers', and the loopback taps that feed them (127.0.0.1)
    const opened = inetSockets(process.pid).filter(
      (s) => s.proto.startsWith('udp') && !before.has(`${s.proto} ${s.localIp}:${s.localPort}`),
    );
    const peers = opened.filter((s) => s.localIp !== '127.0.0.1');
    expect(peers.length).toBeGreaterThanOrEqual(2);
    for (const s of peers) {
      expect(s.localIp).toBe('127.0.0.2');
      expect(s.localPort).toBeGreaterThanOrEqual(RANGE[0]);
      expect(s.localPort).toBeLessThanOrEqual(RANGE[1]);
    }
  }, 60_000);

  it("gives each peer its own ports round the range, one host candidate, and no ICE server but ours and the remote's", () => {
    const network = new PeerNetwork({
      bindIp: '198.18.7.2',
      portRange: [45000, 45003],
      iceServers: () => [{ urls: 'turn:198.18.9.1:3478?transport=tcp', username: 'u', credential: 'c' }],
    });
    const first = network.iceConfig('198.18.8.1', [{ urls: 'stun:198.18.8.1:3478' }]);
    expect(first).toEqual({
      iceServers: [
        { urls: 'turn:198.18.9.1:3478?transport=tcp', username: 'u', credential: 'c' },
        { urls: 'stun:198.18.8.1:3478' },
      ],
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['198.18.7.2'],
      iceInterfaceAddresses: { udp4: '198.18.7.2' },
      icePortRange: [45000, 45001],
    });
    expect(network.iceConfig('198.18.8.1', []).icePortRange).toEqual([45002, 45003]);
    expect(network.iceConfig('198.18.8.1', []).icePortRange).toEqual([45000, 45001]);
    // werift's own default is a public Google STUN server: an empty list must reach it as empty
    expect(network.iceConfig('198.18.8.1', []).iceServers).toEqual([
      { urls: 'turn:198.18.9.1:3478?transport=tcp', username: 'u', credential: 'c' },
    ]);
  });

  it('a server on loopback reaches a target elsewhere from the interfaces that route there, in its range', () => {
    const lone = new PeerNetwork({ bindIp: '127.0.0.1', portRange: [45010, 45011], iceServers: () => [] });
    // a WHIP endpoint on another host: 127.0.0.1 cannot reach it
    expect(lone.iceConfig('198.18.8.1', [])).toEqual({
      iceServers: [],
      iceUseIpv6: false,
      icePortRange: [45010, 45011],
    });
    // another server on this host: loopback, as before
    expect(lone.iceConfig('127.0.0.3', []).iceInterfaceAddresses).toEqual({ udp4: '127.0.0.1' });
  });
});
