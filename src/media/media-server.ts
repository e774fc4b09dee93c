import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { RestHooks, type RestHooksOptions } from './hooks/rest-hooks.js';
import { MediaEngine } from './rtc/media-engine.js';
import { MediaMetrics } from './metrics.js';
import { createRestServer } from './rest/rest-server.js';
import { registerStreamRoutes } from './rest/stream-routes.js';
import { SignallingServer } from './signalling/ws-server.js';
import { StreamInfo } from './streams/status.js';
import { StreamService } from './streams/stream-service.js';
import { StatsSampler } from './stats-sampler.js';
import { PushManager } from './push/push-manager.js';
import { TargetPolicy } from './push/target-policy.js';
import type { RelayDeadlines } from './push/relay.js';
import { defaultPushDeadlines } from './media-options.js';
import { registerPullRoutes } from './rest/pull-routes.js';
import { Fleet } from './fleet/fleet.js';
import { fleetIdOf } from './push/push-chain.js';
import { registerFleetRoutes } from './fleet/fleet-routes.js';
import { membershipOf, type FleetOptions } from './fleet/fleet-options.js';
import { registerWhipRoutes } from './whip/whip-routes.js';
import type { IceServer } from '../contracts/whip-http.js';

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export interface MediaServerConfig {
  listenIp: string;
  announcedIp?: string | undefined;
  wsPort: number;
  wssPort: number;
  restPort: number;
  restTlsPort: number;
  tls?: TlsFiles | undefined;
  rtcMinPort: number;
  rtcMaxPort: number;
  workers: number;
  restToken?: string | undefined;
  /** HTTP Basic credentials accepted besides the token. */
  restBasic?: { user: string; password: string } | undefined;
  restProtectMetrics?: boolean | undefined;
  restProtectDemo?: boolean | undefined;
  /** Access-Control-Allow-Origin; `*` when unset. */
  corsOrigins?: string[] | undefined;
  /** WCS REST hooks backend; unset: every connection, publish and play is allowed. */
  hooks?: RestHooksOptions | undefined;
  pushAllow: string[];
  pushInsecureTls: boolean;
  /** Push/pull step deadlines (defaults: the options' defaults). */
  pushDeadlines?: Partial<RelayDeadlines> | undefined;
  pingIntervalMs: number;
  pingProbes: number;
  /** Fleet membership and relays; without it the server is a fleet of one. */
  fleet?: FleetOptions | undefined;
  /** The id this server announces as its fleet's (`--fleet-id`; default: see push-chain.ts fleetIdOf). */
  fleetId?: string | undefined;
  /** STUN/TURN servers announced to WHIP/WHEP clients (`--ice-server`). */
  iceServers?: IceServer[] | undefined;
}

export interface MediaServerAddresses {
  wsPort: number;
  wssPort?: number;
  restPort: number;
  restTlsPort?: number;
}

/** One media server process: mediasoup, WCS signalling, REST, metrics. */
export class MediaServer {
  private rest: FastifyInstance[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly config: MediaServerConfig,
    readonly log: Logger,
    readonly metrics: MediaMetrics,
    readonly engine: MediaEngine,
    readonly streams: StreamService,
    readonly signalling: SignallingServer,
    readonly pushes: PushManager,
    readonly fleet: Fleet,
    private readonly sampler: StatsSampler,
    private readonly hooks: RestHooks | undefined,
  ) {}

