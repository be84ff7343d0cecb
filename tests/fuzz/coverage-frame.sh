#!/bin/bash
# Source-based coverage of a fuzz_frame corpus: rebuild the harness with
# clang's -fprofile-instr-generate, replay every corpus file once (-runs=0)
# and print llvm-cov's report for dataplane/parse.c and dataplane/reply.c.
#
# usage: coverage-frame.sh SRC_ROOT CORPUS_DIR [OUT_DIR]
set -euo pipefail

src=$(realpath "$1")
corpus=$(realpath "$2")
out=${3:-$(mktemp -d /tmp/chot-fuzzcov.XXXXXX)}
mkdir -p "$out"
CC=${CC:-clang}

"$CC" -g -O0 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping -D_GNU_SOURCE \
	-std=gnu11 -I"$src/dataplane" -I"$src/proto" -I"$src/tests/dataplane" \
	"$src/tests/fuzz/fuzz_frame.c" "$src/dataplane/parse.c" "$src/dataplane/reply.c" \
	"$src/proto/reason.c" -o "$out/fuzz_frame_cov"
LLVM_PROFILE_FILE="$out/fuzz.profraw" "$out/fuzz_frame_cov" -runs=0 "$corpus" >/dev/null 2>&1
llvm-profdata merge -sparse "$out/fuzz.profraw" -o "$out/fuzz.profdata"
llvm-cov report "$out/fuzz_frame_cov" -instr-profile="$out/fuzz.profdata" \
	"$src"/dataplane/parse.c "$src"/dataplane/reply.c
echo "profile and binary in $out"
