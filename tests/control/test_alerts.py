"""chotctl alerts against a real redis-server (shipped configs/redis.conf).

  1. As chot-ingest (what chotd logs in as), alerts are XADDed to
     chot:{alerts} in the DESIGN §9 shape, plus one repeat of an alert (the
     same pid, site and ts_ms under a new stream id, as after a fault) and
     one malformed entry.
  2. As chot-operator: `--json alerts` prints JSON Lines, each line exactly
     the §9 object (keys, order, separators), newest last, the repeat once,
     the malformed entry skipped with a count on stderr; the table and CSV
     show the same rows; --reason (names and codes), --site, --since and
     --limit select exactly the expected alerts; no match is exit 1.
  3. --keys reveals each identity from the vault (sealed here independently,
     tests/integration/chotpy.py), and every reveal leaves an audit record
     naming its pid; every lookup leaves an "alerts" record.
  4. --follow prints an alert XADDed after it started (and a repeat of it
     not again), and exits 0 on SIGINT and on SIGTERM within 5 s.

usage: test_alerts.py CHOTCTL SRCDIR
"""
import json
import os
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import chotpy as cp  # noqa: E402
from test_trace_truth import Ctl  # noqa: E402

fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)
    return cond


def xadd(r, a):
    return r.call("XADD", cp.ALERTS_STREAM, "MAXLEN", "~", "1000000", "*",
                  "ts_ms", a["ts_ms"], "site", a["site"], "pid", a["pid"], "scheme", a["scheme"],
                  "reasons", ",".join(a["reasons"]), "device", a["device"],
                  "origin_commune", a["origin_commune"]).decode()


def expected_line(a, alert_id, raw=None):
    o = {"alert_id": alert_id, "ts_ms": a["ts_ms"], "site": a["site"], "pid": a["pid"]}
    if raw is not None:
        o["id"] = raw
    o.update({"scheme": a["scheme"], "reasons": a["reasons"], "device": a["device"],
              "origin_commune": a["origin_commune"]})
    return json.dumps(o)


def audit_records(redis):
    r = cp.Resp(redis.port, redis.user, redis.password)
    out = []
    for _id, f in r.call("XRANGE", "chot:audit", "-", "+"):
        out.append({f[i].decode(): f[i + 1].decode() for i in range(0, len(f), 2)})
    r.close()
    return out


def read_line(p, timeout):
    end = time.time() + timeout
    buf = b""
    while time.time() < end:
        r, _, _ = select.select([p.stdout], [], [], max(0, end - time.time()))
        if not r:
            break
        c = os.read(p.stdout.fileno(), 1)
        if not c:
            break
        if c == b"\n":
            return buf.decode()
        buf += c
    return None


