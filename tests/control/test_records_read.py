"""chotctl reading the append-only record layout (proto/layout.h, issue 14)
from a real redis-server (shipped configs/redis.conf, as chot-operator),
seeded by hand with APPEND the way chotd writes, so that every case is
exactly known:

  - records appended out of order, and a generation appended twice (what
    a resend after a broken connection leaves): `visits` and `site` list
    each scan once, in time order; `trace --json` finds the one contact,
    its stats.dup_records counts the duplicates dropped and redis_calls
    the GETs (one per key);
  - a presence key that is not a whole number of 20-byte records: trace
    exits 3 with a one-line error naming the key, and prints nothing;
  - a timeline key still holding a sorted set (the layout before records):
    exit 3, the error says WRONGTYPE and names the key.

usage: test_records_read.py CHOTCTL SRCDIR
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import chotpy as cp  # noqa: E402
import test_trace_truth as tt  # noqa: E402

IN, OUT, PASS = 1, 2, 3
MIN = 60000


def tl_rec(site, ts, d):
    return cp.subject_record(site, ts % cp.WEEK_MS, d)


def pr_rec(pid, ts, d):
    ms = ts % cp.BLOCK_MS
    return bytes.fromhex(pid) + ms.to_bytes(3, "big") + bytes([d])


def main():
    chotctl, srcdir = sys.argv[1], sys.argv[2]
    fails = []
    a, b, c = "a1" * 16, "b2" * 16, "c3" * 16
    site = 17
    week = 2968
    t0 = week * cp.WEEK_MS + 3 * cp.DAY_MS + 2 * cp.BLOCK_MS + 10 * MIN   # one block's middle
    block = t0 // cp.BLOCK_MS
    until = t0 + 12 * 3600000
    with cp.TempDir() as tmp:
        redis = cp.Redis(tmp, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
        try:
            r = cp.Resp(redis.port, redis.user, redis.password)
            tk_a, tk_b = cp.subject_key(a, week), cp.subject_key(b, week)
            pk = "p:{%d}:b%d" % (site, block)
            # A: IN at t0, OUT at t0 + 30 min; B: PASS at t0 + 10 min.  Each
            # key gets two generations, the second appended twice, records
            # out of bytewise order within a generation.
            r.call("APPEND", tk_a, tl_rec(site, t0 + 30 * MIN, OUT))
            for _ in range(2):
                r.call("APPEND", tk_a, tl_rec(site, t0, IN))
            r.call("APPEND", tk_b, tl_rec(site, t0 + 10 * MIN, PASS))
            gen2 = pr_rec(b, t0 + 10 * MIN, PASS) + pr_rec(a, t0, IN)
            r.call("APPEND", pk, pr_rec(a, t0 + 30 * MIN, OUT))
            r.call("APPEND", pk, gen2)
            r.call("APPEND", pk, gen2)
            # 1 timeline duplicate, 2 presence duplicates.
            op = tt.Ctl(chotctl, redis, "operator")

            v = op.run("--json", "visits", "--pid", a, "--until", str(until), "--days", "1")
            got = json.loads(v.stdout)["scans"] if v.returncode == 0 else v.stderr
            want = [{"site": site, "ts_ms": t0, "dir": "IN"},
                    {"site": site, "ts_ms": t0 + 30 * MIN, "dir": "OUT"}]
            if got != want:
                fails.append("visits: expected %s, got %s" % (want, got))

            s = op.run("--json", "site", str(site), "--from", str(t0 - MIN),
                       "--to", str(t0 + 60 * MIN))
            got = json.loads(s.stdout)["scans"] if s.returncode == 0 else s.stderr
            want = [{"pid": a, "site": site, "ts_ms": t0, "dir": "IN"},
                    {"pid": b, "site": site, "ts_ms": t0 + 10 * MIN, "dir": "PASS"},
                    {"pid": a, "site": site, "ts_ms": t0 + 30 * MIN, "dir": "OUT"}]
            if got != want:
                fails.append("site: expected %s, got %s" % (want, got))

            tr = op.run("--json", "trace", "--pid", a, "--until", str(until), "--days", "1",
                        "--depth", "1")
            if tr.returncode != 0:
                fails.append("trace: exit %d: %s" % (tr.returncode, tr.stderr.strip()))
            else:
                out = json.loads(tr.stdout)
                if [x["pid"] for x in out["contacts"]] != [b]:
                    fails.append("trace: expected the one contact %s, got %s" % (
                        b, out["contacts"]))
                if out["stats"].get("dup_records") != 3:
                    fails.append("trace: expected stats.dup_records 3 (1 timeline + 2 "
                                 "presence), got %s" % out["stats"])
                print("trace stats:", out["stats"])

            # A torn presence key: refused whole, naming it.
            r.call("APPEND", pk, b"\x01\x02\x03\x04\x05")
            tr = op.run("--json", "trace", "--pid", a, "--until", str(until), "--days", "1",
                        "--depth", "1")
            err = tr.stderr.strip()
            if tr.returncode != 3 or tr.stdout.strip() or "\n" in err or pk not in err or \
                    "not a whole number of 20-byte records" not in err:
                fails.append("corrupt %s: expected exit 3 and a one-line error naming it, "
                             "got exit %d, out %r, err %r" % (pk, tr.returncode,
                                                              tr.stdout[:200], err))
            print("corrupt key:", err)

            # A timeline still a sorted set (the layout before records).
            tk_c, tc_name = cp.subject_key(c, week), cp.subject_key_text(c, week)
            r.call("ZADD", tk_c, 0, tl_rec(site, t0, IN))
            tr = op.run("--json", "trace", "--pid", c, "--until", str(until), "--days", "1",
                        "--depth", "1")
            err = tr.stderr.strip()
            if tr.returncode != 3 or "WRONGTYPE" not in err or tc_name not in err:
                fails.append("sorted-set key %s: expected exit 3, WRONGTYPE naming it, got "
                             "exit %d, err %r" % (tc_name, tr.returncode, err))
            print("sorted-set key:", err)
            r.close()
        finally:
            redis.stop()
    for f in fails:
        print("FAIL:", f)
    if fails:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
