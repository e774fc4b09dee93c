#!/usr/bin/env bash
# Builds a real kube-apiserver for the operator tests from Debian's `kubernetes` source package with Debian's
# Go, without touching the system's apt configuration (a private sources list and state directory).
# Output: .cache/kube/<debian version>/kube-apiserver (reused when present).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/kube"
existing=$(ls "$cache"/*/kube-apiserver 2>/dev/null | head -n 1 || true)
if [ -n "$existing" ] && [ -x "$existing" ]; then
  echo "kube-apiserver: cached"
  echo "$existing"
  exit 0
fi
mkdir -p "$cache"
work="$cache/work"
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/archives/partial"

# deb-src lines for the same mirror and suite the system uses for its main archive.
sources="$work/sources.list"
{
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    awk '/^URIs:/{u=$2} /^Suites:/{s=$2} /^$/{if(u&&s&&u!~/security/) print "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " u " " s " main"; u=s=""} END{if(u&&s&&u!~/security/) print "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " u " " s " main"}' /etc/apt/sources.list.d/debian.sources
  fi
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb ' /etc/apt/sources.list | grep -v security | sed -E 's/^deb (\[[^]]*\] )?/deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] /'
  fi
} | sort -u >"$sources"
[ -s "$sources" ] || { echo "cannot find the system's Debian mirror in /etc/apt" >&2; exit 1; }
apt_opts=(-o "Dir::Etc::SourceList=$sources" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache::Archives=$work/archives" -o APT::Get::Only-Source=true)
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only -qq kubernetes)
dsc=$(ls "$work"/kubernetes_*.dsc | head -n 1)
version=$(basename "$dsc" .dsc | sed 's/^kubernetes_//')
(cd "$work" && dpkg-source --no-check -x "$dsc" src >/dev/null)
tree="$work/src"

# The vendored reflect2 1.0.1 crashes under Go 1.19 on the first custom-resource create; Debian's 1.0.2 works.
rm -rf "$tree/vendor/github.com/modern-go/reflect2"
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$tree/vendor/github.com/modern-go/reflect2"

# Build as debian/rules does: a GOPATH with k8s.io/kubernetes linked to the tree.
mkdir -p "$work/gopath/src/k8s.io"
ln -s "$tree" "$work/gopath/src/k8s.io/kubernetes"
(
  cd "$work/gopath/src/k8s.io/kubernetes"
  export GOPATH="$work/gopath" GOCACHE="$work/gocache" GO111MODULE=off GOFLAGS= GOPROXY=off
  make WHAT=cmd/kube-apiserver GOFLAGS=-p=2 KUBE_VERBOSE=0 >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log" >&2; exit 1; }
)
built=$(find "$tree/_output" -type f -name kube-apiserver | head -n 1)
[ -n "$built" ] || { echo "kube-apiserver was not produced" >&2; exit 1; }
mkdir -p "$cache/$version"
cp "$built" "$cache/$version/kube-apiserver"
rm -rf "$work"
echo "kube-apiserver $version: built"
echo "$cache/$version/kube-apiserver"
