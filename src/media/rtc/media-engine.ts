import type * as ms from 'mediasoup/types';
import type { Logger } from '../../log.js';
import { announcedIpsOf, type ListenConfig } from '../media-options.js';
import type { MediaMetrics } from '../metrics.js';
import { mediaCodecs } from './codecs.js';
import { RouterPipes } from './router-pipes.js';
import { ensureWorkerBin } from './worker-bin.js';

export interface MediaEngineOptions {
  /** The workers to start and the addresses and ports their WebRtcServers listen on. */
  listen: Pick<
    ListenConfig,
    'ip' | 'announcedIps' | 'internalIp' | 'rtcPort' | 'rtcMinPort' | 'rtcMaxPort' | 'workers'
  >;
  log: Logger;
  metrics: MediaMetrics;
  /** A worker died: its routers, and every stream on them, are gone. */
  onWorkerDied: (error: Error) => void;
}

interface RouterSlot {
  worker: ms.Worker;
  router: ms.Router;
  /** Every WebRTC transport of the worker shares its one UDP and one TCP port. */
  webRtcServer: ms.WebRtcServer;
  /** Transports placed on this router, to pick the least loaded one. */
  load: number;
}

/**
 * The mediasoup side: one router per worker, transports placed on the least loaded router, and producers
 * piped between routers on demand (router-pipes.ts: the engine's own PipeTransport pairs, closed once idle).
 */
export class MediaEngine {
  private readonly slots: RouterSlot[] = [];
  private readonly pipes = new RouterPipes();
  /**
   * `transport` counts WebRTC and plain transports, `pipe_transport` those between routers,
   * `direct_transport` those that bring RTP into this process (the video size probes).
   */
  private readonly counts = {
    worker: 0,
    router: 0,
    transport: 0,
    pipe_transport: 0,
    direct_transport: 0,
    producer: 0,
    consumer: 0,
  };
  private closed = false;
  private readonly listen: MediaEngineOptions['listen'];
  private readonly log: Logger;
  private readonly metrics: MediaMetrics;
  private readonly onWorkerDied: (error: Error) => void;

  private constructor(options: MediaEngineOptions) {
    this.listen = options.listen;
    this.log = options.log;
    this.metrics = options.metrics;
    this.onWorkerDied = options.onWorkerDied;
  }

  static async start(options: MediaEngineOptions): Promise<MediaEngine> {
    ensureWorkerBin();
    const mediasoup = await import('mediasoup');
    const engine = new MediaEngine(options);
    const { workers } = options.listen;
    try {
      for (let i = 0; i < workers; i++) {
        // mediasoup's own logs go through the `debug` module (DEBUG=mediasoup*); its level is ours to raise
        const logLevel = (process.env['MEDIASOUP_LOG_LEVEL'] as 'debug' | 'warn' | undefined) ?? 'warn';
        const worker = await mediasoup.createWorker({
          logLevel,
          logTags: ['info', 'ice', 'dtls', 'srtp', 'rtp'],
        });
        engine.track(worker);
        const webRtcServer = await worker.createWebRtcServer({
          listenInfos: webRtcListenInfos(options.listen, i),
        });
        const router = await worker.createRouter({ mediaCodecs });
        engine.slots.push({ worker, router, webRtcServer, load: 0 });
      }
    } catch (error) {
      engine.close();
      throw error;
    }
    options.log.info({ workers, rtcPorts: await engine.webRtcPorts() }, 'mediasoup workers started');
    return engine;
  }

  /** The UDP and TCP ports each worker's WebRtcServer listens on, by worker. */
  async webRtcPorts(): Promise<{ udp: number[]; tcp: number[] }[]> {
    return Promise.all(
      this.slots.map(async ({ webRtcServer }) => {
        const dump = await webRtcServer.dump();
        return { udp: dump.udpSockets.map((s) => s.port), tcp: dump.tcpServers.map((s) => s.port) };
      }),
    );
  }

  /** Live mediasoup object counts, for metrics and leak checks. */
  objectCounts(): Readonly<typeof this.counts> {
    return { ...this.counts };
  }

  get rtpCapabilities(): ms.RtpCapabilities {
    return this.firstSlot().router.rtpCapabilities;
  }

  routers(): ms.Router[] {
    return this.slots.map((s) => s.router);
  }

  /** The router for a new transport: the least loaded one. Every part asks here, none chooses its own. */
  pickRouter(): ms.Router {
    return this.leastLoaded().router;
  }

