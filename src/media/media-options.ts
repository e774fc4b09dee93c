import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import {
  logLevelOption,
  readOptions,
  UsageError,
  type OptionSpecs,
  type OptionValues,
} from '../config/options.js';
import type { FleetOptions } from './fleet/fleet-options.js';
import type { RestHooksOptions } from './hooks/rest-hooks.js';
import { AddressRanges, isWildcardIp } from './addresses.js';
import { mediaPorts } from './ordinal-ports.js';
import type { PipeListen } from './rtc/pipe-half.js';
import type { IceServer } from '../contracts/whip-http.js';
import type { TurnSecret } from './rtc/ice-credentials.js';

export const mediaOptionSpecs = {
  'listen-ip': {
    type: 'string',
    env: 'STREAMFED_LISTEN_IP',
    description: 'address every server binds to',
    default: '0.0.0.0',
  },
  'announced-ip': {
    type: 'list',
    env: 'STREAMFED_ANNOUNCED_IP',
    description:
      'address(es) browsers are told in ICE candidates, repeatable (public IPv4, IPv6, private); ' +
      'default: the listen address when specific, else --internal-ip',
    default: [],
  },
  'internal-ip': {
    type: 'string',
    env: 'STREAMFED_INTERNAL_IP',
    description:
      'address of this server inside the cluster: fleet pipes and push/pull peers bind it and members send ' +
      'to it (default: the listen address when specific, else the first non-loopback IPv4)',
  },
  'announced-node-address': {
    type: 'string',
    env: 'STREAMFED_ANNOUNCED_NODE_ADDRESS',
    description:
      "announce an address of this server's Kubernetes Node, read at start (needs --node-name and get on nodes): " +
      'InternalIP, ExternalIP or annotation:<key>; the server does not start when the Node has none',
  },
  'node-name': {
    type: 'string',
    env: 'NODE_NAME',
    description: "this pod's Node (spec.nodeName), for --announced-node-address",
  },
  'ws-port': {
    type: 'integer',
    env: 'STREAMFED_WS_PORT',
    description: 'WCS WebSocket port (ws://)',
    default: 8080,
  },
  'wss-port': {
    type: 'integer',
    env: 'STREAMFED_WSS_PORT',
    description: 'WCS secure WebSocket port, served when --tls-cert is set',
    default: 8443,
  },
  'rest-port': {
    type: 'integer',
    env: 'STREAMFED_REST_PORT',
    description: 'REST API, /metrics, probes and demo pages (http)',
    default: 8081,
  },
  'rest-tls-port': {
    type: 'integer',
    env: 'STREAMFED_REST_TLS_PORT',
    description: 'REST API over https, served when --tls-cert is set',
    default: 8444,
  },
  'tls-cert': {
    type: 'string',
    env: 'STREAMFED_TLS_CERT',
    description: 'PEM certificate file for wss and https',
  },
  'tls-key': {
    type: 'string',
    env: 'STREAMFED_TLS_KEY',
    description: 'PEM private key file for wss and https',
  },
  'rtc-port': {
    type: 'integer',
    env: 'STREAMFED_RTC_PORT',
    description:
      'WebRTC (WCS, WHIP, WHEP): worker i listens on UDP and TCP port rtc-port + i ' +
      '(0: each worker takes free ports from the RTC range, for tests)',
    default: 20000,
  },
  'rtc-min-port': {
    type: 'integer',
    env: 'STREAMFED_RTC_MIN_PORT',
    description:
      'lowest UDP port of the RTC range: fleet pipes, push/pull peers (not browsers: they use --rtc-port)',
    default: 40000,
  },
  'rtc-max-port': {
    type: 'integer',
    env: 'STREAMFED_RTC_MAX_PORT',
    description: 'highest UDP port of the RTC range',
    default: 49999,
  },
  workers: {
    type: 'integer',
    env: 'STREAMFED_WORKERS',
    description: 'mediasoup workers (one router each)',
    default: os.availableParallelism(),
  },
  'rest-token': {
    type: 'string',
    env: 'STREAMFED_REST_TOKEN',
    description: 'bearer token accepted by /rest-api/* (with neither token nor user: no auth)',
  },
  'rest-read-token': {
    type: 'string',
    env: 'STREAMFED_REST_READ_TOKEN',
    description:
      'bearer token that may only read: find, find_all, the console, statistics (pushes, terminates: 403)',
  },
  'rest-user': {
    type: 'string',
    env: 'STREAMFED_REST_USER',
    description: 'HTTP Basic user accepted by /rest-api/* (with --rest-password)',
  },
  'rest-password': {
    type: 'string',
    env: 'STREAMFED_REST_PASSWORD',
    description: 'HTTP Basic password of --rest-user',
  },
  'rest-protect-metrics': {
    type: 'boolean',
    env: 'STREAMFED_REST_PROTECT_METRICS',
    description: '/metrics needs the REST credentials too',
    default: false,
  },
  'rest-protect-demo': {
    type: 'boolean',
    env: 'STREAMFED_REST_PROTECT_DEMO',
    description: 'the demo pages under /demo/ need the REST credentials too',
    default: false,
  },
  'cors-origin': {
    type: 'list',
    env: 'STREAMFED_CORS_ORIGIN',
    description: 'Access-Control-Allow-Origin of the REST API: * or a list of origins',
    default: ['*'],
  },
  'hooks-url': {
    type: 'string',
    env: 'STREAMFED_HOOKS_URL',
    description: 'base URL of WCS-style REST hooks (<base>/connect, /publishStream, /playStream, events)',
  },
  'hooks-secret': {
    type: 'string',
    env: 'STREAMFED_HOOKS_SECRET',
    description: 'signs hook requests as WCS does: Authorization: WCS <HMAC-MD5 of the body, hex>',
  },
  'hooks-timeout-ms': {
    type: 'integer',
    env: 'STREAMFED_HOOKS_TIMEOUT_MS',
    description: 'deadline of a hook answer; a late or unreachable backend refuses',
    default: 5000,
  },
  'push-allow': {
    type: 'list',
    env: 'STREAMFED_PUSH_ALLOW',
    description:
      'hosts, *.domain suffixes and CIDRs that /pull/push and /pull/pull (and WHIP/WHEP redirects) may connect to',
    default: ['127.0.0.0/8', '::1/128', 'localhost'],
  },
  'push-insecure-tls': {
    type: 'boolean',
    env: 'STREAMFED_PUSH_INSECURE_TLS',
    description: 'accept any certificate from wss:// and https:// push targets (testing only)',
    default: false,
  },
  'push-connect-timeout-ms': {
    type: 'integer',
    env: 'STREAMFED_PUSH_CONNECT_TIMEOUT_MS',
    description:
      "push/pull: deadline for the TCP/TLS connection and WebSocket upgrade to the remote (WHIP/WHEP: each request's connect)",
    default: 5000,
  },
  'push-handshake-timeout-ms': {
    type: 'integer',
    env: 'STREAMFED_PUSH_HANDSHAKE_TIMEOUT_MS',
    description:
      "push/pull: deadline for the remote's getUserData answer to our connection message (WHIP/WHEP: its answer to OPTIONS)",
    default: 5000,
  },
  'push-answer-timeout-ms': {
    type: 'integer',
    env: 'STREAMFED_PUSH_ANSWER_TIMEOUT_MS',
    description:
      "push/pull: deadline for the remote's answer SDP to publishStream/playStream (WHIP/WHEP: to the offer's POST)",
    default: 10000,
  },
  'push-ice-timeout-ms': {
    type: 'integer',
    env: 'STREAMFED_PUSH_ICE_TIMEOUT_MS',
    description: 'push/pull: deadline for ICE and DTLS to connect after the answer',
    default: 10000,
  },
  'push-media-timeout-ms': {
    type: 'integer',
    env: 'STREAMFED_PUSH_MEDIA_TIMEOUT_MS',
    description:
      "push/pull: deadline for the remote's PUBLISHING/PLAYING, then for the first media delivered; also the stall window",
    default: 10000,
  },
  'push-pipe': {
    type: 'string',
    env: 'STREAMFED_PUSH_PIPE',
    description:
      'on: a push to, or a pull from, another streamfed server (of another fleet) goes over a mediasoup PipeTransport pair, falling back to WebRTC; off: over WebRTC (other servers push to and pull from this one over a pipe either way)',
    default: 'on',
  },
  'pipe-peers': {
    type: 'list',
    env: 'STREAMFED_PIPE_PEERS',
    description:
      "addresses and CIDRs a pipe offered by another streamfed server (a push into this one, a pull from it) may name besides the offering peer's own address (its pipes listen elsewhere, or it connects through a proxy); other offers are refused and go over WebRTC",
    default: [],
  },
  'ping-interval-ms': {
    type: 'integer',
    env: 'STREAMFED_PING_INTERVAL_MS',
    description: 'WebSocket keep-alive ping interval',
    default: 5000,
  },
  'ping-probes': {
    type: 'integer',
    env: 'STREAMFED_PING_PROBES',
    description: 'missed pongs before a session is dropped',
    default: 6,
  },
  'drain-seconds': {
    type: 'integer',
    env: 'STREAMFED_DRAIN_SECONDS',
    description:
      'on SIGTERM: readiness off and no new sessions at once, then the open sessions keep streaming up to ' +
      'this long (less when they all leave) before they are cut as a lost server cuts them, so clients restore elsewhere',
    default: 5,
  },
  'ordinal-port-stride': {
    type: 'integer',
    env: 'STREAMFED_ORDINAL_PORT_STRIDE',
    description:
      'several pods per host: pod N (the -N ending --pod-name) adds N times this to each TCP port and to ' +
      '--rtc-port (so at least --workers), and moves its RTC range up by N times its size (0: off)',
    default: 0,
  },
  'pod-name': {
    type: 'string',
    env: 'POD_NAME',
    description: 'this pod (a StatefulSet pod ends with -<ordinal>), for --ordinal-port-stride',
  },
  peers: {
    type: 'list',
    env: 'STREAMFED_PEERS',
    description: 'REST base URLs of the other members of this fleet (out of cluster)',
    default: [],
  },
  'member-id': {
    type: 'string',
    env: 'STREAMFED_MEMBER_ID',
    description:
      "this server's id in its fleet (default: <host name>[/<listen ip>]:<rest port>; the pod name in a cluster)",
  },
  'fleet-id': {
    type: 'string',
    env: 'STREAMFED_FLEET_ID',
    description:
      "the id this server announces as its fleet's, to refuse push chains that come back (default: the sorted member ids)",
  },
  'fleet-kube-selector': {
    type: 'string',
    env: 'STREAMFED_FLEET_KUBE_SELECTOR',
    description: 'label selector of the media pods: discover fleet members through the Kubernetes API',
  },
  'fleet-kube-namespace': {
    type: 'string',
    env: 'STREAMFED_FLEET_KUBE_NAMESPACE',
    description: "namespace of the media pods (default: the pod's own)",
  },
  'fleet-kubeconfig': {
    type: 'string',
    env: 'STREAMFED_FLEET_KUBECONFIG',
    description:
      "kubeconfig for the Kubernetes API: member discovery, --announced-node-address (default: the pod's service account)",
  },
  'relay-idle-seconds': {
    type: 'integer',
    env: 'STREAMFED_RELAY_IDLE_SECONDS',
    description: 'a relay from another member without players is closed after this long',
    default: 30,
  },
  'ice-server': {
    type: 'list',
    env: 'STREAMFED_ICE_SERVERS',
    description:
      'STUN/TURN server announced to WHIP/WHEP clients (Link rel="ice-server"), repeatable: ' +
      'turn:host:port?transport=tcp|user:credential',
    default: [],
  },
  'turn-secret': {
    type: 'string',
    env: 'STREAMFED_TURN_SECRET',
    description:
      "TURN REST-API shared secret (coturn's static-auth-secret): turn:/turns: --ice-server entries without " +
      'credentials get a username and credential minted per session',
  },
  'turn-credential-ttl-seconds': {
    type: 'integer',
    env: 'STREAMFED_TURN_CREDENTIAL_TTL_SECONDS',
    description: 'how long a minted TURN credential is valid',
    default: 86400,
  },
  'log-level': logLevelOption,
} satisfies OptionSpecs;

