import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushFailureCode, pushTargetKey, type PushStatus } from '../../src/contracts/pull-api.js';
import { EgressLeg } from '../../src/media/push/egress-leg.js';
import { Relay, type PushTarget } from '../../src/media/push/relay.js';
import { PeerNetwork } from '../../src/media/push/rtc-peer.js';
import { FakeWcs, type Stall } from '../support/fake-wcs.js';
import { startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

const target = (uri: string, handshakeMs: number): PushTarget => ({
  network: new PeerNetwork({ bindIp: '127.0.0.1', portRange: [44900, 44999], iceServers: () => [] }),
  uri,
  protocol: 'wcs',
  key: pushTargetKey(uri),
  url: new URL(uri),
  localStreamName: 'composed',
  remoteStreamName: 'composed',
  insecureTls: false,
  deadlines: { connectMs: 5000, handshakeMs, answerMs: 60_000, iceMs: 60_000, mediaMs: 60_000 },
});

describe('a relay is one signalling client + one peer + one media leg, with one close()', () => {
  let media: RunningMedia;
  let publisher: NodePeer;
  const fakes: FakeWcs[] = [];
  beforeAll(async () => {
    media = await startMedia();
    publisher = await NodePeer.publish(media.wsUrl, 'composed');
    await publisher.waitStatus('PUBLISHING');
  }, 30_000);
  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    await publisher?.stop();
    await media?.stop();
  });

  /** A push relay on this server's stream, with what its observer reports. */
  async function relayTo(stall: Stall, handshakeMs: number) {
    const fake = await FakeWcs.start(stall);
    fakes.push(fake);
    const source = media.server.streams.publisher('composed');
    if (!source) throw new Error('no publisher');
    const relay = new Relay(target(fake.url, handshakeMs), () => new EgressLeg(source, []));
    const seen: { statuses: PushStatus[]; closes: number } = { statuses: [], closes: 0 };
    relay.observer.on('status', (status) => seen.statuses.push(status));
    relay.observer.on('close', () => seen.closes++);
    return { fake, relay, seen };
  }
  const transports = (): number => media.server.engine.objectCounts().transport;

  it('close() while a step waits cascades to the leg, the peer and the client, once however often it is called', async () => {
    const before = transports();
    const { fake, relay, seen } = await relayTo('answer', 5000);
    relay.on('status', () => undefined);
    const started = relay.start();
    started.catch(() => undefined);
    await waitFor(() => fake.received('publishStream').length === 1, 'publishStream at the remote');
    expect(relay.status).toBe('PENDING');
    // the egress leg's taps live on their own transports
    expect(transports()).toBeGreaterThan(before);
    relay.close();
    relay.close();
    await expect(started).rejects.toMatchObject({ code: PushFailureCode.LOCAL_ENDED });
    expect(relay.closed).toBe(true);
    expect(seen).toEqual({ statuses: ['PENDING'], closes: 1 });
    expect(relay.listenerCount('status')).toBe(0);
    // our stream ended on the remote, and everything local is gone
    await waitFor(() => fake.received('unPublishStream').length === 1, 'unPublishStream at the remote');
    await waitFor(() => transports() === before, 'the leg freed its transports');
  });

  it('fail() frees what it owns and keeps the relay FAILED with its code until close()', async () => {
    const before = transports();
    const { relay, seen } = await relayTo('handshake', 500);
    await expect(relay.start()).rejects.toMatchObject({ code: PushFailureCode.HANDSHAKE_TIMEOUT });
    expect(relay.describe()).toMatchObject({ status: 'FAILED', code: PushFailureCode.HANDSHAKE_TIMEOUT });
    await waitFor(() => transports() === before, 'the failed leg freed its transports');
    relay.fail(PushFailureCode.INTERNAL, 'a second failure changes nothing');
    expect(relay.describe().code).toBe(PushFailureCode.HANDSHAKE_TIMEOUT);
    relay.close();
    relay.close();
    expect(seen).toEqual({ statuses: ['FAILED'], closes: 1 });
  });
});
