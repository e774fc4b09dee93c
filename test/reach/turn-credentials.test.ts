import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sessionIceServers } from '../../src/media/rtc/ice-credentials.js';

describe('TURN REST-API credentials (--turn-secret), minted per session', () => {
  const servers = [
    { urls: 'stun:198.18.9.1:3478' },
    { urls: 'turn:198.18.9.1:3478?transport=tcp' },
    { urls: 'turns:198.18.9.1:5349', username: 'fixed', credential: 'pw' },
  ];

  it('gives credential-less turn: servers <expiry>:<id> and base64(HMAC-SHA1(secret, username)), fresh each time', () => {
    const now = Date.UTC(2026, 0, 1);
    const [stun, turn, turns] = sessionIceServers(servers, { secret: 'north', ttlSeconds: 600 }, now);
    expect(stun).toEqual({ urls: 'stun:198.18.9.1:3478' });
    expect(turns).toEqual(servers[2]);
    const [expiry, id] = (turn?.username ?? '').split(':');
    expect(Number(expiry)).toBe(now / 1000 + 600);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(turn?.credential).toBe(createHmac('sha1', 'north').update(turn!.username!).digest('base64'));
    expect(sessionIceServers(servers, { secret: 'north', ttlSeconds: 600 }, now)[1]?.username).not.toBe(
      turn?.username,
    );
  });

  it('leaves the servers as configured without a secret', () => {
    expect(sessionIceServers(servers, undefined)).toEqual(servers);
  });
});
