import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PipeFallbackCode, type PushDescription, type PushTransport } from '../../src/contracts/pull-api.js';
import { PipeRefusalCode } from '../../src/contracts/wcs-protocol.js';
import { readOptions } from '../../src/config/options.js';
import { mediaConfig, mediaOptionSpecs } from '../../src/media/media-options.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { metric } from '../support/metrics.js';
import { NodePeer } from '../support/node-peer.js';
import { PipePeerPolicy, PipeRefusedError } from '../../src/media/push/pipe-peers.js';
import { startUdpSink } from '../support/pipe-blocker.js';
import { listPushes } from '../support/pushes.js';
import { objects } from '../support/two-fleets.js';
import { WcsSocket } from '../support/wcs-socket.js';

/**
 * A pipe is a PipeTransport connected to the offered address with no consent check, so the server that takes
 * a pipe request (a push into it, a pull from it) lets it send only to the signalling peer's own address or
 * into --pipe-peers; a refused pipe goes over WebRTC by itself (PIPE_REFUSED).
 */
describe('the pipe peer policy (--pipe-peers)', () => {
  const policy = new PipePeerPolicy(['10.1.0.0/16', '192.0.2.7', '127.0.0.2/32']);
  const allowed = (offered: string, peer: string | undefined): boolean => {
    try {
      policy.check(offered, peer);
      return true;
    } catch (error) {
      expect(error).toBeInstanceOf(PipeRefusedError);
      expect((error as PipeRefusedError).code).toBe(PipeRefusalCode.PEER_NOT_ALLOWED);
      return false;
    }
  };

  it("takes the signalling peer's own address (IPv4-mapped or not) and the listed ranges, nothing else", () => {
    expect(allowed('198.51.100.4', '198.51.100.4')).toBe(true);
    expect(allowed('198.51.100.4', '::ffff:198.51.100.4')).toBe(true);
    expect(allowed('::ffff:198.51.100.4', '198.51.100.4')).toBe(true);
    expect(allowed('2001:db8::1', '2001:db8:0:0:0:0:0:1')).toBe(true);
    expect(allowed('10.1.200.3', '198.51.100.4')).toBe(true);
    expect(allowed('192.0.2.7', '198.51.100.4')).toBe(true);
    expect(allowed('10.2.0.1', '198.51.100.4')).toBe(false);
    expect(allowed('198.51.100.5', '198.51.100.4')).toBe(false);
    expect(allowed('198.51.100.4', undefined)).toBe(false);
    expect(allowed('not-an-ip', 'not-an-ip')).toBe(false);
  });

  it('takes a loopback address only from a loopback peer, an unspecified one never', () => {
    expect(allowed('127.0.0.1', '::ffff:127.0.0.1')).toBe(true);
    expect(allowed('127.0.0.2', '127.0.0.1')).toBe(true);
    expect(allowed('127.0.0.2', '198.51.100.4')).toBe(false);
    expect(allowed('127.0.0.3', '127.0.0.1')).toBe(false);
    expect(allowed('0.0.0.0', '0.0.0.0')).toBe(false);
    const everyone = new PipePeerPolicy(['0.0.0.0/0']);
    expect(() => everyone.check('0.0.0.0', '198.51.100.4')).toThrow(PipeRefusedError);
    expect(() => everyone.check('198.51.100.9', '198.51.100.4')).not.toThrow();
  });

  it('refuses a name or a malformed range as an entry; reads the flag and STREAMFED_PIPE_PEERS', () => {
    expect(() => new PipePeerPolicy(['peer.example'])).toThrow(/--pipe-peers/);
    expect(() => new PipePeerPolicy(['10.0.0.0/x'])).toThrow(/--pipe-peers/);
    const config = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
      mediaConfig(readOptions(mediaOptionSpecs, argv, env));
    expect(() => config(['--pipe-peers', 'peer.example'])).toThrow(/--pipe-peers takes addresses and CIDRs/);
    expect(config([], { STREAMFED_PIPE_PEERS: '10.1.0.0/16,192.0.2.7' }).push.pipePeers).toEqual([
      '10.1.0.0/16',
      '192.0.2.7',
    ]);
    expect(config([]).push.pipePeers).toEqual([]);
  });
});

