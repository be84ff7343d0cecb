#!/usr/bin/python3
"""tools/redis-cluster.sh and chotpy.Cluster against real redis-servers
(DESIGN §8; issue 12 part 4; docs/OPERATIONS.md "Redis Cluster").

  1. `up` 3 masters x 1 replica: six nodes, the assignments it prints, 0600
     password files, one replica per master.
  2. Every node has the shipped ACL users with the same passwords:
     chot-ingest cannot FLUSHALL, chot-repl can only replicate, and
     chot-ingest's hash-tagged write through `redis-cli -c` follows the
     redirection; chot-operator reads it back from a replica (READONLY).
     On a single server (the shipped redis.conf alone) chot-repl is off.
  3. Keys written on every master, each master's writes confirmed by
     WAIT 1.
  4. Every master SIGSTOPped for twice the node timeout: no replica is
     promoted (a failover needs a majority of masters); after SIGCONT the
     cluster is ok again with three masters and every key.
  5. kill -9 a master: its replica is promoted within 15 s, every node says
     cluster_state:ok, and every key confirmed by WAIT before is there.
  6. 100 slots resharded between two live masters, keys moved with them.
  7. `down`: no node process left, every port and bus port free; `down`
     again is fine.

Usage: test_cluster_ops.py SRCDIR
"""
import os
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402

