import type { ConsoleStream, MemberState } from '../../contracts/console-api.js';
import { RelayedPublisher } from '../fleet/relayed-publisher.js';
import type { RestHooks } from '../hooks/rest-hooks.js';
import type { PushManager } from '../push/push-manager.js';
import type { SignallingServer } from '../signalling/ws-server.js';
import { Publisher } from '../streams/publisher.js';
import { StreamStatus } from '../streams/status.js';
import type { StreamService } from '../streams/stream-service.js';
import type { ServerResources } from './server-resources.js';

/** A view this recent answers again: any number of open consoles cost one reading per interval. */
const FRESH_MS = 1000;
/**
 * Publishers whose producer stats one reading asks the workers for, the least recently read first; the
 * others show their last figures. Up to this many streams every reading is fresh; at 500, each stream's
 * figures are at most three readings old, and a reading costs the workers a bounded number of requests.
 */
const STATS_PER_READING = 200;

interface Rates {
  audio: number;
  video: number;
  lost: number;
  readAt: number;
}

export interface MemberStateSources {
  memberId: () => string;
  streams: StreamService;
  signalling: SignallingServer;
  pushes: PushManager;
  resources: ServerResources;
  hooks: RestHooks | undefined;
}

/** This member's own view for the console (contracts/console-api.ts), read at most once per FRESH_MS. */
export class MemberStateReader {
  readonly #startedAt = Date.now();
  #reading: Promise<MemberState> | undefined;
  #readAt = 0;
  /** The last producer stats of each publisher, by mediaSessionId. */
  #rates = new Map<string, Rates>();

  constructor(private readonly sources: MemberStateSources) {}

  read(): Promise<MemberState> {
    if (this.#reading && Date.now() - this.#readAt < FRESH_MS) return this.#reading;
    this.#readAt = Date.now();
    this.#reading = this.#read();
    // a failed reading is not kept: the next asker tries again
    this.#reading.catch(() => (this.#readAt = 0));
    return this.#reading;
  }

  async #read(): Promise<MemberState> {
    const { streams, signalling, pushes, resources, hooks } = this.sources;
    const memberId = this.sources.memberId();
    const descriptions = streams.find();
    const players = new Map<string, number>();
    for (const d of descriptions)
      if (!d.published && d.status === StreamStatus.PLAYING)
        players.set(d.name, (players.get(d.name) ?? 0) + 1);
    const published = descriptions.filter((d) => d.published);
    const [, usage] = await Promise.all([
      this.#readRates(published.map((d) => d.mediaSessionId)),
      resources.read(),
    ]);
    const rows = published.map((d): ConsoleStream | undefined => {
      const session = streams.session(d.mediaSessionId);
      if (!(session instanceof Publisher)) return undefined;
      const rates = this.#rates.get(d.mediaSessionId) ?? { audio: 0, video: 0, lost: 0, readAt: 0 };
      const relayed = session instanceof RelayedPublisher;
      return {
        name: d.name,
        mediaSessionId: d.mediaSessionId,
        origin: relayed ? 'relayed' : 'local',
        originMemberId: relayed ? session.origin : memberId,
        mediaProvider: d.mediaProvider,
        status: d.status,
        hasAudio: d.hasAudio,
        hasVideo: d.hasVideo,
        audioCodec: d.audioCodec,
        videoCodec: d.videoCodec,
        width: d.width,
        height: d.height,
        audioBitrate: rates.audio,
        videoBitrate: rates.video,
        packetsLost: rates.lost,
        players: players.get(d.name) ?? 0,
        createdAt: d.createDate,
        flowing: d.status === StreamStatus.PUBLISHING && rates.audio + rates.video > 0,
      };
    });
    return {
      memberId,
      at: Date.now(),
      startedAt: this.#startedAt,
      sessions: signalling.connections().length,
      ...usage,
      hooks: hooks?.health(),
      streams: rows.filter((r): r is ConsoleStream => r !== undefined),
      pushes: pushes.list(),
    };
  }

  /** Reads the producer stats of the STATS_PER_READING publishers read least recently; forgets the gone. */
  async #readRates(ids: string[]): Promise<void> {
    const live = new Set(ids);
    for (const id of this.#rates.keys()) if (!live.has(id)) this.#rates.delete(id);
    const due = ids
      .sort((a, b) => (this.#rates.get(a)?.readAt ?? 0) - (this.#rates.get(b)?.readAt ?? 0))
      .slice(0, STATS_PER_READING);
    await Promise.all(
      due.map(async (id) => {
        const session = this.sources.streams.session(id);
        if (!(session instanceof Publisher)) return;
        const rates: Rates = { audio: 0, video: 0, lost: 0, readAt: Date.now() };
        await Promise.all(
          [...session.producers].map(async ([kind, producer]) => {
            for (const s of await producer.getStats().catch(() => [])) {
              rates[kind] += s.bitrate;
              rates.lost += s.packetsLost;
            }
          }),
        );
        this.#rates.set(id, rates);
      }),
    );
  }
}
