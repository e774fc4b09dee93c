import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../log.js';
import type { MediaMetrics } from '../metrics.js';
import { StreamInfo } from '../streams/status.js';
import type { StreamAdmission } from '../streams/admission.js';
import type { PipeTargets } from '../push/pipe-publisher.js';
import { WcsSession, type ConnectionDescription, type KeepAlive } from './wcs-session.js';

export interface SignallingOptions {
  host: string;
  wsPort: number;
  /** wss is served when a certificate is configured. */
  wssPort?: number | undefined;
  tls?: { cert: Buffer; key: Buffer } | undefined;
  keepAlive: KeepAlive;
  /** Largest WebSocket message accepted; an SDP offer is a few KiB. */
  maxMessageBytes: number;
  /** Decides every publish and play (stream rules, loops, REST hooks) and announces the fleet id. */
  admission: StreamAdmission;
  /** Where pushes from other streamfed servers over a pipe land; unset: such pushes come over WebRTC. */
  pipes?: PipeTargets | undefined;
  metrics: MediaMetrics;
  log: Logger;
}

/** The WCS WebSocket endpoints (ws, and wss when configured): one WcsSession per connection. */
export class SignallingServer {
  private readonly sessions = new Set<WcsSession>();
  private readonly servers: (http.Server | https.Server)[] = [];
  private readonly wss: WebSocketServer[] = [];
  /** Decides and starts every publish and play of the sessions (the WHIP/WHEP routes share it). */
  private readonly admission: StreamAdmission;
  private readonly metrics: MediaMetrics;
  private readonly log: Logger;
  private draining = false;

  constructor(private readonly options: SignallingOptions) {
    this.admission = options.admission;
    this.metrics = options.metrics;
    this.log = options.log;
  }

  async listen(): Promise<{ wsPort: number; wssPort?: number }> {
    const wsPort = await this.serve(http.createServer(), this.options.wsPort);
    if (this.options.tls && this.options.wssPort !== undefined) {
      const wssPort = await this.serve(https.createServer(this.options.tls), this.options.wssPort);
      return { wsPort, wssPort };
    }
    return { wsPort };
  }

  /** The sessions whose description matches every given field. */
  connections(filter: Partial<ConnectionDescription> = {}): ConnectionDescription[] {
    return this.matching(filter).map((s) => s.describe());
  }

  /** Ends the matching sessions, their streams first (as a server-side disconnect). */
  terminate(filter: Partial<ConnectionDescription>): void {
    for (const session of this.matching(filter))
      session.close(StreamInfo.STOPPED_BY_SESSION_DISCONNECT, 1000);
  }

  private matching(filter: Partial<ConnectionDescription>): WcsSession[] {
    const wanted = Object.entries(filter).filter(([, v]) => v !== undefined);
    return [...this.sessions].filter((s) => {
      const d = s.describe() as unknown as Record<string, unknown>;
      return wanted.every(([k, v]) => d[k] === v);
    });
  }

  /** Refuses new connections from now on (HTTP 503 to the upgrade): the server drains. */
  refuseNew(): void {
    this.draining = true;
  }

  /** How many sessions are open. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Cuts every session as a lost server would (WcsSession.drop), their streams ended with `info`. */
  dropAll(info: string): void {
    for (const session of this.sessions) session.drop(info);
  }

  /** Ends every session (their streams first) and stops listening. */
  async close(info: string): Promise<void> {
    for (const session of this.sessions) session.close(info, 1001);
    for (const wss of this.wss) wss.close();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  private async serve(server: http.Server | https.Server, port: number): Promise<number> {
    const wss = new WebSocketServer({
      server,
      maxPayload: this.options.maxMessageBytes,
      verifyClient: (_info, accept) =>
        this.draining ? accept(false, 503, 'the server is draining: connect to another') : accept(true),
    });
    wss.on('connection', (socket, request) => {
      const remote = request.socket.remoteAddress ?? 'unknown';
      const session = new WcsSession(
        socket,
        this.admission,
        this.metrics,
        this.log,
        this.options.keepAlive,
        remote,
        request.socket,
        this.options.pipes,
      );
      this.sessions.add(session);
      this.metrics.wsSessions.inc();
      this.metrics.wsSessionsTotal.inc();
      socket.once('close', () => {
        this.sessions.delete(session);
        this.metrics.wsSessions.dec();
      });
    });
    this.wss.push(wss);
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }
}
