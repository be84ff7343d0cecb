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
#   6. the checkpoint loop (DESIGN §9): `trace --flag` puts the F0's F1s on the
#      watchlist; chotd replays the next hours of the same province (same
#      citizens, verdicts requested) with the lists loaded at start; and
#      `chotctl --lang vi alerts` shows the F1s caught at checkpoints
#   9. print the duty officers' page's URL and the command that starts it
#      (printed only: the demo does not start a server or wait)
#
# Environment: CHOT_DEMO_CITIZENS (default 20000), CHOT_DEMO_HOURS (72),
# CHOT_DEMO_NEXT_HOURS (12, the hours replayed in step 6),
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
next_hours=${CHOT_DEMO_NEXT_HOURS:-12}
# The province ends next_hours before today's 00:00 UTC; step 6 replays those hours.
midnight_ms=$(( $(date -u +%s) / 86400 * 86400000 ))
start1_ms=$(( midnight_ms - (hours + next_hours) * 3600000 ))
start2_ms=$(( midnight_ms - next_hours * 3600000 ))
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
	--hostile-rate 0.01 --dup-rate 0.02 --surge 4:15 --f0-samples 3 --start "$start1_ms" \
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

step "6. The checkpoint loop: trace --flag puts the F0's F1s on the watchlist (audited)"
"$chotctl" "${op[@]}" trace "$f0" --scheme "$scheme" --until "$until" --depth 1 --flag --limit 5
"$chotctl" "${op[@]}" --json watchlist >"$work/watchlist.json"
/usr/bin/python3 - "$work/watchlist.json" <<'PY'
import json, sys, collections
w = json.load(open(sys.argv[1]))["watchlist"]
print("watchlist: %d entries (%s)" % (len(w), ", ".join(
    "%s %d" % kv for kv in sorted(collections.Counter(e["status"] for e in w).items()))))
PY

step "7. The next $next_hours h of the province (same citizens), 25% of batches asking a verdict"
# Same seed, citizens, sites and devices: the same people with the same cards.
"$flood" gen --citizens "$citizens" --sites $((citizens / 100 + 20)) \
	--devices $((citizens / 60 + 30)) --hours "$next_hours" --seed 2021 \
	--hostile-rate 0.01 --dup-rate 0.02 --f0-samples 0 --start "$start2_ms" \
	--verdict-rate 0.25 --keys "$work/keys" --pcap "$work/next.pcap" \
	--truth "$work/next.json" >"$work/next.txt"
head -n 1 "$work/next.txt"
# A fresh chotd: it loads the lists (with the F1s just flagged) before its first packet.
"$chotd" --no-huge -m 512 --no-pci --file-prefix "$prefix" -l 0 --log-level=lib.*:4 \
	--vdev "net_pcap0,rx_pcap=$work/next.pcap,tx_pcap=/dev/null" -- \
	-c "$here/configs/chotd.conf" --set keys.file="$work/keys" --set redis.url="$url" \
	--set redis.user=chot-ingest --set redis.password_file="$CHOT_INGEST_PASSFILE" \
	--set ingest.mbufs=16383 --set ingest.exit_on_idle_ms=2000 \
	>"$work/chotd2.out" 2>"$work/chotd2.err" &
chotd_pid=$!
if ! wait "$chotd_pid"; then
	chotd_pid=
	cat "$work/chotd2.err" >&2
	echo "demo: chotd failed on the next hours" >&2
	exit 1
fi
chotd_pid=
grep -E '^(events_stored|verdicts_sent|alerts_raised|lists_reloaded) ' "$work/chotd2.out" || true

step "8. chotctl --lang vi alerts: the F1s caught at checkpoints"
"$chotctl" "${op[@]}" --json alerts --reason watch_f1 >"$work/alerts.jsonl"
read -r busiest < <(/usr/bin/python3 - "$work/alerts.jsonl" "$work/sites.csv" "$work/trace.json" <<'PY'
import collections, csv, json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
kind = {int(r["id"]): r["kind"] for r in csv.DictReader(open(sys.argv[2]))}
f1 = set(c["pid"] for c in json.load(open(sys.argv[3]))["contacts"] if c["degree"] == 1)
at_cp = [a for a in alerts if kind.get(a["site"]) == "checkpoint"]
by_site = collections.Counter(a["site"] for a in at_cp)
print(by_site.most_common(1)[0][0] if by_site else 0)
print("watch_f1 alerts: %d for %d people, %d of them at %d checkpoints (%d people); "
      "all are F1s of the trace: %s" % (
          len(alerts), len(set(a["pid"] for a in alerts)), len(at_cp), len(by_site),
          len(set(a["pid"] for a in at_cp)),
          "yes" if all(a["pid"] in f1 for a in alerts) else "NO"), file=sys.stderr)
PY
)
if [ "${busiest:-0}" != 0 ]; then
	"$chotctl" "${op[@]}" --lang vi alerts --reason watch_f1 --site "$busiest" --limit 10
else
	echo "(no flagged F1 passed a checkpoint in these $next_hours h)"
	"$chotctl" "${op[@]}" --lang vi alerts --reason watch_f1 --limit 10 || true
fi

step "9. The duty officers' page (chotctl serve; printed, not started: the demo never blocks)"
cat <<PAGE
URL:       http://127.0.0.1:8311/  (sign in with an operator's Redis ACL user)
start it:  chotctl -r redis://127.0.0.1:6379 --keys /etc/chot/keys serve --listen 127.0.0.1:8311 --prefix chotd
           (on the appliance; behind the command centre's TLS proxy: docs/OPERATIONS.md)
this run:  $chotctl -r $url --keys $work/keys serve --listen 127.0.0.1:8311 --prefix $prefix
           (as chot-operator, password in $CHOT_OPERATOR_PASSFILE; this demo's Redis stops when it exits)
PAGE
