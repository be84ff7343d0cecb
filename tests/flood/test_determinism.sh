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
# With lists (DESIGN §9): the lists, the pcap and the truth (verdicts, alerts)
# are byte-identical too, and drawing them only adds green-lane deliveries.
genl() {
	"$flood" gen --citizens 1500 --sites 30 --devices 45 --hours 30 --seed "$1" \
		--hostile-rate 0.05 --surge 3:10 --start 2026-11-01T00:00:00Z \
		--watch 150 --zones 8 --greenlane 30 --verdict-rate 0.3 --lists "$d/$2.lists.json" \
		--keys "$d/keys" --pcap "$d/$2.pcap" --truth "$d/$2.json" >/dev/null
}
genl 42 la
genl 42 lb
for x in pcap json lists.json; do
	cmp "$d/la.$x" "$d/lb.$x" || { echo "FAIL: same seed gave different $x with lists"; exit 1; }
done
/usr/bin/python3 - "$d/a.json" "$d/la.json" "$d/la.lists.json" <<'PY' || exit 1
import json, sys
a, la, l = (json.load(open(p)) for p in sys.argv[1:])
scheme = {r[0]: r[1] for r in la["subjects"]}
sa, sla = set(map(tuple, a["stored"])), set(map(tuple, la["stored"]))
assert sa <= sla, "drawing lists lost %d stored events" % len(sa - sla)
assert sla - sa and all(scheme[r[0]] == "greenlane" for r in sla - sa), \
    "drawing lists added other scans than green-lane deliveries"
assert not a["lists"]["drawn"] and a["verdicts"] == []
# Without lists only the declarations and unregistered stickers raise alerts.
assert a["alerts"] and all(set(x["reasons"]) <= {"decl_symptoms", "decl_exposed",
                           "greenlane_unknown"} for x in a["alerts"])
assert la["lists"]["drawn"] and la["verdicts"] and la["alerts"]
assert len(l["hashes"]["chot:{lists}:watch"]) == 150
assert len(l["hashes"]["chot:{lists}:zones"]) == 8
assert len(l["hashes"]["chot:{lists}:greenlane"]) == 30
assert sorted(set(l["hashes"]["chot:{lists}:zones"].values())) == ["1", "2", "3", "4"]
PY
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
