import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  deliveryStatuses,
  pipeFallbackCodes,
  pushFailureCodes,
  pushTransports,
  relayTypes,
} from '../contracts/pull-api.js';
import { authorizingHooks, eventHooks, hookResults } from './hooks/hook-names.js';

/**
 * Every metric the media server exports. The dashboard and alert rules in charts/ and deploy/ may only use
 * names declared here (test/observability checks that).
 */
export class MediaMetrics {
  readonly registry = new Registry();

  readonly wsSessions = new Gauge({
    name: 'streamfed_ws_sessions',
    help: 'Open WCS WebSocket sessions',
    registers: [this.registry],
  });
  readonly wsSessionsTotal = new Counter({
    name: 'streamfed_ws_sessions_total',
    help: 'WCS WebSocket sessions opened since start',
    registers: [this.registry],
  });
  readonly streamsPublished = new Gauge({
    name: 'streamfed_streams_published',
    help: 'Streams currently published on this server',
    registers: [this.registry],
  });
  readonly streamsPlayed = new Gauge({
    name: 'streamfed_streams_played',
    help: 'Play sessions currently served by this server',
    registers: [this.registry],
  });
  readonly mediasoupObjects = new Gauge({
    name: 'streamfed_mediasoup_objects',
    help: 'Live mediasoup objects by type (worker, router, transport, pipe_transport, direct_transport, producer, consumer)',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly rtpBytes = new Counter({
    name: 'streamfed_rtp_bytes_total',
    help: 'RTP/RTCP bytes through WebRTC transports, by direction (in = received, out = sent)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly rtpPackets = new Counter({
    name: 'streamfed_rtp_packets_total',
    help: 'RTP packets received from publishers (in) and sent to players (out)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly rtpPacketsLost = new Counter({
    name: 'streamfed_rtp_packets_lost_total',
    help: 'RTP packets lost: in = from publishers as seen by us, out = to players as reported by them',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly streamBitrate = new Gauge({
    name: 'streamfed_stream_bitrate_bps',
    help: 'Incoming bitrate of each published stream by media kind',
    labelNames: ['stream', 'kind'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'streamfed_errors_total',
    help: 'Errors by kind (ws_protocol, publish, play, rest, push, worker)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly pushes = new Gauge({
    name: 'streamfed_pushes',
    help: 'Server-to-server pushes and pulls known to this server, by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly pushTransitions = new Counter({
    name: 'streamfed_push_transitions_total',
    help: 'Push status changes, by the status entered',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly pushFailures = new Counter({
    name: 'streamfed_push_failures_total',
    help: 'Pushes and pulls that ended FAILED, by reason (the failure code, PUSH_ERR_*)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly pushSetupSeconds = new Histogram({
    name: 'streamfed_push_setup_seconds',
    help: 'Time from the /pull/push call to PUBLISHING on the remote server',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly pushBytes = new Counter({
    name: 'streamfed_push_bytes_total',
    help: 'RTP bytes forwarded to remote servers by pushes',
    labelNames: ['push'] as const,
    registers: [this.registry],
  });
  readonly pushDelivered = new Counter({
    name: 'streamfed_push_delivered_packets_total',
    help: 'RTP packets the remote acknowledged in its RTCP receiver reports (push) or we received (pull)',
    labelNames: ['push'] as const,
    registers: [this.registry],
  });
  readonly pushDelivery = new Gauge({
    name: 'streamfed_push_delivery',
    help: 'PUBLISHING pushes and pulls by what is delivered (waiting, delivering, stalled)',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly pushTransport = new Gauge({
    name: 'streamfed_push_transport',
    help: 'PUBLISHING pushes and pulls (type) by how their media goes (pipe: a PipeTransport pair with a streamfed server; webrtc)',
    labelNames: ['type', 'transport'] as const,
    registers: [this.registry],
  });
  readonly pushPipeFallbacks = new Counter({
    name: 'streamfed_push_pipe_fallbacks_total',
    help: 'Pushes and pulls (type) that tried a pipe and went on over WebRTC, by reason (PIPE_*)',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  });
  readonly pushPackets = new Counter({
    name: 'streamfed_push_packets_total',
    help: 'RTP packets forwarded to remote servers by pushes',
    labelNames: ['push'] as const,
    registers: [this.registry],
  });

  readonly hookRequests = new Counter({
    name: 'streamfed_hook_requests_total',
    help: 'REST hook calls by hook and result (allowed, refused, timeout, unreachable: all but allowed refuse)',
    labelNames: ['hook', 'result'] as const,
    registers: [this.registry],
  });
  readonly fleetMembers = new Gauge({
    name: 'streamfed_fleet_members',
    help: "Other members of this server's fleet, by state (up = answered the last probe)",
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly fleetRelays = new Gauge({
    name: 'streamfed_fleet_relays',
    help: 'Relays of streams fetched from their origin member, by state (connecting, live)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly fleetRelaysServed = new Gauge({
    name: 'streamfed_fleet_relays_served',
    help: 'Relays this server serves as the origin of the stream',
    registers: [this.registry],
  });
  readonly fleetRelayFailures = new Counter({
    name: 'streamfed_fleet_relay_failures_total',
    help: 'Relays that failed to set up or lost their origin, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly fleetRelaySetupSeconds = new Histogram({
    name: 'streamfed_fleet_relay_setup_seconds',
    help: 'Time from a play of a stream published on another member to its relay being live',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });
  readonly fleetRelayedBytes = new Counter({
    name: 'streamfed_fleet_relayed_bytes_total',
    help: 'Bytes over fleet pipes: in = received from origins, out = sent to members',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly fleetRelayedPacketsLost = new Counter({
    name: 'streamfed_fleet_relayed_packets_lost_total',
    help: 'RTP packets lost on fleet pipes from origins to this server',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Known label values start at 0, so rates and alerts see the series before the first event.
    for (const direction of ['in', 'out'] as const) {
      this.rtpBytes.inc({ direction }, 0);
      this.rtpPackets.inc({ direction }, 0);
      this.rtpPacketsLost.inc({ direction }, 0);
    }
    for (const kind of ['ws_protocol', 'publish', 'play', 'rest', 'push', 'worker'])
      this.errors.inc({ kind }, 0);
    for (const status of ['NEW', 'PENDING', 'PUBLISHING', 'FAILED']) {
      this.pushes.set({ status }, 0);
      this.pushTransitions.inc({ status }, 0);
    }
    for (const reason of pushFailureCodes) this.pushFailures.inc({ reason }, 0);
    for (const status of deliveryStatuses) this.pushDelivery.set({ status }, 0);
    for (const type of relayTypes) {
      for (const transport of pushTransports) this.pushTransport.set({ type, transport }, 0);
      for (const reason of pipeFallbackCodes) this.pushPipeFallbacks.inc({ type, reason }, 0);
    }
    for (const hook of [...authorizingHooks, ...eventHooks])
      for (const result of hookResults) this.hookRequests.inc({ hook, result }, 0);
    for (const state of ['up', 'down']) this.fleetMembers.set({ state }, 0);
    for (const state of ['connecting', 'live']) this.fleetRelays.set({ state }, 0);
    for (const direction of ['in', 'out']) this.fleetRelayedBytes.inc({ direction }, 0);
    this.fleetRelayedPacketsLost.inc(0);
  }
}
