import type * as ms from 'mediasoup/types';
import type { MediaMetrics } from './metrics.js';
import type { StreamRegistry } from './streams/stream-registry.js';
import { Publisher } from './streams/publisher.js';
import { Player } from './streams/player.js';

type Direction = 'in' | 'out';

/**
 * Turns mediasoup's cumulative per-object stats into Prometheus counters. Run at scrape time: it adds what
 * each live object did since the last sample (objects closed in between lose at most one interval).
 */
export class StatsSampler {
  private readonly last = new Map<string, { bytes: number; packets: number; lost: number }>();

  constructor(
    private readonly streams: StreamRegistry,
    private readonly metrics: MediaMetrics,
  ) {}

  async sample(): Promise<void> {
    const seen = new Set<string>();
    const jobs: Promise<void>[] = [];
    for (const d of this.streams.find()) {
      const session = this.streams.session(d.mediaSessionId);
      if (session instanceof Publisher) {
        for (const [kind, producer] of session.producers)
          jobs.push(this.producer(session.name, kind, producer, seen));
      } else if (session instanceof Player) {
        for (const consumer of session.consumers) jobs.push(this.consumer(consumer, seen));
      }
      if (session) jobs.push(this.transport(session.transport, seen));
    }
    await Promise.all(jobs);
    for (const key of this.last.keys()) if (!seen.has(key)) this.last.delete(key);
  }

  private async transport(transport: ms.Transport, seen: Set<string>): Promise<void> {
    const stats = (await transport.getStats().catch(() => []))[0] as
      { bytesReceived: number; bytesSent: number } | undefined;
    if (!stats) return;
    this.add(`${transport.id}:in`, 'in', stats.bytesReceived, 0, 0, seen, false);
    this.add(`${transport.id}:out`, 'out', stats.bytesSent, 0, 0, seen, false);
  }

  private async producer(
    stream: string,
    kind: string,
    producer: ms.Producer,
    seen: Set<string>,
  ): Promise<void> {
    const stats = await producer.getStats().catch(() => []);
    let bitrate = 0;
    for (const s of stats) {
      bitrate += s.bitrate;
      this.add(`${producer.id}:${s.ssrc}`, 'in', 0, s.packetCount, s.packetsLost, seen, true);
    }
    this.metrics.streamBitrate.set({ stream, kind }, bitrate);
  }

  private async consumer(consumer: ms.Consumer, seen: Set<string>): Promise<void> {
    const stats = await consumer.getStats().catch(() => []);
    for (const s of stats) {
      if (s.type !== 'outbound-rtp') continue;
      this.add(`${consumer.id}:${s.ssrc}`, 'out', 0, s.packetCount, s.packetsLost, seen, true);
    }
  }

  private add(
    key: string,
    direction: Direction,
    bytes: number,
    packets: number,
    lost: number,
    seen: Set<string>,
    rtp: boolean,
  ): void {
    seen.add(key);
    const prev = this.last.get(key) ?? { bytes: 0, packets: 0, lost: 0 };
    this.last.set(key, { bytes, packets, lost });
    if (!rtp) {
      if (bytes > prev.bytes) this.metrics.rtpBytes.inc({ direction }, bytes - prev.bytes);
      return;
    }
    if (packets > prev.packets) this.metrics.rtpPackets.inc({ direction }, packets - prev.packets);
    if (lost > prev.lost) this.metrics.rtpPacketsLost.inc({ direction }, lost - prev.lost);
  }
}
