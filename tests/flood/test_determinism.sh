#!/usr/bin/env bash
# Same seed and arguments -> byte-identical pcap and truth; another seed -> a
# different pcap.  usage: test_determinism.sh CHOT_FLOOD
set -euo pipefail
flood=$1
d=$(mktemp -d /tmp/chot-det.XXXXXX)
trap 'rm -rf "$d"' EXIT
"$flood" keys "$d/keys"
gen() {
	"$flood" gen --citizens 1500 --sites 30 --devices 45 --hours 30 --seed "$1" \
		--hostile-rate 0.05 --surge 3:10 --start 2026-11-01T00:00:00Z \
		--keys "$d/keys" --pcap "$d/$2.pcap" --truth "$d/$2.json" >/dev/null
}
gen 42 a
gen 42 b
gen 43 c
cmp "$d/a.pcap" "$d/b.pcap" || { echo "FAIL: same seed gave different pcaps"; exit 1; }
cmp "$d/a.json" "$d/b.json" || { echo "FAIL: same seed gave different truth files"; exit 1; }
if cmp -s "$d/a.pcap" "$d/c.pcap"; then
	echo "FAIL: seeds 42 and 43 gave the same pcap"
	exit 1
fi
# A usage error is exit 2 with a message, not a crash.
set +e
"$flood" gen --citizens x --keys "$d/keys" --pcap "$d/x.pcap" --truth "$d/x.json" 2>"$d/err"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "not a number" "$d/err" || { echo "FAIL: bad --citizens: rc $rc"; exit 1; }
# keys refuses to overwrite.
set +e
"$flood" keys "$d/keys" 2>/dev/null
rc=$?
set -e
[ "$rc" = 2 ] || { echo "FAIL: chot-flood keys overwrote a keys file (rc $rc)"; exit 1; }
[ "$(stat -c %a "$d/keys")" = 600 ] || { echo "FAIL: keys file is not mode 600"; exit 1; }
echo "determinism: ok ($(stat -c %s "$d/a.pcap") byte pcap reproduced)"
