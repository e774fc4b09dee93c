import { UsageError } from '../config/options.js';
import { ordinalPort, podOrdinal } from '../contracts/ordinal-port.js';

/** The option values the port rule reads (of media-options.ts's specs). */
export interface PortOptions {
  'ws-port': number;
  'wss-port': number;
  'rest-port': number;
  'rest-tls-port': number;
  'rtc-min-port': number;
  'rtc-max-port': number;
  'ordinal-port-stride': number;
  'pod-name'?: string | undefined;
}

/** The ports one media server listens on. */
export interface MediaPorts {
  ws: number;
  wss: number;
  rest: number;
  restTls: number;
  rtcMin: number;
  rtcMax: number;
}

/**
 * The ports of this pod: the configured ones, or, with --ordinal-port-stride S and a StatefulSet pod name
 * ending in -N, each TCP port + N×S and the RTC range moved up by N times its size. Several hostNetwork pods of
 * one StatefulSet then share a node without clashing. The one home of that rule: the server and its probe
 * command both read their ports here.
 */
export function mediaPorts(o: PortOptions): MediaPorts {
  if (o['rtc-min-port'] > o['rtc-max-port'])
    throw new UsageError('--rtc-min-port must not exceed --rtc-max-port');
  const stride = o['ordinal-port-stride'];
  let ordinal = 0;
  if (stride > 0) {
    const podName = o['pod-name'];
    const found = podName === undefined ? undefined : podOrdinal(podName);
    if (found === undefined)
      throw new UsageError(
        `--ordinal-port-stride needs --pod-name (env POD_NAME) ending in -<ordinal>, got ${podName === undefined ? 'none' : `"${podName}"`}`,
      );
    ordinal = found;
  }
  const rtc = ordinal * (o['rtc-max-port'] - o['rtc-min-port'] + 1);
  const ports: MediaPorts = {
    ws: ordinalPort(o['ws-port'], ordinal, stride),
    wss: ordinalPort(o['wss-port'], ordinal, stride),
    rest: ordinalPort(o['rest-port'], ordinal, stride),
    restTls: ordinalPort(o['rest-tls-port'], ordinal, stride),
    rtcMin: o['rtc-min-port'] + rtc,
    rtcMax: o['rtc-max-port'] + rtc,
  };
  const over = Object.entries(ports).find(([, port]) => port > 65535);
  if (over) throw new UsageError(`pod ordinal ${ordinal} puts the ${over[0]} port past 65535 (${over[1]})`);
  return ports;
}
