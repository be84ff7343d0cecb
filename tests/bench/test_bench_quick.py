"""tools/chot-bench --quick runs from this tree and reports every DESIGN §7
key (issue 6: CI checks that the benchmark works, never a figure's value).

usage: test_bench_quick.py SOURCE_ROOT BUILD_DIR

Fails if the bench exits non-zero, a §7 key is missing or not a positive
number, or the e2e pass lost or invented events (stored must equal the
generator's truth, nothing dropped), or the ingest pass's counters differ
from the truth: those are bugs, not speeds.  The
rsyslog peer is left out (optional, and slow to start).  The checkpoint
phase (verdict_p99_us, alert_p99_ms) needs root and `ip netns`: without
them its two keys may be null (checkpoint_skipped says why); with them every
verdict requested must arrive and every flagged scan's alert must print
once, or the test fails.
"""
import json
import subprocess
import sys

KEYS = ["ingest_events_per_s", "ingest_cycles_per_event", "e2e_events_per_s",
        "redis_zadd_p64_per_s", "socket_baseline_events_per_s", "redis_bytes_per_event",
        "trace_f1_p50_ms", "trace_f1_p99_ms", "trace_f2_p99_ms",
        "io_cycles_per_datagram", "socket_io_cycles_per_datagram"]
CHECKPOINT_KEYS = ["verdict_p99_us", "alert_p99_ms"]


def main():
    src, build = sys.argv[1], sys.argv[2]
    r = subprocess.run([f"{src}/tools/chot-bench", "--quick", "--json", "--build", build,
                        "--only", "ingest,socket,e2e,trace,checkpoint"],
                       text=True, capture_output=True, timeout=280)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        print(f"chot-bench exited {r.returncode}")
        return 1
    res = json.loads(r.stdout)
    keys = KEYS + ([] if res.get("checkpoint_skipped") else CHECKPOINT_KEYS)
    bad = [k for k in keys if not isinstance(res.get(k), (int, float)) or res[k] <= 0]
    if bad:
        print(f"missing or non-positive DESIGN §7 keys: {bad}")
        return 1
    if res.get("ingest_counters_match_truth") is not True:
        # The ingest pass replays the capture from memory and must stop after
        # exactly one pass (ingest.exit_after_packets): its counters are the truth's.
        print(f"ingest pass ({res.get('ingest_rx')}): counters differ from the truth")
        return 1
    if res["e2e_events_dropped"] != 0 or res["e2e_events_stored"] != res["events_stored_expected"] \
            or any(n != res["events_stored_expected"] for n in res["e2e_events_stored_passes"]):
        print(f"e2e stored {res['e2e_events_stored']}, passes {res['e2e_events_stored_passes']} "
              f"(expected {res['events_stored_expected']}), "
              f"dropped {res['e2e_events_dropped']}")
        return 1
    if res.get("checkpoint_skipped"):
        print(f"checkpoint phase skipped: {res['checkpoint_skipped']}")
    elif not res.get("verdicts_requested") or not res.get("checkpoint_sim_ok") or \
            res.get("verdicts_received") != res.get("verdicts_requested") or \
            (res.get("chotd_verdicts_sent") or 0) < res["verdicts_requested"] or \
            res.get("alerts_printed") != res.get("alerts_expected") or \
            res.get("checkpoint_alerts_raised") != res.get("alerts_expected"):
        print(f"checkpoint: verdicts requested {res.get('verdicts_requested')}, received "
              f"{res.get('verdicts_received')}, sent {res.get('chotd_verdicts_sent')}; alerts "
              f"expected {res.get('alerts_expected')}, raised "
              f"{res.get('checkpoint_alerts_raised')}, printed {res.get('alerts_printed')}")
        return 1
    print("chot-bench --quick: every DESIGN §7 key reported; e2e stored exactly the truth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
