#!/bin/bash
# Build the frame-parser harness (fuzz_frame.c) with clang, ASan + UBSan,
# outside meson's gcc build, seed a corpus from the harness itself
# (--write-seeds) and fuzz for a bounded time.
#
# usage: run-fuzz-frame.sh SRC_ROOT SECONDS OUT_DIR [extra libFuzzer flags...]
#   SRC_ROOT  the chot source tree
#   SECONDS   -max_total_time
#   OUT_DIR   where the binary, corpus (OUT_DIR/corpus, kept run to run)
#             and crash artifacts go
# Exit status: 0 when the run ended without a finding, else non-zero
# (1 for a crash or a broken invariant, 70 for a timeout; never 77, which
# meson reads as "skipped").
set -euo pipefail

src=$(realpath "$1")
secs=$2
mkdir -p "$3"
out=$(realpath "$3")
shift 3
CC=${CC:-clang}

seeds=$(mktemp -d "$out/seeds.XXXXXX")
cleanup() { rm -rf "$seeds"; }
trap cleanup EXIT

san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
"$CC" -g -O1 $san -fno-omit-frame-pointer -D_GNU_SOURCE -std=gnu11 -Wall -Werror \
	-I"$src/dataplane" -I"$src/proto" -I"$src/tests/dataplane" \
	"$src/tests/fuzz/fuzz_frame.c" "$src/dataplane/parse.c" "$src/dataplane/reply.c" \
	"$src/proto/reason.c" -o "$out/fuzz_frame"

"$out/fuzz_frame" --write-seeds="$seeds" >/dev/null 2>&1
# keep what earlier runs found; the named seeds are replaced every run
mkdir -p "$out/corpus"
cp -f "$seeds"/* "$out/corpus/"

echo "fuzz_frame: ${secs}s, corpus $(ls "$out/corpus" | wc -l) files, artifacts in $out/"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$out/fuzz_frame" -max_total_time="$secs" -max_len=2048 -timeout=10 -rss_limit_mb=1024 \
	-error_exitcode=1 -timeout_exitcode=70 -dict="$src/tests/fuzz/frame.dict" \
	-print_final_stats=1 -artifact_prefix="$out/" "$@" "$out/corpus"
