#!/usr/bin/env bash
# An independent decoder (Google protobuf + PyNaCl + hashlib, tests/indep)
# opens every datagram of a hostile-heavy flood and must agree with the truth
# on every counter, every reason and every stored event: every hostile frame
# is counted exactly once, under the counter it must land in.
# usage: test_indep.sh CHOT_FLOOD SOURCE_ROOT
set -euo pipefail
flood=$1 src=$2
d=$(mktemp -d /tmp/chot-indep.XXXXXX)
trap 'rm -rf "$d"' EXIT
"$flood" keys "$d/keys"
"$flood" gen --citizens 3000 --sites 50 --devices 80 --hours 72 --seed 11 \
	--hostile-rate 0.2 --dup-rate 0.05 --surge 4:20 \
	--keys "$d/keys" --pcap "$d/f.pcap" --truth "$d/f.json" >/dev/null
/usr/bin/python3 "$src/tests/indep/chot_indep.py" "$d/keys" "$d/f.pcap" "$d/f.json" "$src/proto"
