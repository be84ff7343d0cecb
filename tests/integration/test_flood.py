#!/usr/bin/python3
"""chotd against a `chot-flood gen` province with hostile traffic (issue 3):

  1. one worker, a fresh redis-server: every counter equals the truth file,
     both identities hold, the stored data equals the truth, and a Redis
     dump taken with rdbcompression off holds no raw identifier;
  2. two worker lcores: the same stored data;
  3. the capture twice in one run: nothing new is stored, every legit batch
     of the second copy is replayed (or stale, if its device rebooted since);
  4. a store of 256 pending events with ingest.backpressure = 1: chotd
     pauses the port (rx_paused > 0), drops nothing and stores the truth;
     the control run without it drops (events_dropped > 0).

Usage: test_flood.py CHOTD CHOT_FLOOD SRCDIR [--quick]
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402

SKIP_KEYS = {"redis_errors"}


def gen(flood, tmp, keys, quick):
    pcap, truth = os.path.join(tmp, "p.pcap"), os.path.join(tmp, "truth.json")
    size = ["--citizens", "300", "--sites", "12", "--devices", "8", "--hours", "6"] if quick \
        else ["--citizens", "5000", "--sites", "40", "--devices", "30", "--hours", "48"]
    r = subprocess.run([flood, "gen"] + size + ["--seed", "42", "--dup-rate", "0.05",
                       "--hostile-rate", "0.05", "--keys", keys, "--pcap", pcap,
                       "--truth", truth], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("chot-flood gen failed: %s %s" % (r.stdout, r.stderr))
    with open(truth) as f:
        return pcap, json.load(f)


def run(chotd, srcdir, tmp, keys, pcap, now_ms, workers, lcores, tag, extra=None):
    # The shipped configs/redis.conf (AOF, ACL users); chotd logs in as chot-ingest.
    rdir = os.path.join(tmp, "redis-" + tag)      # a fresh Redis (and AOF) per run
    os.mkdir(rdir)
    redis = cp.Redis(rdir, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
    try:
        sets = {"keys.file": keys, "redis.url": "redis://127.0.0.1:%d" % redis.port,
                "redis.user": "chot-ingest", "redis.password_file": redis.passfiles["ingest"],
                "ingest.exit_on_idle_ms": 800, "ingest.workers": workers,
                "dedupe.capacity": 65536, "ingest.max_devices": 4096}
        if now_ms:
            sets["ingest.now_ms"] = now_ms
        sets.update(extra or {})
        args = cp.chotd_args(chotd, "chotfl%s%d" % (tag, os.getpid()),
                             "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                             os.path.join(srcdir, "configs/chotd.conf"), sets, lcores)
        rc, c, out, err = cp.run_chotd(args, timeout=240)
        if rc != 0:
            raise RuntimeError("chotd exit %d: %s %s" % (rc, out, err[-2000:]))
        tl, pr = cp.stored_events(redis)
        rdb = b""
        redis.cli("CONFIG", "SET", "rdbcompression", "no")
        redis.cli("SAVE")
        # The dump and the AOF (DESIGN §4: neither may hold a raw identifier).
        for root, _, files in os.walk(rdir):
            for name in files:
                if name.endswith((".rdb", ".aof")):
                    with open(os.path.join(root, name), "rb") as f:
                        rdb += f.read()
        return c, tl, pr, rdb
    finally:
        redis.stop()


def raw_ids(subjects):
    """The normalised raw identifiers of the truth's [pid, scheme, id] rows."""
    return set(row[2] for row in subjects if len(row) >= 3 and len(row[2]) >= 5)


