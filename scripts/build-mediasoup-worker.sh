#!/usr/bin/env bash
# Builds the mediasoup worker from the C++ sources shipped inside the mediasoup npm package, against
# Debian's libraries (its own build would download them, and a prebuilt binary, from hosts we cannot reach).
# Output: .cache/mediasoup-worker/<mediasoup version>/mediasoup-worker (reused when present).
# The server finds it there; elsewhere set MEDIASOUP_WORKER_BIN to it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/scripts/mediasoup-worker"
pkg="$root/node_modules/mediasoup"
[ -f "$pkg/package.json" ] || { echo "mediasoup is not installed: run npm ci first" >&2; exit 1; }
version=$(node -p "require('$pkg/package.json').version")
out_dir="$root/.cache/mediasoup-worker/$version"
bin="$out_dir/mediasoup-worker"
if [ -x "$bin" ]; then
  echo "mediasoup worker $version: cached"
  echo "$bin"
  exit 0
fi

src="$root/.cache/mediasoup-worker/src-$version"
build="$root/.cache/mediasoup-worker/build-$version"
rm -rf "$src" "$build"
mkdir -p "$out_dir"
cp -r "$pkg/worker" "$src"

# meson uses subprojects/<name>/ as it finds it instead of downloading the wrap: each of ours is a small
# project exposing a Debian library under the variable names mediasoup's meson.build reads.
rm -f "$src"/subprojects/*.wrap
sub="$src/subprojects"
stub_lib() { # a static library to satisfy link_whole of the (unbuilt) shared library target
  echo "$1 = static_library('$1_stub', files('stub.c'))"
}
mk() { # name, meson body, [options the parent passes, declared so meson accepts them]
  mkdir -p "$sub/$1"
  for opt in ${3:-}; do echo "option('$opt', type: 'string', value: '')" >>"$sub/$1/meson_options.txt"; done
  printf '/* empty: the real code comes from a Debian package */\nint streamfed_stub_%s(void) { return 0; }\n' "${1//-/_}" >"$sub/$1/stub.c"
  printf "project('%s', 'c', 'cpp')\n%s\n" "$1" "$2" >"$sub/$1/meson.build"
}
mk openssl "openssl_dep = dependency('openssl')
$(stub_lib libcrypto_lib)
$(stub_lib libssl_lib)"
mk libuv "libuv_dep = dependency('libuv')
$(stub_lib libuv)" "build_tests build_benchmarks"
mkdir -p "$sub/libsrtp3/adapter"
cp "$here/include/srtp.h" "$sub/libsrtp3/adapter/srtp.h"
mk libsrtp3 "libsrtp3_dep = declare_dependency(
  dependencies: meson.get_compiler('cpp').find_library('srtp2'),
  include_directories: include_directories('adapter'),
)
$(stub_lib libsrtp3)" "crypto-library crypto-library-kdf tests"
mk usrsctp "usrsctp_dep = dependency('usrsctp')
$(stub_lib usrsctp)" "sctp_build_programs"
mk abseil-cpp "absl_container_dep = declare_dependency(dependencies: [dependency('absl_flat_hash_map'), dependency('absl_flat_hash_set')])
absl_strings_dep = dependency('absl_strings')
absl_types_dep = declare_dependency(dependencies: [dependency('absl_optional'), dependency('absl_variant'), dependency('absl_span')])
$(stub_lib absl_container_lib)"
mk flatbuffers "flatbuffers_dep = dependency('flatbuffers')
$(stub_lib flatbuffers_lib)"
mk catch2 "catch2_dep = declare_dependency()"

cd "$src"
# mediasoup's DTLS BIO callback returns 1 instead of the byte count after a write (it tests
# `op == BIO_CB_RETURN`, but OpenSSL passes BIO_CB_RETURN|BIO_CB_WRITE). Its bundled OpenSSL tolerates
# that; Debian's 3.0 takes it as a 1-byte partial write and crashes writing the next DTLS record.
grep -q 'operationType == BIO_CB_RETURN' src/RTC/DtlsTransport.cpp
sed -i 's/(operationType == BIO_CB_RETURN)/((operationType \& BIO_CB_RETURN) != 0)/' src/RTC/DtlsTransport.cpp
# Debian bookworm has meson 1.0.1; the worker's build asks for 1.1 but uses nothing newer that we build.
sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" meson.build
# liburing: Debian's 2.3 lacks helpers the worker uses (2.4+); mediasoup runs fine on plain libuv I/O.
meson setup "$build" --buildtype=release -Dms_disable_liburing=true -Db_ndebug=true >"$out_dir/meson-setup.log" 2>&1 ||
  { tail -40 "$out_dir/meson-setup.log" >&2; exit 1; }
# The flatbuffers headers first: the libwebrtc part includes them without a declared dependency.
ninja -C "$build" fbs/FBS >"$out_dir/ninja.log" 2>&1 &&
  ninja -C "$build" -j "${MEDIASOUP_BUILD_JOBS:-2}" mediasoup-worker >>"$out_dir/ninja.log" 2>&1 ||
  { grep -m 20 -B2 -A8 'error' "$out_dir/ninja.log" >&2 || tail -40 "$out_dir/ninja.log" >&2; exit 1; }
cp "$build/mediasoup-worker" "$bin.tmp"
strip "$bin.tmp" 2>/dev/null || true
mv "$bin.tmp" "$bin"
rm -rf "$src" "$build"
echo "mediasoup worker $version: built"
echo "$bin"
