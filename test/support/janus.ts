import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { killOnExit } from './media-process.js';
import { waitFor } from './media-server.js';
import { createNetns, type Netns } from './netns.js';
import { run } from './tools.js';

/** The VideoRoom room the endpoints publish into. */
export const JANUS_ROOM = 1234;

const LIBS = '/usr/lib/x86_64-linux-gnu/janus';
// Janus loads every plugin it finds: only the VideoRoom, the WebSocket transport (simple-whip-server's way
// in) and the HTTP one (the Admin API) are wanted
const UNUSED_PLUGINS =
  'audiobridge duktape echotest lua nosip recordplay sip streaming textroom videocall voicemail';
const UNUSED_TRANSPORTS = 'mqtt nanomsg pfunix rabbitmq';
// the ports inside the namespace, which is the instance's own
const WS_PORT = 8188;
const ADMIN_PORT = 7088;
const WHIP_PORT = 7080;
const RTP_MIN = 20000;
const libs = (names: string): string =>
  names
    .split(' ')
    .map((n) => `libjanus_${n}.so`)
    .join(',');

/** What one Janus handle has received, from the Admin API's `handle_info`. */
export interface JanusHandle {
  sessionId: number;
  handleId: number;
  plugin: string;
  /** ICE and DTLS are up. */
  ready: boolean;
  /** RTP packets received per kind (`webrtc.media[*].stats.in.packets`). */
  packetsIn: { audio: number; video: number };
}

export interface JanusWhip {
  /** simple-whip-server's REST base in the namespace, e.g. `http://198.18.0.6:7080/whip`. */
  whipBase: string;
  /** The namespace's address (198.18.0.0/15): Janus's ICE candidates, the WHIP endpoints, the Admin API. */
  host: string;
  /**
   * Creates a WHIP endpoint publishing into the VideoRoom, requiring this bearer token if given, and returns
   * its URL on `host` (where the media goes too).
   */
  createEndpoint(id: string, token?: string): Promise<string>;
  /** Every handle Janus holds, in every session. */
  handles(): Promise<JanusHandle[]>;
  /** The VideoRoom handles: one per WHIP session (simple-whip-server's publishers). */
  publishers(): Promise<JanusHandle[]>;
  /** Janus's and simple-whip-server's output, the last 256 kB (for failure messages). */
  output(): string;
  /** Stops both, deletes the namespace and its veth pair, removes the config folder; idempotent. */
  stop(): Promise<void>;
}

interface Child {
  child: ChildProcess;
  exited: Promise<void>;
}

