#!/bin/bash
# Source-based coverage of a fuzz corpus: rebuild the harness with clang's
# -fprofile-instr-generate, replay every corpus file once (-runs=0) and print
# llvm-cov's per-file report for the codec sources.
#
# usage: coverage.sh SRC_ROOT SCAN_PB_C CORPUS_DIR [OUT_DIR]
set -euo pipefail

src=$(realpath "$1")
pbc=$(realpath "$2")
corpus=$(realpath "$3")
out=${4:-$(mktemp -d /tmp/chot-fuzzcov.XXXXXX)}
mkdir -p "$out"
CC=${CC:-clang}

"$CC" -g -O0 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping -D_GNU_SOURCE \
	-std=gnu11 -I"$src" -I"$src/proto" -I"$(dirname "$pbc")" \
	"$src/tests/fuzz/fuzz_open.c" "$src"/proto/*.c "$pbc" \
	$(pkg-config --cflags --libs libsodium libprotobuf-c) -o "$out/fuzz_open_cov"
LLVM_PROFILE_FILE="$out/fuzz.profraw" "$out/fuzz_open_cov" -runs=0 "$corpus" >/dev/null 2>&1
llvm-profdata merge -sparse "$out/fuzz.profraw" -o "$out/fuzz.profdata"
llvm-cov report "$out/fuzz_open_cov" -instr-profile="$out/fuzz.profdata" \
	"$src"/proto/wire.c "$src"/proto/validate.c "$src"/proto/arena.c \
	"$src"/proto/keys.c "$src"/proto/reason.c "$src"/proto/pseudonym.c
echo "profile and binary in $out"
