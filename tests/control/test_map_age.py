"""chotctl's slot map goes stale by age (control/redis.c, CTL_MAP_MAX_AGE_US,
docs/CHOTCTL.md "Redis Cluster") on a real 3-master Redis Cluster
(tools/redis-cluster.sh via chotpy.Cluster).

One long-lived chotctl client (redis_repl: ctl_redis_open, then one
command a stdin line) reads a key while its slot is moved around it
(SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE on every master):

  1. moved A -> B with the map fresh: the next GET still goes to A, which
     answers MOVED (A's errorstat_MOVED grows by one; the map is not read
     before its time), chotctl follows it; the next call reads the map
     again (the MOVED's refresh: refreshes 1).
  2. moved B -> C while the client is idle, then more than 10 s later a
     GET: the map is read again by age first (refreshes 2), the GET goes
     straight to C (C's cmdstat_get grows by one) and B sends no MOVED
     (B's errorstat_MOVED flat).  Without the age refresh B would answer
     MOVED: this case fails.
  3. a keyless call right after: no refresh (the map is fresh again).
  4. the real `chotctl alerts --follow` (chot-operator), left running
     11.5 s past its start with nothing to print: it asks CLUSTER SLOTS
     twice in all (the cluster's cmdstat_cluster|slots), once at start and
     once by age, and exits 0 on SIGINT.  Without the age refresh: once.

usage: test_map_age.py REDIS_REPL CHOTCTL SRCDIR
"""
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import chotpy as cp                 # noqa: E402

MAX_AGE_S = 10.0                    # CTL_MAP_MAX_AGE_US
KEY = "p:{mapage}"


