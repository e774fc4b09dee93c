#!/usr/bin/env bash
# Builds the Kubernetes binaries the tests and the local cluster run, from Debian's `kubernetes` source package
# (bookworm: 1.20.5+really1.20.2) with Debian's Go, the way debian/rules builds it:
#   kube-apiserver                             the operator tests' control plane (test/support/kube-cluster.ts)
#   kubelet kube-controller-manager kube-scheduler   the local node (npm run cluster:up, test/cluster/)
#   pause                                      the pod sandbox's process (build/pause/linux/pause.c, static)
# Only the missing ones are built, all in one `make WHAT=...` pass over one source tree.
#
# The source package is fetched with a private sources list (deb-src lines for the same Debian mirror and
# suites the system's apt uses), a private lists directory and a private apt cache: the system's apt
# configuration and state are never modified.
#
# Output: .cache/kube/<debian version>/<binary> (a version folder holding every asked-for binary is reused: the
# script then exits at once). The source tree lives in .cache/kube/.build, removed after a successful build
# (~2.5 GB while building). The last line on stdout is the version folder.
#
# Usage: build-kube.sh [binary...]   (default: all five)
# Environment:
#   KUBE_DEB_SRC     deb-src line(s) to use instead of the ones derived from the system's apt sources
#   KUBE_BUILD_JOBS  parallel compile jobs (default 2)
#   KUBE_BUILD_DIR   the build folder (default .cache/kube/.build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/kube"
jobs="${KUBE_BUILD_JOBS:-2}"
all=(kube-apiserver kubelet kube-controller-manager kube-scheduler pause)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${all[@]}")
for b in "${wanted[@]}"; do
  case " ${all[*]} " in *" $b "*) ;; *) echo "build-kube: unknown binary '$b' (one of: ${all[*]})" >&2; exit 2 ;; esac
done