  async createWebRtcTransport(): Promise<ms.WebRtcTransport> {
    const slot = this.leastLoaded();
    const transport = await slot.router.createWebRtcTransport({
      webRtcServer: slot.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
    });
    slot.load++;
    transport.observer.once('close', () => slot.load--);
    return transport;
  }

  /**
   * A plain RTP transport on loopback, on the least loaded router, for media this process relays itself
   * (a pull's incoming stream). comedia: it answers wherever our first packet came from.
   */
  async createLoopbackIngress(): Promise<ms.PlainTransport> {
    const slot = this.leastLoaded();
    const transport = await slot.router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      rtcpMux: true,
      comedia: true,
    });
    slot.load++;
    transport.observer.once('close', () => slot.load--);
    return transport;
  }

  routerOf(transport: ms.Transport): ms.Router {
    const slot = this.slots.find((s) => s.router.id === transport.appData['routerId']);
    if (slot) return slot.router;
    throw new Error('transport is not ours');
  }

  /** Makes producer (living on `from`) consumable on `to`. */
  /** Each worker's pid, CPU time used so far (user + system, ms) and peak RSS (bytes), for the console. */
  async workerUsage(): Promise<{ pid: number; cpuMs: number; maxRssBytes: number }[]> {
    return Promise.all(
      this.slots.map(async ({ worker }) => {
        const usage = await worker.getResourceUsage().catch(() => undefined);
        return {
          pid: worker.pid,
          cpuMs: usage ? usage.ru_utime + usage.ru_stime : 0,
          maxRssBytes: usage ? usage.ru_maxrss * 1024 : 0,
        };
      }),
    );
  }

  async ensureProducerOn(producerId: string, from: ms.Router, to: ms.Router): Promise<void> {
    await this.pipes.ensure(producerId, from, to);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) slot.worker.close();
  }

  private leastLoaded(): RouterSlot {
    let best = this.firstSlot();
    for (const slot of this.slots) if (slot.load < best.load) best = slot;
    return best;
  }

  private firstSlot(): RouterSlot {
    const slot = this.slots[0];
    if (!slot) throw new Error('media engine has no workers');
    return slot;
  }

  /** Counts every mediasoup object through the observer API, so leak checks see what the worker holds. */
  private track(worker: ms.Worker): void {
    const bump = (type: keyof typeof this.counts, by: number): void => {
      this.counts[type] += by;
      this.metrics.mediasoupObjects.set({ type }, this.counts[type]);
    };
    const follow = (
      type: keyof typeof this.counts,
      observer: { once(e: 'close', f: () => void): void },
    ): void => {
      bump(type, 1);
      observer.once('close', () => bump(type, -1));
    };
    follow('worker', worker.observer);
    worker.on('died', (error) => {
      this.metrics.errors.inc({ kind: 'worker' });
      this.log.error({ err: error, pid: worker.pid }, 'mediasoup worker died');
      if (!this.closed) this.onWorkerDied(error);
    });
    worker.observer.on('newrouter', (router) => {
      follow('router', router.observer);
      router.observer.on('newtransport', (transport) => {
        transport.appData['routerId'] = router.id;
        const pipe = transport.type === 'pipe';
        const type = pipe ? 'pipe_transport' : transport.type === 'direct' ? 'direct_transport' : 'transport';
        follow(type, transport.observer);
        transport.observer.on('newproducer', (p) => follow('producer', p.observer));
        transport.observer.on('newconsumer', (c) => follow('consumer', c.observer));
      });
    });
  }
}

/**
 * The sockets of worker `index`'s WebRtcServer: on the listen address, UDP and TCP port `rtcPort + index` (or,
 * with rtcPort 0, free ports of the RTC range). One UDP socket per announced address (a candidate each; they
 * share the port through SO_REUSEPORT); TCP carries the first announced address only, as a TCP port cannot be
 * shared.
 */
export function webRtcListenInfos(
  listen: MediaEngineOptions['listen'],
  index: number,
): ms.TransportListenInfo[] {
  const port =
    listen.rtcPort > 0
      ? { port: listen.rtcPort + index }
      : {
          portRange: { min: listen.rtcMinPort, max: listen.rtcMaxPort },
        };
  const announced = announcedIpsOf(listen);
  const shared = announced.length > 1;
  const udp = announced.map((announcedAddress): ms.TransportListenInfo => ({
    protocol: 'udp',
    ip: listen.ip,
    announcedAddress,
    ...port,
    ...(shared ? { flags: { udpReusePort: true } } : {}),
  }));
  return [...udp, { protocol: 'tcp', ip: listen.ip, announcedAddress: announced[0], ...port }];
}
