import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ORDINAL_PORT_STRIDE_ANNOTATION,
  PORTS_ANNOTATION,
  REST_URL_ANNOTATION,
  WS_URL_ANNOTATION,
  restUrlOf,
  wsUrlOf,
} from '../../src/kube/pod-endpoints.js';

const pod = (annotations: Record<string, string> = {}, ready = true, podIP = '10.0.0.7'): V1Pod => ({
  metadata: { name: 'media-0', annotations },
  spec: {
    containers: [
      {
        name: 'media',
        ports: [
          { name: 'ws', containerPort: 8080 },
          { name: 'rest', containerPort: 8081 },
        ],
      },
    ],
  },
  status: { podIP, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('the media pod URL rule (src/kube/pod-endpoints.ts)', () => {
  it('pod IP and the named or numbered port; IPv6 in brackets; nothing for a pod that is not Ready', () => {
    expect(restUrlOf(pod())).toBe('http://10.0.0.7:8081');
    expect(restUrlOf(pod(), 9000)).toBe('http://10.0.0.7:9000');
    expect(wsUrlOf(pod(), 'ws', 'wss')).toBe('wss://10.0.0.7:8080');
    expect(restUrlOf(pod({}, true, 'fd00::1'))).toBe('http://[fd00::1]:8081');
    expect(restUrlOf(pod(), 'no-such-port')).toBeUndefined();
    expect(restUrlOf(pod({}, false))).toBeUndefined();
    expect(restUrlOf({ ...pod(), metadata: { deletionTimestamp: new Date() } })).toBeUndefined();
  });

  it('the annotation when it is a URL of the right kind; a bad one makes the pod give no URL', () => {
    expect(restUrlOf(pod({ [REST_URL_ANNOTATION]: 'http://127.0.0.1:28081/' }))).toBe(
      'http://127.0.0.1:28081',
    );
    expect(wsUrlOf(pod({ [WS_URL_ANNOTATION]: 'wss://media.example:8443' }))).toBe(
      'wss://media.example:8443',
    );
    for (const bad of ['', 'not a url', 'file:///etc/passwd', 'ws://127.0.0.1:1', 'http://user:pw@host:1'])
      expect({ bad, url: restUrlOf(pod({ [REST_URL_ANNOTATION]: bad })) }).toEqual({ bad, url: undefined });
    expect(wsUrlOf(pod({ [WS_URL_ANNOTATION]: 'http://127.0.0.1:8080' }))).toBeUndefined();
  });

  it('pods started with --ordinal-port-stride: the configured port moved by the ordinal in the name', () => {
    const strided = (name: string, annotations: Record<string, string>): V1Pod => ({
      metadata: { name, annotations },
      spec: { containers: [{ name: 'media' }] }, // such pods declare no container ports
      status: { podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const chart = { [ORDINAL_PORT_STRIDE_ANNOTATION]: '10', [PORTS_ANNOTATION]: '{"ws":28080,"rest":28081}' };
    expect(restUrlOf(strided('media-0', chart))).toBe('http://127.0.0.1:28081');
    expect(restUrlOf(strided('media-3', chart))).toBe('http://127.0.0.1:28111');
    expect(wsUrlOf(strided('media-3', chart))).toBe('ws://127.0.0.1:28110');
    // a Service targeting a number: that number is the configured port, moved the same way
    expect(restUrlOf(strided('media-2', chart), 28081)).toBe('http://127.0.0.1:28101');
    // the URL annotation still wins
    expect(restUrlOf(strided('media-2', { ...chart, [REST_URL_ANNOTATION]: 'http://10.1.1.1:1' }))).toBe(
      'http://10.1.1.1:1',
    );
    // what cannot say where the pod listens gives no URL rather than a guess
    for (const [name, annotations] of [
      ['media', chart], // no ordinal in the name
      ['media-1', { ...chart, [PORTS_ANNOTATION]: 'not json' }],
      ['media-1', { ...chart, [PORTS_ANNOTATION]: '{"ws":28080}' }], // no rest port
      ['media-1', { ...chart, [ORDINAL_PORT_STRIDE_ANNOTATION]: 'ten' }],
      ['media-9000', chart], // past 65535
    ] as const)
      expect({ name, annotations, url: restUrlOf(strided(name, annotations)) }).toEqual({
        name,
        annotations,
        url: undefined,
      });
  });
});
