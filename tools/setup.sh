#!/usr/bin/env bash
# Install everything chot needs on a fresh Debian 12 machine (run as root).
# Idempotent: it only calls apt-get when a package is missing.  Then it
# configures and builds into ./build (or $CHOT_BUILD).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${CHOT_BUILD:-$here/build}

packages=(
	gcc pkg-config meson ninja-build python3
	libdpdk-dev dpdk dpdk-dev             # chotd, PMDs, dpdk-telemetry.py
	libhiredis-dev                        # Redis client (0.14)
	libprotobuf-c-dev protobuf-c-compiler # wire body
	libcriterion-dev                      # unit tests
	libsodium-dev                         # AEAD, KDF, SipHash, BLAKE2b
	libpcap-dev                           # chot-flood writes pcaps
	redis-server redis-tools              # the embedded store, redis-benchmark
	clang libclang-rt-14-dev              # libFuzzer + ASan/UBSan harness
	python3-protobuf python3-nacl protobuf-compiler # independent decoder test
	iproute2 jq procps tzdata             # namespaces/veth tests, JSON checks, local time
	prometheus                            # promtool + a real Prometheus scraping chotctl stats --prometheus
	libmicrohttpd-dev                     # chotctl serve's HTTP server
	chromium chromium-driver              # the page's tests, in a real headless Chromium
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: missing packages (${missing[*]}); run as root" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Debian's redis-server package may start a system instance; chot never uses
# it (every run starts a private server on a free loopback port).
# Likewise prometheus: tests run their own on a free loopback port.

werror=${CHOT_WERROR:-false}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$here" -Dwerror="$werror" >/dev/null
else
	meson configure "$build" -Dwerror="$werror" >/dev/null
fi
ninja -C "$build" >"$build/ninja.log" 2>&1 || { cat "$build/ninja.log" >&2; exit 1; }
echo "setup: built into $build" >&2
