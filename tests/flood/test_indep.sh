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
# With lists (DESIGN §9): flag bit 1 is valid, the counters still agree, and
# the verdicts and alerts of the truth agree with the §9 rules written again
# over the Redis values of --lists.
"$flood" gen --citizens 4000 --sites 30 --devices 24 --hours 30 --seed 13 \
	--hostile-rate 0.05 --dup-rate 0.05 --watch 500 --zones 12 --greenlane 60 \
	--verdict-rate 0.4 --lists "$d/l.lists.json" \
	--keys "$d/keys" --pcap "$d/l.pcap" --truth "$d/l.json" >/dev/null
/usr/bin/python3 "$src/tests/indep/chot_indep.py" "$d/keys" "$d/l.pcap" "$d/l.json" "$src/proto"
/usr/bin/python3 "$src/tests/flood/indep_lists.py" "$d/keys" "$d/l.pcap" "$d/l.json" \
	"$d/l.lists.json" "$src/proto"