/**
 * The ICE servers of `--ice-server` values: `<stun:|turn:|turns: URL>` alone, or followed by
 * `|<username>:<credential>` (the username ends at the first colon).
 */
export function parseIceServers(values: readonly string[]): IceServer[] {
  return values.map((value) => {
    const bar = value.indexOf('|');
    const urls = bar < 0 ? value : value.slice(0, bar);
    if (!/^(stun|stuns|turn|turns):[^\s<>,]+$/.test(urls))
      throw new UsageError(`--ice-server must be a stun:, turn: or turns: URL, got "${urls}"`);
    if (bar < 0) return { urls };
    const auth = value.slice(bar + 1);
    const colon = auth.indexOf(':');
    if (colon <= 0) throw new UsageError(`--ice-server credentials must be user:credential, got "${auth}"`);
    return { urls, username: auth.slice(0, colon), credential: auth.slice(colon + 1) };
  });
}

export type MediaOptionValues = OptionValues<typeof mediaOptionSpecs>;

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** Where the server binds and what it announces, its media ports and workers, its TLS files. */
export interface ListenConfig {
  ip: string;
  /** What browsers are told: the addresses in ICE candidates (none: see announcedIpsOf). */
  announcedIps: string[];
  /** This server inside the cluster: fleet pipes and push/pull peers (unset: see internalIpOf). */
  internalIp?: string | undefined;
  /** Worker i's WebRtcServer listens on UDP and TCP `rtcPort + i`; 0: free ports of the RTC range. */
  rtcPort: number;
  /** The RTC range: fleet PipeTransports and push/pull peers (our own sockets, not browsers'). */
  rtcMinPort: number;
  rtcMaxPort: number;
  /** mediasoup workers, one router each. */
  workers: number;
  /** wss and https are served when set. */
  tls?: TlsFiles | undefined;
  /** STUN/TURN servers clients are told of (`--ice-server`: WHIP/WHEP `Link` headers) and our peers use. */
  iceServers: IceServer[];
  /** Mints TURN credentials per session for the servers above that have none (`--turn-secret`). */
  turnSecret?: TurnSecret | undefined;
}

