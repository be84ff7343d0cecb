"""chotctl's presence reads with MGET (control/redis_stream.c,
ctl_redis_values_stream) against a real redis-server, then a real
3-master Redis Cluster with slots mid-migration.

redis_repl's `!values` reads p:{site}:b<block> of 25 sites x 70 blocks in
(site, block) order, as the trace asks them, once with MGETs and once with
one GET a key (the path MGET replaced), and prints a digest of every
callback (values handed over, keys done, in order).  The test seeds random
values -- missing keys, empty ones, 1..4 records -- and computes the digest
the callbacks must give from its own GETs.

  1. One Redis: both paths give that digest; INFO commandstats shows 50
     MGETs (64 + 6 keys a site, never across sites) and no GET, then 1750
     GETs and no MGET.
  2. A torn value (5 bytes appended) in the middle of one site's MGET: both
     paths stop at that key (-EBADMSG naming it), the same keys handed over
     before it; the client is still in step (a PING after).
  3. A cluster, one site's slot MIGRATING with half its keys already moved
     (its MGETs answer TRYAGAIN), another's with all of them moved (ASK):
     the MGET path still gives the digest -- every key read once, none
     lost -- and the source nodes did answer TRYAGAIN and ASK.

usage: test_values_mget.py REDIS_REPL SRCDIR
"""
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import chotpy as cp                 # noqa: E402

SITE0, NSITES, BLOCK0, NBLOCKS = 1, 25, 239000, 70
REC = 20
EBADMSG = 74


def key(site, block):
    return "p:{%d}:b%d" % (site, block)


