"""chotctl trace against a `chot-flood gen` province (issue 4).

  1. chot-flood gen writes a province pcap, its sites CSV and a truth file
     whose sampled F0s carry the exact F1/F2 sets under the rules.h
     definitions (computed by brute force, with several --window /
     --min-overlap settings).
  2. A private redis-server runs the shipped configs/redis.conf (ACL users);
     `chotctl sites import` loads the registry as chot-admin (site kinds set
     the lone-scan dwell, and the truth uses them); chotd ingests the pcap as
     chot-ingest, with 1 worker and then, into a fresh Redis, with 2.
  3. For every sampled F0 and every truth setting,
     `chotctl --json trace --pid P --until U --days D --window W
     --min-overlap M --depth 2`, logged in as chot-operator, must return
     exactly the truth's F1 set (degree 1) and F2 set (degree 2), with `via`
     on every F2 naming one of the F1s.
  4. Every lookup leaves one record in the chot:audit stream; with CHOT.AUDIT
     taken away from chot-operator the lookup is refused (exit 3) and prints
     no result.
  5. ACL: chot-operator cannot write scan data; chot-ingest cannot read it
     (nor the vault units in the week keys).

usage: test_trace_truth.py CHOTCTL CHOTD CHOT_FLOOD SRCDIR [--quick]
Run with /usr/bin/python3 (Debian's, for tests/integration/chotpy.py).
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import chotpy as cp  # noqa: E402


def duration(ms):
    """A --window / --min-overlap argument in chotctl's duration syntax."""
    if ms == 0:
        return "0"
    if ms % 60000 == 0:
        return "%dm" % (ms // 60000)
    if ms % 1000 == 0:
        return "%ds" % (ms // 1000)
    return "%dms" % ms


def gen(flood, tmp, quick):
    keys = os.path.join(tmp, "keys")
    pcap, truth, sites = (os.path.join(tmp, n) for n in ("p.pcap", "truth.json", "sites.csv"))
    subprocess.run([flood, "keys", keys], check=True, capture_output=True, timeout=30)
    size = ["--citizens", "600", "--sites", "16", "--devices", "20", "--hours", "24"] if quick \
        else ["--citizens", "2000", "--sites", "40", "--devices", "60", "--hours", "48"]
    r = subprocess.run([flood, "gen"] + size + ["--seed", "7", "--f0-samples", "4",
                       "--dup-rate", "0.02", "--hostile-rate", "0.01", "--keys", keys,
                       "--pcap", pcap, "--truth", truth, "--sites-csv", sites],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("chot-flood gen failed: %s %s" % (r.stdout, r.stderr))
    with open(truth) as f:
        return keys, pcap, sites, json.load(f)


class Ctl:
    """Runs chotctl against one Redis as one ACL user."""

    def __init__(self, chotctl, redis, user):
        self.base = [chotctl, "-r", "redis://127.0.0.1:%d" % redis.port,
                     "--user", "chot-" + user, "--password-file", redis.passfiles[user]]

    def run(self, *args, timeout=60):
        env = dict(os.environ, USER="chot-test")
        return subprocess.run(self.base + list(args), capture_output=True, text=True,
                              timeout=timeout, env=env)


def ingest(chotd, srcdir, tmp, keys, pcap, workers, lcores, tag):
    rdir = os.path.join(tmp, "redis-" + tag)
    os.mkdir(rdir)
    redis = cp.Redis(rdir, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
    sets = {"keys.file": keys, "redis.url": "redis://127.0.0.1:%d" % redis.port,
            "redis.user": "chot-ingest", "redis.password_file": redis.passfiles["ingest"],
            "ingest.exit_on_idle_ms": 800, "ingest.workers": workers,
            "dedupe.capacity": 65536, "ingest.max_devices": 4096}
    args = cp.chotd_args(chotd, "chotct%s%d" % (tag, os.getpid()),
                         "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                         os.path.join(srcdir, "configs/chotd.conf"), sets, lcores)
    try:
        rc, c, out, err = cp.run_chotd(args, timeout=240)
        if rc != 0:
            raise RuntimeError("chotd exit %d: %s %s" % (rc, out, err[-2000:]))
    except BaseException:
        redis.stop()
        raise
    return redis, c


def check_traces(ctl, truth, fails, tag, only_first=False):
    """Every sampled F0 x truth setting; returns the number of lookups made."""
    lookups = 0
    for f0 in truth["f0"]:
        for tr in f0["traces"][:1] if only_first else f0["traces"]:
            args = ["--json", "trace", "--pid", f0["pid"], "--until", str(f0["until_ms"]),
                    "--days", str(f0["days"]), "--window", duration(tr["window_ms"]),
                    "--min-overlap", duration(tr["min_overlap_ms"]), "--depth", "2"]
            what = "%s: trace %s w=%d m=%d" % (tag, f0["pid"], tr["window_ms"],
                                               tr["min_overlap_ms"])
            t = time.time()
            r = ctl.run(*args)
            lookups += 1
            want1, want2 = set(tr["f1"]), set(tr["f2"])
            want_rc = 0 if want1 else 1
            if r.returncode != want_rc:
                fails.append("%s: exit %d (expected %d): %s" % (what, r.returncode, want_rc,
                                                               r.stderr.strip()))
                continue
            try:
                out = json.loads(r.stdout)
            except ValueError:
                fails.append("%s: stdout is not JSON: %r" % (what, r.stdout[:200]))
                continue
            got1 = set(c["pid"] for c in out["contacts"] if c["degree"] == 1)
            got2 = set(c["pid"] for c in out["contacts"] if c["degree"] == 2)
            if got1 != want1:
                fails.append("%s: F1 differs: %d missing, %d extra (truth %d)" % (
                    what, len(want1 - got1), len(got1 - want1), len(want1)))
            if got2 != want2:
                fails.append("%s: F2 differs: %d missing, %d extra (truth %d)" % (
                    what, len(want2 - got2), len(got2 - want2), len(want2)))
            if len(out["contacts"]) != len(got1) + len(got2):
                fails.append("%s: contacts must hold one entry per subject" % what)
            bad_via = [c for c in out["contacts"] if c["degree"] == 2 and c.get("via") not in got1]
            if bad_via:
                fails.append("%s: %d F2 entries whose via is not an F1" % (what, len(bad_via)))
            ov = [c["overlap_ms"] for c in out["contacts"]]
            if ov != sorted(ov, reverse=True):
                fails.append("%s: contacts not ranked by overlap" % what)
            if out["subject"]["pid"] != f0["pid"] or "id" in out["subject"]:
                fails.append("%s: subject must be the pid and no raw id without --keys" % what)
            if out["window"]["to_ms"] != f0["until_ms"]:
                fails.append("%s: window.to_ms %s != --until" % (what, out["window"]["to_ms"]))
            print("%s: F1 %d F2 %d in %.0f ms (engine %.1f ms, %d redis calls)" % (
                what, len(got1), len(got2), (time.time() - t) * 1000,
                out["stats"]["elapsed_ms"], out["stats"]["redis_calls"]))
    return lookups


def audit_len(redis):
    return int(redis.cli("XLEN", "chot:audit").strip() or 0)


def main():
    if len(sys.argv) < 5:
        print(__doc__)
        return 2
    chotctl, chotd, flood, srcdir = sys.argv[1:5]
    quick = "--quick" in sys.argv[5:]
    fails = []
    with cp.TempDir() as tmp:
        keys, pcap, sites, truth = gen(flood, tmp, quick)
        if not truth.get("f0") or not any(tr["f1"] for f0 in truth["f0"]
                                          for tr in f0["traces"]):
            print("FAIL: the truth samples no F0 with contacts; the test would prove nothing")
            return 1
        for workers, lcores, tag in ((1, "0", "a"), (2, "0@0,1@1,2@1", "b")):
            redis, c = ingest(chotd, srcdir, tmp, keys, pcap, workers, lcores, tag)
            try:
                if c.get("events_stored") != truth["counters"]["events_stored"]:
                    fails.append("%s: chotd stored %s events, truth %d" % (
                        tag, c.get("events_stored"), truth["counters"]["events_stored"]))
                admin = Ctl(chotctl, redis, "admin")
                r = admin.run("sites", "import", sites)
                if r.returncode != 0:
                    fails.append("%s: sites import exit %d: %s" % (tag, r.returncode, r.stderr))
                op = Ctl(chotctl, redis, "operator")
                before = audit_len(redis)
                n = check_traces(op, truth, fails, "%d worker(s)" % workers,
                                 only_first=(workers == 2 and quick))
                after = audit_len(redis)
                if after - before < n:
                    fails.append("%s: %d lookups but %d audit records" % (tag, n, after - before))
                if tag == "a":
                    last = redis.cli("XREVRANGE", "chot:audit", "+", "-", "COUNT", "1")
                    if truth["f0"][-1]["pid"] not in last or "trace" not in last:
                        fails.append("audit record lacks the pid or the command: %r" % last[:300])
                    # Lookups are refused when the audit stream is not writable.
                    redis.cli("ACL", "SETUSER", "chot-operator", "-chot.audit")
                    f0 = truth["f0"][0]
                    r = op.run("--json", "trace", "--pid", f0["pid"], "--until",
                               str(f0["until_ms"]), "--days", str(f0["days"]))
                    if r.returncode != 3 or r.stdout.strip():
                        fails.append("audit not writable: expected exit 3 and no output, got "
                                     "exit %d, %d bytes out" % (r.returncode, len(r.stdout)))
                    if not r.stderr.strip() or "\n" in r.stderr.strip():
                        fails.append("audit not writable: expected a one-line error, got %r"
                                     % r.stderr)
                    redis.cli("ACL", "SETUSER", "chot-operator", "+chot.audit")
                    # ACL: the operator cannot write scan data, ingest cannot read it (nor the vault).
                    for user, cmd in (("operator", ["APPEND", "s:{00}:w1", "x"]),
                                      ("ingest", ["GET", "s:{00}:w1"])):
                        pw = open(redis.passfiles[user]).read().strip()
                        rr = subprocess.run(["redis-cli", "-p", str(redis.port), "--user",
                                             "chot-" + user, "--pass", pw, "--no-auth-warning"]
                                            + cmd, capture_output=True, text=True, timeout=30)
                        if "NOPERM" not in rr.stdout + rr.stderr:
                            fails.append("chot-%s %s: expected NOPERM, got %r" % (
                                user, cmd[0], rr.stdout.strip()))
            finally:
                redis.stop()
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print("ok: every sampled F0's F1/F2 sets equal the truth (1 and 2 workers); "
              "audit and ACL checks hold")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
