import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { StreamPush } from '../../src/operator/api.js';
import { packageRoot } from '../../src/paths.js';
import { framesKeepDecoding, launchBrowser } from '../support/browser.js';
import { kubectl, podReport } from '../support/kubectl.js';
import { dockerCli, runningProcesses } from '../support/kube-node.js';
import {
  clusterDir,
  clusterDown,
  clusterUp,
  imageName,
  localValues,
  releaseNamespace,
  type LocalCluster,
} from '../support/local-cluster.js';
import { fleetMembers } from '../support/media-fleet.js';
import { rest, waitFor } from '../support/media-server.js';
import { listPushes } from '../support/pushes.js';
import { getStreamPush, isActive, waitStreamPush } from '../support/stream-pushes.js';
import { run } from '../support/tools.js';
import { AutoRestorePage, PlayerPage, TwoWayStreamingPage } from '../support/websdk-page.js';

/**
 * The user's first hour, in the suite: the image built from the project's Dockerfile, a real single-node
 * Kubernetes (kubelet, scheduler, controller-manager; test/support/kube-node.ts), `helm install --wait` of the
 * chart with test/cluster/values.local.yaml (the same as `npm run cluster:up`), and browsers with the official
 * Web SDK talking to the media pods on their hostNetwork ports. Cold (nothing cached) the first step builds the
 * base images and the image; warm it takes about a minute.
 */
interface Pod {
  metadata: { name: string };
  spec: {
    serviceAccountName?: string;
    hostNetwork?: boolean;
    containers: { readinessProbe?: object; livenessProbe?: object }[];
  };
  status: {
    phase: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; restartCount: number; containerID?: string }[];
  };
}

const values = parse(readFileSync(localValues, 'utf8')) as {
  media: { ports: { ws: number; rest: number }; ordinalPortStride: number };
};
/** media-<ordinal>'s addresses on the node (127.0.0.1), as the chart derives them from the ordinal. */
const mediaPod = (ordinal: number) => {
  const offset = ordinal * values.media.ordinalPortStride;
  return {
    name: `streamfed-media-${ordinal}`,
    wsUrl: `ws://127.0.0.1:${values.media.ports.ws + offset}`,
    restUrl: `http://127.0.0.1:${values.media.ports.rest + offset}`,
  };
};
const podA = mediaPod(0);
const podB = mediaPod(1);
const STREAM = 'in-pod-camera';
/** The name a StreamPush publishes STREAM under on pod B: STREAM itself already plays on B through the fleet,
 * so a push of it into B is refused as a loop. */
const PUSHED = 'in-pod-camera-pushed';
/** Published on pod B and pushed by a StreamPush that names Services only, into the fleet under SERVICE_COPY. */
const SERVICE_STREAM = 'in-pod-by-services';
const SERVICE_COPY = 'in-pod-by-services-copy';
/** Published on pod A and played on pod B through the fleet alone (no StreamPush). */
const FLEET_STREAM = 'in-pod-fleet-camera';
const upLog = path.join(packageRoot, '.tmp/cluster-up.log');
const MINUTE = 60_000;

