import { describe, expect, it } from 'vitest';
import type { StreamPush } from '../../src/operator/api.js';
import { SpecError, desiredPush } from '../../src/operator/desired.js';

const object = (target: StreamPush['spec']['target']): StreamPush => ({
  apiVersion: 'streamfed.io/v1alpha1',
  kind: 'StreamPush',
  metadata: { name: 'p', namespace: 'media' },
  spec: { source: { restUrl: 'http://media-0:8081' }, localStreamName: 'studio', target },
});

describe('desiredPush: the target kinds', () => {
  it('target.whip: its url is the push uri, the kind is whip, the Secret reference rides along (not its value)', () => {
    const tokenSecretRef = { name: 'janus-token', key: 'token' };
    const desired = desiredPush(
      object({ whip: { url: 'https://janus.example/whip/endpoint/studio', tokenSecretRef } }),
      'cluster.local',
    );
    expect(desired).toMatchObject({
      kind: 'whip',
      uri: 'https://janus.example/whip/endpoint/studio',
      tokenSecretRef,
      remoteStreamName: 'studio',
    });
    expect(
      desiredPush(object({ whip: { url: 'http://whip.example/x' } }), 'c').tokenSecretRef,
    ).toBeUndefined();
  });

  it('target.uri and target.service are wcs', () => {
    expect(desiredPush(object({ uri: 'wss://wcs.example:8443' }), 'c')).toMatchObject({
      kind: 'wcs',
      uri: 'wss://wcs.example:8443',
    });
    expect(desiredPush(object({ service: { name: 'eu' } }), 'cluster.local')).toMatchObject({
      kind: 'wcs',
      uri: 'ws://eu.media.svc.cluster.local:8080',
    });
  });

  it('exactly one of uri, service and whip (what the schema says, checked again)', () => {
    for (const target of [
      {},
      { uri: 'ws://a:1', whip: { url: 'http://b/x' } },
      { service: { name: 'eu' }, whip: { url: 'http://b/x' } },
    ]) {
      expect(() => desiredPush(object(target), 'c')).toThrow(SpecError);
      expect(() => desiredPush(object(target), 'c')).toThrow(
        'spec.target must set exactly one of: uri, service, whip',
      );
    }
  });
});
