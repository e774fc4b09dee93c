import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientMessage,
  decodeFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
} from '../../src/contracts/wcs-protocol.js';
import { loopProblem } from '../../src/contracts/loop-rule.js';
import { chainOf, fleetIdOf } from '../../src/media/push/push-chain.js';
import { WcsClient } from '../../src/media/push/wcs-client.js';
import { FakeWcs } from '../support/fake-wcs.js';
import { rest, startMedia, waitFor, type RunningMedia } from '../support/media-server.js';
import { NodePeer } from '../support/node-peer.js';
import { WcsSocket } from '../support/wcs-socket.js';

const offer = {
  mediaSessionId: 'm-1',
  name: 'cam 1',
  sdp: 'v=0\r\n',
  published: true,
  hasAudio: false,
  hasVideo: true,
  // what the SDK sends beside what we read: passes, ignored
  record: false,
  bitrate: 0,
  streamfedChain: [{ fleet: 'fleet-a', name: 'cam 1' }],
};

describe('the WCS codec (src/contracts/wcs-protocol.ts), both directions through the one module', () => {
  it('round-trips what a client sends through what the server checks', () => {
    const frame = decodeFrame(encodeClientFrame('publishStream', offer));
    expect(frame).toEqual({ message: 'publishStream', data: [offer] });
    expect(clientMessage.stream((frame as { data: unknown[] }).data[0])).toEqual(offer);
    expect(decodeFrame(encodeClientFrame('pong', null))).toEqual({ message: 'pong', data: [null] });
    const connection = { appKey: 'defaultApp', mediaProviders: ['WebRTC'], msePacketizationVersion: 2 };
    expect(clientMessage.connection(connection)).toEqual(connection);
  });

  it('round-trips what a server sends through what the client checks, lenient on extra fields and messages', () => {
    // a stream description carries many more fields than a status event needs
    const description = { mediaSessionId: 'm-1', status: 'PUBLISHING', width: 640 };
    const cases: [string, unknown][] = [
      [
        encodeServerFrame('getUserData', {
          sessionId: '/s',
          authToken: null,
          streamfedFleetId: 'f',
          extra: 1,
        }),
        {
          message: 'getUserData',
          userData: { sessionId: '/s', authToken: null, streamfedFleetId: 'f', extra: 1 },
        },
      ],
      [
        encodeServerFrame('setRemoteSDP', 'm-1', 'v=0\r\n'),
        { message: 'setRemoteSDP', mediaSessionId: 'm-1', sdp: 'v=0\r\n' },
      ],
      [
        encodeServerFrame('notifyStreamStatusEvent', description),
        {
          message: 'notifyStreamStatusEvent',
          event: { mediaSessionId: 'm-1', status: 'PUBLISHING', width: 640 },
        },
      ],
      [
        encodeServerFrame('fail', { apiMethod: 'connection', info: 'no' }),
        { message: 'fail', fail: { apiMethod: 'connection', info: 'no' } },
      ],
      [
        encodeServerFrame('availableStream', { id: 'm-1', status: 'false', info: 'Stream not found' }),
        { message: 'availableStream', answer: { id: 'm-1', status: 'false', info: 'Stream not found' } },
      ],
      [encodeServerFrame('ping', null), { message: 'ping' }],
      // a real WCS sends many messages we do not act on
      [
        '{"message":"notifyStreamEvent","data":[{"mediaSessionId":"m"}]}',
        { message: 'other', name: 'notifyStreamEvent' },
      ],
    ];
    for (const [text, expected] of cases) expect(decodeServerFrame(text)).toEqual(expected);
  });

  it('refuses bad frames with a reason instead of a value', () => {
    const bad: [string | undefined, RegExp][] = [
      [undefined, /not JSON/],
      ['{"message":', /not JSON/],
      ['[1,2]', /must be object/],
      ['{"data":[]}', /must have required property 'message'/],
      ['{"message":"x","data":{}}', /data/],
      ['{"message":"setRemoteSDP","data":["m-1"]}', /setRemoteSDP/],
      ['{"message":"setRemoteSDP","data":["m-1", 7]}', /setRemoteSDP/],
      ['{"message":"notifyStreamStatusEvent","data":[{"status":"FAILED"}]}', /mediaSessionId/],
      ['{"message":"availableStream","data":[{"status":true,"info":""}]}', /availableStream/],
    ];
    for (const [text, reason] of bad) {
      const decoded = text === undefined ? decodeFrame(undefined) : decodeServerFrame(text);
      expect({ text, decoded }).toEqual({ text, decoded: expect.stringMatching(reason) });
    }
    expect(clientMessage.stream({ ...offer, streamfedChain: [{ fleet: 'f', name: 'a\nb' }] })).toMatch(
      /streamfedChain/,
    );
    expect(clientMessage.stream({ ...offer, streamfedChain: 'f' })).toMatch(/streamfedChain must be array/);
  });
});

