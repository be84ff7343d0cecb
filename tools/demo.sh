#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the
# province demo on this machine with no hugepages and no NIC.
#
#   1. generate a synthetic province flood (chot-flood gen) with hostile traffic
#   2. start a private redis-server (configs/redis.conf, free loopback port)
#   3. run chotd over the flood on a virtual port (net_pcap), into Redis
#   4. show the live counters with `chotctl stats`, then stop chotd cleanly
#      (it prints its final counters)
#   5. trace one confirmed case (F0) to depth 2 with chotctl, as a table and
#      as JSON, and compare it with the generator's truth
#
# Environment: CHOT_DEMO_CITIZENS (default 20000), CHOT_DEMO_HOURS (72),
# CHOT_DEMO_KEEP=1 keeps the work directory.  CHOT_DEMO_CLUSTER=N (N >= 3)
# runs it all on a local N-master Redis Cluster instead of one redis-server
# (tools/redis-cluster.sh, no replicas; chotd and chotctl on cluster://),
# and shows how the keys spread over the masters.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CHOT_BUILD=${CHOT_BUILD:-$here/build}
export TZ=${TZ:-Asia/Ho_Chi_Minh}   # the command centre's local time in tables
"$here/tools/setup.sh"

B=$CHOT_BUILD
flood=$B/tools/flood/chot-flood
chotd=$B/dataplane/chotd
chotctl=$B/control/chotctl
citizens=${CHOT_DEMO_CITIZENS:-20000}
hours=${CHOT_DEMO_HOURS:-72}
work=$(mktemp -d /tmp/chot-demo.XXXXXX)
prefix=chotdemo$$
chotd_pid=
cluster=${CHOT_DEMO_CLUSTER:-0}

