#!/usr/bin/env bash
# The base images the Dockerfile starts FROM, made locally because no container registry is reachable:
# node:20-bookworm-slim and node:20-bookworm, each a Debian bookworm root filesystem bootstrapped with mmdebstrap
# from the system's own Debian mirror (scripts/debian-sources.sh), with this machine's Node 20 (node, npm,
# corepack) and a `node` user (uid/gid 1000) as in the official images. The full one adds what the official
# one has for native builds (git, python3, make, g++, pkg-config, curl).
# The machine's extra CA certificates (e.g. a proxy's) go into both, with NODE_EXTRA_CA_CERTS set, so npm and
# apt inside a build trust what the machine trusts; so does its apt Acquire:: configuration.
# Also k8s.gcr.io/pause:3.2 (what kubelet 1.20 runs as the pod sandbox): the pause binary that
# scripts/build-kube.sh built, in an image of its own.
#
# Images are skipped when present with the same recipe (label streamfed.base-recipe). About 3 minutes cold.
# Usage: base-images.sh <kube version folder>   (needs DOCKER_HOST pointing at the cluster's dockerd)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
kube_dir="${1:?usage: base-images.sh <kube version folder>}"
docker=/usr/bin/docker # Debian's client; a different one may come first on PATH
node_bin=$(command -v node)
node_version=$("$node_bin" --version)
node_major=${node_version#v}
node_major=${node_major%%.*}
node_modules=$(dirname "$(dirname "$(readlink -f "$node_bin")")")/lib/node_modules
[ -d "$node_modules/npm" ] || { echo "base-images: npm not found under $node_modules" >&2; exit 1; }

work="$root/.cache/base-images"
mkdir -p "$work"
sources="$work/sources.list"
bash "$root/scripts/debian-sources.sh" deb >"$sources"
[ -s "$sources" ] || { echo "base-images: no Debian entry in the system's apt sources" >&2; exit 1; }
suite=$(awk '{ sub(/\[[^]]*\] /, ""); print $3; exit }' "$sources")
# The machine's apt settings that matter for fetching (e.g. Check-Valid-Until off for a snapshot mirror), without hooks.
aptopts=()
for f in /etc/apt/apt.conf.d/*; do
  [ -f "$f" ] && grep -q 'Acquire::' "$f" && ! grep -q 'Invoke' "$f" && aptopts+=("--aptopt=$f")
done
extra_cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${extra_cas[0]}" ] || extra_cas=()

recipe=$(cat "$0" "$sources" "${extra_cas[@]}" "${aptopts[@]#--aptopt=}" | sha256sum | cut -c1-16)-$node_version
has_image() { # name: 0 when present with this recipe
  [ "$("$docker" image inspect -f '{{index .Config.Labels "streamfed.base-recipe"}}' "$1" 2>/dev/null)" = "$recipe" ]
}

bootstrap() { # tag, extra packages (comma-separated, may be empty)
  local tag=$1 include=$2 tar="$work/${1//[:\/]/_}.tar"
  if has_image "$tag"; then echo "base image $tag: present" >&2; return; fi
  echo "base image $tag: bootstrapping $suite with mmdebstrap (node $node_version)" >&2
  local ca_hooks=()
  if [ ${#extra_cas[@]} -gt 0 ]; then
    ca_hooks=(--customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"')
    for c in "${extra_cas[@]}"; do ca_hooks+=(--customize-hook="copy-in $c /usr/local/share/ca-certificates"); done
    ca_hooks+=(--customize-hook='chroot "$1" update-ca-certificates >/dev/null')
  fi
  mmdebstrap --quiet --variant=minbase --include="ca-certificates${include:+,$include}" "${aptopts[@]}" \
    --customize-hook="copy-in $node_bin /usr/local/bin" \
    --customize-hook='mkdir -p "$1/usr/local/lib/node_modules"' \
    --customize-hook="copy-in $node_modules/npm $node_modules/corepack /usr/local/lib/node_modules" \
    --customize-hook='chroot "$1" sh -c "cd /usr/local/bin && ln -s ../lib/node_modules/npm/bin/npm-cli.js npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js npx && ln -s ../lib/node_modules/corepack/dist/corepack.js corepack"' \
    --customize-hook='chroot "$1" sh -c "groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node"' \
    "${ca_hooks[@]}" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$suite" "$tar" "$sources" >&2
  "$docker" import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV NODE_VERSION=${node_version#v} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" \
    --change "LABEL streamfed.base-recipe=$recipe" \
    --change 'CMD ["node"]' \
    "$tar" "$tag" >/dev/null
  rm -f "$tar"
  echo "base image $tag: imported" >&2
}

bootstrap "node:$node_major-bookworm-slim" ""
bootstrap "node:$node_major-bookworm" "git,python3,make,g++,pkg-config,curl,procps"

pause="$kube_dir/pause"
[ -x "$pause" ] || { echo "base-images: $pause is missing: run scripts/build-kube.sh" >&2; exit 1; }
pause_recipe=$(sha256sum "$pause" | cut -c1-16)
if [ "$("$docker" image inspect -f '{{index .Config.Labels "streamfed.base-recipe"}}' k8s.gcr.io/pause:3.2 2>/dev/null)" = "$pause_recipe" ]; then
  echo "k8s.gcr.io/pause:3.2: present" >&2
else
  tar -C "$kube_dir" -c pause |
    "$docker" import --change 'ENTRYPOINT ["/pause"]' --change "LABEL streamfed.base-recipe=$pause_recipe" - k8s.gcr.io/pause:3.2 >/dev/null
  echo "k8s.gcr.io/pause:3.2: imported" >&2
fi