describe('in pods: the image on a real single-node Kubernetes, browsers through the media pods', () => {
  let cluster: LocalCluster;
  let browser: Browser;
  let publisher: TwoWayStreamingPage | undefined;

  const k = (...args: string[]) => kubectl(cluster.kubeconfigPath, ['-n', releaseNamespace, ...args]);
  const docker = (...args: string[]) =>
    run(dockerCli, args, { env: { DOCKER_HOST: cluster.dockerHost }, timeoutMs: 120_000 });
  const pods = async (): Promise<Pod[]> => {
    const r = await k('get', 'pods', '-o', 'json');
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { items: Pod[] }).items;
  };
  const ready = (pod: Pod | undefined): boolean =>
    pod?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const streamPush = (name: string) => ({
    apiVersion: 'streamfed.io/v1alpha1',
    kind: 'StreamPush',
    metadata: { name, namespace: releaseNamespace },
    spec: {
      source: { restUrl: podA.restUrl },
      localStreamName: STREAM,
      remoteStreamName: PUSHED,
      target: { uri: podB.wsUrl },
      retry: { initialDelaySeconds: 1, maxDelaySeconds: 2 },
    },
  });
  const getPush = (name: string) => getStreamPush(cluster.kubeconfigPath, name, releaseNamespace);
  const waitActive = async (
    name: string,
    what: string,
    also: (o: StreamPush) => boolean = () => true,
  ): Promise<StreamPush> => {
    try {
      return await waitStreamPush(cluster.kubeconfigPath, name, what, (o) => isActive(o) && also(o), {
        namespace: releaseNamespace,
        timeoutMs: 2 * MINUTE,
        intervalMs: 500,
      });
    } catch (error) {
      const status = JSON.stringify((await getPush(name))?.status, null, 2);
      throw new Error(
        `${String(error)}\nstatus: ${status}\n${await podReport(cluster.kubeconfigPath, releaseNamespace)}`,
        { cause: error },
      );
    }
  };
  /** kubectl apply of a StreamPush from pod A to pod B; resolves once it is Active. */
  const applyPush = async (name: string): Promise<StreamPush> => {
    const manifest = JSON.stringify(streamPush(name));
    const applied = await kubectl(cluster.kubeconfigPath, ['apply', '-f', '-'], manifest);
    expect(applied.code, applied.stderr).toBe(0);
    return waitActive(name, `StreamPush ${name} Active`);
  };
  /** docker kill of a pod's container (kubelet will restart it). */
  const killContainer = async (name: string): Promise<void> => {
    const pod = (await pods()).find((p) => p.metadata.name === name);
    const containerId = pod?.status.containerStatuses?.[0]?.containerID?.replace(/^docker:\/\//, '');
    expect(containerId).toMatch(/^[0-9a-f]{64}$/);
    const killed = await docker('kill', containerId as string);
    expect(killed.code, killed.stderr).toBe(0);
  };
  /** Resolves once kubelet restarted the pod's container and the pod is Ready again. */
  const restarted = (name: string): Promise<unknown> =>
    waitFor(
      async () => {
        const pod = (await pods()).find((p) => p.metadata.name === name);
        return (pod?.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && ready(pod);
      },
      `${name} restarted by kubelet and Ready again`,
      3 * MINUTE,
      1000,
    );
  /** Plays a stream from pod B in the official Player page until frames keep decoding, then stops. */
  const playsFromB = async (name = PUSHED): Promise<void> => {
    const player = await PlayerPage.open(browser, podB.restUrl, podB.wsUrl, name);
    await player.waitStatus('PLAYING', MINUTE);
    await framesKeepDecoding(player, 'from pod B', MINUTE);
    await player.stop();
    await player.waitStatus('STOPPED');
    await player.page.close();
  };

  beforeAll(async () => {
    // The builds' and the node's progress go to a file; the timings are printed.
    mkdirSync(path.dirname(upLog), { recursive: true });
    writeFileSync(upLog, '');
    cluster = await clusterUp((line) => appendFileSync(upLog, `${line}\n`));
    console.log(
      `cluster:up (details in ${upLog}):\n` +
        cluster.timings.map(([step, s]) => `${String(s).padStart(7)} s  ${step}`).join('\n'),
    );
    browser = await launchBrowser();
  }, 50 * MINUTE); // cold: base images and the image are built first (kube binaries come from npm run setup)

  afterAll(async () => {
    await browser?.close();
    await clusterDown(); // idempotent: after a failure too
  }, 3 * MINUTE);

  it(
    'the image: non-root, `media --help` works, the mediasoup worker starts in it; its size',
    async () => {
      expect(cluster.imageBytes).toBeGreaterThan(0);
      console.log(`image ${imageName}: ${Math.round(cluster.imageBytes / 1e6)} MB`);
      const user = await docker('image', 'inspect', '-f', '{{.Config.User}}', imageName);
      expect(user.stdout.trim()).toBe('node');
      const id = await docker('run', '--rm', '--network', 'host', '--entrypoint', 'id', imageName);
      expect(id.stdout).toMatch(/^uid=1000\(node\) gid=1000\(node\)/);
      const help = await docker('run', '--rm', '--network', 'host', imageName, 'media', '--help');
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain('--ordinal-port-stride');
      // The worker's runtime libraries are there: it started in both media pods.
      for (const pod of [podA, podB]) {
        const logs = await k('logs', pod.name);
        expect(logs.stdout).toContain('mediasoup workers started');
      }
    },
    5 * MINUTE,
  );

  it(
    'helm install --wait: media pods on their own hostNetwork ports and the operator, Running and Ready; probes pass; the operator leads on its service account',
    async () => {
      const all = await pods();
      const media = all.filter((p) => p.metadata.name.startsWith('streamfed-media-'));
      const operator = all.filter((p) => p.metadata.name.startsWith('streamfed-operator-'));
      expect(media.map((p) => p.metadata.name).sort()).toEqual([podA.name, podB.name]);
      expect(operator).toHaveLength(1);
      for (const pod of [...media, ...operator]) {
        expect(pod.status.phase).toBe('Running');
        expect(ready(pod), `${pod.metadata.name} Ready`).toBe(true);
        expect(pod.spec.hostNetwork).toBe(true);
        expect(pod.spec.containers[0]?.readinessProbe).toBeDefined();
        expect(pod.spec.containers[0]?.livenessProbe).toBeDefined();
      }
      // Each pod answers on the ports derived from its ordinal (what its exec probes ask too).
      for (const pod of [podA, podB]) expect((await fetch(`${pod.restUrl}/readyz`)).status).toBe(200);
      const op = operator[0] as Pod;
      expect(op.spec.serviceAccountName).toBe('streamfed-operator');
      const lease = await k('get', 'lease', 'streamfed-operator', '-o', 'jsonpath={.spec.holderIdentity}');
      expect(lease.stdout).toMatch(new RegExp(`^${op.metadata.name}-\\d+$`));
      // Liveness keeps passing: past three liveness periods, nobody was restarted.
      await new Promise((resolve) => setTimeout(resolve, 35_000));
      const report = await podReport(cluster.kubeconfigPath, releaseNamespace);
      for (const pod of await pods()) {
        expect(pod.status.containerStatuses?.[0]?.restartCount, `${pod.metadata.name}\n${report}`).toBe(0);
        expect(ready(pod), `${pod.metadata.name} still Ready`).toBe(true);
      }
    },
    5 * MINUTE,
  );

  it(
    "one fleet: each pod lists the other; published on pod A, the Player on pod B plays it through the fleet (no StreamPush); pod A's container killed → the player FAILED, and once A is back and republished B plays again",
    async () => {
      for (const [own, other] of [
        [podA, podB],
        [podB, podA],
      ] as const) {
        const members = await waitFor(
          async () => {
            const list = await fleetMembers(own.restUrl);
            return list.some((m) => m.memberId === other.name && m.up) ? list : undefined;
          },
          `${own.name} lists ${other.name} up`,
          MINUTE,
        );
        // found through the API server at the rest port the other pod's ordinal gives it; never itself
        expect(members.find((m) => m.memberId === other.name)?.restUrl).toBe(other.restUrl);
        expect(members.filter((m) => m.memberId === own.name && m.up)).toEqual([]);
      }

      const first = await TwoWayStreamingPage.open(browser, podA.restUrl, podA.wsUrl);
      await first.publish(FLEET_STREAM);
      await first.waitPublishStatus('PUBLISHING');
      const pushes = await k('get', 'streampush', '-o', 'name');
      expect(pushes.code, pushes.stderr).toBe(0);
      expect(pushes.stdout.trim()).toBe('');
      const player = await PlayerPage.open(browser, podB.restUrl, podB.wsUrl, FLEET_STREAM);
      await player.waitStatus('PLAYING', MINUTE);
      await framesKeepDecoding(player, 'on pod B', MINUTE);
      const onB = await rest(podB.restUrl, '/rest-api/stream/find', { name: FLEET_STREAM, published: true });
      expect(onB.body).toEqual([expect.objectContaining({ relayed: true, origin: podA.name })]);

      const killedAt = Date.now();
      await killContainer(podA.name);
      // the origin's control channel to B closed with its process: B's player FAILED (5 s promised and
      // proven in test/fleet/fleet-websdk.test.ts; the deadline here is generous for a loaded node)
      await player.waitStatus('FAILED', 20_000);
      console.log(`docker kill of pod A → the player on pod B FAILED after ${Date.now() - killedAt} ms`);
      await player.page.close();
      await first.page.close();

      await restarted(podA.name);
      const again = await TwoWayStreamingPage.open(browser, podA.restUrl, podA.wsUrl);
      await again.publish(FLEET_STREAM);
      await again.waitPublishStatus('PUBLISHING', MINUTE);
      await playsFromB(FLEET_STREAM);
      await again.stopPublishing();
      await again.waitPublishStatus('UNPUBLISHED');
      await again.page.close();
    },
    10 * MINUTE,
  );

  it(
    'Chromium publishes to pod A, a StreamPush pushes it to pod B under another name, the Player plays it from pod B; kubectl delete ends the push',
    async () => {
      publisher = await TwoWayStreamingPage.open(browser, podA.restUrl, podA.wsUrl);
      await publisher.publish(STREAM);
      await publisher.waitPublishStatus('PUBLISHING');

      const active = await applyPush('camera-to-b');
      expect(active.status).toMatchObject({
        pushStatus: 'PUBLISHING',
        sourceUrl: podA.restUrl,
        targetUri: podB.wsUrl,
      });
      await playsFromB();

      // a player on pod B while the StreamPush is deleted: the push ends, and the player hears it
      const player = await PlayerPage.open(browser, podB.restUrl, podB.wsUrl, PUSHED);
      await player.waitStatus('PLAYING', MINUTE);
      const deleted = await k('delete', 'streampush', 'camera-to-b', '--timeout=60s');
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(await listPushes(podA.restUrl)).toEqual([]);
      await player.waitStatus('STOPPED', 30_000);
      await player.page.close();
      await waitFor(
        async () => (await rest(podB.restUrl, '/rest-api/stream/find', { name: PUSHED })).status === 404,
        'the stream gone from pod B',
        30_000,
      );
    },
    8 * MINUTE,
  );

  it(
    "killing pod B's container: kubelet restarts it and the operator pushes again",
    async () => {
      const first = await applyPush('survives-b');
      await playsFromB();

      await killContainer(podB.name);
      await restarted(podB.name);
      const again = await waitActive(
        'survives-b',
        'pushed again after pod B restarted',
        (o) => o.status?.localMediaSessionId !== first.status?.localMediaSessionId,
      );
      expect(again.status?.pushStatus).toBe('PUBLISHING');
      await playsFromB();

      const deleted = await k('delete', 'streampush', 'survives-b', '--timeout=60s');
      expect(deleted.code, deleted.stderr).toBe(0);
      await publisher?.stopPublishing();
      await publisher?.waitPublishStatus('UNPUBLISHED');
    },
    10 * MINUTE,
  );

  it(
    'a StreamPush naming only Services: the operator finds the pod that publishes (pod B, at the port its ordinal gives it) and pushes once into the fleet (pod A); the copy plays on pod B',
    async () => {
      const onB = await TwoWayStreamingPage.open(browser, podB.restUrl, podB.wsUrl);
      try {
        await onB.publish(SERVICE_STREAM);
        await onB.waitPublishStatus('PUBLISHING', MINUTE);
        const service = { name: 'streamfed-media' };
        const manifest = {
          apiVersion: 'streamfed.io/v1alpha1',
          kind: 'StreamPush',
          metadata: { name: 'by-services', namespace: releaseNamespace },
          spec: {
            source: { service: { ...service, port: values.media.ports.rest } },
            localStreamName: SERVICE_STREAM,
            remoteStreamName: SERVICE_COPY,
            target: { service: { ...service, port: values.media.ports.ws } },
            retry: { initialDelaySeconds: 1, maxDelaySeconds: 2 },
          },
        };
        const applied = await kubectl(cluster.kubeconfigPath, ['apply', '-f', '-'], JSON.stringify(manifest));
        expect(applied.code, applied.stderr).toBe(0);
        const active = await waitActive('by-services', 'StreamPush by-services Active');
        expect(active.status).toMatchObject({
          sourcePod: podB.name,
          sourceUrl: podB.restUrl,
          targetPod: podA.name,
          targetUri: podA.wsUrl,
        });
        // once into the fleet: one push, from pod B; the copy originates on pod A
        expect(await listPushes(podB.restUrl)).toHaveLength(1);
        expect(await listPushes(podA.restUrl)).toEqual([]);
        await playsFromB(SERVICE_COPY);
        const deleted = await k('delete', 'streampush', 'by-services', '--timeout=60s');
        expect(deleted.code, deleted.stderr).toBe(0);
        expect(await listPushes(podB.restUrl)).toEqual([]);
        await onB.stopPublishing();
        await onB.waitPublishStatus('UNPUBLISHED');
      } finally {
        await onB.page.close();
      }
    },
    8 * MINUTE,
  );

  it(
    'kubectl logs of the media and operator pods show no errors',
    async () => {
      const names = (await pods()).map((p) => p.metadata.name);
      expect(names).toHaveLength(3);
      for (const name of names) {
        const logs = await k('logs', name);
        expect(logs.code, logs.stderr).toBe(0);
        const lines = logs.stdout.split('\n').filter(Boolean);
        expect(lines.length, `${name} logged`).toBeGreaterThan(0);
        const errors = lines.filter((line) => {
          try {
            return (JSON.parse(line) as { level?: number }).level! >= 50; // pino: 50 error, 60 fatal
          } catch {
            return true; // not a log record: a crash trace or stray output
          }
        });
        expect(errors, `errors in kubectl logs ${name}`).toEqual([]);
      }
    },
    2 * MINUTE,
  );

  it(
    'kubectl rollout restart of the media StatefulSet: the unmodified stream-auto-restore page publishes again by itself, on a pod that is up',
    async () => {
      // No Service endpoints on this node (see ../shared/kubernetes-node.md): the page talks to pod A's port,
      // which the restarted pod A listens on again.
      const page = await AutoRestorePage.open(browser, AutoRestorePage.url(podA.restUrl), podA.wsUrl);
      const name = await page.streamName();
      const restarted = await k('rollout', 'restart', 'statefulset/streamfed-media');
      expect(restarted.code, restarted.stderr).toBe(0);
      await page.waitPublishStatus('FAILED', 3 * MINUTE); // pod A drained, then cut the session
      const status = await k('rollout', 'status', 'statefulset/streamfed-media', '--timeout=240s');
      expect(status.code, status.stderr).toBe(0);
      await page.waitPublishStatus('PUBLISHING', 2 * MINUTE);
      const found = await rest(podA.restUrl, '/rest-api/stream/find', { name });
      expect(found.status).toBe(200);
      expect(ready((await pods()).find((p) => p.metadata.name === podA.name))).toBe(true);
      await page.page.close();
    },
    8 * MINUTE,
  );

  it(
    'cluster:down leaves no process and no mount behind',
    async () => {
      const stopped = await clusterDown();
      expect(stopped).toEqual(expect.arrayContaining(['kubelet', 'kube-apiserver', 'etcd', 'dockerd']));
      expect(runningProcesses(clusterDir)).toEqual([]);
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .map((line) => line.split(' ')[4] ?? '')
        .filter(
          (m) =>
            m.includes('/.cache/cluster') || m.includes('/.cache/docker') || m.startsWith('/run/streamfed-'),
        );
      expect(mounts).toEqual([]);
      const ps = await run('ps', ['-eo', 'stat=,args=']);
      const ours = ps.stdout
        .split('\n')
        .filter((line) => !line.trim().startsWith('Z')) // zombies hold nothing; pid 1 here does not reap
        .filter((line) => /\/\.cache\/(cluster|docker)\b|\/run\/streamfed-/.test(line));
      expect(ours).toEqual([]);
    },
    3 * MINUTE,
  );
});
