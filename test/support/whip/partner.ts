import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { rest, waitFor } from '../media-server.js';

/** What a partner script prints, one JSON object a line (see gst_whip.py). */
export type PartnerEvent =
  | { event: 'answered'; status: number; location: string; etag: string }
  | { event: 'refused'; status: number; body: string }
  | { event: 'frames'; video: number; audio: number }
  | { event: 'deleted'; status: number }
  | { event: 'error'; message: string };

/** The partner scripts beside this file, run with Debian's python (it has `gi` and `aiortc`). */
export type PartnerScript = 'gst_whip.py' | 'aiortc_whip.py';

/**
 * A WHIP publisher or WHEP player of another implementation (GStreamer's webrtcbin, aiortc) in its own
 * process, driven through its JSON-lines protocol: `stop` on stdin DELETEs its session and ends it.
 */
export class WhipPartner {
  readonly events: PartnerEvent[] = [];
  private output = '';
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    let line = '';
    child.stdout?.on('data', (d: Buffer) => {
      line += d.toString();
      for (let i = line.indexOf('\n'); i >= 0; i = line.indexOf('\n')) {
        const text = line.slice(0, i).trim();
        line = line.slice(i + 1);
        if (text.startsWith('{')) this.events.push(JSON.parse(text) as PartnerEvent);
      }
    });
    child.stderr?.on('data', (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000)));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(
    script: PartnerScript,
    mode: 'publish' | 'play',
    endpoint: string,
    token?: string,
  ): WhipPartner {
    const args = [path.join(import.meta.dirname, script), mode, endpoint, ...(token ? [token] : [])];
    return new WhipPartner(spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** The 201 (or throws with the refusal or the script's error output). */
  async answered(timeoutMs = 60_000): Promise<Extract<PartnerEvent, { event: 'answered' }>> {
    const event: PartnerEvent = await waitFor(
      (): PartnerEvent | undefined => {
        const e = this.events.find((x) => x.event === 'answered' || x.event === 'refused');
        if (e || this.child.exitCode !== null) return e ?? { event: 'error', message: 'exited' };
        return undefined;
      },
      'the partner answered',
      timeoutMs,
    );
    if (event.event !== 'answered') throw new Error(`partner: ${JSON.stringify(event)}\n${this.output}`);
    return event;
  }

  /** The last counts reported (decoded frames or buffers for play, RTP buffers sent for publish). */
  frames(): { video: number; audio: number } {
    const last = this.events.filter((e) => e.event === 'frames').at(-1);
    return last?.event === 'frames' ? last : { video: 0, audio: 0 };
  }

  /** Waits until the counts pass these numbers. */
  async counted(video: number, audio: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      () => this.frames().video > video && this.frames().audio > audio,
      `the partner counting more than ${video} video and ${audio} audio`,
      timeoutMs,
    ).catch((error: Error) => {
      const counts = JSON.stringify(this.frames());
      throw new Error(`${error.message} (counted ${counts})\n${this.output}`);
    });
  }

  /** DELETEs the session (through the script) and waits for the script to end; returns the status. */
  async stop(): Promise<number> {
    if (this.child.exitCode === null) this.child.stdin?.write('stop\n');
    const deleted = await waitFor(
      () =>
        this.events.find((e) => e.event === 'deleted') ??
        (this.child.exitCode !== null ? { status: -1 } : undefined),
      'the partner deleted its session',
      30_000,
    ).catch(() => ({ status: -1 }));
    await this.close();
    return 'status' in deleted ? deleted.status : -1;
  }

  /** Ends the process without DELETE. */
  async close(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Waits until `name` is PUBLISHING on the server at `restUrl` from a WHIP publisher. */
export async function waitWhipPublishing(restUrl: string, name: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const found = await rest(restUrl, '/rest-api/stream/find', { name, published: true });
      const [stream] =
        found.status === 200 ? (found.body as { status: string; mediaProvider: string }[]) : [];
      return stream?.status === 'PUBLISHING' && stream.mediaProvider === 'WHIP';
    },
    `${name} PUBLISHING from a WHIP publisher`,
    timeoutMs,
  );
}