function launch([cmd, args]: [string, string[]], cwd: string, sink: (s: string) => void): Child {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => sink(d.toString()));
  child.stderr?.on('data', (d: Buffer) => sink(d.toString()));
  child.once('error', (error) => sink(`${cmd}: ${error.message}\n`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  killOnExit(child);
  return { child, exited };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
async function halt(c: Child | undefined, graceMs: number): Promise<void> {
  if (!c) return;
  const { child, exited } = c;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function configFiles(o: {
  dir: string;
  adminSecret: string;
  host: string;
  serverDir: string;
}): Record<string, string> {
  return {
    'janus.jcfg': `general: {
  configs_folder = "${o.dir}"
  plugins_folder = "${LIBS}/plugins"
  transports_folder = "${LIBS}/transports"
  events_folder = "${LIBS}/events"
  loggers_folder = "${LIBS}/loggers"
  debug_level = 4
  admin_secret = "${o.adminSecret}"
  server_name = "streamfed-test"
}
media: {
  rtp_port_range = "${RTP_MIN}-${RTP_MIN + 199}"
}
nat: {
  ice_enforce_list = "${o.host}"
}
plugins: {
  disable = "${libs(UNUSED_PLUGINS)}"
}
transports: {
  disable = "${libs(UNUSED_TRANSPORTS)}"
}
loggers: {
  disable = "libjanus_jsonlog.so"
}
`,
    'janus.transport.websockets.jcfg': `general: {
  ws = true
  ws_ip = "127.0.0.1"
  ws_port = ${WS_PORT}
  wss = false
}
admin: {
  admin_ws = false
  admin_wss = false
}
`,
    'janus.transport.http.jcfg': `general: {
  http = false
  https = false
}
admin: {
  admin_http = true
  admin_ip = "${o.host}"
  admin_port = ${ADMIN_PORT}
  admin_base_path = "/admin"
  admin_https = false
}
`,
    'janus.plugin.videoroom.jcfg': `general: {
}
room-${JANUS_ROOM}: {
  description = "streamfed WHIP target"
  publishers = 6
  bitrate = 512000
  fir_freq = 10
  record = false
}
`,
    // server.js requires ./config.js: the package's settings with our Janus and port
    'config.js': `module.exports = {
  ...require(${JSON.stringify(path.join(o.serverDir, 'config.js'))}),
  janus: { address: 'ws://127.0.0.1:${WS_PORT}' },
  port: ${WHIP_PORT},
};
`,
  };
}

interface HandleInfo {
  plugin?: string;
  flags?: { ready?: boolean };
  webrtc?: { media?: Record<string, { type?: string; stats?: { in?: { packets?: number } } }> };
}

/**
 * Debian's Janus (VideoRoom, room 1234) behind Meetecho's simple-whip-server as a foreign WHIP server, with
 * a private config folder, both run in a network namespace of their own (netns.ts): Janus gathers no
 * loopback ICE candidates and simple-whip-server has no bind option, so neither can be held to 127.0.0.1;
 * in the namespace, Janus's signalling is on its loopback, and its ICE, its Admin API (HTTP, with an admin
 * secret: what it receives) and simple-whip-server are on the namespace's 198.18.0.0/15 address, which the
 * host reaches through the veth pair. Needs root, `janus` (scripts/apt-packages.txt) and
 * scripts/install-whip-partners.sh (npm run setup).
 */
export async function startJanusWhip(): Promise<JanusWhip> {
  const install = await run('bash', [path.join(packageRoot, 'scripts/install-whip-partners.sh')]);
  if (install.code !== 0) throw new Error(`scripts/install-whip-partners.sh: ${install.stderr}`);
  const serverDir = install.stdout.trim().split('\n').at(-1) ?? '';
  const netns: Netns = await createNetns('sfjanus');
  const host = netns.nsAddress;
  const adminSecret = randomBytes(12).toString('hex');
  const dir = mkdtempSync(path.join(tmpdir(), 'streamfed-janus-'));

  let out = '';
  const sink = (s: string): void => {
    out = (out + s).slice(-256 * 1024);
  };
  let janus: Child | undefined;
  let whip: Child | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all([halt(whip, 2000), halt(janus, 5000)]);
      await netns.delete();
      rmSync(dir, { recursive: true, force: true });
    })());

  let transactions = 0;
  const admin = async (request: string, at = ''): Promise<Record<string, unknown>> => {
    const response = await fetch(`http://${host}:${ADMIN_PORT}/admin${at}`, {
      method: 'POST',
      body: JSON.stringify({ janus: request, transaction: `t${++transactions}`, admin_secret: adminSecret }),
      signal: AbortSignal.timeout(5000),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (answer['janus'] !== 'success')
      throw new Error(`Janus Admin API ${request}${at}: ${JSON.stringify(answer)}`);
    return answer;
  };
  const whipBase = `http://${host}:${WHIP_PORT}/whip`;
  /** A session or handle may end between the list and the question about it: then it is left out. */
  const gone = (): undefined => undefined;
  const handles = async (): Promise<JanusHandle[]> => {
    const found: JanusHandle[] = [];
    for (const sessionId of (await admin('list_sessions'))['sessions'] as number[]) {
      const listed = await admin('list_handles', `/${sessionId}`).catch(gone);
      for (const handleId of (listed?.['handles'] ?? []) as number[]) {
        const answer = await admin('handle_info', `/${sessionId}/${handleId}`).catch(gone);
        const info = answer?.['info'] as HandleInfo | undefined;
        if (!info) continue;
        const packetsIn = { audio: 0, video: 0 };
        for (const m of Object.values(info.webrtc?.media ?? {}))
          if (m.type === 'audio' || m.type === 'video') packetsIn[m.type] += m.stats?.in?.packets ?? 0;
        found.push({
          sessionId,
          handleId,
          plugin: info.plugin ?? '',
          ready: info.flags?.ready === true,
          packetsIn,
        });
      }
    }
    return found;
  };

  try {
    const files = configFiles({ dir, adminSecret, host, serverDir });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    for (const file of ['server.js', 'whip-janus.js'])
      copyFileSync(path.join(serverDir, file), path.join(dir, file));
    symlinkSync(path.join(serverDir, 'node_modules'), path.join(dir, 'node_modules'));
    janus = launch(netns.command('janus', ['-F', dir, '-C', path.join(dir, 'janus.jcfg'), '-o']), dir, sink);
    await waitFor(
      async () => {
        if (janus?.child.exitCode !== null) throw new Error(`janus exited: ${out}`);
        return admin('list_sessions');
      },
      'the Janus Admin API',
      20_000,
      200,
    );
    whip = launch(netns.command(process.execPath, [path.join(dir, 'server.js')]), dir, sink);
    await waitFor(
      async () => {
        if (whip?.child.exitCode !== null) throw new Error(`simple-whip-server exited: ${out}`);
        return (await fetch(`${whipBase}/healthcheck`)).status === 200;
      },
      'simple-whip-server',
      20_000,
      200,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    whipBase,
    host,
    async createEndpoint(id, token) {
      const response = await fetch(`${whipBase}/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, room: JANUS_ROOM, ...(token === undefined ? {} : { token }) }),
      });
      if (response.status !== 200)
        throw new Error(`whip/create ${id}: ${response.status} ${await response.text()}`);
      return `http://${host}:${WHIP_PORT}/whip/endpoint/${encodeURIComponent(id)}`;
    },
    handles,
    publishers: async () => (await handles()).filter((h) => h.plugin === 'janus.plugin.videoroom'),
    output: () => out,
    stop,
  };
}
