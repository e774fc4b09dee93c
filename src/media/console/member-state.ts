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
    const [rows, usage] = await Promise.all([
      Promise.all(
        published.map(async (d): Promise<ConsoleStream | undefined> => {
          const session = streams.session(d.mediaSessionId);
          if (!(session instanceof Publisher)) return undefined;
          const rates = { audio: 0, video: 0 };
          let lost = 0;
          await Promise.all(
            [...session.producers].map(async ([kind, producer]) => {
              for (const s of await producer.getStats().catch(() => [])) {
                rates[kind] += s.bitrate;
                lost += s.packetsLost;
              }
            }),
          );
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
            packetsLost: lost,
            players: players.get(d.name) ?? 0,
            createdAt: d.createDate,
            flowing: d.status === StreamStatus.PUBLISHING && rates.audio + rates.video > 0,
          };
        }),
      ),
      resources.read(),
    ]);
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
}
