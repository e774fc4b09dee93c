#!/usr/bin/env bash
# Renders the Helm chart into deploy/streamfed.yaml (CRDs included), the plain-manifest install:
#   kubectl create namespace streamfed && kubectl apply -n streamfed -f deploy/streamfed.yaml   (or -k deploy/)
# test/packaging checks that the committed file is exactly this rendering.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
helm=$(bash "$root/scripts/install-helm.sh" | tail -n 1)
{
  echo "# Rendered from charts/streamfed by scripts/render-manifests.sh; do not edit by hand."
  "$helm" template streamfed "$root/charts/streamfed" --namespace streamfed --include-crds
} >"$root/deploy/streamfed.yaml"
echo "$root/deploy/streamfed.yaml"