has_all() { # version folder: 0 when every wanted binary is there
  local b
  for b in "${wanted[@]}"; do [ -x "$1/$b" ] || return 1; done
}
for dir in "$cache"/*/; do
  if [ -d "$dir" ] && has_all "${dir%/}"; then
    echo "kube (${wanted[*]}): cached" >&2
    echo "${dir%/}"
    exit 0
  fi
done

for cmd in apt-get dpkg-source go make rsync gcc; do
  command -v "$cmd" >/dev/null 2>&1 ||
    { echo "build-kube: '$cmd' is missing: run scripts/install-system-packages.sh" >&2; exit 1; }
done
reflect2=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -f "$reflect2/reflect2.go" ] ||
  { echo "build-kube: $reflect2 is missing (golang-github-modern-go-reflect2-dev)" >&2; exit 1; }

work="${KUBE_BUILD_DIR:-$cache/.build}"
dl="$work/download" # kept across failed attempts: apt-get source skips files it already has
mkdir -p "$dl" "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
chmod -R u+w "$work/src" "$work/gocache" 2>/dev/null || true
rm -rf "$work/src" "$work/gocache"

sources="$work/apt/sources.list"
if [ -n "${KUBE_DEB_SRC:-}" ]; then
  printf '%s\n' "$KUBE_DEB_SRC" >"$sources"
else
  bash "$root/scripts/debian-sources.sh" deb-src >"$sources"
fi
if [ ! -s "$sources" ]; then
  echo "build-kube: no Debian mirror found in the system's apt sources; set KUBE_DEB_SRC to a" \
    "deb-src line, e.g. 'deb-src http://deb.debian.org/debian bookworm main'" >&2
  exit 1
fi
echo "kube: fetching Debian's kubernetes source package with:" >&2
sed 's/^/  /' "$sources" >&2

# Private lists, cache and status: nothing under /etc/apt or /var/{lib,cache}/apt is read for sources or written.
apt_opts=(
  -o "Dir::Etc::SourceList=$sources" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache"
  -o APT::Get::Only-Source=true -o Acquire::Languages=none -o Debug::NoLocking=true
)
# As root, apt downloads as user _apt, who cannot write into the checkout: say so instead of warning about it.
[ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
# A failing third-party-looking entry must not stop us: `apt-get source` below fails clearly if nothing usable.
apt-get "${apt_opts[@]}" -qq update >&2 || echo "build-kube: apt-get update reported errors" >&2
# Which .dsc apt picks (asked from an empty folder: files already downloaded are not listed).
mkdir -p "$work/apt/probe"
dsc_name=$(cd "$work/apt/probe" && apt-get "${apt_opts[@]}" source --print-uris kubernetes |
  awk '$1 ~ /^'"'"'/ && $2 ~ /\.dsc$/ { print $2 }' | tail -n 1)
[ -n "$dsc_name" ] || { echo "build-kube: no kubernetes source package in those sources" >&2; exit 1; }
(cd "$dl" && apt-get "${apt_opts[@]}" -qq source --download-only kubernetes >&2)
version=${dsc_name#kubernetes_}
version=${version%.dsc}
out="$cache/$version"
missing=()
for b in "${wanted[@]}"; do [ -x "$out/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "kube $version (${wanted[*]}): cached" >&2
  echo "$out"
  exit 0
fi
echo "kube: building ${missing[*]} of $version (about 4 minutes for kube-apiserver alone, 10 for all, on 2 quiet cores)" >&2

# apt-get source already checked the files against the signed Sources index: no need for debian-keyring here.
dpkg-source --no-check -x "$dl/$dsc_name" "$work/src" >/dev/null
tree="$work/src"

# The vendored reflect2 1.0.1 segfaults under Go >= 1.18 on the first custom-resource create; Debian's 1.0.2
# is API-compatible and works.
rm -rf "$tree/vendor/github.com/modern-go/reflect2"
mkdir -p "$tree/vendor/github.com/modern-go/reflect2"
cp -r "$reflect2"/. "$tree/vendor/github.com/modern-go/reflect2/"
rm -rf "$tree/vendor/github.com/modern-go/reflect2/go.mod" "$tree/vendor/github.com/modern-go/reflect2/go.sum"

# As debian/rules does: GOPATH=<tree>/.go with .go/src/k8s.io/kubernetes linked to the tree, CGO off, then
# `make WHAT="cmd/..."` (plain `go build -mod=vendor` fails). The Makefile runs in GOPATH mode
# (hack/lib/init.sh sets GO111MODULE=off) from vendor/, so nothing is downloaded.
mkdir -p "$tree/.go/src/k8s.io"
ln -s ../../.. "$tree/.go/src/k8s.io/kubernetes"
log="$work/build.log"
what=()
for b in "${missing[@]}"; do [ "$b" = pause ] || what+=("cmd/$b"); done
if [ ${#what[@]} -gt 0 ] && ! (
  cd "$tree"
  export GOPATH="$tree/.go" CGO_ENABLED=0 GOCACHE="$work/gocache" GOPROXY=off GOTOOLCHAIN=local
  export GOMAXPROCS="$jobs" GOFLAGS="-p=$jobs" # at most $jobs parallel compile jobs
  make WHAT="${what[*]}"
) >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "build-kube: build failed; full log: $log" >&2
  exit 1
fi
# The pod sandbox's process: kubelet 1.20 runs k8s.gcr.io/pause:3.2, which no registry here serves;
# scripts/cluster/node-images.sh wraps this binary in a FROM scratch image of that name.
if [[ " ${missing[*]} " == *" pause "* ]]; then
  gcc -Os -static -o "$work/pause" "$tree/build/pause/linux/pause.c" >>"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; echo "build-kube: pause failed; full log: $log" >&2; exit 1; }
fi

# Install atomically (a half-copied binary must never look cached), then drop the sources and build cache.
mkdir -p "$out"
for b in "${missing[@]}"; do
  if [ "$b" = pause ]; then
    built="$work/pause"
  else
    built=$(find "$tree/_output" -type f -name "$b" -perm -u+x | head -n 1)
    [ -n "$built" ] || { echo "build-kube: $b was not produced; see $log" >&2; exit 1; }
    "$built" --version >&2
  fi
  cp "$built" "$out/$b.tmp"
  mv "$out/$b.tmp" "$out/$b"
done
chmod -R u+w "$work" 2>/dev/null || true # Go's module/build caches are read-only
rm -rf "$work"
echo "kube $version: built ${missing[*]}" >&2
echo "$out"
