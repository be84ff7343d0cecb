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
process (connect, AUTH, HGETALL chot:{lists}:sites, audit XADD, output).  On a
shared box wall times swing with the neighbours' load, so the CPU time of
the chotctl process (cpu_*) and of redis-server per trace are reported too.

--keep DIR keeps the province between runs, to iterate on chotctl alone: the
first run generates and ingests into DIR (Redis's AOF is rewritten and kept,
with the sampled pids in DIR/state.json); later runs with the same DIR (and
the same --citizens/--hours/--seed) restart redis-server on that data and
only time the traces.  --depths 2 times depth 2 only; --dump FILE writes a
digest of each trace's output so two builds can be checked for identical
results.
"""
import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import signal
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import chotpy as cp  # noqa: E402
import test_trace_truth as tt  # noqa: E402


def proc_cpu_ms(pid):
    """User + system CPU time of a process so far (Linux /proc), in ms."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def ingest(chotd, srcdir, tmp, keys, pcap, n_events):
    """chotd over the whole pcap into a fresh Redis, sized so nothing is dropped
    (the pcap does not retransmit): a dedupe table and pending budget of at
    least the province's event count."""
    size = 2097152
    while size < n_events:
        size *= 2
    rdir = os.path.join(tmp, "redis-bench")
    os.mkdir(rdir)
    redis = cp.Redis(rdir, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
    sets = {"keys.file": keys, "redis.url": "redis://127.0.0.1:%d" % redis.port,
            "redis.user": "chot-ingest", "redis.password_file": redis.passfiles["ingest"],
            "ingest.exit_on_idle_ms": 2000, "redis.max_pending_events": size,
            "dedupe.capacity": size,
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


class KeptRedis(cp.Redis):
    """redis-server restarted on a kept province's dir (its conf and AOF)."""

    def __init__(self, rdir):
        self.dir = rdir
        self.port = cp.free_port()
        self.passfiles = {u: os.path.join(rdir, "%s.pass" % u)
                          for u in ("admin", "ingest", "operator")}
        self.user = "chot-admin"
        with open(self.passfiles["admin"]) as f:
            self.password = f.read().strip()
        self.args = ["redis-server", os.path.join(rdir, "redis.conf"), "--port",
                     str(self.port), "--bind", "127.0.0.1", "--dir", rdir,
                     "--daemonize", "no", "--logfile", os.path.join(rdir, "redis.log")]
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(1200):   # loading a big AOF takes a while
            if self.cli("PING", check=False).strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not load %s" % self.dir)


def stop_kept(redis):
    """Rewrite the AOF (fast reload next time), then stop Redis cleanly."""
    redis.cli("BGREWRITEAOF")
    for _ in range(600):
        if "aof_rewrite_in_progress:1" not in redis.cli("INFO", "persistence") and \
                "aof_rewrite_scheduled:1" not in redis.cli("INFO", "persistence"):
            break
        time.sleep(0.2)
    redis.proc.send_signal(signal.SIGTERM)
    redis.proc.wait(timeout=120)


def prepare(a, tmp):
    """Generate and ingest a province; returns (redis, sites csv, pids, until)."""
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
    redis, c = ingest(a.chotd, a.srcdir, tmp, keys, pcap, n_stored)
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
    except BaseException:
        redis.stop()
        raise
    for n in (pcap, truth_p):
        os.unlink(n)
    return redis, sites, pids, until


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
    ap.add_argument("--keep", metavar="DIR", help="keep/reuse the province in DIR")
    ap.add_argument("--dump", metavar="FILE",
                    help="write a digest of every trace's output (minus stats) to FILE, "
                         "to check that a change keeps the results identical")
    ap.add_argument("--depths", default="1,2", help="depths to time (1,2)")
    a = ap.parse_args()
    a.depths = [int(x) for x in a.depths.split(",")]
    state_p = os.path.join(a.keep, "state.json") if a.keep else None
    tmpdir = None
    if a.keep and os.path.exists(state_p):
        with open(state_p) as f:
            st = json.load(f)
        if (st["citizens"], st["hours"], st["seed"]) != (a.citizens, a.hours, a.seed):
            raise SystemExit("%s holds %s, not this province" % (a.keep, st))
        t = time.time()
        redis = KeptRedis(os.path.join(a.keep, "redis-bench"))
        print("kept province %s: loaded in %.1f s" % (a.keep, time.time() - t), flush=True)
        sites, pids, until = os.path.join(a.keep, "s.csv"), st["pids"], st["until"]
        fresh = False
    else:
        if a.keep:
            os.makedirs(a.keep, exist_ok=True)
            tmp = a.keep
        else:
            tmpdir = cp.TempDir()
            tmp = tmpdir.__enter__()
        redis, sites, pids, until = prepare(a, tmp)
        fresh = True
    try:
        used = redis.cli("INFO", "memory")
        mem = [x for x in used.splitlines() if x.startswith("used_memory:")]
        print("redis %s" % (mem[0] if mem else "?"), flush=True)
        if fresh:
            admin = tt.Ctl(a.chotctl, redis, "admin")
            r = admin.run("sites", "import", sites)
            assert r.returncode == 0, r.stderr
            if a.keep:
                with open(state_p + ".tmp", "w") as f:
                    json.dump({"citizens": a.citizens, "hours": a.hours,
                               "seed": a.seed, "pids": pids, "until": until}, f)
        op = tt.Ctl(a.chotctl, redis, "operator")
        rnd = random.Random(a.seed)
        sample = rnd.sample(pids, min(a.lookups, len(pids)))
        days = str((a.hours + 23) // 24)
        result, digests = {}, {}
        for depth in a.depths:
            eng, wall, cpu, calls, f1, f2 = [], [], [], [], [], []
            redis_cpu0 = proc_cpu_ms(redis.proc.pid)
            for pid in sample:
                t = time.time()
                ru = resource.getrusage(resource.RUSAGE_CHILDREN)
                r = op.run("--json", "trace", "--pid", pid, "--until", str(until),
                           "--days", days, "--depth", str(depth), timeout=120)
                w = (time.time() - t) * 1000
                ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append((ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime) * 1000)
                if r.returncode not in (0, 1):
                    raise RuntimeError("trace %s: exit %d %s" % (pid, r.returncode,
                                                                 r.stderr))
                out = json.loads(r.stdout)
                if a.dump:
                    digests.setdefault(str(depth), {})[pid] = hashlib.sha256(json.dumps(
                        {k: v for k, v in out.items() if k != "stats"},
                        sort_keys=True).encode()).hexdigest()
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
                "cpu_p50_ms": round(pct(cpu, 50), 2),
                "cpu_p99_ms": round(pct(cpu, 99), 2),
                "redis_cpu_ms_per_trace": round(
                    (proc_cpu_ms(redis.proc.pid) - redis_cpu0) / len(sample), 1),
                "redis_calls_p50": pct(calls, 50),
                "f1_p50": pct(f1, 50), "f1_max": max(f1),
                "f2_p50": pct(f2, 50), "f2_max": max(f2),
            }
            print("depth %d: %s" % (depth, json.dumps(result[depth])), flush=True)
        if a.dump:
            with open(a.dump, "w") as f:
                json.dump(digests, f, indent=0, sort_keys=True)
    finally:
        if a.keep:
            stop_kept(redis)
            if fresh and os.path.exists(state_p + ".tmp"):
                os.replace(state_p + ".tmp", state_p)
        else:
            redis.stop()
        if tmpdir is not None:
            tmpdir.__exit__(None, None, None)
    print(json.dumps({"citizens": a.citizens, "hours": a.hours, "trace": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