  static async start(
    config: MediaServerConfig,
    log: Logger,
  ): Promise<{ server: MediaServer; addresses: MediaServerAddresses }> {
    const metrics = new MediaMetrics();
    const started: { server?: MediaServer } = {};
    const engine = await MediaEngine.start(
      {
        workers: config.workers,
        listenIp: config.listenIp,
        announcedIp: config.announcedIp,
        rtcMinPort: config.rtcMinPort,
        rtcMaxPort: config.rtcMaxPort,
      },
      log,
      metrics,
      // A dead worker takes its streams with it; exit so the orchestrator restarts us whole.
      () => void started.server?.stop().finally(() => process.exit(1)),
    );
    const streams = new StreamService(engine, metrics, log);
    const hooks = config.hooks ? new RestHooks(config.hooks, metrics, log) : undefined;
    const signalling = new SignallingServer(
      {
        host: config.listenIp,
        wsPort: config.wsPort,
        wssPort: config.wssPort,
        tls: config.tls,
        keepAlive: { intervalMs: config.pingIntervalMs, probes: config.pingProbes },
        maxMessageBytes: 256 * 1024,
        hooks,
        fleetId: () => fleetId(),
      },
      streams,
      metrics,
      log,
    );
    const pushes = new PushManager(streams, engine, new TargetPolicy(config.pushAllow), metrics, log, {
      insecureTls: config.pushInsecureTls,
      deadlines: { ...defaultPushDeadlines, ...config.pushDeadlines },
      fleetId: () => fleetId(),
    });
    const sampler = new StatsSampler(streams, metrics);
    const fleetOptions = config.fleet ?? {
      memberId: `media-${randomUUID()}`,
      peers: [],
      relayIdleMs: 30_000,
      probeIntervalMs: 1000,
    };
    const fleet = new Fleet(
      { ...fleetOptions, ...config, restToken: config.restToken },
      membershipOf(fleetOptions, log),
      streams,
      engine,
      metrics,
      log,
    );
    const fleetId = (): string => fleetIdOf(config.fleetId, fleet.memberId, fleet.members());
    pushes.useLoopGuard((target) => fleet.loopGuard.check(target));
    fleet.useOtherUsers((name) => pushes.pushesOf(name).length);
    const server = new MediaServer(
      config,
      log,
      metrics,
      engine,
      streams,
      signalling,
      pushes,
      fleet,
      sampler,
      hooks,
    );
    started.server = server;
    try {
      const ws = await signalling.listen();
      const restPort = await server.serveRest(config.restPort, undefined);
      const addresses: MediaServerAddresses = { ...ws, restPort };
      if (config.tls) addresses.restTlsPort = await server.serveRest(config.restTlsPort, config.tls);
      await fleet.start([ws.wsPort, ...(ws.wssPort ? [ws.wssPort] : [])]);
      log.info({ ...addresses }, 'media server listening');
      return { server, addresses };
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  /** Graceful stop: streams end with UNPUBLISHED/STOPPED, sockets close, workers exit. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.pushes.terminateAll();
      this.fleet.close();
      this.streams.endAll(StreamInfo.SERVER_SHUTDOWN);
      await this.signalling.close(StreamInfo.SERVER_SHUTDOWN);
      await this.hooks?.drain(1000); // the last status events, so the backend hears of the shutdown
      await Promise.all(this.rest.map((app) => app.close()));
      this.engine.close();
      this.log.info('media server stopped');
    })();
    return this.stopping;
  }

  private async serveRest(port: number, tls: TlsFiles | undefined): Promise<number> {
    const { app, routes } = createRestServer(
      {
        auth: {
          token: this.config.restToken,
          basic: this.config.restBasic,
          protectMetrics: this.config.restProtectMetrics,
          protectDemo: this.config.restProtectDemo,
        },
        corsOrigins: this.config.corsOrigins ?? ['*'],
        bodyLimitBytes: 64 * 1024,
        tls,
      },
      this.log,
    );
    registerStreamRoutes(app, this.streams, this.signalling);
    registerPullRoutes(app, this.pushes);
    registerFleetRoutes(app, this.fleet);
    registerWhipRoutes(app, {
      admission: this.signalling.admission,
      iceServers: this.config.iceServers ?? [],
    });
    app.get('/metrics', async (_request, reply) => {
      await this.sampler.sample();
      this.pushes.sampleMetrics();
      await this.fleet.sampleMetrics();
      return reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) =>
      this.stopping ? reply.status(503).send({ status: 'stopping' }) : { status: 'ready' },
    );
    this.rest.push(app);
    await app.listen({ host: this.config.listenIp, port });
    this.log.debug(
      { routes: routes.map((r) => `${r.method} ${r.url}${r.protected ? ' protected' : ''}`) },
      'rest routes',
    );
    return (app.server.address() as AddressInfo).port;
  }
}
