#!/usr/bin/python3
"""SIGTERM while Redis holds writes unconfirmed (issue 11, item 9; DESIGN §3
"what cannot be held is dropped *and counted*"; docs/OPERATIONS.md).

chotd reads the scenario's capture while its Redis is (a) frozen with
SIGSTOP (the writes sit unanswered on an open connection) or (b)
unreachable (nothing listens on the port).  Once every frame is in and the
events wait in events_pending, chotd gets SIGTERM; redis.drain_ms is short,
so the drain gives up.  The exit print must then hold both identities with
events_pending = 0: every event still unconfirmed is in events_dropped
(never ACKed, so the scanners retransmit), and nothing is counted stored.

Usage: test_sigterm_pending.py CHOTD SRCDIR
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402
import scenario          # noqa: E402


def run(chotd, srcdir, tmp, keys_path, pcap, n_frames, exp, url, tag):
    fails = []
    prefix = "chotst%s%d" % (tag, os.getpid())
    args = cp.chotd_args(chotd, prefix, "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                         os.path.join(srcdir, "configs/chotd.conf"),
                         {"keys.file": keys_path, "redis.url": url,
                          "ingest.exit_on_idle_ms": 0, "ingest.now_ms": scenario.NOW_MS,
                          "redis.drain_ms": 300, "dedupe.capacity": 65536,
                          "ingest.max_devices": 1024})
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        st = cp.wait_for(lambda: (lambda s: s if s and s.get("rx_packets") == n_frames
                                  else None)(cp.telemetry_query(prefix, "/chot/stats")), 30)
        if st is None:
            fails.append("%s: chotd did not read the capture" % tag)
            held = -1
        else:
            held = st["events_pending"]
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        cp.cleanup_prefix(prefix)
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    c = cp.parse_counters(out)
    if proc.returncode != 0:
        fails.append("%s: chotd exit %d" % (tag, proc.returncode))
    if held != exp["events_stored"]:
        fails.append("%s: %d events pending before SIGTERM, expected all %d" %
                     (tag, held, exp["events_stored"]))
    want = {"events_pending": 0, "events_stored": 0, "events_dropped": exp["events_stored"],
            "events_decoded": exp["events_decoded"], "bad_events": exp["bad_events"],
            "dup_scans": exp["dup_scans"], "batches_accepted": exp["batches_accepted"]}
    for k, v in want.items():
        if c.get(k) != v:
            fails.append("%s: exit %s = %s, expected %d" % (tag, k, c.get(k), v))
    try:
        cp.check_identities(c)
    except (AssertionError, KeyError) as e:
        fails.append("%s: %s" % (tag, e))
    if "dropped" not in err:
        fails.append("%s: the log does not say events were dropped at shutdown" % tag)
    if fails:
        print(out)
        print(err[-3000:])
    else:
        print("ok %s: %d held events dropped at SIGTERM, identities hold" % (tag, held))
    return fails


def main():
    chotd, srcdir = sys.argv[1], sys.argv[2]
    fails = []
    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        keys = cp.make_keys(keys_path, seed=9)
        frames, exp, _ = scenario.build(keys)
        pcap = os.path.join(tmp, "in.pcap")
        cp.write_pcap(pcap, frames)
        redis = cp.Redis(tmp)
        try:
            os.kill(redis.proc.pid, signal.SIGSTOP)
            fails += run(chotd, srcdir, tmp, keys_path, pcap, len(frames), exp,
                         "redis://127.0.0.1:%d" % redis.port, "frozen")
        finally:
            if redis.proc.poll() is None:
                os.kill(redis.proc.pid, signal.SIGCONT)
            redis.stop()
        fails += run(chotd, srcdir, tmp, keys_path, pcap, len(frames), exp,
                     "redis://127.0.0.1:%d" % cp.free_port(), "unreachable")
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
