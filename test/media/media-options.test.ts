import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { readOptions } from '../../src/config/options.js';
import { UsageError } from '../../src/config/options.js';
import {
  announcedIpsOf,
  internalIpOf,
  mediaConfig,
  mediaDefaults,
  mediaOptionSpecs,
  memberIdOf,
  withOverrides,
} from '../../src/media/media-options.js';

describe('media server configuration: one mapping from the options, the defaults from their specs', () => {
  it('takes every default from the option table', () => {
    expect(mediaDefaults.signalling).toMatchObject({
      wsPort: 8080,
      wssPort: 8443,
      pingIntervalMs: 5000,
      pingProbes: 6,
    });
    expect(mediaDefaults.rest).toMatchObject({
      port: 8081,
      tlsPort: 8444,
      corsOrigins: ['*'],
      protectMetrics: false,
    });
    expect(mediaDefaults.push.deadlines).toEqual({
      connectMs: 5000,
      handshakeMs: 5000,
      answerMs: 10000,
      iceMs: 10000,
      mediaMs: 10000,
    });
    expect(mediaDefaults.fleet).toMatchObject({ peers: [], relayIdleMs: 30_000, probeIntervalMs: 1000 });
    expect(mediaDefaults.listen.tls).toBeUndefined();
    expect(mediaDefaults.signalling.hooks).toBeUndefined();
  });

  it('maps options into their groups', () => {
    const config = mediaConfig(
      readOptions(
        mediaOptionSpecs,
        [
          '--rest-token',
          't',
          '--push-ice-timeout-ms',
          '42',
          '--relay-idle-seconds',
          '2',
          '--peers',
          'http://a,http://b',
        ],
        {},
      ),
    );
    expect(config.rest.token).toBe('t');
    expect(config.push.deadlines.iceMs).toBe(42);
    expect(config.fleet).toMatchObject({ relayIdleMs: 2000, peers: ['http://a', 'http://b'] });
  });

  it('overrides some fields of some groups and keeps the rest', () => {
    const config = withOverrides(mediaDefaults, { rest: { token: 'x' }, listen: { workers: 1 } });
    expect(config.rest).toEqual({ ...mediaDefaults.rest, token: 'x' });
    expect(config.listen).toEqual({ ...mediaDefaults.listen, workers: 1 });
    expect(config.push).toEqual(mediaDefaults.push);
  });

  it('names the member: configured, else host and REST port, else (an OS-chosen port) a random id', () => {
    expect(memberIdOf(withOverrides(mediaDefaults, { fleet: { memberId: 'pod-1' } }))).toBe('pod-1');
    expect(memberIdOf(mediaDefaults)).toBe(`${hostname()}:8081`);
    const anyPort = withOverrides(mediaDefaults, { rest: { port: 0 } });
    expect(memberIdOf(anyPort)).toMatch(/^media-/);
    expect(memberIdOf(anyPort)).not.toBe(memberIdOf(anyPort));
  });

  it('keeps the addresses apart: announced (several) for ICE candidates, internal for pipes and our peers', () => {
    const config = mediaConfig(
      readOptions(mediaOptionSpecs, ['--listen-ip', '0.0.0.0', '--internal-ip', '10.1.2.3'], {
        STREAMFED_ANNOUNCED_IP: '203.0.113.7,2001:db8::7',
        STREAMFED_RTC_PORT: '30000',
      }),
    );
    expect(config.listen).toMatchObject({
      announcedIps: ['203.0.113.7', '2001:db8::7'],
      internalIp: '10.1.2.3',
      rtcPort: 30000,
      rtcMinPort: 40000,
    });
    expect(internalIpOf(config.listen)).toBe('10.1.2.3');
    // defaults: a specific listen address is both; a wildcard one falls back to a non-loopback address
    const specific = { ip: '198.18.0.2', announcedIps: [], internalIp: undefined };
    expect(internalIpOf(specific)).toBe('198.18.0.2');
    expect(announcedIpsOf(specific)).toEqual(['198.18.0.2']);
    const wildcard = { ip: '0.0.0.0', announcedIps: [], internalIp: undefined };
    expect(announcedIpsOf(wildcard)).toEqual([internalIpOf(wildcard)]);
    expect(internalIpOf(wildcard)).not.toBe('0.0.0.0');
    expect(mediaDefaults.listen.rtcPort).toBe(20000);
  });

  it('moves --rtc-port by the ordinal stride, and refuses a stride below the workers', () => {
    const pod = (stride: string, workers: string): number =>
      mediaConfig(
        readOptions(
          mediaOptionSpecs,
          [
            '--ordinal-port-stride',
            stride,
            '--workers',
            workers,
            '--rtc-min-port',
            '40000',
            '--rtc-max-port',
            '40999',
          ],
          {
            POD_NAME: 'media-2',
          },
        ),
      ).listen.rtcPort;
    expect(pod('10', '2')).toBe(20020);
    expect(() => pod('1', '2')).toThrow(UsageError);
    expect(() => pod('1', '2')).toThrow(/--ordinal-port-stride 1 is less than --workers 2/);
  });
});
