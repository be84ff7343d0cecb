"""Trace latency benchmark (issue 4, docs/BENCHMARKS.md): p50 / p99 of
`chotctl --json trace --depth 1` and `--depth 2` on a province of N citizens
x H hours ingested by the real chotd into a private redis-server (shipped
configs/redis.conf, ACL users; chotctl logs in as chot-operator).

Not a test (it takes minutes); run by hand:

  /usr/bin/python3 tests/control/bench_trace.py build/control/chotctl \\
      build/dataplane/chotd build/tools/flood/chot-flood . \\
      --citizens 100000 --hours 168 --lookups 200

F0s are drawn (seeded) from the subjects with stored scans.  Two latencies
are reported per depth: the engine's own `stats.elapsed_ms` (from the first
Redis round to the ranked result) and the wall time of the whole chotctl
process (connect, AUTH, HGETALL chot:sites, audit XADD, output).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import chotpy as cp  # noqa: E402
import test_trace_truth as tt  # noqa: E402


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def ingest(chotd, srcdir, tmp, keys, pcap):
    """chotd over the whole pcap into a fresh Redis, sized so nothing is dropped
    (the pcap does not retransmit): a big dedupe table and pending budget."""
    rdir = os.path.join(tmp, "redis-bench")
    os.mkdir(rdir)
    redis = cp.Redis(rdir, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
    sets = {"keys.file": keys, "redis.url": "redis://127.0.0.1:%d" % redis.port,
            "redis.user": "chot-ingest", "redis.password_file": redis.passfiles["ingest"],
            "ingest.exit_on_idle_ms": 2000, "redis.max_pending_events": 2097152,
            "dedupe.capacity": 2097152,
            "ingest.mbufs": 65535}
    args = cp.chotd_args(chotd, "chotbn%d" % os.getpid(),
                         "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                         os.path.join(srcdir, "configs/chotd.conf"), sets, "0")
    args[args.index("-m") + 1] = "2048"
    try:
        rc, c, out, err = cp.run_chotd(args, timeout=1200)
        if rc != 0:
            raise RuntimeError("chotd exit %d: %s %s" % (rc, out, err[-2000:]))
    except BaseException:
        redis.stop()
        raise
    return redis, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chotctl")
    ap.add_argument("chotd")
    ap.add_argument("flood")
    ap.add_argument("srcdir")
    ap.add_argument("--citizens", type=int, default=100000)
    ap.add_argument("--hours", type=int, default=168)
    ap.add_argument("--lookups", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    with cp.TempDir() as tmp:
        keys = os.path.join(tmp, "keys")
        pcap, truth_p, sites = (os.path.join(tmp, n) for n in ("p.pcap", "t.json", "s.csv"))
        subprocess.run([a.flood, "keys", keys], check=True, capture_output=True)
        t = time.time()
        subprocess.run([a.flood, "gen", "--citizens", str(a.citizens),
                        "--sites", str(a.citizens // 100 + 20),
                        "--devices", str(a.citizens // 60 + 30), "--hours", str(a.hours),
                        "--seed", str(a.seed), "--f0-samples", "1", "--hostile-rate", "0",
                        "--keys", keys, "--pcap", pcap, "--truth", truth_p,
                        "--sites-csv", sites], check=True, capture_output=True, timeout=3600)
        print("gen: %.1f s" % (time.time() - t), flush=True)
        with open(truth_p) as f:
            truth = json.load(f)
        stored = truth["stored"]
        until = max(r[2] for r in stored) + 1
        pids = sorted(set(r[0] for r in stored))
        print("province: %d citizens, %d h, %d stored scans, %d subjects with scans" % (
            a.citizens, a.hours, len(stored), len(pids)), flush=True)
        n_stored = len(stored)
        del truth, stored
        t = time.time()
        redis, c = ingest(a.chotd, a.srcdir, tmp, keys, pcap)
        try:
            print("ingest: %.1f s, %d events stored (truth %d), %d dropped" % (
                time.time() - t, c.get("events_stored", -1), n_stored,
                c.get("events_dropped", -1)), flush=True)
            if c.get("events_dropped", 0) != 0 or c.get("events_stored", 0) < n_stored:
                raise RuntimeError("chotd stored %s of the truth's %d events: the figures "
                                   "would not describe this province" % (
                                       c.get("events_stored"), n_stored))
            if c.get("events_stored") != n_stored:
                print("WARNING: chotd stored %d events more than the truth (dup_scans %s, "
                      "counters %s)" % (c["events_stored"] - n_stored, c.get("dup_scans"),
                                        json.dumps(c)), flush=True)
            used = redis.cli("INFO", "memory")
            mem = [x for x in used.splitlines() if x.startswith("used_memory:")]
            print("redis %s" % (mem[0] if mem else "?"), flush=True)
            admin = tt.Ctl(a.chotctl, redis, "admin")
            r = admin.run("sites", "import", sites)
            assert r.returncode == 0, r.stderr
            op = tt.Ctl(a.chotctl, redis, "operator")
            rnd = random.Random(a.seed)
            sample = rnd.sample(pids, min(a.lookups, len(pids)))
            days = str((a.hours + 23) // 24)
            result = {}
            for depth in (1, 2):
                eng, wall, calls, f1, f2 = [], [], [], [], []
                for pid in sample:
                    t = time.time()
                    r = op.run("--json", "trace", "--pid", pid, "--until", str(until),
                               "--days", days, "--depth", str(depth), timeout=120)
                    w = (time.time() - t) * 1000
                    if r.returncode not in (0, 1):
                        raise RuntimeError("trace %s: exit %d %s" % (pid, r.returncode,
                                                                     r.stderr))
                    out = json.loads(r.stdout)
                    eng.append(out["stats"]["elapsed_ms"])
                    calls.append(out["stats"]["redis_calls"])
                    wall.append(w)
                    f1.append(sum(1 for x in out["contacts"] if x["degree"] == 1))
                    f2.append(sum(1 for x in out["contacts"] if x["degree"] == 2))
                result[depth] = {
                    "lookups": len(sample),
                    "engine_p50_ms": round(pct(eng, 50), 2),
                    "engine_p99_ms": round(pct(eng, 99), 2),
                    "wall_p50_ms": round(pct(wall, 50), 2),
                    "wall_p99_ms": round(pct(wall, 99), 2),
                    "redis_calls_p50": pct(calls, 50),
                    "f1_p50": pct(f1, 50), "f1_max": max(f1),
                    "f2_p50": pct(f2, 50), "f2_max": max(f2),
                }
                print("depth %d: %s" % (depth, json.dumps(result[depth])), flush=True)
        finally:
            redis.stop()
    print(json.dumps({"citizens": a.citizens, "hours": a.hours, "trace": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
