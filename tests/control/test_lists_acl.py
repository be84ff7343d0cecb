"""The checkpoint loop's Redis ACL (DESIGN §4, §9) in the shipped
configs/redis.conf, on a real redis-server:

  - chot-ingest (chotd) reads the lists it enforces (not the sealed plates)
    and appends alerts, but cannot write any list (HSET/HDEL/DEL on watch, zones, greenlane, plates, sites; INCR or
    SET of the version), nor read, trim or delete alerts;
  - chot-operator reads the alerts (XRANGE, XREVRANGE, XREAD) but cannot
    forge or erase one (XADD, XDEL, XTRIM, DEL on chot:{alerts}), cannot
    write the site registry (sites import stays chot-admin's), and cannot
    clobber a list with another type (SET, DEL) or write other keys, the
    week keys s:* that hold the vault units included (APPEND, SET, DEL);
  - chot-operator can flag, zone set/import and vehicle register/revoke
    through chotctl, and so can a personal operator made from it by
    tools/chot-operator-add.sh (the selectors are copied).

usage: test_lists_acl.py CHOTCTL SRCDIR
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import chotpy as cp  # noqa: E402
from test_trace_truth import Ctl  # noqa: E402

fails = []
PID = "00112233445566778899aabbccddeeff"
PLATES = "chot:{lists}:plates"


def check(cond, msg):
    if not cond:
        fails.append(msg)
    return cond


def call(r, *args):
    """The reply, or the error text."""
    try:
        return r.call(*args)
    except RuntimeError as e:
        return "ERR:" + str(e)


def refused(r, who, *args):
    out = call(r, *args)
    check(isinstance(out, str) and "NOPERM" in out, "%s %s: expected NOPERM, got %r" % (
        who, " ".join(map(str, args)), out))


def allowed(r, who, *args):
    out = call(r, *args)
    check(not (isinstance(out, str) and out.startswith("ERR:")),
          "%s %s: expected it to be allowed, got %r" % (who, " ".join(map(str, args)), out))
    return out


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    chotctl, srcdir = sys.argv[1:3]
    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        cp.make_keys(keys_path, seed=9)
        redis = cp.Redis(tmp, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
        try:
            admin = cp.Resp(redis.port, redis.user, redis.password)
            ing, opr = cp.user_resp(redis, "ingest"), cp.user_resp(redis, "operator")
            admin.call("HSET", cp.LISTS_WATCH, PID, "f0 1 99999999999999")
            admin.call("HSET", cp.LISTS_ZONES, "16005", "4")
            admin.call("HSET", "chot:{lists}:sites", "17", "checkpoint,16005,A")
            admin.call("SET", cp.LISTS_VERSION, "1")
            # ingest: reads the lists, appends alerts; nothing else there.
            for key in (cp.LISTS_WATCH, cp.LISTS_ZONES, cp.LISTS_GREENLANE, PLATES,
                        "chot:{lists}:sites"):
                # The sealed plates are chotctl's (vehicle list): chotd never reads them.
                (refused if key == PLATES else allowed)(ing, "ingest", "HGETALL", key)
                refused(ing, "ingest", "HSET", key, "1", "x")
                refused(ing, "ingest", "HDEL", key, "1")
                refused(ing, "ingest", "DEL", key)
            allowed(ing, "ingest", "GET", cp.LISTS_VERSION)
            refused(ing, "ingest", "INCR", cp.LISTS_VERSION)
            refused(ing, "ingest", "SET", cp.LISTS_VERSION, "9")
            refused(ing, "ingest", "SET", "chot:{lists}:new", "9")
            aid = allowed(ing, "ingest", "XADD", cp.ALERTS_STREAM, "MAXLEN", "~", "1000000", "*",
                          "ts_ms", "1", "site", "17", "pid", PID, "scheme", "cccd",
                          "reasons", "watch_f0", "device", "1", "origin_commune", "0")
            refused(ing, "ingest", "XRANGE", cp.ALERTS_STREAM, "-", "+")
            refused(ing, "ingest", "XDEL", cp.ALERTS_STREAM, aid)
            refused(ing, "ingest", "XTRIM", cp.ALERTS_STREAM, "MAXLEN", "0")
            refused(ing, "ingest", "DEL", cp.ALERTS_STREAM)
            refused(ing, "ingest", "GET", "s:{%s}:w1" % PID)     # nor the vault in it
            # operator: reads alerts, cannot forge or erase them.
            allowed(opr, "operator", "XRANGE", cp.ALERTS_STREAM, "-", "+")
            allowed(opr, "operator", "XREVRANGE", cp.ALERTS_STREAM, "+", "-")
            allowed(opr, "operator", "XREAD", "COUNT", "1", "STREAMS", cp.ALERTS_STREAM, "0-0")
            refused(opr, "operator", "XADD", cp.ALERTS_STREAM, "*", "ts_ms", "1")
            refused(opr, "operator", "XDEL", cp.ALERTS_STREAM, aid)
            refused(opr, "operator", "XTRIM", cp.ALERTS_STREAM, "MAXLEN", "0")
            refused(opr, "operator", "DEL", cp.ALERTS_STREAM)
            refused(opr, "operator", "XGROUP", "CREATE", cp.ALERTS_STREAM, "g", "0")
            # ... may write the three lists with HSET/HDEL only, the version with INCR only,
            # not the sites, and nothing of another type over a list.
            refused(opr, "operator", "HSET", "chot:{lists}:sites", "18", "venue,1,B")
            refused(opr, "operator", "HDEL", "chot:{lists}:sites", "17")
            refused(opr, "operator", "SET", cp.LISTS_WATCH, "x")
            refused(opr, "operator", "DEL", cp.LISTS_ZONES)
            refused(opr, "operator", "SET", cp.LISTS_VERSION, "0")
            refused(opr, "operator", "HSET", cp.LISTS_VERSION, "a", "b")
            refused(opr, "operator", "INCR", cp.LISTS_WATCH)
            refused(opr, "operator", "HSET", "chot:{lists}:other", "a", "b")
            refused(opr, "operator", "SET", "s:{%s}:1" % PID, "x")
            refused(opr, "operator", "HSET", "chot:audit", "a", "b")
            # ... and the vault is chotd's: an operator cannot overwrite an identity
            # (vehicle register keeps its sealed plate in the lists' plates hash).
            refused(opr, "operator", "APPEND", "s:{%s}:w1" % PID, "x" * 8)
            refused(opr, "operator", "SETRANGE", "s:{%s}:w1" % PID, "0", "x")
            refused(opr, "operator", "DEL", "s:{%s}:w1" % PID)
            refused(opr, "operator", "SET", PLATES, "x")
            refused(opr, "operator", "DEL", PLATES)
            allowed(opr, "operator", "HMGET", PLATES, PID)
            r = Ctl(chotctl, redis, "operator").run("sites", "import", "/dev/null")
            with open(os.path.join(tmp, "s.csv"), "w") as f:
                f.write("id,name,kind,commune\n18,B,venue,1\n")
            r = Ctl(chotctl, redis, "operator").run("sites", "import", os.path.join(tmp, "s.csv"))
            check(r.returncode == 3 and "NOPERM" in r.stderr,
                  "sites import as chot-operator: expected exit 3 NOPERM, got %d %r" % (
                      r.returncode, r.stderr))
            # ... and does its job through chotctl, as itself and as a personal operator.
            env = dict(os.environ, CHOT_REDIS_PORT=str(redis.port),
                       CHOT_ADMIN_PASSFILE=redis.passfiles["admin"])
            pf = os.path.join(tmp, "lan.pass")
            a = subprocess.run(["bash", os.path.join(srcdir, "tools/chot-operator-add.sh"), "lan",
                                pf], env=env, capture_output=True, text=True, timeout=60)
            check(a.returncode == 0, "chot-operator-add.sh lan: %d %s" % (a.returncode, a.stderr))
            csv = os.path.join(tmp, "z.csv")
            with open(csv, "w") as f:
                f.write("commune,level\n1,red\n2,green\n")
            for who, ctl in (("chot-operator", Ctl(chotctl, redis, "operator")),
                             ("lan", Ctl(chotctl, redis, "operator"))):
                if who == "lan":
                    ctl.base[ctl.base.index("--user") + 1] = "lan"
                    ctl.base[ctl.base.index("--password-file") + 1] = pf
                v0 = int(admin.call("GET", cp.LISTS_VERSION))
                for args in (["flag", "--pid", PID, "--status", "f1"],
                             ["flag", "--pid", PID, "--status", "clear"],
                             ["zone", "set", "16005", "cam"],
                             ["zone", "import", csv],
                             ["--keys", keys_path, "vehicle", "register", "51C12345", "--route",
                              "17", "--from", "1", "--to", "2700000000000"],
                             ["--keys", keys_path, "vehicle", "revoke", "51C12345"],
                             ["--keys", keys_path, "trace", "079201001234", "--flag"],
                             ["alerts"]):
                    r = ctl.run(*args)
                    want = 1 if args[-1] == "--flag" else 0  # no visits: exit 1, nothing flagged
                    check(r.returncode == want, "%s: %s: exit %d %s" % (
                        who, " ".join(args), r.returncode, r.stderr.strip()))
                check(int(admin.call("GET", cp.LISTS_VERSION)) == v0 + 6,
                      "%s: six list changes, six version bumps" % who)
                last = admin.call("XREVRANGE", "chot:audit", "+", "-", "COUNT", "3")
                check(all(e[1][1].decode() == who for e in last),
                      "%s: the audit's who is the signed-in user: %r" % (who, last))
            admin.close()
            ing.close()
            opr.close()
        finally:
            redis.stop()
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print("ok: ingest reads the lists and appends alerts only; the operator reads alerts, "
              "cannot forge or erase them, writes only the three lists and the version")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
