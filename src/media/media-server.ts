import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { RestHooks } from './hooks/rest-hooks.js';
import { MediaEngine } from './rtc/media-engine.js';
import { MediaMetrics } from './metrics.js';
import { createRestServer } from './rest/rest-server.js';
import { registerStreamRoutes } from './rest/stream-routes.js';
import { SignallingServer } from './signalling/ws-server.js';
import { StreamInfo } from './streams/status.js';
import { StreamRegistry } from './streams/stream-registry.js';
import { StreamService } from './streams/stream-service.js';
import { StatsSampler } from './stats-sampler.js';
import { PushManager } from './push/push-manager.js';
import { registerPullRoutes } from './rest/pull-routes.js';
import { Fleet } from './fleet/fleet.js';
import { registerFleetRoutes } from './fleet/fleet-routes.js';
import {
  internalIpOf,
  memberIdOf,
  pushPipeListen,
  type MediaServerConfig,
  type TlsFiles,
} from './media-options.js';
import { PeerNetwork } from './push/rtc-peer.js';
import { sessionIceServers } from './rtc/ice-credentials.js';
import { noHooks } from './hooks/rest-hooks.js';
import { StreamAdmission } from './streams/admission.js';
import { registerWhipRoutes } from './whip/whip-routes.js';
import { PipePeerPolicy } from './push/pipe-peers.js';
import { PipeTargets } from './push/pipe-publisher.js';
import { registerConsoleRoutes } from './console/console-routes.js';
import { MemberStateReader } from './console/member-state.js';
import { ServerResources } from './console/server-resources.js';

export interface MediaServerAddresses {
  wsPort: number;
  wssPort?: number;
  restPort: number;
  restTlsPort?: number;
}

/** The parts of one media server, built by MediaServer.start in dependency order. */
interface MediaServerParts {
  config: MediaServerConfig;
  log: Logger;
  metrics: MediaMetrics;
  engine: MediaEngine;
  streams: StreamService;
  fleet: Fleet;
  hooks: RestHooks | undefined;
  admission: StreamAdmission;
  signalling: SignallingServer;
  pushes: PushManager;
  sampler: StatsSampler;
}

/** One media server process: mediasoup, WCS signalling, REST, metrics. */
export class MediaServer {
  readonly config: MediaServerConfig;
  readonly log: Logger;
  readonly metrics: MediaMetrics;
  readonly engine: MediaEngine;
  readonly streams: StreamService;
  readonly fleet: Fleet;
  readonly signalling: SignallingServer;
  readonly pushes: PushManager;
  readonly #hooks: RestHooks | undefined;
  readonly #admission: StreamAdmission;
  readonly #sampler: StatsSampler;
  readonly #rest: FastifyInstance[] = [];
  readonly #resources: ServerResources;
  readonly #consoleState: MemberStateReader;
  #stopping: Promise<void> | undefined;
  #draining: Promise<void> | undefined;