/** The WCS WebSocket endpoints. */
export interface SignallingConfig {
  wsPort: number;
  wssPort: number;
  pingIntervalMs: number;
  pingProbes: number;
  /** WCS REST hooks backend; unset: every connection, publish and play is allowed. */
  hooks?: RestHooksOptions | undefined;
  /** On a rollout's stop (MediaServer.drain), how long open sessions may stay before they are cut. */
  drainMs: number;
}

/** The REST API (with /metrics, probes, demo pages). */
export interface RestConfig {
  port: number;
  tlsPort: number;
  token?: string | undefined;
  /** A bearer token that may only read (find, find_all, the console's state, statistics). */
  readToken?: string | undefined;
  /** HTTP Basic credentials accepted besides the token. */
  basic?: { user: string; password: string } | undefined;
  protectMetrics: boolean;
  protectDemo: boolean;
  /** Access-Control-Allow-Origin: `*` or a list of origins. */
  corsOrigins: string[];
}

/** Server-to-server pushes and pulls. */
export interface PushConfig {
  /** Hosts, *.domain suffixes and CIDRs pushes and pulls may connect to. */
  allow: string[];
  insecureTls: boolean;
  deadlines: RelayDeadlines;
  /** Pushes and pulls between streamfed servers over a PipeTransport pair (`--push-pipe`). */
  pipe: boolean;
  /** Where a pipe offered to this server may send besides the offering peer's address (`--pipe-peers`). */
  pipePeers: string[];
}