describe('push chains: fleet ids and the loop rule', () => {
  it('gives every member of a settled fleet the same id, and a server alone its member id', () => {
    const m1 = fleetIdOf(undefined, 'm1', [
      { memberId: 'm2', up: true },
      { memberId: 'm3', up: false },
    ]);
    const m2 = fleetIdOf(undefined, 'm2', [{ memberId: 'm1', up: true }]);
    expect(m1).toBe('m1,m2');
    expect(m2).toBe(m1);
    expect(fleetIdOf(undefined, 'alone', [])).toBe('alone');
    expect(fleetIdOf('fleet-a', 'm1', [{ memberId: 'm2', up: true }])).toBe('fleet-a');
    // an id that would not fit the wire is hashed, the same way on every member
    const many = Array.from({ length: 40 }, (_, i) => ({ memberId: `streamfed-media-${i}`, up: true }));
    const long = fleetIdOf(undefined, 'streamfed-media-x', many);
    expect(long).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(clientMessage.stream({ ...offer, streamfedChain: [{ fleet: long, name: 'n' }] })).not.toBeTypeOf(
      'string',
    );
  });

  it('refuses only the way back: the same fleet under the same name', () => {
    const chain = chainOf([{ fleet: 'f1', name: 'cam' }], 'outsider', 'cam');
    expect(chain).toEqual([
      { fleet: 'f1', name: 'cam' },
      { fleet: 'outsider', name: 'cam' },
    ]);
    expect(loopProblem(chain, 'f1', 'cam')).toMatch(/would loop/);
    expect(loopProblem(chain, 'f1', 'imported')).toBeUndefined();
    expect(loopProblem(chain, 'f2', 'cam')).toBeUndefined();
    // a foreign WCS announces no fleet: pushed as any target
    expect(loopProblem(chain, undefined, 'cam')).toBeUndefined();
  });
});

describe('the WCS codec on the wire: our server and our client', () => {
  let media: RunningMedia;
  beforeAll(async () => {
    media = await startMedia({ fleet: { fleetId: 'fleet-a' } });
  });
  afterAll(async () => media?.stop());

  it('announces the fleet id in getUserData, which our client reads', async () => {
    const client = await WcsClient.connect(media.wsUrl);
    try {
      expect(client.fleetId).toBe('fleet-a');
    } finally {
      client.close();
    }
    const { ws, userData } = await WcsSocket.established(media.wsUrl);
    expect(decodeServerFrame(JSON.stringify({ message: 'getUserData', data: [userData] }))).toMatchObject({
      userData: { streamfedFleetId: 'fleet-a', sessionId: expect.any(String) },
    });
    ws.close();
  });

  it('answers bad frames in the form the SDK understands, and the session stays up', async () => {
    const { ws } = await WcsSocket.established(media.wsUrl);
    try {
      const fails: [string | Buffer, RegExp][] = [
        ['{"message":', /not JSON/],
        [Buffer.from([1, 2, 3]), /not JSON/],
        ['{"message":"connection","data":[{"appKey":7}]}', /appKey/],
        ['{"message":"dance","data":[{}]}', /not supported/],
      ];
      for (const [raw, info] of fails) {
        ws.sendRaw(raw);
        const frame = await ws.next('fail');
        expect(decodeServerFrame(JSON.stringify(frame))).toEqual({
          message: 'fail',
          fail: expect.objectContaining({ apiMethod: expect.any(String), info: expect.stringMatching(info) }),
        });
      }
      // a refused publishStream is its stream's FAILED status (the SDK routes that to the stream object)
      ws.send('publishStream', { ...offer, streamfedChain: [{ fleet: '', name: 'x' }] });
      const failed = decodeServerFrame(JSON.stringify(await ws.next('notifyStreamStatusEvent')));
      expect(failed).toEqual({
        message: 'notifyStreamStatusEvent',
        event: expect.objectContaining({
          mediaSessionId: 'm-1',
          status: 'FAILED',
          info: expect.stringMatching(/streamfedChain/),
        }),
      });
      ws.send('availableStream', { mediaSessionId: 'a-1', name: 'nobody' });
      expect(decodeServerFrame(JSON.stringify(await ws.next('availableStream')))).toEqual({
        message: 'availableStream',
        answer: expect.objectContaining({ id: 'a-1', status: 'false', info: 'Stream not found' }),
      });
    } finally {
      ws.close();
    }
  });

  it('pushes to a WCS that announces no fleet as before, telling it the chain in publishStream', async () => {
    const fake = await FakeWcs.start('stall-later', 60_000);
    const publisher = await NodePeer.publish(media.wsUrl, 'chained');
    try {
      await publisher.waitStatus('PUBLISHING');
      const pushed = await rest(media.restUrl, '/rest-api/pull/push', {
        uri: fake.url,
        localStreamName: 'chained',
      });
      expect(pushed.status).toBe(200);
      await waitFor(() => fake.received('publishStream').length === 1, 'publishStream at the fake');
      expect(fake.received('publishStream')[0]).toMatchObject({
        name: 'chained',
        streamfedChain: [{ fleet: 'fleet-a', name: 'chained' }],
      });
      expect(
        (await rest(media.restUrl, '/rest-api/pull/terminate', { localStreamName: 'chained' })).status,
      ).toBe(200);
    } finally {
      await publisher.stop();
      await fake.close();
    }
  });
});