  private constructor(parts: MediaServerParts) {
    this.config = parts.config;
    this.log = parts.log;
    this.metrics = parts.metrics;
    this.engine = parts.engine;
    this.streams = parts.streams;
    this.fleet = parts.fleet;
    this.signalling = parts.signalling;
    this.pushes = parts.pushes;
    this.#hooks = parts.hooks;
    this.#admission = parts.admission;
    this.#sampler = parts.sampler;
    this.#resources = new ServerResources(parts.engine);
    this.#consoleState = new MemberStateReader({
      memberId: () => parts.fleet.memberId,
      streams: parts.streams,
      signalling: parts.signalling,
      pushes: parts.pushes,
      resources: this.#resources,
      hooks: parts.hooks,
    });
  }

  /** Builds the parts (each given its collaborators), then listens: signalling, REST, the fleet. */
  static async start(options: {
    config: MediaServerConfig;
    log: Logger;
  }): Promise<{ server: MediaServer; addresses: MediaServerAddresses }> {
    const { config, log } = options;
    const metrics = new MediaMetrics();
    const started: { server?: MediaServer } = {};
    const engine = await MediaEngine.start({
      listen: config.listen,
      log,
      metrics,
      // A dead worker takes its streams with it; exit so the orchestrator restarts us whole.
      onWorkerDied: () => void started.server?.stop().finally(() => process.exit(1)),
    });
    const registry = new StreamRegistry({ metrics, log });
    const fleet = new Fleet({
      config: config.fleet,
      memberId: memberIdOf(config),
      listen: config.listen,
      restToken: config.rest.token,
      registry,
      engine,
      metrics,
      log,
    });
    const streams = new StreamService({ registry, engine, remote: fleet });
    const fleetId = (): string => fleet.fleetId();
    const hooks = config.signalling.hooks ? new RestHooks(config.signalling.hooks, metrics, log) : undefined;
    // one decision on every publish and play, whichever front door (WCS WebSocket, WHIP/WHEP) it came by
    const admission = new StreamAdmission(streams, hooks ?? noHooks, fleetId);
    // both halves of push pipes (ours pushing, theirs pushed here) listen alike
    const pipeListen = pushPipeListen(config.listen);
    const pipeTargets = new PipeTargets(engine, pipeListen, new PipePeerPolicy(config.push.pipePeers));
    const signalling = new SignallingServer({
      host: config.listen.ip,
      wsPort: config.signalling.wsPort,
      wssPort: config.signalling.wssPort,
      tls: config.listen.tls,
      keepAlive: { intervalMs: config.signalling.pingIntervalMs, probes: config.signalling.pingProbes },
      maxMessageBytes: 256 * 1024,
      admission,
      pipes: pipeTargets,
      metrics,
      log,
    });
    const pushes = new PushManager({
      config: config.push,
      network: new PeerNetwork({
        bindIp: internalIpOf(config.listen),
        portRange: [config.listen.rtcMinPort, config.listen.rtcMaxPort],
        iceServers: () => sessionIceServers(config.listen.iceServers, config.listen.turnSecret),
      }),
      pipeListen,
      pipeTargets,
      streams,
      engine,
      loopGuard: (target) => fleet.loopGuard.check(target),
      fleetId,
      metrics,
      log,
    });
    const sampler = new StatsSampler(registry, metrics);
    const server = new MediaServer({
      config,
      log,
      metrics,
      engine,
      streams,
      fleet,
      hooks,
      admission,
      signalling,
      pushes,
      sampler,
    });
    started.server = server;
    try {
      const ws = await signalling.listen();
      const restPort = await server.#serveRest(config.rest.port, undefined);
      const addresses: MediaServerAddresses = { ...ws, restPort };
      if (config.listen.tls)
        addresses.restTlsPort = await server.#serveRest(config.rest.tlsPort, config.listen.tls);
      await fleet.start([ws.wsPort, ...(ws.wssPort ? [ws.wssPort] : [])]);
      log.info({ ...addresses }, 'media server listening');
      return { server, addresses };
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  /**
   * A rollout's stop (SIGTERM): readiness goes off and new sessions and streams are refused at once; the open
   * sessions keep streaming while the Service takes the pod out, up to the drain period (less when they all
   * leave); then they are cut as a lost server cuts them (no final status, no closing handshake: the Web
   * SDK's session FAILS and its auto-restore reconnects, through the Service, to another pod), the relays
   * served to members end as when an origin dies (their players fail), and the server stops.
   */
  drain(): Promise<void> {
    this.#draining ??= (async () => {
      this.signalling.refuseNew();
      this.#admission.refuseNew();
      const { drainMs } = this.config.signalling;
      this.log.info({ sessions: this.signalling.sessionCount, drainMs }, 'draining');
      const deadline = Date.now() + drainMs;
      while (this.signalling.sessionCount > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      this.fleet.close({ lost: true });
      this.signalling.dropAll(StreamInfo.SERVER_SHUTDOWN);
      await this.stop();
    })();
    return this.#draining;
  }

  /** Graceful stop: streams end with UNPUBLISHED/STOPPED, sockets close, workers exit. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.pushes.terminateAll();
      this.fleet.close();
      this.streams.endAll(StreamInfo.SERVER_SHUTDOWN);
      await this.signalling.close(StreamInfo.SERVER_SHUTDOWN);
      await this.#hooks?.drain(1000); // the last status events, so the backend hears of the shutdown
      await Promise.all(this.#rest.map((app) => app.close()));
      this.engine.close();
      this.log.info('media server stopped');
    })();
    return this.#stopping;
  }

  async #serveRest(port: number, tls: TlsFiles | undefined): Promise<number> {
    const { rest } = this.config;
    const { app, routes } = createRestServer(
      {
        auth: {
          token: rest.token,
          readToken: rest.readToken,
          basic: rest.basic,
          protectMetrics: rest.protectMetrics,
          protectDemo: rest.protectDemo,
        },
        corsOrigins: rest.corsOrigins,
        bodyLimitBytes: 64 * 1024,
        tls,
      },
      this.log,
    );
    registerStreamRoutes(app, this.streams, this.signalling);
    registerPullRoutes(app, this.pushes);
    registerFleetRoutes(app, this.fleet);
    registerWhipRoutes(app, {
      admission: this.#admission,
      iceServers: () => sessionIceServers(this.config.listen.iceServers, this.config.listen.turnSecret),
    });
    registerConsoleRoutes(app, {
      reader: this.#consoleState,
      resources: this.#resources,
      streams: this.streams,
      signalling: this.signalling,
      members: () => this.fleet.members(),
      restToken: this.config.rest.token,
      wsPort: () => this.fleet.info().wsPorts[0] ?? this.config.signalling.wsPort,
    });
    app.get('/metrics', async (_request, reply) => {
      await this.#sampler.sample();
      this.pushes.sampleMetrics();
      await this.fleet.sampleMetrics();
      return reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) =>
      this.#draining || this.#stopping ? reply.status(503).send({ status: 'stopping' }) : { status: 'ready' },
    );
    this.#rest.push(app);
    await app.listen({ host: this.config.listen.ip, port });
    this.log.debug(
      { routes: routes.map((r) => `${r.method} ${r.url}${r.protected ? ' protected' : ''}`) },
      'rest routes',
    );
    return (app.server.address() as AddressInfo).port;
  }
}
