import type { PushDescription } from './pull-api.js';

/**
 * What the console at `/` reads (src/media/console/): one call for the whole fleet's view, assembled by the
 * member the page is served by from every member's own view (members call each other with the fleet's REST
 * token). Both paths sit under /rest-api/, behind the REST credentials.
 */
export const ConsolePaths = {
  /** GET: the fleet as this member sees it: {@link ConsoleState}. */
  state: '/rest-api/console/state',
  /** GET: this member's own view: {@link MemberState} (what other members fetch for their state). */
  member: '/rest-api/console/member',
} as const;

/** One stream published on (or relayed to) a member. */
export interface ConsoleStream {
  name: string;
  mediaSessionId: string;
  /** `relayed`: fetched from its origin member over the fleet; `local`: published on this member. */
  origin: 'local' | 'relayed';
  /** The member that publishes it (this member for a local stream). */
  originMemberId: string;
  mediaProvider: string;
  status: string;
  hasAudio: boolean;
  hasVideo: boolean;
  audioCodec?: string | undefined;
  videoCodec?: string | undefined;
  width: number;
  height: number;
  /** Bits per second coming in, per kind and in total (mediasoup's producer stats). */
  audioBitrate: number;
  videoBitrate: number;
  /** Packets lost on the way in, cumulative. */
  packetsLost: number;
  /** Players of this stream on this member. */
  players: number;
  createdAt: number;
  /** Whether media comes in: a publishing stream with no bits is not flowing. */
  flowing: boolean;
}

export interface ProcessUsage {
  /** CPU used since the previous reading, in percent of one core. */
  cpuPercent: number;
  rssBytes: number;
}

export interface WorkerUsage extends ProcessUsage {
  pid: number;
}

export interface HookHealth {
  url: string;
  /** The outcome of the last call to the backend: allowed, refused, timeout or unreachable. */
  lastResult?: string | undefined;
  lastReason?: string | undefined;
  lastAt?: number | undefined;
}

/** One member's own view. */
export interface MemberState {
  memberId: string;
  at: number;
  startedAt: number;
  /** WCS signalling sessions (WebSocket connections). */
  sessions: number;
  process: ProcessUsage & { heapUsedBytes: number };
  workers: WorkerUsage[];
  /** The REST hooks backend, when configured. */
  hooks?: HookHealth | undefined;
  streams: ConsoleStream[];
  pushes: PushDescription[];
}

/** A member of the fleet as the console shows it: up with its view, or down (and why). */
export interface ConsoleMember {
  memberId?: string | undefined;
  restUrl: string;
  up: boolean;
  state?: MemberState | undefined;
  error?: string | undefined;
}

export interface ConsoleState {
  /** The member that answered (the page's own server). */
  self: MemberState;
  members: ConsoleMember[];
  /** The WCS signalling URL path clients of this server use (port only; the page knows its host). */
  wsPort: number;
  /** What the caller's credentials allow: with `read`, the page offers no push form and no terminate. */
  access: 'read' | 'write';
}
