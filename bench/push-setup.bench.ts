import { afterAll, beforeAll, it } from 'vitest';
import { spawnMedia, type MediaProcess } from '../test/support/media-process.js';
import { NodePeer } from '../test/support/node-peer.js';
import { ms, record, stats } from './report.js';
import { pushUntilPublishing, terminatePush } from './support/pushes.js';

const N = Number(process.env['BENCH_PUSHES'] ?? 50);

/**
 * Push setup time: /pull/push call until the push is PUBLISHING on the remote, against the same-run
 * baseline of a Node WebRTC client (same werift stack) publishing straight to the remote server.
 */
let s1: MediaProcess;
let s2: MediaProcess;
let source: NodePeer;

beforeAll(async () => {
  [s1, s2] = await Promise.all([spawnMedia(), spawnMedia()]);
  source = await NodePeer.publish(s1.wsUrl, 'src');
  await source.waitStatus('PUBLISHING');
});
afterAll(async () => {
  await source?.stop();
  await Promise.all([s1?.kill(), s2?.kill()]);
});

it('push setup time vs direct publish', async () => {
  const push: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < N; i++) {
    // alternate the two so drift on a noisy machine hits both alike
    const t0 = performance.now();
    // a fine poll: the figure is only as sharp as the poll that sees PUBLISHING
    const id = await pushUntilPublishing(
      s1.restUrl,
      { uri: s2.wsUrl, localStreamName: 'src', remoteStreamName: `p${i}` },
      10,
    );
    push.push(performance.now() - t0);
    await terminatePush(s1.restUrl, id);

    const t1 = performance.now();
    const peer = await NodePeer.publish(s2.wsUrl, `d${i}`);
    await peer.waitStatus('PUBLISHING');
    direct.push(performance.now() - t1);
    await peer.stop();
  }
  const p = stats(push);
  const d = stats(direct);
  record('push-setup', { unit: 'ms', push: p, baselineDirectPublish: d, overheadP50Ms: p.p50 - d.p50 }, [
    `push (REST call → remote PUBLISHING): p50 ${ms(p.p50)}, p95 ${ms(p.p95)} over ${p.n}`,
    `baseline, Node client publishing directly to the remote: p50 ${ms(d.p50)}, p95 ${ms(d.p95)}`,
    `push overhead at p50: ${ms(p.p50 - d.p50)}`,
  ]);
});
