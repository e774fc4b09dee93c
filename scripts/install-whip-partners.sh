#!/usr/bin/env bash
# The foreign WHIP server of the WHIP push tests (test/support/janus.ts): Debian's Janus (installed from
# scripts/apt-packages.txt) behind Meetecho's simple-whip-server. The latter is not apt-installed: it depends
# on Debian's nodejs/libnode, which conflicts with our Node 20. Its .deb is unpacked instead (server.js,
# whip-janus.js and the config.js its src/ links to under /etc) and the node modules it requires come from the
# npm registry, pinned by scripts/whip-partners/package-lock.json.
# Output: .cache/whip-partners/simple-whip-server-<deb version>/ (reused when present); the last line printed
# is that folder.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/whip-partners"

command -v janus >/dev/null || {
  echo "whip partners: janus is missing (scripts/install-system-packages.sh installs it)" >&2
  exit 1
}

version=$(apt-cache show --no-all-versions simple-whip-server 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
[ -n "$version" ] || {
  echo "whip partners: Debian has no simple-whip-server package (apt-get update?)" >&2
  exit 1
}
dest="$cache/simple-whip-server-${version//[~:]/_}"
lock="$root/scripts/whip-partners/package-lock.json"
if [ -f "$dest/server.js" ] && [ -f "$dest/node_modules/.package-lock.json" ] && [ "$dest/node_modules/.package-lock.json" -nt "$lock" ]; then
  echo "whip partners: cached"
  echo "$dest"
  exit 0
fi

tmp="$cache/tmp"
rm -rf "$tmp" "$dest"
mkdir -p "$tmp/deb" "$dest"
(cd "$tmp" && apt-get download -qq "simple-whip-server=$version" 2>/dev/null)
dpkg-deb -x "$tmp"/simple-whip-server_*.deb "$tmp/deb"
src="$tmp/deb/usr/share/simple-whip-server/src"
cp "$src/server.js" "$src/whip-janus.js" "$dest/"
# src/config.js is a symlink to /etc/simple-whip-server/config.js: take the file itself
cp "$tmp/deb/etc/simple-whip-server/config.js" "$dest/config.js"
cp "$root/scripts/whip-partners/package.json" "$lock" "$dest/"
# no install scripts: websocket's optional native helpers ship prebuilt binaries (and fall back to JS)
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
rm -rf "$tmp"
echo "whip partners: simple-whip-server $version ready"
echo "$dest"