/** One media server's configuration, in the groups of the parts it configures. */
export interface MediaServerConfig {
  listen: ListenConfig;
  signalling: SignallingConfig;
  rest: RestConfig;
  push: PushConfig;
  /** Membership and relays; without peers or a selector the server is a fleet of one. */
  fleet: FleetOptions;
}

/** Some fields of some groups, each over the same group of a whole configuration. */
export type MediaConfigOverrides = { [G in keyof MediaServerConfig]?: Partial<MediaServerConfig[G]> };

/**
 * The configuration the option values give: the one mapping of options to configuration, for the command
 * (media-command.ts, after its usage checks) and for the defaults below.
 */
export function mediaConfig(o: MediaOptionValues): MediaServerConfig {
  const ports = mediaPorts(o);
  const cert = o['tls-cert'];
  const key = o['tls-key'];
  return {
    listen: {
      ip: o['listen-ip'],
      announcedIps: o['announced-ip'],
      internalIp: o['internal-ip'],
      rtcPort: ports.rtc,
      rtcMinPort: ports.rtcMin,
      rtcMaxPort: ports.rtcMax,
      workers: Math.max(1, o.workers),
      tls: cert && key ? { cert: readFileSync(cert), key: readFileSync(key) } : undefined,
      iceServers: parseIceServers(o['ice-server']),
      turnSecret: o['turn-secret']
        ? { secret: o['turn-secret'], ttlSeconds: o['turn-credential-ttl-seconds'] }
        : undefined,
    },
    signalling: {
      wsPort: ports.ws,
      wssPort: ports.wss,
      pingIntervalMs: o['ping-interval-ms'],
      pingProbes: o['ping-probes'],
      drainMs: o['drain-seconds'] * 1000,
      hooks: o['hooks-url']
        ? { url: o['hooks-url'], secret: o['hooks-secret'], timeoutMs: o['hooks-timeout-ms'] }
        : undefined,
    },
    rest: {
      port: ports.rest,
      tlsPort: ports.restTls,
      token: o['rest-token'],
      readToken: o['rest-read-token'],
      basic:
        o['rest-user'] !== undefined
          ? { user: o['rest-user'], password: o['rest-password'] ?? '' }
          : undefined,
      protectMetrics: o['rest-protect-metrics'],
      protectDemo: o['rest-protect-demo'],
      corsOrigins: o['cors-origin'],
    },
    push: {
      allow: o['push-allow'],
      insecureTls: o['push-insecure-tls'],
      deadlines: {
        connectMs: o['push-connect-timeout-ms'],
        handshakeMs: o['push-handshake-timeout-ms'],
        answerMs: o['push-answer-timeout-ms'],
        iceMs: o['push-ice-timeout-ms'],
        mediaMs: o['push-media-timeout-ms'],
      },
      pipe: onOff('push-pipe', o['push-pipe']),
      pipePeers: addressesOnly('pipe-peers', o['pipe-peers']),
    },
    fleet: {
      memberId: o['member-id'],
      fleetId: o['fleet-id'],
      peers: o.peers,
      kube: o['fleet-kube-selector']
        ? {
            labelSelector: o['fleet-kube-selector'],
            namespace: o['fleet-kube-namespace'] ?? podNamespace(),
            kubeconfig: o['fleet-kubeconfig'],
          }
        : undefined,
      relayIdleMs: o['relay-idle-seconds'] * 1000,
      probeIntervalMs: 1000,
    },
  };
}

