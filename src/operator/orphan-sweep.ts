import type { Logger } from '../log.js';
import type { StreamPush } from './api.js';
import { desiredPush, type DesiredPush } from './desired.js';
import type { FleetEndpoints } from './fleet-endpoints.js';
import { sameIdentity, type MediaApi, type PushIdentity } from './media-api.js';
import type { OperatorMetrics } from './operator-metrics.js';

/**
 * Terminates pushes that no StreamPush owns, on every media server a StreamPush names: its `source.restUrl`,
 * or every member behind its `source.service` (where a push of a stream that moved may be left behind). A
 * push is owned when a StreamPush's status names it (on any server), or when it is what a StreamPush asks
 * for (stream, remote name, and target: the spec's, the status's, or any member behind `target.service`)
 * on a server that StreamPush may push from, which covers a push made but not yet in status. Run by the
 * operator after each resync; one sweep at a time.
 */
export class OrphanSweep {
  #running = false;

  constructor(
    private readonly media: MediaApi,
    private readonly endpoints: FleetEndpoints,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
    private readonly clusterDomain: string,
  ) {}

  async run(objects: readonly StreamPush[]): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      await this.#sweep(objects);
    } finally {
      this.#running = false;
    }
  }

  async #sweep(objects: readonly StreamPush[]): Promise<void> {
    const ids = new Set<string>();
    const owned = new Map<string, PushIdentity[]>();
    for (const o of objects) {
      if (o.status?.localMediaSessionId) ids.add(o.status.localMediaSessionId);
      let desired: DesiredPush;
      try {
        desired = desiredPush(o, this.clusterDomain);
      } catch {
        continue;
      }
      let servers: string[];
      let uris: string[];
      try {
        [servers, uris] = await Promise.all([this.#sources(desired), this.#targets(desired)]);
      } catch (error) {
        // a Service we cannot read: its members are not swept this time (nothing is known to be orphaned)
        this.log.debug({ err: error }, 'orphan check skipped for a StreamPush whose Service is unreadable');
        continue;
      }
      if (o.status?.sourceUrl) servers.push(o.status.sourceUrl);
      if (o.status?.targetUri) uris.push(o.status.targetUri);
      for (const server of new Set(servers)) {
        const entry = owned.get(server) ?? [];
        for (const uri of new Set(uris)) entry.push({ ...desired, uri });
        owned.set(server, entry);
      }
    }
    for (const [sourceUrl, identities] of owned) {
      try {
        for (const push of await this.media.findAll(sourceUrl)) {
          if (ids.has(push.localMediaSessionId) || identities.some((d) => sameIdentity(d, push))) continue;
          await this.media.terminate(sourceUrl, { localMediaSessionId: push.localMediaSessionId });
          this.metrics.orphansTerminated.inc();
          this.log.info(
            { sourceUrl, push: push.localMediaSessionId, uri: push.uri },
            'terminated a push no StreamPush owns',
          );
        }
      } catch (error) {
        this.log.debug({ err: error, sourceUrl }, 'orphan check skipped');
      }
    }
  }

  async #sources(desired: DesiredPush): Promise<string[]> {
    const members = desired.sourceService && (await this.endpoints.sourceMembers(desired.sourceService));
    return members ? members.map((m) => m.url) : [desired.sourceUrl];
  }

  async #targets(desired: DesiredPush): Promise<string[]> {
    const members = desired.targetService && (await this.endpoints.targetMembers(desired.targetService));
    return [desired.uri, ...(members ?? []).map((m) => m.url)];
  }
}
