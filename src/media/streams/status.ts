import { StreamStatus } from '../../contracts/wcs-protocol.js';

/** Stream statuses (their one home is the WCS protocol contract) and info texts as the Web SDK knows them. */
export { StreamStatus };

export const StreamInfo = {
  STREAM_NAME_ALREADY_IN_USE: 'Stream name is already in use',
  STREAM_NOT_FOUND: 'Stream not found',
  STOPPED_BY_REST_TERMINATE: 'Stopped by rest /terminate',
  STOPPED_BY_SESSION_DISCONNECT: 'Stopped by session disconnect',
  MEDIASESSION_ID_ALREADY_IN_USE: 'MediaSessionId is already in use',
  SESSION_NOT_READY: 'Session not ready',
  NO_COMMON_CODECS: 'No common codecs',
  FAILED_BY_ICE_ERROR: 'Failed by ICE error',
  FAILED_BY_DTLS_ERROR: 'Failed by DTLS error',
  FAILED_BY_ERROR: 'Failed by error',
  REQUESTED_STREAM_SHUTDOWN: 'Requested stream shutdown',
  STOPPED_BY_PUBLISHER_STOP: 'Stopped by publisher stop',
  SERVER_SHUTDOWN: 'Server shutdown',
  TERMINATED_BY_KEEP_ALIVE: 'Terminated by keep-alive',
} as const;

export const isFinal = (s: StreamStatus): boolean =>
  s === StreamStatus.UNPUBLISHED || s === StreamStatus.STOPPED || s === StreamStatus.FAILED;

/** How a stream came: a WCS client (`WebRTC`, as WCS names it) or a WHIP publish / WHEP play. */
export type MediaProvider = 'WebRTC' | 'WHIP' | 'WHEP';

/** A stream (publish or play) as WCS describes it in notifyStreamStatusEvent and /rest-api/stream/*. */
export interface StreamDescription {
  appKey: string;
  sessionId: string;
  mediaSessionId: string;
  name: string;
  published: boolean;
  hasVideo: boolean;
  hasAudio: boolean;
  status: StreamStatus;
  info?: string;
  record: boolean;
  width: number;
  height: number;
  bitrate: number;
  minBitrate: number;
  maxBitrate: number;
  quality: number;
  mediaProvider: MediaProvider;
  /** "publish" for a published stream, "play" for a player, as WCS tells them apart. */
  mediaType: 'publish' | 'play';
  history: boolean;
  transport: 'UDP';
  cvoExtension: boolean;
  audioState: { muted: boolean };
  videoState: { muted: boolean };
  audioCodec?: string;
  videoCodec?: string;
  createDate: number;
  /** With /stream/find `display: ["metrics"]`: live counters, WCS's names (see MediaSession.metrics). */
  metrics?: Record<string, number>;
}
