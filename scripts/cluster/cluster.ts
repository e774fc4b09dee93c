// npm run cluster:up | cluster:down: the local single-node Kubernetes (test/support/local-cluster.ts), run
// with vite-node so it shares the in-pod test's code.
import { clusterDir, clusterDown, clusterUp, releaseNamespace } from '../../test/support/local-cluster.js';

const command = process.argv[2];
const t0 = Date.now();
if (command === 'up') {
  try {
    const cluster = await clusterUp((line) => console.log(line));
    console.log(`\nimage streamfed:dev: ${Math.round(cluster.imageBytes / 1e6)} MB`);
    for (const [step, seconds] of cluster.timings) console.log(`${String(seconds).padStart(7)} s  ${step}`);
    console.log(`${String(Math.round((Date.now() - t0) / 1000)).padStart(7)} s  in all`);
    console.log(`
Cluster up (node 127.0.0.1, state in ${clusterDir}). Try:
  kubectl --kubeconfig ${cluster.kubeconfigPath} get pods -A
  kubectl --kubeconfig ${cluster.kubeconfigPath} -n ${releaseNamespace} logs statefulset/streamfed-media
  DOCKER_HOST=${cluster.dockerHost} /usr/bin/docker ps
Stop it with: npm run cluster:down`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
} else if (command === 'down') {
  const stopped = await clusterDown();
  console.log(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
} else {
  console.error('usage: cluster.ts up|down');
  process.exit(2);
}
