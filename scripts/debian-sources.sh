#!/usr/bin/env bash
# Prints the system's Debian apt entries as one-line sources.list lines of the given type (deb or deb-src),
# for tools that need their own sources list without touching the system's apt configuration
# (scripts/build-kube.sh fetches a source package; scripts/cluster/base-images.sh bootstraps images).
#
# Both formats are read: one-line (sources.list, *.list) and deb822 (*.sources). An entry counts as Debian's
# when it is signed by the Debian archive keyring or its URI has a /debian path; signed-by, trusted and
# check-valid-until (snapshot mirrors) are carried over. Duplicates are dropped.
# Usage: debian-sources.sh <deb|deb-src>
set -euo pipefail
type="${1:?usage: debian-sources.sh <deb|deb-src>}"
SL=/etc/apt/sources.list SP=/etc/apt/sources.list.d/
eval "$(apt-config shell SL Dir::Etc::sourcelist/f SP Dir::Etc::sourceparts/d)"
list_files=() deb822_files=()
[ -f "$SL" ] && list_files+=("$SL")
for f in "$SP"/*.list; do [ -f "$f" ] && list_files+=("$f"); done
for f in "$SP"/*.sources; do [ -f "$f" ] && deb822_files+=("$f"); done
{
  if [ ${#list_files[@]} -gt 0 ]; then
    awk -v type="$type" '
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
        print type " " (opts != "" ? "[" opts "] " : "") uri rest
      }' "${list_files[@]}"
  fi
  if [ ${#deb822_files[@]} -gt 0 ]; then
    for f in "${deb822_files[@]}"; do
      awk -v type="$type" '
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
            print type " " (opts != "" ? "[" opts "] " : "") u[a] " " s2[b] (comps != "" ? " " comps : "")
          }
        }' "$f"
    done
  fi
} | awk '!seen[$0]++'