class Repl:
    def __init__(self, exe, url, user, passfile):
        self.p = subprocess.Popen([exe, url, user, passfile], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self.p.stdout.readline().strip()
        if first != "open":
            raise RuntimeError("redis_repl: %r %s" % (first, self.p.stderr.read()))
        self.counters(self.p.stdout.readline())

    def counters(self, line):
        f = line.split()
        if len(f) != 4 or f[0] != "refreshes":
            raise RuntimeError("redis_repl: bad counters line %r" % line)
        self.refreshes, self.calls = int(f[1]), int(f[3])

    def cmd(self, *args):
        self.p.stdin.write(" ".join(args) + "\n")
        self.p.stdin.flush()
        ans = self.p.stdout.readline().strip()
        self.counters(self.p.stdout.readline())
        return ans

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def stat(c, port, section, name, field):
    """INFO section's name:...field=N... on node port (0 when absent)."""
    for line in c.cli(port, "INFO", section, timeout=5).splitlines():
        if line.startswith(name + ":"):
            for kv in line.split(":", 1)[1].split(","):
                k, _, v = kv.partition("=")
                if k == field:
                    return int(v)
    return 0


def moved_sent(c, port):
    return stat(c, port, "errorstats", "errorstat_MOVED", "count")


def gets(c, port):
    return stat(c, port, "commandstats", "cmdstat_get", "calls")


def slots_asked(c):
    """CLUSTER SLOTS answered by the whole cluster so far."""
    return sum(stat(c, p, "commandstats", "cmdstat_cluster|slots", "calls")
               for p in c.live_ports())


def follow_case(c, chotctl, fails):
    n0 = slots_asked(c)
    env = dict(os.environ, USER="chot-test")
    p = subprocess.Popen([chotctl, "-r", c.url, "--user", "chot-operator", "--password-file",
                          c.passfiles["operator"], "--json", "alerts", "--follow"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        # Its first CLUSTER SLOTS starts the map's clock; then 10 s and a margin.
        if not cp.wait_for(lambda: slots_asked(c) > n0, 10, step=0.1):
            fails.append("4: alerts --follow asked no CLUSTER SLOTS within 10 s")
        time.sleep(MAX_AGE_S + 1.5)
        n1 = slots_asked(c)
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=5)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = p.stderr.read()
    print("4. alerts --follow for %.1f s after its start: CLUSTER SLOTS %d -> %d, exit %d %s"
          % (MAX_AGE_S + 1.5, n0, n1, rc, err.strip()))
    if rc != 0:
        fails.append("4: alerts --follow exit %d on SIGINT: %s" % (rc, err[-300:]))
    if n1 - n0 != 2:
        fails.append("4: alerts --follow asked CLUSTER SLOTS %d times in %.1f s (expected 2: "
                     "at start, then once by age)" % (n1 - n0, MAX_AGE_S + 1.5))


def move_slot(c, slot, src, dst):
    ids = {n["port"]: n["id"] for n in c.cluster_nodes()}
    c.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
    c.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
    r = c.resp(src)
    try:
        keys = r.call("CLUSTER", "GETKEYSINSLOT", slot, 1000)
        if keys:
            r.call("MIGRATE", "127.0.0.1", dst, "", 0, 10000, "AUTH2", c.user, c.password,
                   "KEYS", *keys)
    finally:
        r.close()
    for p in sorted(c.masters()):
        c.cli(p, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
    c.wait_ok(30)
    if c.slot_owner(slot) != dst:
        raise AssertionError("slot %d: owner %d after the move, not %d" % (
            slot, c.slot_owner(slot), dst))


def main():
    repl_exe, chotctl, srcdir = sys.argv[1:4]
    fails = []
    t0 = time.time()
    with cp.TempDir() as tmp:
        c = cp.Cluster(os.path.join(tmp, "cluster"), srcdir, masters=3, replicas=0)
        q = None
        try:
            slot = cp.key_slot(KEY)
            a = c.slot_owner(slot)
            b, d = [p for p in sorted(c.masters()) if p != a][:2]
            c.cli(a, "SET", KEY, "v1")
            q = Repl(repl_exe, c.url, c.user, c.passfiles["admin"])
            t_open = time.time()
            ans = q.cmd("GET", KEY)
            if ans != "ok 1 v1":
                fails.append("GET before any move: %r" % ans)

            # 1. a move inside the map's lifetime: the old owner says MOVED
            m0 = moved_sent(c, a)
            move_slot(c, slot, a, b)
            if time.time() - t_open > MAX_AGE_S - 2:
                fails.append("inconclusive: the move took %.1f s, the map aged meanwhile" %
                             (time.time() - t_open))
            ans = q.cmd("GET", KEY)
            m1 = moved_sent(c, a)
            print("1. fresh map, slot %d %d -> %d: GET %r, MOVED from %d: %d -> %d, "
                  "refreshes %d" % (slot, a, b, ans, a, m0, m1, q.refreshes))
            if ans != "ok 1 v1":
                fails.append("1: GET after the move: %r" % ans)
            if m1 != m0 + 1:
                fails.append("1: %d sent %d MOVED (expected 1: the fresh map still names "
                             "it; the test cannot see redirects otherwise)" % (a, m1 - m0))
            if q.refreshes != 0:
                fails.append("1: the map was read again before the MOVED (refreshes %d)" %
                             q.refreshes)
            ans = q.cmd("PING")
            t_refresh = time.time()
            if ans != "ok 1 PONG" or q.refreshes != 1:
                fails.append("1: the call after a MOVED: %r, refreshes %d (expected 1)" % (
                    ans, q.refreshes))

            # 2. a move while idle, then past the map's age: no MOVED at all
            move_slot(c, slot, b, d)
            mb0, gd0 = moved_sent(c, b), gets(c, d)
            wait = t_refresh + MAX_AGE_S + 0.5 - time.time()
            if wait > 0:
                time.sleep(wait)
            ans = q.cmd("GET", KEY)
            mb1, gd1 = moved_sent(c, b), gets(c, d)
            print("2. map aged %.1f s, slot %d %d -> %d: GET %r, MOVED from %d: %d -> %d, "
                  "GETs on %d: %d -> %d, refreshes %d" % (
                      time.time() - t_refresh, slot, b, d, ans, b, mb0, mb1, d, gd0, gd1,
                      q.refreshes))
            if ans != "ok 1 v1":
                fails.append("2: GET after the map aged: %r" % ans)
            if mb1 != mb0:
                fails.append("2: the old owner %d sent %d MOVED: the map was not refreshed "
                             "by age" % (b, mb1 - mb0))
            if gd1 != gd0 + 1:
                fails.append("2: the new owner %d served %d GETs (expected 1)" % (d, gd1 - gd0))
            if q.refreshes != 2:
                fails.append("2: refreshes %d (expected 2)" % q.refreshes)

            # 3. fresh again: the next call does not read the map
            ans = q.cmd("PING")
            if q.refreshes != 2:
                fails.append("3: a call right after the refresh read the map again "
                             "(refreshes %d)" % q.refreshes)
            q.close()
            q = None

            follow_case(c, chotctl, fails)
        finally:
            if q is not None:
                q.close()
            c.teardown()
    for f in fails:
        print("FAIL:", f)
    print("%s in %.1f s" % ("FAILED" if fails else "ok", time.time() - t0))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
