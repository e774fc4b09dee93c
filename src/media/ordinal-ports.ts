import { UsageError } from '../config/options.js';
import { ordinalPort, podOrdinal } from '../contracts/ordinal-port.js';

/** The option values the port rule reads (of media-options.ts's specs). */
export interface PortOptions {
  'ws-port': number;
  'wss-port': number;
  'rest-port': number;
  'rest-tls-port': number;
  'rtc-port': number;
  'rtc-min-port': number;
  'rtc-max-port': number;
  'ordinal-port-stride': number;
  'pod-name'?: string | undefined;
  workers: number;
}

/** The ports one media server listens on. */
export interface MediaPorts {
  ws: number;
  wss: number;
  rest: number;
  restTls: number;
  /** Worker 0's WebRtcServer port (worker i: + i); 0: free ports of the RTC range. */
  rtc: number;
  rtcMin: number;
  rtcMax: number;
}

/**
 * The ports of this pod: the configured ones, or, with --ordinal-port-stride S and a StatefulSet pod name
 * ending in -N, each TCP port and the WebRtcServer port + N×S and the RTC range moved up by N times its size. Several hostNetwork pods of
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
  const workers = Math.max(1, o.workers);
  if (stride > 0 && o['rtc-port'] > 0 && workers > stride)
    throw new UsageError(
      `--ordinal-port-stride ${stride} is less than --workers ${workers}: the pods' --rtc-port ports would overlap`,
    );
  const rtc = ordinal * (o['rtc-max-port'] - o['rtc-min-port'] + 1);
  const ports: MediaPorts = {
    ws: ordinalPort(o['ws-port'], ordinal, stride),
    wss: ordinalPort(o['wss-port'], ordinal, stride),
    rest: ordinalPort(o['rest-port'], ordinal, stride),
    restTls: ordinalPort(o['rest-tls-port'], ordinal, stride),
    rtc: o['rtc-port'] > 0 ? ordinalPort(o['rtc-port'], ordinal, stride) : 0,
    rtcMin: o['rtc-min-port'] + rtc,
    rtcMax: o['rtc-max-port'] + rtc,
  };
  const over = Object.entries({ ...ports, rtc: ports.rtc + workers - 1 }).find(([, port]) => port > 65535);
  if (over) throw new UsageError(`pod ordinal ${ordinal} puts the ${over[0]} port past 65535 (${over[1]})`);
  return ports;
}