def all_keys():
    return [key(SITE0 + i // NBLOCKS, BLOCK0 + i % NBLOCKS) for i in range(NSITES * NBLOCKS)]


def seed_values(rng):
    """{key: bytes or None (absent)}: every 9th-ish key missing, some empty."""
    vals = {}
    for k in all_keys():
        x = rng.random()
        if x < 0.12:
            vals[k] = None
        elif x < 0.17:
            vals[k] = b""
        else:
            vals[k] = rng.randbytes(REC * rng.randint(1, 4))
    return vals


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def digest(vals):
    """What the callbacks must see: (digest, done, values), stopping at a torn value."""
    h, done, nv = 0xcbf29ce484222325, 0, 0
    for i, k in enumerate(all_keys()):
        v = vals[k]
        if v and len(v) % REC != 0:
            break
        if v:
            h = fnv(h, b"v%d:" % i + v)
            nv += 1
        h = fnv(h, b"d%d;" % i)
        done += 1
    return "%016x" % h, done, nv


class Repl:
    def __init__(self, exe, url, user, passfile):
        self.p = subprocess.Popen([exe, url, user, passfile], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self.p.stdout.readline().strip()
        if first != "open":
            raise RuntimeError("redis_repl: %r %s" % (first, self.p.stderr.read()))
        self.p.stdout.readline()

    def line(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()
        ans = self.p.stdout.readline().strip()
        self.p.stdout.readline()            # the counters
        return ans

    def values(self, gets):
        ans = self.line("!values %d %d %d %d %d" % (SITE0, NSITES, BLOCK0, NBLOCKS, gets))
        f = ans.split(" ", 10)
        if len(f) < 10 or f[0] != "values":
            raise RuntimeError("redis_repl: %r" % ans)
        return {"rc": int(f[2]), "done": int(f[4]), "values": int(f[6]), "digest": f[8],
                "err": f[10] if len(f) > 10 else ""}

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def stat(info, name, field):
    for line in info.splitlines():
        if line.startswith(name + ":"):
            for kv in line.split(":", 1)[1].split(","):
                k, _, v = kv.partition("=")
                if k == field:
                    return int(v)
    return 0


def check_run(tag, got, want, fails):
    d, done, nv = want
    if (got["digest"], got["done"], got["values"]) != (d, done, nv):
        fails.append("%s: expected digest %s, %d keys done, %d values; got %s" % (
            tag, d, done, nv, got))


def single(repl_exe, srcdir, vals, fails):
    with cp.TempDir() as tmp:
        redis = cp.Redis(tmp, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
        repl = None
        try:
            r = cp.Resp(redis.port, redis.user, redis.password)
            for k, v in vals.items():
                if v is not None:
                    r.call("SET", k, v)
            want = digest(vals)
            repl = Repl(repl_exe, "redis://127.0.0.1:%d" % redis.port, "chot-operator",
                        redis.passfiles["operator"])
            for gets in (0, 1):
                r.call("CONFIG", "RESETSTAT")
                got = repl.values(gets)
                info = redis.cli("INFO", "commandstats")
                mget = stat(info, "cmdstat_mget", "calls")
                get = stat(info, "cmdstat_get", "calls")
                tag = "1. one Redis, %s" % ("GETs" if gets else "MGETs")
                print("%s: %s; cmdstat_mget %d, cmdstat_get %d" % (tag, got, mget, get))
                if got["rc"] != 0:
                    fails.append("%s: rc %d (%s)" % (tag, got["rc"], got["err"]))
                check_run(tag, got, want, fails)
                if gets and (get != NSITES * NBLOCKS or mget != 0):
                    fails.append("%s: expected %d GETs and no MGET, got %d / %d" % (
                        tag, NSITES * NBLOCKS, get, mget))
                if not gets and (mget != 2 * NSITES or get != 0):
                    fails.append("%s: expected %d MGETs (64 + 6 keys a site) and no GET, "
                                 "got %d / %d" % (tag, 2 * NSITES, mget, get))

            # 2. a torn value in the middle of site 13's first MGET
            torn = key(13, BLOCK0 + 30)
            if not vals[torn]:
                vals[torn] = b"\x00" * REC
                r.call("SET", torn, vals[torn])
            r.call("APPEND", torn, b"\x01\x02\x03\x04\x05")
            vals[torn] += b"\x01\x02\x03\x04\x05"
            want = digest(vals)
            for gets in (0, 1):
                tag = "2. torn %s, %s" % (torn, "GETs" if gets else "MGETs")
                got = repl.values(gets)
                print("%s: %s" % (tag, got))
                if got["rc"] != -EBADMSG or torn not in got["err"]:
                    fails.append("%s: expected rc -EBADMSG naming the key, got %s" % (tag, got))
                check_run(tag, got, want, fails)
                ping = repl.line("PING")
                if ping != "ok 1 PONG":
                    fails.append("%s: the connection is out of step: PING -> %r" % (tag, ping))
            r.call("SET", torn, vals[torn][:-5])
            vals[torn] = vals[torn][:-5]
            r.close()
        finally:
            if repl:
                repl.close()
            redis.stop()


def migrate(c, slot, keys, fraction):
    """Slot MIGRATING on its owner, IMPORTING on another master, and the first
    fraction of its keys (those that exist) MIGRATEd.  Returns (src, dst, moved)."""
    ids = {n["port"]: n["id"] for n in c.cluster_nodes()}
    src = c.slot_owner(slot)
    dst = [p for p in sorted(c.masters()) if p != src][0]
    c.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
    c.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
    r = c.resp(src)
    move = keys[:int(len(keys) * fraction)]
    if move:
        r.call("MIGRATE", "127.0.0.1", dst, "", 0, 10000, "AUTH2", c.user, c.password,
               "KEYS", *move)
    r.close()
    return src, dst, len(move)


def cluster(repl_exe, srcdir, vals, fails):
    with cp.TempDir() as tmp:
        c = cp.Cluster(os.path.join(tmp, "cl"), srcdir, masters=3, replicas=0)
        repl = None
        try:
            conns = {}
            for k, v in vals.items():
                if v is None:
                    continue
                p = c.slot_owner(cp.key_slot(k))
                if p not in conns:
                    conns[p] = c.resp(p)
                conns[p].call("SET", k, v)
            for r in conns.values():
                r.close()
            site_keys = {s: [key(s, BLOCK0 + b) for b in range(NBLOCKS)]
                         for s in range(SITE0, SITE0 + NSITES)}
            half_site, all_site = 7, 19
            present = {s: [k for k in ks if vals[k] is not None] for s, ks in site_keys.items()}
            half = migrate(c, cp.key_slot(key(half_site, 0)), present[half_site], 0.5)
            whole = migrate(c, cp.key_slot(key(all_site, 0)), present[all_site], 1.0)
            print("3. site %d's slot: %d keys moved of its own, site %d's: all %d moved" % (
                half_site, half[2], all_site, whole[2]))
            for p in c.masters():
                c.cli(p, "CONFIG", "RESETSTAT")
            repl = Repl(repl_exe, c.url, "chot-operator", c.passfiles["operator"])
            want = digest(vals)
            got = repl.values(0)
            tryagain = stat(c.cli(half[0], "INFO", "errorstats"), "errorstat_TRYAGAIN", "count")
            ask = stat(c.cli(whole[0], "INFO", "errorstats"), "errorstat_ASK", "count")
            mget = sum(stat(c.cli(p, "INFO", "commandstats"), "cmdstat_mget", "calls")
                       for p in c.masters())
            print("3. cluster, MGETs: %s; TRYAGAIN %d, ASK %d, MGETs %d" % (got, tryagain, ask,
                                                                          mget))
            if got["rc"] != 0:
                fails.append("3. cluster: rc %d (%s)" % (got["rc"], got["err"]))
            check_run("3. cluster mid-migration, MGETs", got, want, fails)
            if tryagain == 0:
                fails.append("3. site %d's MGETs got no TRYAGAIN: the case proves little"
                             % half_site)
            if ask == 0:
                fails.append("3. site %d's MGETs got no ASK" % all_site)
            if mget < NSITES:
                fails.append("3. only %d MGETs on the masters" % mget)
            got = repl.values(1)
            check_run("3. cluster mid-migration, GETs", got, want, fails)
        finally:
            if repl:
                repl.close()
            c.teardown()


def main():
    repl_exe, srcdir = sys.argv[1], sys.argv[2]
    fails = []
    vals = seed_values(random.Random(12))
    single(repl_exe, srcdir, vals, fails)
    cluster(repl_exe, srcdir, vals, fails)
    for f in fails:
        print("FAIL:", f)
    if fails:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