KEYS = 600


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def pid_gone(pid):
    """True when pid is no process or a zombie (the nodes are not our
    children: init reaps them when it gets to it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def port_free(port):
    """Nothing listens on port, and a server could bind it again."""
    c = socket.socket()
    c.settimeout(1)
    try:
        c.connect(("127.0.0.1", port))
        return False
    except OSError:
        pass
    finally:
        c.close()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as redis-server does
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def step_up(c):
    env = c.env
    check(len(c.nodes) == 6, "6 nodes expected, got %s" % c.nodes)
    check(env["CHOT_REDIS_URL"].startswith("cluster://"), "URL %s" % env["CHOT_REDIS_URL"])
    seeds = {int(a.rsplit(":", 1)[1]) for a in env["CHOT_REDIS_URL"][10:].split(",")}
    check(seeds == set(c.nodes), "URL seeds %s != nodes %s" % (seeds, set(c.nodes)))
    check(len(env["CHOT_REDIS_MASTERS"].split()) == 3 and
          len(env["CHOT_REDIS_REPLICAS"].split()) == 3, "roles: %s" % env)
    check(int(env["CHOT_REDIS_PORT"]) in c.masters(), "CHOT_REDIS_PORT is not a master")
    for u in ("admin", "ingest", "operator", "repl"):
        mode = stat.S_IMODE(os.stat(c.passfiles[u]).st_mode)
        check(mode == 0o600, "%s.pass mode %o, expected 600" % (u, mode))
    for m in c.masters():
        check(len(c.replicas_of(m)) == 1, "master %d replicas %s" % (m, c.replicas_of(m)))
    for p in c.nodes:
        aof = c.cli(p, "CONFIG", "GET", "appendonly").split()
        check(aof == ["appendonly", "yes"], "node %d: %s" % (p, aof))
        nt = c.cli(p, "CONFIG", "GET", "cluster-node-timeout").split()
        check(nt == ["cluster-node-timeout", "2000"], "node %d: %s" % (p, nt))
    print("up: %s" % env["CHOT_REDIS_URL"])


def step_acl(c):
    for p in c.nodes:
        users = set(c.cli(p, "ACL", "USERS").split())
        check({"chot-admin", "chot-ingest", "chot-operator", "chot-repl"} <= users,
              "node %d users %s" % (p, users))
        out = c.cli(p, "FLUSHALL", user="chot-ingest", check=False)
        check(out.startswith("NOPERM"), "node %d: chot-ingest FLUSHALL: %r" % (p, out))
        out = c.cli(p, "GET", "x", user="chot-repl", check=False)
        check(out.startswith("NOPERM"), "node %d: chot-repl GET: %r" % (p, out))
        c.cli(p, "CLUSTER", "SLOTS", user="chot-ingest")
        c.cli(p, "ASKING", user="chot-ingest")
        c.cli(p, "CLUSTER", "SHARDS", user="chot-operator")
        c.cli(p, "CLUSTER", "NODES", user="chot-operator")
    # A hash-tagged write sent to a node that does not own its slot.
    key = "s:{c0ffee}:w1"
    owner = c.slot_owner(cp.key_slot(key))
    other = [p for p in c.masters() if p != owner][0]
    out = c.cli(other, "APPEND", key, "m1", user="chot-ingest", cluster_mode=True)
    check(out.strip() == "2", "APPEND through -c: %r" % out)
    c.cli(other, "EXPIREAT", key, "4000000000", user="chot-ingest", cluster_mode=True)
    r = c.resp(owner, "chot-ingest")
    check(r.call("WAIT", 1, 5000) == 1, "chot-ingest WAIT 1 on the owner")
    r.close()
    rep = c.replicas_of(owner)[0]
    r = c.resp(rep, "chot-operator")
    check(r.call("READONLY") == b"OK", "READONLY")
    got = r.call("GET", key)
    check(got == b"m1", "operator read from replica %d: %r" % (rep, got))
    r.close()
    out = c.cli(owner, "APPEND", key, "m2", user="chot-operator", check=False)
    check(out.startswith("NOPERM"), "chot-operator APPEND: %r" % out)
    print("acl: every node has the users; ingest write via -c, operator read via replica")


def step_single_server(srcdir, tmp):
    """The shipped redis.conf alone (a single server, as chotpy.Redis and
    tools/redis-private.sh run it): chot-repl is off, so its placeholder
    password opens nothing."""
    d = os.path.join(tmp, "single")
    os.mkdir(d)
    r = cp.Redis(d, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
    try:
        out = subprocess.run(["redis-cli", "-p", str(r.port), "--user", "chot-repl", "--pass",
                              "CHANGE-ME-repl", "--no-auth-warning", "PING"],
                             capture_output=True, timeout=10).stdout.decode()
        check("WRONGPASS" in out or "NOAUTH" in out,
              "chot-repl must be off on a single server: %r" % out)
        flags = r.cli("ACL", "GETUSER", "chot-repl")
        check("off" in flags.split(), "ACL GETUSER chot-repl: %r" % flags)
    finally:
        r.stop()
    print("single server: chot-repl is off")


def write_keys(c):
    """KEYS keys s:{k<i>}:w1 on their masters; WAIT 1 on each master's
    connection must confirm them all.  Returns the key list."""
    smap = c.slot_map()
    conns, keys = {}, []
    for i in range(KEYS):
        k = "s:{k%d}:w1" % i
        p = c.slot_owner(cp.key_slot(k), smap)
        if p not in conns:
            conns[p] = c.resp(p, "chot-ingest")
        check(conns[p].call("APPEND", k, "m%d" % i) == len("m%d" % i), "APPEND %s" % k)
        keys.append(k)
    for p, r in conns.items():
        n = r.call("WAIT", 1, 5000)
        check(n >= 1, "WAIT 1 on master %d: %d replicas" % (p, n))
        r.close()
    check(len(conns) == 3, "keys landed on %d masters" % len(conns))
    return keys


def missing_keys(c, keys):
    smap = c.slot_map()
    conns, missing = {}, []
    for k in keys:
        p = c.slot_owner(cp.key_slot(k), smap)
        if p not in conns:
            conns[p] = c.resp(p)
        if conns[p].call("EXISTS", k) != 1:
            missing.append(k)
    for r in conns.values():
        r.close()
    return missing


def step_freeze(c, keys):
    before = set(c.masters())
    reps = [p for p in c.nodes if p not in before]
    c.signal_masters(signal.SIGSTOP)
    try:
        end = time.time() + 4.0          # twice cluster-node-timeout
        while time.time() < end:
            view = c.masters(reps[0])    # a replica's view; masters are frozen
            check(not (set(view) & set(reps)), "a replica was promoted with every master "
                  "stopped: %s" % view)
            time.sleep(0.25)
    finally:
        c.signal_masters(signal.SIGCONT)
    c.wait_ok(20)
    m = c.masters()
    check(len(m) == 3, "3 masters after SIGCONT, got %s" % m)
    check(sum(c.dbsize().values()) == KEYS + 1, "DBSIZE after SIGCONT: %s" % c.dbsize())
    check(not missing_keys(c, keys), "keys lost after SIGSTOP/SIGCONT")
    print("freeze: no promotion with every master stopped; ok after SIGCONT")


def step_failover(c, keys):
    victim = max(c.dbsize().items(), key=lambda kv: kv[1])[0]
    reps = c.replicas_of(victim)
    c.kill_master(victim)
    promoted, secs = c.wait_failover(victim, reps, timeout=15)
    print("failover: master %d killed, replica %d promoted and cluster ok in %.1f s" % (
        victim, promoted, secs))
    check(len(c.masters()) == 3, "3 masters after failover: %s" % c.masters())
    lost = missing_keys(c, keys)
    check(not lost, "%d keys confirmed by WAIT 1 lost in the failover: %s" % (
        len(lost), lost[:5]))
    check(sum(c.dbsize().values()) == KEYS + 1, "DBSIZE after failover: %s" % c.dbsize())
    out = c.cli(promoted, "APPEND", "s:{after}:w1", "m", user="chot-ingest",
                cluster_mode=True)
    check(out.strip() == "1", "write after failover: %r" % out)


def step_reshard(c, keys):
    m = sorted(c.masters())
    src, dst = m[0], m[1]
    slots0 = {n["port"]: n["slots"] for n in c.cluster_nodes()}
    before = c.slot_map()
    c.reshard(src, dst, 100)
    c.wait_ok(20)
    slots1 = {n["port"]: n["slots"] for n in c.cluster_nodes()}
    check(slots1[src] == slots0[src] - 100 and slots1[dst] == slots0[dst] + 100,
          "slots %s -> %s" % (slots0, slots1))
    after = c.slot_map()
    moved = [k for k in keys + ["s:{c0ffee}:w1", "s:{after}:w1"]
             if c.slot_owner(cp.key_slot(k), before) == src
             and c.slot_owner(cp.key_slot(k), after) == dst]
    ok, out = c.check()
    check(ok, "cluster check after reshard:\n%s" % out)
    check(not missing_keys(c, keys), "keys lost in the reshard")
    check(sum(c.dbsize().values()) == KEYS + 2, "DBSIZE after reshard: %s" % c.dbsize())
    print("reshard: 100 slots %d -> %d, %d keys moved with them" % (src, dst, len(moved)))


def step_down(c):
    r = c.down()
    check(r.returncode == 0, "down: %s" % r.stderr)
    gone = cp.wait_for(lambda: all(pid_gone(p) for p in c.nodes.values()), 10)
    check(gone, "processes left after down: %s" % [p for p in c.nodes.values()
                                                    if not pid_gone(p)])
    busy = [p for port in c.nodes for p in (port, port + 10000) if not port_free(p)]
    check(not busy, "ports still in use after down: %s" % busy)
    r = c.down()
    check(r.returncode == 0, "second down: rc %d %s" % (r.returncode, r.stderr))
    print("down: no node left, ports free; down twice ok")


def main():
    srcdir = sys.argv[1]
    t0 = time.time()
    with cp.TempDir() as tmp:
        c = cp.Cluster(os.path.join(tmp, "cluster"), srcdir, masters=3, replicas=1)
        try:
            print("up in %.1f s" % (time.time() - t0))
            step_up(c)
            step_acl(c)
            step_single_server(srcdir, tmp)
            keys = write_keys(c)
            step_freeze(c, keys)
            step_failover(c, keys)
            step_reshard(c, keys)
            step_down(c)
        except BaseException:
            subprocess.run(["bash", c.script, "status", c.dir])
            raise
        finally:
            c.teardown()
    print("ok in %.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