def main():
    chotd, flood, srcdir = sys.argv[1:4]
    quick = "--quick" in sys.argv
    fails = []
    with cp.TempDir() as tmp:
        keys = os.path.join(tmp, "keys")
        cp.make_keys(keys, seed=5)
        pcap, truth = gen(flood, tmp, keys, quick)
        dirs = {"IN": 1, "OUT": 2, "PASS": 3}
        want = set((p, int(s), int(t), dirs.get(d, d)) for p, s, t, d in truth["stored"])
        now_ms = 0      # wall clock: chot-flood's province ends at today's 00:00 UTC

        c, tl, pr, rdb = run(chotd, srcdir, tmp, keys, pcap, now_ms, 1, "0", "a")
        for k, v in truth["counters"].items():
            if k not in SKIP_KEYS and c.get(k) != v:
                fails.append("1 worker: %s: truth %d, chotd %s" % (k, v, c.get(k)))
        try:
            cp.check_identities(c)
        except AssertionError as e:
            fails.append(str(e))
        if tl != want:
            fails.append("timeline != truth: %d missing, %d extra" % (len(want - tl),
                                                                    len(tl - want)))
        if pr != want:
            fails.append("presence != truth: %d missing, %d extra" % (len(want - pr),
                                                                    len(pr - want)))
        ids = raw_ids(truth.get("subjects", []))
        leaked = [i for i in ids if i.encode() in rdb]
        if not rdb:
            fails.append("no RDB dump was written")
        if leaked:
            fails.append("raw identifiers in the Redis dump: %s" % leaked[:5])
        if not ids:
            fails.append("the truth lists no subjects to look for")
        # Control: the dump is readable text-wise (key names carry the pid in hex).
        if want and not any(p.encode() in rdb for p, _, _, _ in list(want)[:50]):
            fails.append("no pid found in the dump either: the leak check would be blind")

        c2, tl2, pr2, _ = run(chotd, srcdir, tmp, keys, pcap, now_ms, 2, "0@0,1@1,2@1", "b")
        if tl2 != tl or pr2 != pr:
            fails.append("2 workers stored different data: %d/%d timeline entries differ" %
                         (len(tl2 ^ tl), len(tl)))
        try:
            cp.check_identities(c2)
        except AssertionError as e:
            fails.append("2 workers: " + str(e))

        twice = os.path.join(tmp, "twice.pcap")
        cp.concat_pcap(twice, [pcap, pcap])
        c3, tl3, pr3, _ = run(chotd, srcdir, tmp, keys, twice, now_ms, 1, "0", "c")
        if tl3 != tl or pr3 != pr:
            fails.append("capture twice stored different data")
        for k in ["events_stored", "batches_accepted", "events_decoded"]:
            if c3.get(k) != c.get(k):
                fails.append("capture twice: %s %s != once %s" % (k, c3.get(k), c.get(k)))
        legit = c["batches_accepted"] + c["decode_errors"] + c["replayed"]
        second = (c3["replayed"] - c["replayed"]) + (c3["stale_epoch"] - c["stale_epoch"])
        if second < legit:
            fails.append("capture twice: only %d of %d legit batches replayed" % (second, legit))

        small = {"redis.max_pending_events": 256}
        c4, tl4, pr4, _ = run(chotd, srcdir, tmp, keys, pcap, now_ms, 1, "0", "d",
                              dict(small, **{"ingest.backpressure": 1}))
        if c4.get("events_dropped") != 0 or c4.get("rx_paused", 0) == 0:
            fails.append("backpressure: events_dropped %s (want 0), rx_paused %s (want > 0)" %
                         (c4.get("events_dropped"), c4.get("rx_paused")))
        if tl4 != want or pr4 != want or c4.get("events_stored") != c.get("events_stored"):
            fails.append("backpressure: stored data differs from the truth")
        c5, _, _, _ = run(chotd, srcdir, tmp, keys, pcap, now_ms, 1, "0", "e", small)
        if c5.get("events_dropped", 0) == 0 or c5.get("rx_paused") != 0:
            fails.append("control without backpressure: events_dropped %s (want > 0), "
                         "rx_paused %s (want 0): the backpressure check would be blind" %
                         (c5.get("events_dropped"), c5.get("rx_paused")))
        try:
            cp.check_identities(c5)
        except AssertionError as e:
            fails.append("no backpressure: " + str(e))
    if fails:
        print("chotd counters:", c)
        for f in fails:
            print("FAIL:", f)
        return 1
    print("ok: %d events stored = truth; 1 vs 2 workers identical; replay stores nothing; "
          "backpressure paused %d times and dropped nothing (without: %d dropped)" %
          (c["events_stored"], c4["rx_paused"], c5["events_dropped"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
