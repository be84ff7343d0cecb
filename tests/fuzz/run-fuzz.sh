#!/bin/bash
# Build the libFuzzer harness with clang (ASan + UBSan) outside meson's gcc
# build, seed a corpus with chot-vectors, and fuzz for a bounded time.
#
# usage: run-fuzz.sh SRC_ROOT SCAN_PB_C CHOT_VECTORS SECONDS [OUT_DIR]
#   SRC_ROOT      the chot source tree
#   SCAN_PB_C     the build dir's generated proto/scan.pb-c.c (its .h is beside it)
#   CHOT_VECTORS  the built chot-vectors (writes the seed corpus)
#   SECONDS       -max_total_time
#   OUT_DIR       where the binary, corpus and crash artifacts go
#                 (default: the SCAN_PB_C build dir's ../fuzz-out)
# Exit status: 0 when the run ended without a finding, else libFuzzer's.
set -euo pipefail

src=$(realpath "$1")
pbc=$(realpath "$2")
vectors=$(realpath "$3")
secs=$4
out=${5:-$(dirname "$pbc")/../fuzz-out}
mkdir -p "$out"
out=$(realpath "$out")
CC=${CC:-clang}

corpus=$(mktemp -d "$out/corpus.XXXXXX")
cleanup() { rm -rf "$corpus"; }
trap cleanup EXIT

san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
"$CC" -g -O1 $san -fno-omit-frame-pointer -D_GNU_SOURCE -std=gnu11 \
	-I"$src" -I"$src/proto" -I"$(dirname "$pbc")" \
	"$src/tests/fuzz/fuzz_open.c" "$src"/proto/*.c "$pbc" \
	$(pkg-config --cflags --libs libsodium libprotobuf-c) \
	-o "$out/fuzz_open"

"$vectors" --corpus "$corpus"
# keep what earlier runs found interesting (coverage grows run to run); the
# named seeds are always replaced by the current chot-vectors output
mkdir -p "$out/corpus"
cp -f "$corpus"/* "$out/corpus/"

echo "fuzz_open: ${secs}s, corpus $(ls "$out/corpus" | wc -l) files, artifacts in $out/"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$out/fuzz_open" -max_total_time="$secs" -max_len=1600 -timeout=10 -rss_limit_mb=1024 \
	-print_final_stats=1 -artifact_prefix="$out/" "$out/corpus"
