#!/usr/bin/env bash
# Regenerates the committed artifacts that come from other sources: the Grafana dashboard JSON (from
# src/observability/grafana-dashboard.ts) and deploy/streamfed.yaml (from the Helm chart).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
npm run --silent build
node --input-type=module -e "
import { writeFileSync } from 'node:fs';
const { dashboard } = await import('./dist/observability/grafana-dashboard.js');
writeFileSync('charts/streamfed/files/grafana-dashboard.json', JSON.stringify(dashboard, null, 2) + '\n');
"
bash scripts/render-manifests.sh