cleanup() {
	[ -n "$chotd_pid" ] && kill "$chotd_pid" 2>/dev/null && wait "$chotd_pid" 2>/dev/null
	[ -n "${CHOT_REDIS_PID:-}" ] && kill "$CHOT_REDIS_PID" 2>/dev/null
	[ "$cluster" != 0 ] && "$here/tools/redis-cluster.sh" down "$work/cluster" >/dev/null 2>&1
	rm -rf "/var/run/dpdk/$prefix"
	if [ "${CHOT_DEMO_KEEP:-0}" = 1 ]; then
		echo "work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A synthetic province: $citizens citizens, $hours h, 1% hostile frames"
"$flood" keys "$work/keys"
"$flood" gen --citizens "$citizens" --sites $((citizens / 100 + 20)) \
	--devices $((citizens / 60 + 30)) --hours "$hours" --seed 2021 \
	--hostile-rate 0.01 --dup-rate 0.02 --surge 4:15 --f0-samples 3 \
	--keys "$work/keys" --pcap "$work/province.pcap" --truth "$work/truth.json" \
	--sites-csv "$work/sites.csv"

if [ "$cluster" != 0 ]; then
	step "2. A local Redis Cluster: $cluster masters (configs/redis.conf + redis-cluster.conf, ACL users)"
	eval "$("$here/tools/redis-cluster.sh" up "$work/cluster" --masters "$cluster" --replicas 0)"
	echo "masters: $CHOT_REDIS_MASTERS"
	url=$CHOT_REDIS_URL
else
	step "2. A private redis-server (configs/redis.conf, ACL users)"
	eval "$("$here/tools/redis-private.sh" "$work/redis")"
	echo "redis-server on 127.0.0.1:$CHOT_REDIS_PORT (pid $CHOT_REDIS_PID)"
	url=redis://127.0.0.1:$CHOT_REDIS_PORT
fi

step "3. chotd on net_pcap, one lcore, into $url as chot-ingest"
"$chotd" --no-huge -m 512 --no-pci --file-prefix "$prefix" -l 0 --log-level=lib.*:4 \
	--vdev "net_pcap0,rx_pcap=$work/province.pcap,tx_pcap=/dev/null" -- \
	-c "$here/configs/chotd.conf" --set keys.file="$work/keys" --set redis.url="$url" \
	--set redis.user=chot-ingest --set redis.password_file="$CHOT_INGEST_PASSFILE" \
	--set ingest.mbufs=16383 >"$work/chotd.out" 2>"$work/chotd.err" &
chotd_pid=$!
want=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"]["rx_packets"])' "$work/truth.json")
ok=
for _ in $(seq 1 600); do
	if ! kill -0 "$chotd_pid" 2>/dev/null; then
		cat "$work/chotd.err" >&2
		echo "demo: chotd exited early" >&2
		exit 1
	fi
	if "$chotctl" --json stats --prefix "$prefix" >"$work/stats.json" 2>/dev/null &&
		/usr/bin/python3 - "$work/stats.json" "$want" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s = s.get("stats", s)
sys.exit(0 if s.get("rx_packets") == int(sys.argv[2]) and s.get("events_pending") == 0 else 1)
PY
	then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || { echo "demo: chotd did not finish the flood in time" >&2; exit 1; }

step "4. chotctl stats (live, over the DPDK telemetry socket)"
"$chotctl" stats --prefix "$prefix"

step "   chotd stopped with SIGTERM: its final counters"
kill -TERM "$chotd_pid"
wait "$chotd_pid"
chotd_pid=
head -n 16 "$work/chotd.out"
/usr/bin/python3 - "$work/chotd.out" "$work/truth.json" <<'PY'
import json, sys
got = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 2 and parts[1].isdigit():
        got[parts[0]] = int(parts[1])
want = json.load(open(sys.argv[2]))["counters"]
diff = [k for k in want if got.get(k) != want[k]]
print("counters vs the generator's truth:", "all %d equal" % len(want) if not diff else
      "DIFFER: " + ", ".join("%s %s/%s" % (k, got.get(k), want[k]) for k in diff))
PY

if [ "$cluster" != 0 ]; then
	step "   Keys per master (DBSIZE)"
	for m in $CHOT_REDIS_MASTERS; do
		printf '%s %s\n' "$m" "$(redis-cli -h "${m%:*}" -p "${m##*:}" --user chot-admin \
			--pass "$(cat "$CHOT_ADMIN_PASSFILE")" --no-auth-warning DBSIZE)"
	done
fi

step "5. Trace one F0 to depth 2 (chot-operator, keys file to reveal identities)"
"$chotctl" -r "$url" --user chot-admin --password-file "$CHOT_ADMIN_PASSFILE" \
	sites import "$work/sites.csv"
read -r f0 scheme until < <(/usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
f = t["f0"][0]
print(f["id"], f["scheme"], f["until_ms"])' "$work/truth.json")
op=(-r "$url" --user chot-operator --password-file "$CHOT_OPERATOR_PASSFILE" --keys "$work/keys")
"$chotctl" "${op[@]}" trace "$f0" --scheme "$scheme" --until "$until" --depth 2 --limit 15
"$chotctl" "${op[@]}" --json trace "$f0" --scheme "$scheme" --until "$until" --depth 2 >"$work/trace.json"
/usr/bin/python3 - "$work/trace.json" "$work/truth.json" <<'PY'
import json, sys
tr, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
want = t["f0"][0]["traces"][0]
f1 = sorted(c["pid"] for c in tr["contacts"] if c["degree"] == 1)
f2 = sorted(c["pid"] for c in tr["contacts"] if c["degree"] == 2)
print("JSON (first contact):", json.dumps(tr["contacts"][:1]))
print("trace: %d visits, F1 %d, F2 %d in %.1f ms with %d Redis calls; truth F1 %d, F2 %d: %s" % (
    len(tr["visits"]), len(f1), len(f2), tr["stats"]["elapsed_ms"], tr["stats"]["redis_calls"],
    len(want["f1"]), len(want["f2"]),
    "EXACT" if (f1, f2) == (want["f1"], want["f2"]) else "DIFFERENT"))
PY
