#!/bin/bash
# The test vectors in docs/PROTOCOL.md (between the vectors:begin/end markers)
# must be exactly what chot-vectors prints.
# usage: check_vectors_doc.sh CHOT_VECTORS PROTOCOL.md
set -euo pipefail
vec=$1 doc=$2
want=$(sed -n '/<!-- vectors:begin -->/,/<!-- vectors:end -->/p' "$doc" | sed '1,2d;$d' | sed '$d')
got=$("$vec")
if [ -z "$want" ]; then
	echo "no vectors block found in $doc" >&2
	exit 1
fi
if ! diff -u <(printf '%s\n' "$want") <(printf '%s\n' "$got"); then
	echo "docs/PROTOCOL.md test vectors differ from chot-vectors output (see diff above)" >&2
	exit 1
fi
echo "PROTOCOL.md vectors match chot-vectors ($(printf '%s\n' "$got" | wc -l) lines)"
