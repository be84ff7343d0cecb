#!/usr/bin/python3
"""chotd on `redis.url = cluster://...` (DESIGN §8, issue 12 part 5):
a `chot-flood gen` province (hostile traffic included) into a 3-master
Redis Cluster made by tools/redis-cluster.sh (shipped configs, ACL users,
chotd logs in as chot-ingest on every node):

  1. one worker: every counter equals the truth, the identities hold, the
     events stored over all masters equal the truth exactly (timeline and
     presence), every master holds keys (max/min printed as the balance),
     the slot map was fetched (redis_map_refreshes >= 1) and no redirection
     was needed on a stable cluster (redis_moved = redis_ask = 0);
     and `chotctl -r cluster://... --json trace --depth 2` (as chot-operator)
     of every F0 the truth samples gives exactly the truth's F1 and F2 sets;
  2. the cluster flushed, two worker lcores: the same stored data;
  3. chotd refuses to start on cluster:// with a wrong password (the
     start-up ACL check runs against the cluster's masters).

Usage: test_chotd_cluster.py CHOTD CHOT_FLOOD CHOTCTL SRCDIR [--quick]
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
    sites = os.path.join(tmp, "sites.csv")
    size = ["--citizens", "300", "--sites", "12", "--devices", "8", "--hours", "6"] if quick \
        else ["--citizens", "3000", "--sites", "30", "--devices", "20", "--hours", "24"]
    r = subprocess.run([flood, "gen"] + size + ["--seed", "43", "--dup-rate", "0.05",
                       "--hostile-rate", "0.05", "--f0-samples", "3", "--keys", keys,
                       "--pcap", pcap, "--truth", truth, "--sites-csv", sites], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("chot-flood gen failed: %s %s" % (r.stdout, r.stderr))
    with open(truth) as f:
        return pcap, json.load(f)


def chotd(binary, srcdir, cl, keys, pcap, workers, lcores, tag, passfile=None):
    sets = {"keys.file": keys, "redis.url": cl.url, "redis.user": "chot-ingest",
            "redis.password_file": passfile or cl.passfiles["ingest"],
            "ingest.exit_on_idle_ms": 1500, "ingest.workers": workers,
            "dedupe.capacity": 65536, "ingest.max_devices": 4096}
    args = cp.chotd_args(binary, "chotcl%s%d" % (tag, os.getpid()),
                         "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                         os.path.join(srcdir, "configs/chotd.conf"), sets, lcores)
    return cp.run_chotd(args, timeout=240)


def traces(ctl, cl, keys, truth, tmp):
    """chotctl trace of every sampled F0 on the cluster: [failure lines]."""
    fails = []
    base = [ctl, "-r", cl.url]
    r = subprocess.run(base + ["--user", "chot-admin", "--password-file", cl.passfiles["admin"],
                               "sites", "import", os.path.join(tmp, "sites.csv")],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return ["chotctl sites import on cluster://: %s %s" % (r.stdout, r.stderr)]
    if not truth.get("f0"):
        return ["the truth samples no F0"]
    for f in truth["f0"]:
        want = f["traces"][0]
        r = subprocess.run(base + ["--user", "chot-operator", "--password-file",
                                   cl.passfiles["operator"], "--keys", keys, "--json", "trace",
                                   f["id"], "--scheme", f["scheme"], "--until",
                                   str(f["until_ms"]), "--depth", "2"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode not in (0, 1):
            fails.append("chotctl trace %s: exit %d %s" % (f["id"], r.returncode, r.stderr))
            continue
        tr = json.loads(r.stdout)
        f1 = sorted(c["pid"] for c in tr["contacts"] if c["degree"] == 1)
        f2 = sorted(c["pid"] for c in tr["contacts"] if c["degree"] == 2)
        ok = (f1, f2) == (sorted(want["f1"]), sorted(want["f2"]))
        print("trace %s on the cluster: F1 %d F2 %d (truth %d %d) in %.1f ms: %s" % (
            f["id"], len(f1), len(f2), len(want["f1"]), len(want["f2"]),
            tr["stats"]["elapsed_ms"], "EXACT" if ok else "DIFFERENT"))
        if not ok:
            fails.append("trace %s: F1 %d/%d F2 %d/%d differ from the truth" % (
                f["id"], len(f1), len(want["f1"]), len(f2), len(want["f2"])))
    return fails


def main():
    binary, flood, ctl, srcdir = sys.argv[1:5]
    quick = "--quick" in sys.argv
    fails = []
    with cp.TempDir() as tmp:
        keys = os.path.join(tmp, "keys")
        cp.make_keys(keys, seed=6)
        pcap, truth = gen(flood, tmp, keys, quick)
        dirs = {"IN": 1, "OUT": 2, "PASS": 3}
        want = set((p, int(s), int(t), dirs.get(d, d)) for p, s, t, d in truth["stored"])
        with cp.Cluster(os.path.join(tmp, "cl"), srcdir, masters=3, replicas=0) as cl:
            results = {}
            for workers, lcores in ((1, "0"), (2, "0@0,1@1,2@1")):
                for p in cl.masters():
                    cl.cli(p, "FLUSHALL")
                rc, c, out, err = chotd(binary, srcdir, cl, keys, pcap, workers, lcores,
                                        str(workers))
                tag = "%d worker%s" % (workers, "s" if workers > 1 else "")
                if rc != 0:
                    fails.append("%s: chotd exit %d: %s" % (tag, rc, err[-2000:]))
                    continue
                for k, v in truth["counters"].items():
                    if k not in SKIP_KEYS and c.get(k) != v:
                        fails.append("%s: %s: truth %d, chotd %s" % (tag, k, v, c.get(k)))
                try:
                    cp.check_identities(c)
                except AssertionError as e:
                    fails.append("%s: %s" % (tag, e))
                tl, pr, per = cp.cluster_stored_events(cl)
                results[workers] = tl
                if workers == 1:
                    fails += traces(ctl, cl, keys, truth, tmp)
                if tl != want:
                    fails.append("%s: timeline != truth: %d missing, %d extra" %
                                 (tag, len(want - tl), len(tl - want)))
                if pr != want:
                    fails.append("%s: presence != truth: %d missing, %d extra" %
                                 (tag, len(want - pr), len(pr - want)))
                nottl = cp.cluster_keys_without_ttl(cl)
                if sum(nottl.values()):
                    fails.append("%s: keys without an expiry: %s" % (tag, nottl))
                if len(per) != 3 or min(per.values()) == 0:
                    fails.append("%s: keys not on every master: %s" % (tag, per))
                if c.get("redis_map_refreshes", 0) < workers:
                    fails.append("%s: redis_map_refreshes %s: no slot map fetched" %
                                 (tag, c.get("redis_map_refreshes")))
                # Every master runs the module (tools/redis-cluster.sh): chotd
                # writes with CHOT.APPEND, the expiry inside, on every master.
                if "store: writes with CHOT.APPEND" not in out + err:
                    fails.append("%s: chotd did not pick CHOT.APPEND on the cluster" % tag)
                for p in cl.masters():
                    cs = cl.cli(p, "INFO", "commandstats")
                    if "cmdstat_chot.append:" not in cs:
                        fails.append("%s: master %d ran no CHOT.APPEND" % (tag, p))
                if c.get("redis_moved") or c.get("redis_ask"):
                    fails.append("%s: redirections on a stable cluster: moved %s ask %s" %
                                 (tag, c.get("redis_moved"), c.get("redis_ask")))
                bal = max(per.values()) / max(1, min(per.values()))
                print("%s: %d events stored = truth %d; keys per master %s (max/min %.3f); "
                      "map refreshes %s" % (tag, c.get("events_stored", 0), len(want),
                                            sorted(per.values()), bal,
                                            c.get("redis_map_refreshes")))
            # A wrong password: the start-up check refuses (exit 1, names the user).
            bad = os.path.join(tmp, "bad.pass")
            with open(bad, "w") as f:
                f.write("not-the-password\n")
            os.chmod(bad, 0o600)
            rc, c, out, err = chotd(binary, srcdir, cl, keys, pcap, 1, "0", "bad", bad)
            if rc == 0 or "authentication failed" not in err:
                fails.append("wrong password on cluster://: exit %d, stderr %s" %
                             (rc, err[-500:]))
            else:
                print("wrong password refused: %s" % [ln for ln in err.splitlines()
                                                      if "authentication" in ln][:1])
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