/** A list of addresses and CIDRs (no names), checked at start. */
function addressesOnly(name: string, entries: string[]): string[] {
  try {
    new AddressRanges(entries);
  } catch (error) {
    throw new UsageError(`--${name} takes addresses and CIDRs: ${(error as Error).message}`);
  }
  return entries;
}

function onOff(name: string, value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new UsageError(`--${name} must be on or off, got "${value}"`);
  return value === 'on';
}

/** The configuration no option changes: every default has its home in the specs above. */
export const mediaDefaults: MediaServerConfig = mediaConfig(readOptions(mediaOptionSpecs, [], {}));

/** `base` with the given fields of each group replaced. */
export function withOverrides(base: MediaServerConfig, overrides: MediaConfigOverrides): MediaServerConfig {
  return {
    listen: { ...base.listen, ...overrides.listen },
    signalling: { ...base.signalling, ...overrides.signalling },
    rest: { ...base.rest, ...overrides.rest },
    push: { ...base.push, ...overrides.push },
    fleet: { ...base.fleet, ...overrides.fleet },
  };
}

/**
 * This server's id in its fleet: the configured one (in a cluster `--member-id` is the pod name), else its
 * host name with the REST address it binds: `<host name>:<rest port>` on the wildcard address (no other server
 * of the host can bind that port then), `<host name>/<listen ip>:<rest port>` on one address (servers on
 * 127.0.0.2 and 127.0.0.3 may share a port); a random one when the OS chooses the REST port.
 */
