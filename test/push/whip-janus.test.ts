import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushFailureCode, type PushDescription, type PushFailureBody } from '../../src/contracts/pull-api.js';
import { startJanusWhip, type JanusWhip } from '../support/janus.js';
import { findPushes, rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';

describe('a push to a foreign WHIP server: Janus behind simple-whip-server', () => {
  let janus: JanusWhip;
  let media: RunningMedia;
  let publisher: NodePeer;

  beforeAll(async () => {
    janus = await startJanusWhip();
    // Janus is in a network namespace of its own, on 198.18.0.0/15 (support/netns.ts): allowed too
    media = await startMedia({ push: { allow: ['127.0.0.0/8', '198.18.0.0/15'] } });
    publisher = await NodePeer.publish(media.wsUrl, 'studio');
    await publisher.waitStatus('PUBLISHING');
  }, 120_000);

  afterAll(async () => {
    await publisher?.stop();
    await media?.stop();
    await janus?.stop();
  });

  /** Janus's publisher handles: what a WHIP session is on its side. */
  const onJanus = () => janus.publishers();
  const pushes = () => findPushes(media.restUrl);
  const push = (uri: string, extra: Record<string, unknown>) =>
    rest(media.restUrl, '/rest-api/pull/push', { uri, localStreamName: 'studio', ...extra });

  it("Janus receives the stream (its Admin API's account); terminate deletes the WHIP session there; the token is never listed", async () => {
    const token = randomBytes(16).toString('hex');
    const uri = await janus.createEndpoint('studio', token);
    const pushed = await push(uri, { authToken: token });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);
    const description = pushed.body as PushDescription;
    expect(description).toMatchObject({ uri, type: 'push', status: 'PUBLISHING' });

    // Janus's side: one publisher handle, ICE/DTLS up, audio and video RTP arriving, and still arriving
    const first = await waitFor(
      async () => {
        const handles = await onJanus();
        const h = handles[0];
        return handles.length === 1 && h?.ready && h.packetsIn.video > 50 && h.packetsIn.audio > 50
          ? h
          : undefined;
      },
      'Janus to receive audio and video',
      30_000,
      250,
    );
    await waitFor(
      async () => {
        const h = (await onJanus()).find((x) => x.handleId === first.handleId);
        return h !== undefined && h.packetsIn.video > first.packetsIn.video + 50;
      },
      'RTP to keep arriving at Janus',
      15_000,
      250,
    );
    // and our side hears it from Janus: its receiver reports acknowledge what we send
    await waitFor(
      async () =>
        (await pushes()).find((p) => p.localMediaSessionId === description.localMediaSessionId)?.delivery
          .status === 'delivering',
      'the push to report delivering',
    );
    expect(JSON.stringify(await pushes())).not.toContain(token);

    // terminate: the session is deleted on the endpoint, and Janus's handle goes with it
    const ended = await rest(media.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: description.localMediaSessionId,
    });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    await waitFor(async () => (await onJanus()).length === 0, 'the Janus handle to go', 15_000, 250);
    expect(await pushes()).toEqual([]);
    // simple-whip-server refuses a publish to an endpoint still in use (403): it is free again
    const again = await push(uri, { authToken: token });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    await waitFor(async () => (await onJanus()).some((h) => h.ready), 'Janus to take the stream again');
    const id = (again.body as PushDescription).localMediaSessionId;
    expect((await rest(media.restUrl, '/rest-api/pull/terminate', { localMediaSessionId: id })).status).toBe(
      200,
    );
    await waitFor(async () => (await onJanus()).length === 0, 'the second Janus handle to go', 15_000, 250);
  });

  it('a wrong or missing token: the push FAILED with REMOTE_REJECTED (the endpoint says 403), nothing on Janus', async () => {
    const uri = await janus.createEndpoint('guarded', randomBytes(16).toString('hex'));
    const wrong = randomBytes(16).toString('hex');
    for (const extra of [{ authToken: wrong }, {}]) {
      const r = await push(uri, extra);
      expect(r.status, JSON.stringify(r.body)).toBe(500);
      const body = r.body as PushFailureBody;
      expect(body).toMatchObject({ code: PushFailureCode.REMOTE_REJECTED, push: { status: 'FAILED' } });
      expect(body.message).toMatch(/403/);
      expect(JSON.stringify(body)).not.toContain(wrong);
      // the FAILED push stays listed with its code until terminated (or replaced by the next attempt)
      const [listed] = await pushes();
      expect(listed).toMatchObject({ uri, status: 'FAILED', code: PushFailureCode.REMOTE_REJECTED });
      expect(JSON.stringify(listed)).not.toContain(wrong);
      expect(await onJanus()).toEqual([]);
    }
    const [failed] = await pushes();
    await rest(media.restUrl, '/rest-api/pull/terminate', {
      localMediaSessionId: failed?.localMediaSessionId,
    });
    expect(await pushes()).toEqual([]);
  });
});
