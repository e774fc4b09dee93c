import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rest, startMedia, type RunningMedia } from '../support/media-server.js';
import { WcsSocket } from '../support/wcs-socket.js';

describe('WCS WebSocket protocol: handshake and bad input', () => {
  let media: RunningMedia;
  beforeAll(async () => {
    media = await startMedia({ signalling: { pingIntervalMs: 200, pingProbes: 3 } });
  });
  afterAll(async () => media?.stop());

  it('establishes a session: getUserData echoes the client fields and adds a sessionId', async () => {
    const { ws, userData } = await WcsSocket.established(media.wsUrl);
    expect(userData).toMatchObject({
      appKey: 'defaultApp',
      mediaProviders: ['WebRTC'],
      clientVersion: '2.0',
    });
    expect(userData['sessionId']).toMatch(/^\/[0-9a-f-]{36}$/);
    const connections = await rest(media.restUrl, '/rest-api/connection/find_all');
    expect(connections.body).toEqual([
      expect.objectContaining({ sessionId: userData['sessionId'], status: 'ESTABLISHED' }),
    ]);
    ws.close();
  });

  it("refuses stream requests before the handshake, as the stream's FAILED status", async () => {
    const ws = await WcsSocket.open(media.wsUrl);
    ws.send('publishStream', { mediaSessionId: 'm1', name: 's', sdp: 'v=0' });
    expect((await ws.next('notifyStreamStatusEvent')).data[0]).toEqual({
      mediaSessionId: 'm1',
      name: 's',
      published: true,
      status: 'FAILED',
      info: 'Session not ready',
    });
    ws.send('availableStream', { mediaSessionId: 'a0', name: 's' });
    expect((await ws.next('fail')).data[0]).toEqual({
      apiMethod: 'availableStream',
      info: 'Session not ready',
    });
    ws.close();
  });

  it('answers each malformed frame with a fail and keeps the session usable', async () => {
    const { ws } = await WcsSocket.established(media.wsUrl);

    ws.sendRaw('this is not json');
    expect((await ws.next('fail')).data[0]).toMatchObject({ info: 'message is not JSON text' });

    ws.sendRaw(JSON.stringify({ data: [] }));
    expect((await ws.next('fail')).data[0]).toMatchObject({ info: expect.stringContaining('message') });

    ws.send('call', { callId: 'x' });
    expect((await ws.next('fail')).data[0]).toEqual({
      apiMethod: 'call',
      info: 'call is not supported by this server',
    });

    ws.send('publishStream', { mediaSessionId: 'm2', name: 'no-sdp' });
    expect((await ws.next('notifyStreamStatusEvent')).data[0]).toMatchObject({
      mediaSessionId: 'm2',
      status: 'FAILED',
      info: expect.stringContaining('sdp'),
    });

    ws.send('playStream', { mediaSessionId: 42, name: 'x', sdp: 'v=0' });
    expect((await ws.next('fail')).data[0]).toMatchObject({
      apiMethod: 'playStream',
      info: expect.stringContaining('mediaSessionId'),
    });

    ws.send('publishStream', { mediaSessionId: 'm3', name: 'bad-sdp', sdp: 'v=0\r\nnonsense' });
    const failed = (await ws.next('notifyStreamStatusEvent')).data[0];
    expect(failed).toMatchObject({ mediaSessionId: 'm3', name: 'bad-sdp', status: 'FAILED' });

    ws.send('stopStream', { mediaSessionId: 'not-mine' });
    expect((await ws.next('fail')).data[0]).toMatchObject({
      apiMethod: 'stopStream',
      info: 'Stream not found',
    });

    ws.sendRaw(Buffer.from([1, 2, 3]));
    expect((await ws.next('fail')).data[0]).toMatchObject({ info: 'message is not JSON text' });

    ws.send('availableStream', { mediaSessionId: 'a1', name: 'ghost' });
    expect((await ws.next('availableStream')).data[0]).toMatchObject({
      id: 'a1',
      status: 'false',
      info: 'Stream not found',
    });

    ws.send('ping', null);
    await ws.next('pong');
    expect(media.server.engine.objectCounts().transport).toBe(0);
    expect((await rest(media.restUrl, '/rest-api/stream/find_all')).status).toBe(404);
    ws.close();

    const { userData } = await WcsSocket.established(media.wsUrl);
    expect(userData['sessionId']).toBeTruthy();
  });

  it('closes only the offending socket on an oversized frame', async () => {
    const { ws } = await WcsSocket.established(media.wsUrl);
    ws.sendRaw('x'.repeat(300 * 1024));
    expect((await ws.closed).code).toBe(1009);
    const { userData } = await WcsSocket.established(media.wsUrl);
    expect(userData['sessionId']).toBeTruthy();
  });

  it('pings clients and drops a session that stops answering', async () => {
    const { ws } = await WcsSocket.established(media.wsUrl);
    await ws.next('ping');
    ws.send('pong', null);
    await ws.next('ping');
    // stop answering: three missed pongs at 200 ms end the session
    const { code } = await ws.closed;
    expect(code).toBe(1006);
  });
});
