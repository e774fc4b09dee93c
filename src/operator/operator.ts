import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../log.js';
import { StreamPushController, type ControllerOptions } from './controller.js';
import { FleetEndpoints } from './fleet-endpoints.js';
import { Kube } from './kube.js';
import { LeaderElector } from './leader-election.js';
import { MediaApi } from './media-api.js';
import { OperatorMetrics } from './operator-metrics.js';
import { OrphanSweep } from './orphan-sweep.js';
import { Reconciler } from './reconciler.js';

export interface OperatorConfig extends ControllerOptions {
  /** DNS suffix for Service references that do not resolve to pods. */
  clusterDomain: string;
  /** A kubeconfig file; in cluster (service account) when undefined. */
  kubeconfig?: string | undefined;
  mediaToken?: string | undefined;
  metricsHost: string;
  metricsPort: number;
  leaderElection: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity: string;
  leaseDurationSeconds: number;
  pendingRecheckMs: number;
}

/** The operator process: controller runs only while this replica holds the Lease; /metrics, /healthz always. */
export class Operator {
  readonly metrics = new OperatorMetrics();
  private readonly controller: StreamPushController;
  private readonly elector: LeaderElector | undefined;
  private readonly kube: Kube;
  private readonly server = http.createServer((req, res) => void this.serveHttp(req, res));

  constructor(
    readonly config: OperatorConfig,
    private readonly log: Logger,
  ) {
    const kc = new KubeConfig();
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromCluster();
    this.kube = new Kube(kc);
    const kube = this.kube;
    const media = new MediaApi(config.mediaToken);
    const endpoints = new FleetEndpoints(kube, media, log);
    const reconciler = new Reconciler(
      kube,
      media,
      endpoints,
      {
        clusterDomain: config.clusterDomain,
        component: 'streamfed-operator',
        pendingRecheckMs: config.pendingRecheckMs,
      },
      log,
      this.metrics,
    );
    const sweep = new OrphanSweep(media, endpoints, this.metrics, log, config.clusterDomain);
    this.controller = new StreamPushController(kube, reconciler, this.metrics, log, config, (objects) =>
      sweep.run(objects),
    );
    if (config.leaderElection) {
      this.elector = new LeaderElector(
        kube,
        {
          namespace: config.leaseNamespace,
          name: config.leaseName,
          identity: config.identity,
          leaseDurationSeconds: config.leaseDurationSeconds,
          retryPeriodMs: Math.max(500, (config.leaseDurationSeconds * 1000) / 4),
          // client-go's defaults keep the same ratio: 10 s of a 15 s lease
          renewDeadlineMs: (config.leaseDurationSeconds * 1000 * 2) / 3,
        },
        log,
      );
    }
  }

  get leading(): boolean {
    return this.elector ? this.elector.isLeader : true;
  }

  async start(): Promise<{ metricsPort: number }> {
    await new Promise<void>((resolve) =>
      this.server.listen(this.config.metricsPort, this.config.metricsHost, resolve),
    );
    if (this.elector) {
      this.elector.on('started', () => {
        this.metrics.leader.set(1);
        this.startController();
      });
      this.elector.on('stopped', () => {
        this.metrics.leader.set(0);
        void this.controller.stop();
      });
      this.elector.start();
    } else {
      this.metrics.leader.set(1);
      await this.controller.start();
    }
    const metricsPort = (this.server.address() as AddressInfo).port;
    this.log.info({ metricsPort, identity: this.config.identity }, 'operator started');
    return { metricsPort };
  }

  /** Starts the controller while this replica leads, trying again each second: a leader must reconcile. */
  private startController(): void {
    this.controller.start().catch((error: unknown) => {
      this.log.error({ err: error }, 'controller failed to start, trying again in 1 s');
      setTimeout(() => {
        if (this.leading) this.startController();
      }, 1000);
    });
  }

  async stop(): Promise<void> {
    await this.controller.stop();
    await this.elector?.stop();
    this.kube.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serveHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.url === '/metrics') {
      res.setHeader('content-type', this.metrics.registry.contentType);
      res.end(await this.metrics.registry.metrics());
    } else if (req.url === '/healthz' || req.url === '/readyz') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'ok', leader: this.leading }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  }
}
