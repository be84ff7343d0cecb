"""CHOT.APPEND (redismod/chot_append.c) against a real redis-server.

A private server with the shipped configs/redis.conf (which loads this
build's chot_audit module) and, unless --no-cluster, a local Redis Cluster
made by tools/redis-cluster.sh:

  a. size: N appends of 20-byte records hold what one SET of the same bytes
     holds (MEMORY USAGE equal up to 4 KiB; beyond, the ladder's 1/8 at
     most, rounded to jemalloc's size classes), where
     APPEND holds up to twice as much; the value is the records in order;
  b. expiry: set on a new key, kept when the same, changed when different,
     set on a key that had none; an expiry already past deletes the key
     (reply 0), as EXPIREAT does; 0 bytes on a missing key create nothing;
  c. WRONGTYPE on a list, arity and expiry-argument errors, nothing changed;
  d. ACL: chot-ingest on s:* and p:* only, chot-operator never;
  e. the AOF: after a SIGKILL and a restart (the AOF replays CHOT.APPEND
     verbatim), the same bytes and the same expiry;
  g. a week key's vault unit (proto/layout.h) is appended once: kept when
     the append creates the key, left out when the key exists (chotd's memo
     is a cache and sends it again; at 1 M citizens most of the time), the
     records around it kept in order; a presence key's records are never
     read as units, whatever their byte 4;
  f. cluster: the key spec routes it: the owner runs it, another master
     answers MOVED to the owner; a replica gets the same bytes and expiry
     (replication is verbatim).

usage: test_chot_append.py SRCDIR [--no-cluster]
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chotpy as cp  # noqa: E402


class Check:
    def __init__(self):
        self.fails = []
        self.n = 0

    def expect(self, ok, what):
        self.n += 1
        if not ok:
            self.fails.append(what)
            print("FAIL:", what)


def err(c, *args):
    """The error text of a call that must fail, or None if it did not."""
    try:
        c.call(*args)
    except RuntimeError as e:
        return str(e)
    return None


def rec(i, size=20):
    return (b"%08d" % i + b"r" * size)[:size]


def size_checks(ck, a, exp):
    for n in (1, 3, 68, 200, 600, 3000):
        recs = [rec(i) for i in range(n)]
        body = b"".join(recs)
        ka, kp, ks = "p:{size%d}:a" % n, "p:{size%d}:p" % n, "p:{size%d}:s" % n
        lens = a.pipeline([("CHOT.APPEND", ka, exp, r) for r in recs])
        a.pipeline([("APPEND", kp, r) for r in recs])
        a.call("SET", ks, body)
        ck.expect(lens == [20 * (i + 1) for i in range(n)],
                  "n=%d: each reply is the new length" % n)
        ck.expect(a.call("GET", ka) == body, "n=%d: the records in order" % n)
        mu = {k: a.call("MEMORY", "USAGE", k) for k in (ka, kp, ks)}
        if len(body) <= 4096:
            ok = mu[ka] == mu[ks]
        else:
            # the ladder: at most 1/8 more, then jemalloc's classes (4 a doubling)
            ok = mu[ks] <= mu[ka] <= mu[ks] + len(body) // 4 + 64
        ck.expect(ok, "n=%d (%d B): CHOT.APPEND %d B, SET %d B (APPEND %d B)"
                  % (n, len(body), mu[ka], mu[ks], mu[kp]))
        print("size %6d B: CHOT.APPEND %6d, SET %6d, APPEND %6d (MEMORY USAGE)"
              % (len(body), mu[ka], mu[ks], mu[kp]))
    ck.expect(mu[kp] > mu[ka], "APPEND keeps more than CHOT.APPEND at 60 KB")


def expiry_checks(ck, a, exp):
    k = "s:{exp}:w1"
    ck.expect(a.call("CHOT.APPEND", k, exp, b"12345678") == 8, "a new key: its length")
    ck.expect(a.call("EXPIRETIME", k) == exp, "a new key gets the expiry")
    a.call("CHOT.APPEND", k, exp, b"abcdefgh")
    ck.expect(a.call("EXPIRETIME", k) == exp, "the same expiry is kept")
    a.call("CHOT.APPEND", k, exp + 3600, b"ABCDEFGH")
    ck.expect(a.call("EXPIRETIME", k) == exp + 3600, "a different expiry replaces it")
    ck.expect(a.call("GET", k) == b"12345678abcdefghABCDEFGH", "three appends")
    a.call("SET", "s:{exp}:w2", b"x" * 8)
    ck.expect(a.call("TTL", "s:{exp}:w2") == -1, "SET: no expiry")
    a.call("CHOT.APPEND", "s:{exp}:w2", exp, b"y" * 8)
    ck.expect(a.call("EXPIRETIME", "s:{exp}:w2") == exp, "a key without expiry gets one")
    # 0 bytes: the expiry is still set on an existing key, no key is created
    ck.expect(a.call("CHOT.APPEND", "s:{exp}:w2", exp + 1, b"") == 16, "0 bytes: the length")
    ck.expect(a.call("EXPIRETIME", "s:{exp}:w2") == exp + 1, "0 bytes still set the expiry")
    ck.expect(a.call("CHOT.APPEND", "s:{exp}:w3", exp, b"") == 0
              and a.call("EXISTS", "s:{exp}:w3") == 0, "0 bytes on a missing key: nothing")
    # past: deleted, as EXPIREAT would
    ck.expect(a.call("CHOT.APPEND", k, 1, b"late....") == 0, "an expiry in the past: 0")
    ck.expect(a.call("EXISTS", k) == 0, "an expiry in the past deletes the key")
    ck.expect(a.call("CHOT.APPEND", k, int(time.time()) - 5, b"late....") == 0
              and a.call("EXISTS", k) == 0, "a missing key with a past expiry: nothing")


def error_checks(ck, a, exp):
    a.call("RPUSH", "p:{err}:b1", "x")
    e = err(a, "CHOT.APPEND", "p:{err}:b1", exp, b"r" * 20)
    ck.expect(e is not None and e.startswith("WRONGTYPE"), "a list: WRONGTYPE (%s)" % e)
    ck.expect(a.call("LLEN", "p:{err}:b1") == 1 and a.call("TTL", "p:{err}:b1") == -1,
              "the list untouched, no expiry")
    for args in (("CHOT.APPEND",), ("CHOT.APPEND", "k"), ("CHOT.APPEND", "k", exp),
                 ("CHOT.APPEND", "k", exp, "r", "extra")):
        e = err(a, *args)
        ck.expect(e is not None and "wrong number of arguments" in e,
                  "%d arguments: arity error (%s)" % (len(args), e))
    for bad in ("soon", "", "1.5", "99999999999999999999", "9223372036854775807"):
        e = err(a, "CHOT.APPEND", "s:{err}:w1", bad, b"r" * 8)
        ck.expect(e is not None and "invalid expire time" in e, "expire %r refused (%s)"
                  % (bad, e))
    ck.expect(a.call("EXISTS", "s:{err}:w1", "k") == 0, "no refused call wrote anything")


def acl_checks(ck, r, exp):
    ing = cp.Resp(r.port, "chot-ingest", open(r.passfiles["ingest"]).read().strip())
    op = cp.Resp(r.port, "chot-operator", open(r.passfiles["operator"]).read().strip())
    for key in ("s:{acl}:w1", "p:{acl}:b1"):
        ck.expect(err(ing, "CHOT.APPEND", key, exp, b"r" * 20) is None,
                  "chot-ingest may CHOT.APPEND %s" % key)
        e = err(op, "CHOT.APPEND", key, exp, b"r" * 20)
        ck.expect(e is not None and e.startswith("NOPERM"), "chot-operator may not (%s)" % e)
    for key in ("v:{acl}", "chot:audit", "chot:{alerts}", "chot:{lists}:version", "x"):
        e = err(ing, "CHOT.APPEND", key, exp, b"r")
        ck.expect(e is not None and e.startswith("NOPERM"),
                  "chot-ingest may not CHOT.APPEND %s (%s)" % (key, e))
    ing.close()
    op.close()


def aof_checks(ck, r, exp):
    a = cp.Resp(r.port, r.user, r.password)
    a.call("CONFIG", "SET", "appendfsync", "always")
    for i in range(50):
        a.call("CHOT.APPEND", "p:{aof}:b1", exp + (i // 25), rec(i))
    before = (a.call("GET", "p:{aof}:b1"), a.call("EXPIRETIME", "p:{aof}:b1"))
    a.close()
    r.kill()
    r.start()
    a = cp.Resp(r.port, r.user, r.password)
    after = (a.call("GET", "p:{aof}:b1"), a.call("EXPIRETIME", "p:{aof}:b1"))
    ck.expect(before == after and after[1] == exp + 1 and len(after[0]) == 1000,
              "the AOF replays CHOT.APPEND: same bytes, same expiry")
    a.close()


def cluster_checks(ck, srcdir, exp):
    with cp.TempDir() as d:
        cl = cp.Cluster(d, srcdir, masters=3, replicas=1)
        try:
            masters = sorted(cl.masters())
            key = "s:{clusterkey}:w1"
            slot = cp.key_slot(key.encode())
            owner = None
            for p in masters:
                out = cl.cli(p, "CHOT.APPEND", key, exp, "123456789", check=False,
                             user="chot-ingest")
                if out.strip() == "9":
                    owner = p
                else:
                    ck.expect(out.startswith("MOVED %d " % slot),
                              "master %d: MOVED for slot %d (%r)" % (p, slot, out.strip()))
            ck.expect(owner is not None, "one master owns the key and ran it")
            if owner is None:
                return
            for p in masters:
                if p != owner:
                    out = cl.cli(p, "CHOT.APPEND", key, exp, "x", check=False,
                                 user="chot-ingest")
                    ck.expect(out.startswith("MOVED") and out.strip().endswith(":%d" % owner),
                              "MOVED names the owner %d (%r)" % (owner, out.strip()))
            cl.cli(owner, "CHOT.APPEND", key, exp + 7, "abcdefghi", user="chot-ingest")
            cl.cli(owner, "WAIT", 1, 5000)
            for rp in cl.replicas_of(owner):
                r = cp.Resp(rp, cl.user, cl.password)
                r.call("READONLY")          # a replica serves reads only when asked
                val, et = r.call("GET", key), r.call("EXPIRETIME", key)
                r.close()
                ck.expect(val == b"123456789abcdefghi" and et == exp + 7,
                          "replica %d: same bytes and expiry (%r, %r)" % (rp, val, et))
        finally:
            cl.teardown()


def unit_checks(ck, a, exp):
    key = cp.subject_key("ab" * 16, 2968)
    unit = cp.vault_unit(b"s" * 29)                      # 8 + 24 bytes
    ck.expect(len(unit) == 32, "a 29-byte seal: a 32-byte unit (%d)" % len(unit))
    r1, r2, r3 = (cp.subject_record(7, i, 1) for i in (1, 2, 3))
    a.call("DEL", key)
    ck.expect(a.call("CHOT.APPEND", key, exp, r1 + unit) == 8 + len(unit),
              "a new week key: its unit kept")
    ck.expect(a.call("CHOT.APPEND", key, exp, r2 + unit + r3) == 24 + len(unit),
              "an existing week key: the unit sent again left out, its records kept")
    got = a.call("GET", key)
    ck.expect(got == r1 + unit + r2 + r3, "the value holds one unit: %r" % got)
    ck.expect(cp.subject_split(got)[1] == b"s" * 29, "the unit still opens to its value")
    ck.expect(a.call("CHOT.APPEND", key, exp, unit) == 24 + len(unit),
              "a unit alone for an existing key appends nothing")
    pk = "p:{7}:b124676"
    prec = bytes([1, 2, 3, 4, 0xFF, ord("v"), 0, 29, 0]) + b"x" * 11   # byte 4 0xFF: a pid's
    a.call("DEL", pk)
    a.call("CHOT.APPEND", pk, exp, prec)
    a.call("CHOT.APPEND", pk, exp, prec)
    ck.expect(a.call("GET", pk) == prec * 2, "presence records are never taken for units")
    a.call("DEL", key, pk)


def main():
    srcdir = sys.argv[1]
    ck = Check()
    exp = int(time.time()) + 30 * 86400
    with cp.TempDir() as d:
        r = cp.Redis(d, shipped_conf=os.path.join(srcdir, "configs", "redis.conf"))
        try:
            a = cp.Resp(r.port, r.user, r.password)
            size_checks(ck, a, exp)
            expiry_checks(ck, a, exp)
            error_checks(ck, a, exp)
            unit_checks(ck, a, exp)
            a.close()
            acl_checks(ck, r, exp)
            aof_checks(ck, r, exp)
        finally:
            r.stop()
    if "--no-cluster" not in sys.argv:
        cluster_checks(ck, srcdir, exp)
    print("%d checks, %d failed" % (ck.n, len(ck.fails)))
    return 1 if ck.fails else 0


if __name__ == "__main__":
    sys.exit(main())
