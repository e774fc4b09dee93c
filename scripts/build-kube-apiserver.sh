#!/usr/bin/env bash
# Builds a real kube-apiserver for the operator tests from Debian's `kubernetes` source package (bookworm:
# 1.20.5+really1.20.2) with Debian's Go, the way debian/rules builds it.
#
# The source package is fetched with a private sources list (deb-src lines for the same Debian mirror and
# suites the system's apt uses), a private lists directory and a private apt cache: the system's apt
# configuration and state are never modified.
#
# Output: .cache/kube/<debian version>/kube-apiserver (reused when present: the script then exits at once).
# Everything else lives in .cache/kube/.build, removed after a successful build (~2 GB while building).
# The last line on stdout is the binary's path.
#
# Environment:
#   KUBE_DEB_SRC   deb-src line(s) to use instead of the ones derived from the system's apt sources
#   KUBE_BUILD_JOBS  parallel compile jobs (default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/kube"
jobs="${KUBE_BUILD_JOBS:-2}"

for f in "$cache"/*/kube-apiserver; do
  if [ -f "$f" ] && [ -x "$f" ]; then
    echo "kube-apiserver: cached" >&2
    echo "$f"
    exit 0
  fi
done

for cmd in apt-get dpkg-source go make rsync etcd; do
  command -v "$cmd" >/dev/null 2>&1 ||
    { echo "build-kube-apiserver: '$cmd' is missing: run scripts/install-system-packages.sh" >&2; exit 1; }
done
reflect2=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -f "$reflect2/reflect2.go" ] ||
  { echo "build-kube-apiserver: $reflect2 is missing (golang-github-modern-go-reflect2-dev)" >&2; exit 1; }

work="$cache/.build"
dl="$work/download" # kept across failed attempts: apt-get source skips files it already has
mkdir -p "$dl" "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
rm -rf "$work/src" "$work/gocache"

# --- A private sources list: deb-src for each Debian entry of the system's apt sources ----------------------
# Both formats are read: one-line (sources.list, *.list) and deb822 (*.sources). An entry counts as Debian's
# when it is signed by the Debian archive keyring or its URI has a /debian path; signed-by, trusted and
# check-valid-until (snapshot mirrors) are carried over. Duplicates are dropped.
sources="$work/apt/sources.list"
if [ -n "${KUBE_DEB_SRC:-}" ]; then
  printf '%s\n' "$KUBE_DEB_SRC" >"$sources"
else
  SL=/etc/apt/sources.list SP=/etc/apt/sources.list.d/
  eval "$(apt-config shell SL Dir::Etc::sourcelist/f SP Dir::Etc::sourceparts/d)"
  list_files=() deb822_files=()
  [ -f "$SL" ] && list_files+=("$SL")
  for f in "$SP"/*.list; do [ -f "$f" ] && list_files+=("$f"); done
  for f in "$SP"/*.sources; do [ -f "$f" ] && deb822_files+=("$f"); done
  {
    if [ ${#list_files[@]} -gt 0 ]; then
      awk '
        { sub(/#.*/, "") }
        $1 != "deb" && $1 != "deb-src" { next }
        {
          i = 2; opts = ""; signed = ""
          if ($2 ~ /^\[/) {
            s = ""
            for (; i <= NF; i++) { s = s " " $i; if ($i ~ /\]$/) { i++; break } }
            gsub(/[][]/, " ", s); n = split(s, o, " ")
            for (j = 1; j <= n; j++) {
              if (o[j] ~ /^(signed-by|trusted|check-valid-until)=/) opts = opts " " o[j]
              if (o[j] ~ /^signed-by=/) signed = o[j]
            }
          }
          uri = $i; rest = ""
          for (k = i + 1; k <= NF; k++) rest = rest " " $k
          if (uri ~ /^cdrom:/ || rest == "") next
          if (signed !~ /debian-archive-keyring/ && uri !~ /\/debian/) next
          sub(/^ /, "", opts)
          print "deb-src " (opts != "" ? "[" opts "] " : "") uri rest
        }' "${list_files[@]}"
    fi
    if [ ${#deb822_files[@]} -gt 0 ]; then
      for f in "${deb822_files[@]}"; do
        awk '
          BEGIN { RS = ""; FS = "\n" }
          {
            types = ""; uris = ""; suites = ""; comps = ""; signed = ""; trusted = ""; cvu = ""
            enabled = "yes"; key = ""
            for (i = 1; i <= NF; i++) {
              line = $i
              if (line ~ /^#/) continue
              if (line ~ /^[ \t]/) { if (key == "signed-by") signed = "inline"; continue }
              p = index(line, ":"); if (!p) continue
              key = tolower(substr(line, 1, p - 1)); val = substr(line, p + 1)
              gsub(/^[ \t]+|[ \t]+$/, "", val)
              if (key == "types") types = val
              else if (key == "uris") uris = val
              else if (key == "suites") suites = val
              else if (key == "components") comps = val
              else if (key == "signed-by") signed = val
              else if (key == "trusted") trusted = val
              else if (key == "check-valid-until") cvu = val
              else if (key == "enabled") enabled = tolower(val)
            }
            if (enabled == "no" || (" " types " ") !~ / deb(-src)? / || uris == "" || suites == "") next
            if (signed !~ /debian-archive-keyring/ && uris !~ /\/debian/) next
            opts = ""
            if (signed != "" && signed != "inline") { s = signed; gsub(/[ \t]+/, ",", s); opts = opts " signed-by=" s }
            if (trusted != "") opts = opts " trusted=" trusted
            if (cvu != "") opts = opts " check-valid-until=" cvu
            sub(/^ /, "", opts)
            nu = split(uris, u, /[ \t]+/); ns = split(suites, s2, /[ \t]+/)
            for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) {
              if (u[a] ~ /^cdrom:/) continue
              print "deb-src " (opts != "" ? "[" opts "] " : "") u[a] " " s2[b] (comps != "" ? " " comps : "")
            }
          }' "$f"
      done
    fi
  } | awk '!seen[$0]++' >"$sources"
fi
if [ ! -s "$sources" ]; then
  echo "build-kube-apiserver: no Debian mirror found in the system's apt sources; set KUBE_DEB_SRC to a" \
    "deb-src line, e.g. 'deb-src http://deb.debian.org/debian bookworm main'" >&2
  exit 1
fi
echo "kube-apiserver: fetching Debian's kubernetes source package with:" >&2
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
apt-get "${apt_opts[@]}" -qq update >&2 || echo "build-kube-apiserver: apt-get update reported errors" >&2
# Which .dsc apt picks (asked from an empty folder: files already downloaded are not listed).
mkdir -p "$work/apt/probe"
dsc_name=$(cd "$work/apt/probe" && apt-get "${apt_opts[@]}" source --print-uris kubernetes |
  awk '$1 ~ /^'"'"'/ && $2 ~ /\.dsc$/ { print $2 }' | tail -n 1)
[ -n "$dsc_name" ] || { echo "build-kube-apiserver: no kubernetes source package in those sources" >&2; exit 1; }
(cd "$dl" && apt-get "${apt_opts[@]}" -qq source --download-only kubernetes >&2)
version=${dsc_name#kubernetes_}
version=${version%.dsc}
echo "kube-apiserver: building $version (about 4 minutes on 2 cores)" >&2

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
# `make WHAT=cmd/kube-apiserver` (plain `go build -mod=vendor` fails). The Makefile runs in GOPATH mode
# (hack/lib/init.sh sets GO111MODULE=off) from vendor/, so nothing is downloaded.
mkdir -p "$tree/.go/src/k8s.io"
ln -s ../../.. "$tree/.go/src/k8s.io/kubernetes"
log="$work/build.log"
if ! (
  cd "$tree"
  export GOPATH="$tree/.go" CGO_ENABLED=0 GOCACHE="$work/gocache" GOPROXY=off GOTOOLCHAIN=local
  export GOMAXPROCS="$jobs" GOFLAGS="-p=$jobs" # at most $jobs parallel compile jobs
  make WHAT=cmd/kube-apiserver
) >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "build-kube-apiserver: build failed; full log: $log" >&2
  exit 1
fi
built=$(find "$tree/_output" -type f -name kube-apiserver -perm -u+x | head -n 1)
[ -n "$built" ] || { echo "build-kube-apiserver: kube-apiserver was not produced; see $log" >&2; exit 1; }
"$built" --version >&2

# Install atomically (a half-copied binary must never look cached), then drop the sources and build cache.
mkdir -p "$cache/$version"
cp "$built" "$cache/$version/kube-apiserver.tmp"
mv "$cache/$version/kube-apiserver.tmp" "$cache/$version/kube-apiserver"
chmod -R u+w "$work" 2>/dev/null || true # Go's module/build caches are read-only
rm -rf "$work"
echo "kube-apiserver $version: built" >&2
echo "$cache/$version/kube-apiserver"