def follow_case(chotctl, redis, ingest, ctl, tmp, sig, a_new):
    before = len(audit_records(redis))
    env = dict(os.environ, USER="chot-test")
    p = subprocess.Popen(ctl.base + ["--json", "alerts", "--follow"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        # Started: its "alerts" audit record is written just before it reads.
        ok = cp.wait_for(lambda: len(audit_records(redis)) > before, 10)
        check(ok, "alerts --follow wrote no audit record within 10 s")
        time.sleep(1.0)
        new_id = xadd(ingest, a_new)
        line = read_line(p, 10)
        check(line == expected_line(a_new, new_id),
              "--follow (%s): expected the new alert, got %r" % (sig, line))
        # The repeat of it is not printed again; the next distinct one is.
        xadd(ingest, a_new)
        other = dict(a_new, ts_ms=a_new["ts_ms"] + 1)
        other_id = xadd(ingest, other)
        line = read_line(p, 10)
        check(line == expected_line(other, other_id),
              "--follow (%s): expected the next distinct alert (the repeat once), got %r"
              % (sig, line))
        t = time.time()
        p.send_signal(sig)
        rc = p.wait(timeout=5)
        check(rc == 0, "--follow: exit %s on %s (expected 0): %s" % (
            rc, sig, p.stderr.read().decode()[-300:]))
        print("alerts --follow: exit %d %.2f s after %s" % (rc, time.time() - t, sig.name))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    chotctl, srcdir = sys.argv[1:3]
    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        k = cp.make_keys(keys_path, seed=5)
        redis = cp.Redis(tmp, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
        try:
            ingest = cp.user_resp(redis, "ingest")
            admin = cp.Resp(redis.port, redis.user, redis.password)
            op = Ctl(chotctl, redis, "operator")
            now = int(time.time() * 1000)
            subjects = ["079201001234", "001099000111", "036188004321"]
            pids = [cp.pid_hex(k["pseudonym"], cp.CCCD, s) for s in subjects]
            for p, s in zip(pids, subjects):
                cp.put_vault(admin, k["vault"], p, cp.CCCD, s)
            plate_pid = cp.pid_hex(k["pseudonym"], cp.GREEN_LANE, "51C12345")
            cp.put_vault(admin, k["vault"], plate_pid, cp.GREEN_LANE, "51C12345")
            A = [
                dict(ts_ms=now - 50000, site=17, pid=pids[0], scheme="cccd",
                     reasons=["watch_f0", "zone_red"], device=5001, origin_commune=16005),
                dict(ts_ms=now - 40000, site=18, pid=pids[1], scheme="cccd",
                     reasons=["zone_orange"], device=5002, origin_commune=16006),
                dict(ts_ms=now - 30000, site=17, pid=pids[2], scheme="cccd",
                     reasons=["watch_f2", "decl_exposed"], device=5001, origin_commune=0),
                dict(ts_ms=now - 20000, site=40, pid=plate_pid, scheme="greenlane",
                     reasons=["off_route", "passengers_over"], device=7, origin_commune=0),
                dict(ts_ms=now - 10000, site=17, pid=pids[1], scheme="cccd",
                     reasons=["watch_f1"], device=5001, origin_commune=16006),
            ]
            ids = [xadd(ingest, a) for a in A[:3]]
            xadd(ingest, A[1])          # the repeat: same (pid, site, ts_ms), new stream id
            ingest.call("XADD", cp.ALERTS_STREAM, "*", "ts_ms", now, "site", 1, "pid", pids[0],
                        "scheme", "cccd", "reasons", "bogus", "device", 1, "origin_commune", 0)
            ids += [xadd(ingest, a) for a in A[3:]]
            want = [expected_line(a, i) for a, i in zip(A, ids)]

            r = op.run("--json", "alerts")
            check(r.returncode == 0, "alerts --json: exit %d: %s" % (r.returncode, r.stderr))
            got = r.stdout.splitlines()
            check(got == want, "alerts --json: lines differ:\n  got  %s\n  want %s" % (
                "\n       ".join(got), "\n       ".join(want)))
            check("1 stream entries do not decode" in r.stderr,
                  "the malformed entry must be counted on stderr: %r" % r.stderr)
            for line in got:
                try:
                    o = json.loads(line)
                    check("id" not in o, "no raw id without --keys")
                except ValueError:
                    fails.append("not JSON: %r" % line)

            def sel(args, idx, what):
                r = op.run("--json", "alerts", *args)
                exp = [want[i] for i in idx]
                check(r.stdout.splitlines() == exp and r.returncode == (0 if idx else 1),
                      "%s: exit %d, got %r, want %r" % (what, r.returncode, r.stdout, exp))

            sel(["--reason", "zone_red"], [0], "--reason zone_red")
            sel(["--reason", "watch_f1,65"], [3, 4], "--reason watch_f1,65 (a name and a code)")
            sel(["--reason", "decl_symptoms"], [], "--reason decl_symptoms (none)")
            sel(["--site", "17"], [0, 2, 4], "--site 17")
            sel(["--site", "17", "--reason", "watch_f2"], [2], "--site 17 --reason watch_f2")
            sel(["--since", str(now - 35000)], [2, 3, 4], "--since")
            sel(["--since", str(now + 60000)], [], "--since in the future")
            sel(["--limit", "2"], [3, 4], "--limit 2 (the newest two)")
            sel(["--limit", "2", "--site", "17"], [2, 4], "--limit 2 --site 17")
            sel(["--limit", "0"], [], "--limit 0")
            r = op.run("alerts", "--reason", "nope")
            check(r.returncode == 2 and "'nope' is not a reason" in r.stderr,
                  "--reason nope: expected exit 2 naming it, got %d %r" % (r.returncode, r.stderr))

            # CSV and the table: the same rows.
            r = op.run("--csv", "alerts")
            rows = r.stdout.splitlines()
            check(rows[0] == "alert_id,ts_ms,site,pid,scheme,reasons,device,origin_commune"
                  and len(rows) == 6 and rows[1].startswith(ids[0] + ",")
                  and '"watch_f0,zone_red"' in rows[1],
                  "alerts --csv: %r" % rows[:3])
            r = op.run("alerts")
            check(r.returncode == 0 and r.stdout.rstrip().endswith("(5)")
                  and all(a["pid"] in r.stdout for a in A),
                  "alerts (table): %r" % r.stdout[-400:])
            r = op.run("--lang", "vi", "alerts")
            check("Lý do" in r.stdout, "alerts --lang vi: the Vietnamese header")

            # --keys: identities revealed, each reveal audited with its pid.
            before = audit_records(redis)
            r = op.run("--keys", keys_path, "--json", "alerts")
            after = audit_records(redis)[len(before):]
            raws = subjects[0], subjects[1], subjects[2], "51C12345", subjects[1]
            want_k = [expected_line(a, i, raw) for a, i, raw in zip(A, ids, raws)]
            check(r.stdout.splitlines() == want_k, "alerts --keys: got %r" % r.stdout)
            revealed = [a["pid"] for a in after if a["cmd"] == "reveal"]
            check(sorted(revealed) == sorted(a["pid"] for a in A),
                  "every identity shown must be audited as a reveal first: %r" % after)
            check(any(a["cmd"] == "alerts" and a["operator"] == "chot-operator" for a in after),
                  "the lookup itself is audited: %r" % after)

            # --follow, ended by SIGINT and by SIGTERM.
            follow_case(chotctl, redis, ingest, op, tmp, signal.SIGINT,
                        dict(A[0], ts_ms=now + 1000, pid=pids[2]))
            follow_case(chotctl, redis, ingest, op, tmp, signal.SIGTERM,
                        dict(A[1], ts_ms=now + 5000))
            ingest.close()
            admin.close()
        finally:
            redis.stop()
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print("ok: alerts JSON Lines in the §9 shape, filters, the repeat once, reveals audited, "
              "--follow prints new alerts and exits 0 on SIGINT/SIGTERM")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
