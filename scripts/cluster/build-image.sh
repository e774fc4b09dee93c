#!/usr/bin/env bash
# Builds the project's image from its unmodified Dockerfile into the local cluster's dockerd (DOCKER_HOST), with
# host networking (the cluster's dockerd has no bridge). The mediasoup worker this checkout built is reused
# (see the Dockerfile). Prints the image's size, then its name as the last line.
# Usage: build-image.sh [name]   (default streamfed:dev)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
name="${1:-streamfed:dev}"
docker=/usr/bin/docker
export DOCKER_BUILDKIT=0 # the classic builder: BuildKit's frontend image cannot be pulled here
build=("$docker" build --network host --tag "$name" --label "streamfed.source=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)")
if [ -L "$root/.cache" ]; then
  # A worktree sharing another checkout's .cache through a symlink: docker would send the link, not the worker.
  # Send the same context with the link followed: .dockerignore's patterns applied by tar, then the worker.
  ctx=$(mktemp "${TMPDIR:-/tmp}/streamfed-context.XXXXXX.tar")
  trap 'rm -f "$ctx"' EXIT
  tar -C "$root" --anchored --exclude-from=<(grep -v -e '^#' -e '^!' -e '^$' "$root/.dockerignore" | sed 's|^|./|') \
    -cf "$ctx" .
  (cd "$root" && tar -rhf "$ctx" .cache/mediasoup-worker/*/mediasoup-worker 2>/dev/null) || true
  "${build[@]}" - <"$ctx" >&2
else
  "${build[@]}" "$root" >&2
fi
# The previous builds' images (untagged now) and the layers only they used: the data root stays its size.
"$docker" image prune --force --filter label=streamfed.source >/dev/null
echo "image $name: $("$docker" image inspect -f '{{.Size}}' "$name" | awk '{ printf "%.0f MB", $1 / 1e6 }')" >&2
echo "$name"
