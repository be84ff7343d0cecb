#!/usr/bin/python3
"""Late scans against a small dedupe table (issue 14, the full run's +7,157).

A `chot-flood gen` scanner sends a batch once it holds up to 16 (sometimes
64) scans, so a quiet device's batch carries scans hours older than the
newest the worker has seen.  The old sweep evicted every entry a window
older than that newest ts: a late duplicate then found no entry and was
stored, although the truth (which never evicts) calls it a duplicate.  On
test_flood's province (5000 citizens x 48 h, 21,853 stored) the old code
stored 9 more at dedupe.capacity 2048 and 32 more at 512.

With the eviction by event time (dataplane/dedupe.h), chotd on null://:
  1. capacity 65536 and 2048: every counter of the event identity equals
     the truth (events_stored, dup_scans), dedupe_full and dedupe_late 0 at
     65536;
  2. capacity 256 (the table spans ~25 minutes of a province whose scans
     arrive up to ~20 h late): stored >= truth, and whatever it stores
     beyond the truth is bounded by dedupe_late (counted, never silent);
  3. dedupe_lateness_max_ms reports the lateness (> 1 h here).

Usage: test_dedupe_late.py CHOTD CHOT_FLOOD SRCDIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402


def gen(flood, tmp, keys):
    pcap, truth = os.path.join(tmp, "p.pcap"), os.path.join(tmp, "truth.json")
    r = subprocess.run([flood, "gen", "--citizens", "5000", "--sites", "40", "--devices", "30",
                        "--hours", "48", "--seed", "42", "--dup-rate", "0.05",
                        "--hostile-rate", "0.05", "--keys", keys, "--pcap", pcap,
                        "--truth", truth], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("chot-flood gen failed: %s %s" % (r.stdout, r.stderr))
    with open(truth) as f:
        return pcap, json.load(f)


def run(chotd, srcdir, keys, pcap, capacity):
    sets = {"keys.file": keys, "redis.url": "null://", "ingest.exit_on_idle_ms": 300,
            "dedupe.capacity": capacity, "ingest.max_devices": 4096}
    args = cp.chotd_args(chotd, "chotdl%d_%d" % (capacity, os.getpid()),
                         "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                         os.path.join(srcdir, "configs/chotd.conf"), sets)
    rc, c, out, err = cp.run_chotd(args, timeout=120)
    if rc != 0:
        raise RuntimeError("chotd exit %d: %s %s" % (rc, out, err[-2000:]))
    cp.check_identities(c)
    return c


def main():
    chotd, flood, srcdir = sys.argv[1:4]
    fails = []
    with cp.TempDir() as tmp:
        keys = os.path.join(tmp, "keys")
        cp.make_keys(keys, seed=5)
        pcap, truth = gen(flood, tmp, keys)
        want = truth["counters"]
        for cap in (65536, 2048):
            c = run(chotd, srcdir, keys, pcap, cap)
            print("capacity %d: stored %d (truth %d), dup_scans %d (truth %d), dedupe_late %s, "
                  "dedupe_full %d, lateness %s ms" % (cap, c["events_stored"],
                  want["events_stored"], c["dup_scans"], want["dup_scans"], c.get("dedupe_late"),
                  c["dedupe_full"], c.get("dedupe_lateness_max_ms")))
            for k in ("events_stored", "dup_scans", "bad_events", "events_decoded"):
                if c[k] != want[k]:
                    fails.append("capacity %d: %s %d, truth %d" % (cap, k, c[k], want[k]))
            if c["dedupe_full"] != 0:
                fails.append("capacity %d: dedupe_full %d" % (cap, c["dedupe_full"]))
        if c.get("dedupe_lateness_max_ms", 0) < 3600 * 1000:
            fails.append("dedupe_lateness_max_ms %s: the province's late batches not seen" %
                         c.get("dedupe_lateness_max_ms"))
        c = run(chotd, srcdir, keys, pcap, 65536)
        if c.get("dedupe_late") != 0:
            fails.append("capacity 65536 never evicts, yet dedupe_late %s" % c.get("dedupe_late"))
        c = run(chotd, srcdir, keys, pcap, 256)
        extra = c["events_stored"] - want["events_stored"]
        print("capacity 256: stored %d (truth %d, %+d), dedupe_late %s, dedupe_full %d" % (
            c["events_stored"], want["events_stored"], extra, c.get("dedupe_late"),
            c["dedupe_full"]))
        if extra < 0:
            fails.append("capacity 256: stored %d fewer than the truth" % -extra)
        if extra > c.get("dedupe_late", 0) + c["dedupe_full"]:
            fails.append("capacity 256: %d stored beyond the truth, only %s counted late "
                         "(+%d full)" % (extra, c.get("dedupe_late"), c["dedupe_full"]))
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
