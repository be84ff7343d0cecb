"""chotctl on cluster:// (issue 12 part 3; DESIGN §5, §8) against a real
3-master x 1-replica Redis Cluster (tools/redis-cluster.sh via chotpy.Cluster).

  1. chot-flood gen makes a province; chotd ingests it into one private
     redis-server (the single-node reference); `sites import` loads the
     registry there.
  2. Every key of that Redis (s:, p:, v:, chot:{lists}:sites) is copied
     into the cluster with DUMP / RESTORE (TTL kept) on the master owning
     its slot (the layout chotd writes; chotd's cluster store is issue 12
     part 2); the keys land on every master; WAIT 1 on each.
  3. For every sampled F0: `chotctl -r cluster://... --json trace` equals
     the same trace against the single Redis (all but stats) and the
     truth's F1/F2 sets; visits, site and sites list print the same on both.
     A slot half-migrated (MIGRATING/IMPORTING, keys MIGRATEd): every read
     of it gets ASK; chotctl follows it to the same traces.
     Each lookup's audit record (CHOT.AUDIT, routed to the master of
     chot:audit's slot) is on that master; `sites import` on the cluster
     writes chot:{lists}:sites on its owner.
  4. --replicas: the same traces, read from the replicas (their GET and
     MGET count grows, the masters' does not).
  5. With automatic failover off on the replicas (cluster-replica-no-failover),
     one master SIGSTOPped: chotctl --timeout 1s exits 3 within 15 s naming
     that master's host:port; after SIGCONT it works again.  One master
     killed (kill -9): exit 3 within 15 s naming it.

usage: test_cluster_ctl.py CHOTCTL CHOTD CHOT_FLOOD SRCDIR
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import chotpy as cp                 # noqa: E402
import test_trace_truth as tt       # noqa: E402


class Run:
    """chotctl with a fixed -r URL and ACL user."""

    def __init__(self, chotctl, url, user, passfile, extra=()):
        self.base = [chotctl, "-r", url, "--user", "chot-" + user, "--password-file",
                     passfile] + list(extra)

    def run(self, *args, timeout=60):
        env = dict(os.environ, USER="chot-test")
        return subprocess.run(self.base + list(args), capture_output=True, text=True,
                              timeout=timeout, env=env)


def copy_keys(single, c):
    """DUMP every key of the single Redis, RESTORE it on its cluster master."""
    src = cp.Resp(single.port, single.user, single.password)
    smap = c.slot_map()
    conns, per = {}, {}
    n = 0
    for k in src.scan("*"):
        if k == b"chot:audit":
            continue
        dump = src.call("DUMP", k)
        ttl = src.call("PTTL", k)
        p = c.slot_owner(cp.key_slot(k), smap)
        if p not in conns:
            conns[p] = c.resp(p)
        conns[p].call("RESTORE", k, ttl if ttl > 0 else 0, dump, "REPLACE")
        per[p] = per.get(p, 0) + 1
        n += 1
    for r in conns.values():
        if r.call("WAIT", 1, 10000) < 1:
            raise AssertionError("WAIT 1 found no replica")
        r.close()
    src.close()
    return n, per


def strip_stats(text):
    out = json.loads(text)
    out.pop("stats", None)
    return out


def traces(ctl_a, ctl_b, truth, fails, tag, visited=None):
    """Every F0's first setting: a (single) == b (cluster); returns the
    cluster's redis_calls per lookup.  visited: a set the F0s' visit sites
    are added to (every trace reads their presence)."""
    calls = []
    for f0 in truth["f0"]:
        tr = f0["traces"][0]
        args = ["--json", "trace", "--pid", f0["pid"], "--until", str(f0["until_ms"]),
                "--days", str(f0["days"]), "--window", tt.duration(tr["window_ms"]),
                "--min-overlap", tt.duration(tr["min_overlap_ms"]), "--depth", "2"]
        a, b = ctl_a.run(*args), ctl_b.run(*args)
        calls.append(json.loads(b.stdout)["stats"]["redis_calls"] if b.returncode in (0, 1)
                     else 0)
        if a.returncode != b.returncode:
            fails.append("%s: %s: exit %d on one Redis, %d on the cluster: %s" % (
                tag, f0["pid"], a.returncode, b.returncode, b.stderr.strip()))
            continue
        if a.returncode not in (0, 1):
            fails.append("%s: %s: exit %d: %s" % (tag, f0["pid"], a.returncode, a.stderr))
            continue
        ja, jb = strip_stats(a.stdout), strip_stats(b.stdout)
        if visited is not None:
            visited.update(v["site"] for v in jb["visits"])
        if ja != jb:
            fails.append("%s: %s: trace differs between one Redis and the cluster "
                         "(%d vs %d contacts)" % (tag, f0["pid"], len(ja["contacts"]),
                                                  len(jb["contacts"])))
        got1 = {x["pid"] for x in jb["contacts"] if x["degree"] == 1}
        got2 = {x["pid"] for x in jb["contacts"] if x["degree"] == 2}
        if got1 != set(tr["f1"]) or got2 != set(tr["f2"]):
            fails.append("%s: %s: cluster trace != truth (F1 %d/%d, F2 %d/%d)" % (
                tag, f0["pid"], len(got1), len(tr["f1"]), len(got2), len(tr["f2"])))
        print("%s: %s: F1 %d F2 %d, %s redis calls on the cluster" % (
            tag, f0["pid"][:8], len(got1), len(got2),
            calls[-1]))
    return calls


def node_ids(c):
    return {n["port"]: n["id"] for n in c.cluster_nodes()}


def key_site(k):
    """The site of a presence key p:{site}:b<block> (proto/layout.h)."""
    if isinstance(k, bytes):
        k = k.decode("latin-1")
    return int(k[k.index("{") + 1:k.index("}")])


def migrate_half(c, sites):
    """Of the slots of presence keys at `sites` (which the traces read), the
    one holding the most keys: MIGRATING on its master, IMPORTING on another
    master, and every key MIGRATEd.  Returns (slot, n)."""
    masters = sorted(c.masters())
    ids = node_ids(c)
    best = None
    for p in masters:
        r = c.resp(p)
        for k in r.scan("p:*"):
            if key_site(k) not in sites:
                continue
            s = cp.key_slot(k)
            n = r.call("CLUSTER", "COUNTKEYSINSLOT", s)
            if best is None or n > best[2]:
                best = (p, s, n)
        r.close()
    src, slot, _ = best
    dst = [p for p in masters if p != src][0]
    c.cli(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
    c.cli(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
    r = c.resp(src)
    keys = r.call("CLUSTER", "GETKEYSINSLOT", slot, 100000)
    r.call("MIGRATE", "127.0.0.1", dst, "", 0, 10000, "AUTH2", c.user, c.password,
           "KEYS", *keys)
    left = r.call("CLUSTER", "COUNTKEYSINSLOT", slot)
    r.close()
    if left != 0:
        raise AssertionError("slot %d: %d keys left after MIGRATE" % (slot, left))
    c._migrating = (slot, src, dst)
    return slot, len(keys)


def finish_migration(c, slot):
    s, src, dst = c._migrating
    ids = node_ids(c)
    for p in sorted(c.masters()):
        c.cli(p, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
    c.wait_ok(30)


def get_calls(c, port):
    """GETs and MGETs a node has served: the trace reads its record strings
    with GET (timelines) and MGET (presence, a site's buckets at once)."""
    info = c.cli(port, "INFO", "commandstats", timeout=5)
    n = 0
    for line in info.splitlines():
        if line.startswith(("cmdstat_get:", "cmdstat_mget:")):
            n += int(line.split("calls=")[1].split(",")[0])
    return n


def down_case(c, ctl, f0, port, what, fails):
    t = time.time()
    r = ctl.run("--json", "trace", "--pid", f0["pid"], "--until", str(f0["until_ms"]),
                "--days", str(f0["days"]), timeout=60)
    secs = time.time() - t
    name = "127.0.0.1:%d" % port
    print("%s: exit %d in %.1f s: %s" % (what, r.returncode, secs, r.stderr.strip()))
    if r.returncode != 3:
        fails.append("%s: expected exit 3, got %d (%s)" % (what, r.returncode, r.stderr))
    if name not in r.stderr:
        fails.append("%s: the error does not name %s: %r" % (what, name, r.stderr))
    if secs > 15:
        fails.append("%s: took %.1f s (bound 15 s)" % (what, secs))
    if r.stdout.strip():
        fails.append("%s: printed a result: %r" % (what, r.stdout[:200]))


def main():
    chotctl, chotd, flood, srcdir = sys.argv[1:5]
    fails = []
    t0 = time.time()
    with cp.TempDir() as tmp:
        keys, pcap, sites, truth = tt.gen(flood, tmp, True)
        if not any(tr["f1"] for f0 in truth["f0"] for tr in f0["traces"][:1]):
            print("FAIL: the truth samples no F0 with contacts; the test would prove nothing")
            return 1
        single, _ = tt.ingest(chotd, srcdir, tmp, keys, pcap, 1, "0", "s")
        c = None
        try:
            s_op = Run(chotctl, "redis://127.0.0.1:%d" % single.port, "operator",
                       single.passfiles["operator"])
            s_admin = Run(chotctl, "redis://127.0.0.1:%d" % single.port, "admin",
                          single.passfiles["admin"])
            r = s_admin.run("sites", "import", sites)
            if r.returncode != 0:
                raise AssertionError("sites import (single): %s" % r.stderr)
            c = cp.Cluster(os.path.join(tmp, "cluster"), srcdir, masters=3, replicas=1)
            print("cluster up: %s" % c.url)
            n, per = copy_keys(single, c)
            print("copied %d keys: %s per master" % (n, per))
            if len(per) != 3 or min(per.values()) < n // 10:
                fails.append("keys do not land on every master: %s" % per)
            k_op = Run(chotctl, c.url, "operator", c.passfiles["operator"])
            k_admin = Run(chotctl, c.url, "admin", c.passfiles["admin"])

            # 3. the same answers from one Redis and from the cluster
            audit_port = c.slot_owner(cp.key_slot("chot:audit"))
            visited = set()
            plain = traces(s_op, k_op, truth, fails, "cluster", visited)
            n_traces = len(plain)
            xlen = int(c.cli(audit_port, "XLEN", "chot:audit").strip() or 0)
            if xlen < n_traces:
                fails.append("audit: %d lookups, %d records on chot:audit's master %d" % (
                    n_traces, xlen, audit_port))
            f0 = truth["f0"][0]
            r = s_op.run("--json", "trace", "--pid", f0["pid"], "--until", str(f0["until_ms"]),
                         "--days", str(f0["days"]), "--depth", "1")
            vs = json.loads(r.stdout)["visits"] if r.returncode == 0 else []
            visit = vs[0] if vs else None
            cmds = [["--json", "visits", "--pid", f0["pid"], "--until", str(f0["until_ms"]),
                     "--days", str(f0["days"])], ["--json", "sites", "list"]]
            if visit:
                cmds.append(["--json", "site", str(visit["site"]), "--from",
                             str(visit["from_ms"] - 3600000), "--to",
                             str(visit["to_ms"] + 3600000)])
            for args in cmds:
                a, b = s_op.run(*args), k_op.run(*args)
                if a.returncode != b.returncode or a.stdout != b.stdout:
                    fails.append("%s: one Redis exit %d %r, cluster exit %d %r" % (
                        args[1], a.returncode, a.stdout[:120], b.returncode, b.stdout[:120]))
            c.cli(c.slot_owner(cp.key_slot("chot:{lists}:sites")), "DEL", "chot:{lists}:sites")
            r = k_admin.run("sites", "import", sites)
            owner = c.slot_owner(cp.key_slot("chot:{lists}:sites"))
            hlen = int(c.cli(owner, "HLEN", "chot:{lists}:sites").strip() or 0)
            if r.returncode != 0 or hlen == 0:
                fails.append("sites import on the cluster: exit %d, HLEN %d on %d: %s" % (
                    r.returncode, hlen, owner, r.stderr))

            # redis:// to one node of the cluster: the MOVED says what to do
            one = Run(chotctl, "redis://127.0.0.1:%d" % audit_port, "operator",
                      c.passfiles["operator"])
            r = one.run("--json", "trace", "--pid", f0["pid"], "--until", str(f0["until_ms"]),
                        "--days", str(f0["days"]))
            if r.returncode != 3 or "cluster://" not in r.stderr:
                fails.append("redis:// to a cluster node: expected exit 3 and a cluster:// "
                             "hint, got %d %r" % (r.returncode, r.stderr))

            # 3b. a slot half-migrated (MIGRATING on its master, IMPORTING on
            # another, its keys already moved): every read of it is answered
            # ASK, which chotctl follows (ASKING + the read) to the same trace.
            ask_slot, moved = migrate_half(c, visited)
            print("slot %d half-migrated, %d keys moved: reads get ASK" % (ask_slot, moved))
            asked = traces(s_op, k_op, truth, fails, "ASK")
            if sum(asked) <= sum(plain):
                fails.append("ASK: no redirection was followed (redis calls %s vs %s)" % (
                    asked, plain))
            finish_migration(c, ask_slot)

            # 4. --replicas: the same traces, from the replicas.  CLUSTER SLOTS
            # lists a replica only once gossip has its replication offset
            # (a master without one listed serves its own reads): wait for all.
            def replicas_listed():
                r = c.resp(c.live_ports()[0])
                try:
                    return all(len(e) > 3 for e in r.call("CLUSTER", "SLOTS"))
                finally:
                    r.close()
            if not cp.wait_for(replicas_listed, 30, step=0.2):
                fails.append("CLUSTER SLOTS does not list every replica within 30 s")
            masters = sorted(c.masters())
            replicas = [p for p in c.nodes if p not in masters]
            m0 = {p: get_calls(c, p) for p in masters}
            r0 = {p: get_calls(c, p) for p in replicas}
            k_rep = Run(chotctl, c.url, "operator", c.passfiles["operator"], ["--replicas"])
            traces(s_op, k_rep, truth, fails, "--replicas")
            m1 = {p: get_calls(c, p) for p in masters}
            r1 = {p: get_calls(c, p) for p in replicas}
            if m1 != m0:
                fails.append("--replicas: the masters served GETs: %s -> %s" % (m0, m1))
            if not all(r1[p] > r0[p] for p in replicas):
                fails.append("--replicas: not every replica served GETs: %s -> %s" % (r0, r1))
            print("--replicas: GET calls on replicas %s -> %s" % (r0, r1))

            # 5. a master down: exit 3, naming it, in bounded time
            for p in replicas:
                c.cli(p, "CONFIG", "SET", "cluster-replica-no-failover", "yes")
            quick = Run(chotctl, c.url, "operator", c.passfiles["operator"],
                        ["--timeout", "1s"])
            victim = masters[1]
            os.kill(c.nodes[victim], signal.SIGSTOP)
            try:
                down_case(c, quick, f0, victim, "SIGSTOP %d" % victim, fails)
            finally:
                os.kill(c.nodes[victim], signal.SIGCONT)
            c.wait_ok(30)
            r = quick.run("--json", "visits", "--pid", f0["pid"], "--until",
                          str(f0["until_ms"]), "--days", str(f0["days"]))
            if r.returncode not in (0, 1):
                fails.append("after SIGCONT: exit %d %s" % (r.returncode, r.stderr))
            victim = masters[2]
            c.kill_master(victim)
            down_case(c, quick, f0, victim, "kill -9 %d" % victim, fails)
        finally:
            if c is not None:
                c.teardown()
            single.stop()
    for f in fails:
        print("FAIL:", f)
    print("%s in %.1f s" % ("FAILED" if fails else "ok", time.time() - t0))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