describe('a pipe offer may name only the signalling peer or --pipe-peers; refused, the relay goes over WebRTC', () => {
  /** Pipes (and everything else) on 127.0.0.2; its WebSocket connections to the others come from 127.0.0.1. */
  let elsewhere: RunningMedia;
  /** Takes pipes only to its signalling peers' own addresses (the default). */
  let strict: RunningMedia;
  /** Started with `--pipe-peers 127.0.0.2/32`. */
  let open: RunningMedia;
  const closers: (() => Promise<unknown>)[] = [];
  const keep = (peer: NodePeer): NodePeer => {
    closers.push(() => peer.close());
    return peer;
  };

  beforeAll(async () => {
    const pipePeers = mediaConfig(readOptions(mediaOptionSpecs, ['--pipe-peers', '127.0.0.2/32'], {})).push
      .pipePeers;
    // one worker each: a pipe_transport is then a pipe between servers, never one between two workers
    const listen = { workers: 1 };
    [elsewhere, strict, open] = await Promise.all([
      startMedia({ listen: { ...listen, ip: '127.0.0.2', announcedIps: ['127.0.0.2'] } }),
      startMedia({ listen }),
      startMedia({ listen, push: { pipePeers } }),
    ]);
    // "cam" on the server whose pipes are on 127.0.0.2; "src" on each of the others
    const publishers = await Promise.all([
      NodePeer.publish(elsewhere.wsUrl, 'cam', { bindIp: '127.0.0.2' }),
      NodePeer.publish(strict.wsUrl, 'src'),
      NodePeer.publish(open.wsUrl, 'src'),
    ]);
    for (const p of publishers) closers.push(() => p.close());
    await Promise.all(publishers.map((p) => p.waitStatus('PUBLISHING')));
  }, 60_000);

  afterEach(async () => {
    for (const p of await listPushes(elsewhere.restUrl))
      await rest(elsewhere.restUrl, '/rest-api/pull/terminate', {
        localMediaSessionId: p.localMediaSessionId,
      });
  });

  afterAll(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await Promise.all([elsewhere?.stop(), strict?.stop(), open?.stop()]);
  });

  /** Starts a push or pull on the 127.0.0.2 server; resolves with it once PUBLISHING and delivering. */
  async function relayed(type: 'push' | 'pull', body: Record<string, unknown>): Promise<PushDescription> {
    const r = await rest(elsewhere.restUrl, `/rest-api/pull/${type}`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const { localMediaSessionId } = r.body as PushDescription;
    return waitFor(
      async () => {
        const found = (await listPushes(elsewhere.restUrl)).find(
          (p) => p.localMediaSessionId === localMediaSessionId,
        );
        if (found?.status === 'FAILED') throw new Error(`${type} FAILED: ${found.info}`);
        return found?.status === 'PUBLISHING' && found.delivery.packets > 0 ? found : undefined;
      },
      `${type} PUBLISHING and delivering`,
      30_000,
    );
  }

  /** A player of `name` on `wsUrl` receives RTP. */
  async function plays(wsUrl: string, name: string, bindIp?: string): Promise<void> {
    const player = keep(await NodePeer.play(wsUrl, name, bindIp ? { bindIp } : {}));
    await player.waitStatus('PLAYING', 20_000);
    await waitFor(() => player.received > 0, `RTP of ${name}`, 20_000);
  }

  const fallbacks = (type: 'push' | 'pull'): Promise<number> =>
    metric(elsewhere.restUrl, 'streamfed_push_pipe_fallbacks_total', {
      type,
      reason: PipeFallbackCode.REFUSED,
    });

  async function expectTransport(relay: PushDescription, transport: PushTransport): Promise<void> {
    expect(relay.transport).toBe(transport);
    if (transport === 'pipe') {
      expect(relay.fallback).toBeUndefined();
      return;
    }
    expect(relay.fallback).toEqual({
      code: PipeFallbackCode.REFUSED,
      info: expect.stringContaining(PipeRefusalCode.PEER_NOT_ALLOWED),
    });
  }

  /** A push of "cam" to `remote`, or a pull of its "src", by the 127.0.0.2 server; played where it lands. */
  async function relayedTo(
    type: 'push' | 'pull',
    remote: RunningMedia,
    suffix: string,
  ): Promise<PushDescription> {
    const push = type === 'push';
    const name = `${push ? 'cam' : 'src'}-${suffix}`;
    const relay = await relayed(type, {
      uri: remote.wsUrl,
      localStreamName: push ? 'cam' : name,
      remoteStreamName: push ? name : 'src',
    });
    if (push) await plays(remote.wsUrl, name);
    else await plays(elsewhere.wsUrl, name, '127.0.0.2');
    return relay;
  }

  for (const type of ['push', 'pull'] as const) {
    const what = type === 'push' ? 'a push to a target' : 'a pull from a source';

    it(`${what} taking pipes from signalling peers only: a pipe on 127.0.0.2, signalling from 127.0.0.1, is refused and the ${type} goes over WebRTC`, async () => {
      const before = await fallbacks(type);
      const relay = await relayedTo(type, strict, 'strict');
      await expectTransport(relay, 'webrtc');
      expect(await fallbacks(type)).toBe(before + 1);
      // nothing made for the refused pipe remains on either side
      expect(await objects(strict.restUrl, 'pipe_transport')).toBe(0);
      expect(await objects(elsewhere.restUrl, 'pipe_transport')).toBe(0);
    }, 90_000);

    it(`${what} started with --pipe-peers 127.0.0.2/32: the same ${type} goes over the pipe`, async () => {
      const relay = await relayedTo(type, open, 'open');
      await expectTransport(relay, 'pipe');
      expect(await objects(open.restUrl, 'pipe_transport')).toBe(1);
    }, 90_000);
  }

  it('a playStream whose pipe names a third address is refused by code, and not one packet goes there', async () => {
    const victim = await startUdpSink('127.0.0.3');
    closers.push(() => victim.close());
    const { ws } = await WcsSocket.established(strict.wsUrl);
    closers.push(async () => ws.close());
    // a well-formed tuple (mediasoup would connect to it): only its address is wrong
    const atVictim = {
      ip: '127.0.0.3',
      port: victim.port,
      srtpParameters: { cryptoSuite: 'AEAD_AES_256_GCM', keyBase64: randomBytes(44).toString('base64') },
    };
    const mediaSessionId = randomUUID();
    ws.send('playStream', {
      mediaSessionId,
      name: 'src',
      published: false,
      hasAudio: true,
      hasVideo: true,
      streamfedPipe: atVictim,
    });
    const refused = await ws.next('streamfedPipeRefused');
    expect(refused.data[0]).toEqual({
      mediaSessionId,
      code: PipeRefusalCode.PEER_NOT_ALLOWED,
      info: expect.stringContaining('127.0.0.3'),
    });
    expect(await objects(strict.restUrl, 'pipe_transport')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(victim.dropped).toBe(0);
    expect(await objects(strict.restUrl, 'pipe_transport')).toBe(0);
    // a push offer (publishStream) naming it is refused alike: our half would send RTCP there
    const pushId = randomUUID();
    ws.send('publishStream', {
      mediaSessionId: pushId,
      name: 'pushed-at-victim',
      published: true,
      hasAudio: false,
      hasVideo: true,
      streamfedPipe: { ...atVictim, producers: [{ kind: 'video', rtpParameters: {}, paused: false }] },
    });
    expect((await ws.next('streamfedPipeRefused')).data[0]).toMatchObject({
      mediaSessionId: pushId,
      code: PipeRefusalCode.PEER_NOT_ALLOWED,
    });
    // no player of "src" was made for it
    const players = await rest(strict.restUrl, '/rest-api/stream/find', { name: 'src', published: false });
    expect(players.status === 404 || (players.body as unknown[]).length === 0).toBe(true);
  }, 30_000);
});