export function memberIdOf(config: MediaServerConfig): string {
  if (config.fleet.memberId) return config.fleet.memberId;
  const { port } = config.rest;
  if (!port) return `media-${randomUUID()}`;
  const ip = config.listen.ip;
  if (isWildcardIp(ip)) return `${os.hostname()}:${port}`;
  return `${os.hostname()}/${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/**
 * The address of this server inside the cluster, which fleet pipes and push/pull peers bind and other members
 * send to: the configured one, else the listen address when specific, else the first non-loopback IPv4 (the
 * pod IP), else 127.0.0.1.
 */
export function internalIpOf(listen: Pick<ListenConfig, 'ip' | 'internalIp'>): string {
  if (listen.internalIp) return listen.internalIp;
  if (!isWildcardIp(listen.ip)) return listen.ip;
  const v4 = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  return v4?.address ?? '127.0.0.1';
}

/** What ICE candidates carry: the configured addresses, else the listen address when specific, else the internal one. */
export function announcedIpsOf(listen: Pick<ListenConfig, 'ip' | 'internalIp' | 'announcedIps'>): string[] {
  if (listen.announcedIps.length > 0) return listen.announcedIps;
  return [isWildcardIp(listen.ip) ? internalIpOf(listen) : listen.ip];
}

/** The namespace a pod runs in, from its service account (or `default` out of cluster). */
function podNamespace(): string {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return process.env['POD_NAMESPACE'] ?? 'default';
  }
}

/**
 * Where the pipes of pushes between streamfed servers listen and what address they announce: bound on the
 * server's internal address, announcing the first address its WebRTC candidates carry, since the far end is
 * another cluster. The one
 * place that choice is made, for both halves (this server pushing, this server pushed to).
 */
export function pushPipeListen(
  listen: Pick<ListenConfig, 'ip' | 'internalIp' | 'announcedIps' | 'rtcMinPort' | 'rtcMaxPort'>,
): PipeListen {
  return {
    internalIp: internalIpOf(listen),
    announcedIp: announcedIpsOf(listen)[0],
    rtcMinPort: listen.rtcMinPort,
    rtcMaxPort: listen.rtcMaxPort,
  };
}

/** How long each step that waits on the remote may take (see the --push-*-timeout-ms options). */
export interface RelayDeadlines {
  /** TCP/TLS connect and WebSocket upgrade (WHIP/WHEP: the TCP/TLS connect of each request). */
  connectMs: number;
  /** `connection` → `getUserData` (WHIP/WHEP: OPTIONS → its answer). */
  handshakeMs: number;
  /** publishStream/playStream → `setRemoteSDP` (WHIP/WHEP: the offer's POST → the 201 answer). */
  answerMs: number;
  /** Answer applied → ICE and DTLS connected. */
  iceMs: number;
  /** Answer applied → the remote's PUBLISHING (push) / PLAYING (pull); then PUBLISHING → first media delivered. */
  mediaMs: number;
}
