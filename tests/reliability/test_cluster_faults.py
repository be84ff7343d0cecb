#!/usr/bin/python3
"""No scan lost on a Redis Cluster (DESIGN §7, §8; issue 12 part 5): the
reliability lab of test_reliability.py (chot-flood sim scanners in a
network namespace, chotd on net_af_packet) writing to a local Redis Cluster
made by tools/redis-cluster.sh (shipped configs, ACL users, AOF), one fault
per case:

  failover  3 masters x 1 replica, redis.wait_replicas = 1; one master
            kill -9 mid-flood; its replica is promoted, and the killed node
            is started again (it rejoins as the new master's replica, so
            WAIT 1 can succeed there again).  chotd must follow the MOVED
            replies / the new map, count redis_moved or redis_map_refreshes,
            and every scanner drains.
  stop-one  3 masters x 1 replica; one master SIGSTOPped mid-flood and left
            frozen (a box gone without a TCP reset): the cluster promotes its
            replica; chotd's connection to it never fails, so only its
            reply timeout moves the held writes to the new master; every
            scanner drains while the old master is still frozen.
  reshard   3 masters; mid-flood, the slots of the sites' presence keys on
            one master held half-migrated for 2 s with their keys already
            moved (as `redis-cli --cluster reshard` leaves a slot while it
            works), then 3000 slots migrated with `redis-cli --cluster
            reshard`, one key per MIGRATE; redis_ask > 0 and redis_moved > 0.
  freeze    3 masters; every master SIGSTOPped for 10 s mid-flood: nothing
            is stored or ACKed while they are frozen (events_stored and
            acks_sent do not move), the backlog grows, and after SIGCONT
            everything is written and ACKed.

Every case ends with test_reliability's proof: every scan the simulator
created acknowledged, and the union of the masters holds exactly those
scans (timeline and presence), 0 lost, 0 stored twice; every chot key has
its expiry (the expiry memo's repairs after a lost connection); the
accounting identities hold.  Figures (scans sent / acked / stored, counters, drain
time) go to stdout as one JSON line.

usage: test_cluster_faults.py CASE CHOTD CHOT_FLOOD CHOT_IMPAIR SRCDIR [--json OUT]
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import chotpy as cp                  # noqa: E402
import test_reliability as rel       # noqa: E402

CLUSTER_COUNTERS = ("redis_moved", "redis_ask", "redis_tryagain", "redis_clusterdown",
                    "redis_map_refreshes", "redis_wait_short", "redis_errors", "redis_resent")


class ClusterCase(rel.Case):
    replicas = 0

    def start_chotd(self, extra=None):
        self.runs += 1
        self.prefix = "chotclf%s%d" % (self.lab, self.runs)
        sets = {"keys.file": self.keys_path, "redis.url": self.cluster.url,
                "redis.user": "chot-ingest",
                "redis.password_file": self.cluster.passfiles["ingest"],
                "ingest.address": self.labvars["CHOT_LAB_APPLIANCE_CIDR"],
                "dedupe.capacity": 524288, "ingest.max_devices": 4096,
                "redis.drain_ms": 20000}
        sets.update(extra or {})
        args = cp.chotd_args(self.chotd, self.prefix,
                             "net_af_packet0,iface=%s,qdisc_bypass=0" % self.labvars["CHOT_LAB_IF"],
                             os.path.join(self.srcdir, "configs/chotd.conf"), sets)
        self.chotd_log = open(os.path.join(self.tmp, "chotd%d.log" % self.runs), "w+")
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.chotd_log, text=True)
        self.chotd_proc = p
        if cp.wait_for(lambda: cp.telemetry_query(self.prefix, "/chot/stats"), 20) is None:
            raise RuntimeError("chotd did not come up: %s" % p.poll())
        return p

    def check_redis(self, events_files, n_events, abandoned=None):
        exp = self.expected(events_files)
        self.cluster.wait_ok(30)
        tl, pr, per = cp.cluster_stored_events(self.cluster)
        lost, extra = len(exp - tl), len(tl - exp)
        lost_pr, extra_pr = len(exp - pr), len(pr - exp)
        self.figures.update({"events": n_events, "lost": lost, "duplicates_stored": extra,
                             "presence_lost": lost_pr, "presence_extra": extra_pr,
                             "keys_per_master": sorted(per.values())})
        if len(exp) != n_events:
            self.fails.append("the simulator's scans are not distinct: %d of %d" %
                              (len(exp), n_events))
        if lost or extra or lost_pr or extra_pr:
            self.fails.append("Redis: timeline lost %d extra %d, presence lost %d extra %d" %
                              (lost, extra, lost_pr, extra_pr))
        nottl = cp.cluster_keys_without_ttl(self.cluster)
        self.figures["keys_without_ttl"] = sum(nottl.values())
        if sum(nottl.values()):
            self.fails.append("keys without an expiry: %s" % nottl)

    def flood_run(self, rate, events, devices, fault, extra_chotd=None):
        self.start_chotd(extra_chotd)
        # A flood takes ~20 s; a scanner that has not drained within ~100 s
        # never will: fail well inside meson's timeout.
        sim = self.sim("a", rate, events, devices, timeout=120)
        th = threading.Thread(target=self.guard, args=(fault,), daemon=True)
        th.start()
        rep = self.sim_wait(sim, timeout=130)
        th.join(timeout=90)
        c = self.stop_chotd()
        self.check_counters(c, events)
        self.check_redis([self.sim_events], events)
        self.figures.update({"scans_sent": rep.get("events"),
                             "scans_acked": rep.get("events_acked", rep.get("events", 0)
                                                    - (rep.get("events_outstanding") or 0)),
                             "scans_outstanding": rep.get("events_outstanding"),
                             "scans_stored": c.get("events_stored"),
                             "drain_s": rep.get("drain_s"),
                             "retransmissions": rep.get("retransmissions"),
                             "stalls": rep.get("stalls")})
        self.figures.update({k: c.get(k) for k in CLUSTER_COUNTERS + (
            "events_dropped", "dup_scans", "replayed", "acks_sent")})
        return rep, c

    def guard(self, fault):
        try:
            fault()
        except Exception as e:        # noqa: BLE001 - a failed fault is a failed case
            self.fails.append("fault: %s: %s" % (type(e).__name__, e))

    # ------------------------------------------------------------ cases
    def case_failover(self):
        def fault():
            time.sleep(4)
            victim = sorted(self.cluster.masters())[0]
            reps = self.cluster.replicas_of(victim)
            before = self.stats() or {}
            t0 = time.time()
            self.cluster.kill_master(victim)
            port, took = self.cluster.wait_failover(victim, reps, timeout=30)
            self.figures.update({"killed_master": victim, "promoted": port,
                                 "failover_s": round(took, 2),
                                 "stored_at_kill": before.get("events_stored"),
                                 "pending_at_kill": before.get("events_pending")})
            cp.cluster_restart(self.cluster, victim)
            self.figures["rejoined_s"] = round(time.time() - t0, 2)
        rep, c = self.flood_run(5000, 60000, 300, fault,
                            {"redis.wait_replicas": 1, "redis.wait_timeout_ms": 500})
        self.figures["fault"] = ("kill -9 of one master at 4 s, wait_replicas 1; its replica "
                                 "promoted, the old master restarted as its replica")
        if not (c.get("redis_moved", 0) > 0 or c.get("redis_map_refreshes", 0) > 1):
            self.fails.append("chotd never noticed the new map (moved %s, refreshes %s)" %
                              (c.get("redis_moved"), c.get("redis_map_refreshes")))
        if not c.get("redis_errors"):
            self.fails.append("the lost master was not counted in redis_errors")

    def case_stop_one(self):
        def fault():
            time.sleep(4)
            victim = sorted(self.cluster.masters())[0]
            reps = self.cluster.replicas_of(victim)
            os.kill(self.cluster.nodes[victim], signal.SIGSTOP)
            self.cluster._stopped.append(victim)     # teardown sends SIGCONT
            self.cluster.dead.add(victim)            # ask the others from now on
            port, took = self.cluster.wait_failover(victim, reps, timeout=30)
            self.figures.update({"stopped_master": victim, "promoted": port,
                                 "failover_s": round(took, 2)})
        rep, c = self.flood_run(5000, 60000, 300, fault)
        self.figures["fault"] = ("SIGSTOP of one master at 4 s, never resumed; its replica "
                                 "promoted")
        if not c.get("redis_errors"):
            self.fails.append("the frozen master's connection was never given up")

    def hold_migrating(self, src, dst, hold_s):
        """Migrate the slots of the sites' presence keys (p:{site}:..., written
        by nearly every scan) owned by src to dst by hand, as redis-cli does,
        but hold them half-migrated for hold_s with their keys already moved:
        every write to them meanwhile gets ASK.  Returns the slots."""
        ids = self.cluster.masters()
        slots = sorted(set(cp.key_slot("{%d}" % site) for site in range(1, 51)))
        owned = [sl for sl in slots if self.cluster.slot_owner(sl) == src]
        auth = ["AUTH2", self.cluster.user, self.cluster.password]
        for sl in owned:
            self.cluster.cli(dst, "CLUSTER", "SETSLOT", sl, "IMPORTING", ids[src])
            self.cluster.cli(src, "CLUSTER", "SETSLOT", sl, "MIGRATING", ids[dst])
        # Binary-safe (Resp, not redis-cli's text): a subject's week key is
        # binary (proto/layout.h) and may share a slot with a presence key.
        r = self.cluster.resp(src)
        try:
            for sl in owned:
                keys = r.call("CLUSTER", "GETKEYSINSLOT", sl, 10000)
                if keys:
                    r.call("MIGRATE", "127.0.0.1", dst, "", 0, 10000, *auth, "KEYS", *keys)
        finally:
            r.close()
        time.sleep(hold_s)
        for sl in owned:
            self.cluster.cli(dst, "CLUSTER", "SETSLOT", sl, "NODE", ids[dst])
            self.cluster.cli(src, "CLUSTER", "SETSLOT", sl, "NODE", ids[dst])
        # The other masters learn the new owner by gossip; redis-cli's
        # reshard refuses to start until every node agrees ("Nodes don't
        # agree about configuration"), so wait for that, as an operator
        # would, rather than race it.
        if cp.wait_for(lambda: self.cluster.check()[0], 20, step=0.2) is None:
            self.fails.append("the cluster did not agree on the moved slots within 20 s: %s"
                              % self.cluster.check()[1][-1000:])
        return owned

    def case_reshard(self):
        def fault():
            time.sleep(3)
            m = sorted(self.cluster.masters())
            ids = self.cluster.masters()
            t0 = time.time()
            hot = self.hold_migrating(m[0], m[1], 2.0)
            self.figures["hot_slots_held_migrating"] = len(hot)
            # Then the stock tool, one key per MIGRATE.
            r = subprocess.run(["redis-cli", "--cluster", "reshard", "127.0.0.1:%d" % m[0],
                                "--cluster-from", ids[m[0]], "--cluster-to", ids[m[1]],
                                "--cluster-slots", "3000", "--cluster-yes",
                                "--cluster-pipeline", "1", "--user", self.cluster.user,
                                "--pass", self.cluster.password, "--no-auth-warning"],
                               capture_output=True, timeout=120)
            if r.returncode != 0:
                raise RuntimeError("reshard failed: %s %s" % (r.stdout[-1000:], r.stderr))
            self.figures["reshard_s"] = round(time.time() - t0, 2)
            ok, out = self.cluster.check()
            if not ok:
                self.fails.append("cluster check after the reshard: %s" % out[-1000:])
        rep, c = self.flood_run(8000, 96000, 300, fault)
        self.figures["fault"] = ("at 3 s the sites' slots of one master held half-migrated "
                                 "for 2 s, then 3000 slots resharded key by key")
        if c.get("redis_ask", 0) == 0:
            self.fails.append("no ASK followed during the reshard (moved %s)" %
                              c.get("redis_moved"))
        if c.get("redis_moved", 0) == 0:
            self.fails.append("no MOVED followed after the reshard")

    def case_freeze(self):
        def fault():
            time.sleep(4)
            ports = self.cluster.signal_masters(signal.SIGSTOP)
            time.sleep(1.0)           # replies already on the wire are read
            s1 = self.stats() or {}
            time.sleep(8.5)
            s2 = self.stats() or {}
            self.cluster.signal_masters(signal.SIGCONT)
            self.figures.update({"frozen_masters": len(ports),
                                 "stored_during_freeze": s2.get("events_stored", 0)
                                 - s1.get("events_stored", 0),
                                 "acked_during_freeze": s2.get("acks_sent", 0)
                                 - s1.get("acks_sent", 0),
                                 "pending_in_freeze": s2.get("events_pending")})
            if s2.get("events_stored") != s1.get("events_stored"):
                self.fails.append("events stored while every master was frozen: %s -> %s" %
                                  (s1.get("events_stored"), s2.get("events_stored")))
            if s2.get("acks_sent") != s1.get("acks_sent"):
                self.fails.append("ACKs sent while every master was frozen: %s -> %s" %
                                  (s1.get("acks_sent"), s2.get("acks_sent")))
            if not s2.get("events_pending"):
                self.fails.append("no backlog while frozen: the case proves little")
        rep, c = self.flood_run(5000, 80000, 300, fault)
        self.figures["fault"] = "every master SIGSTOP at 4 s for 10 s"

    def run(self):
        if os.geteuid() != 0 or subprocess.run(["ip", "netns", "list"],
                                               capture_output=True).returncode != 0:
            print("SKIP: needs root and ip netns")
            return 77
        with cp.TempDir() as tmp:
            self.tmp = tmp
            self.cluster = None
            try:
                self.keys_path = os.path.join(tmp, "keys")
                cp.make_keys(self.keys_path, seed=len(self.name) + 40)
                self.cluster = cp.Cluster(os.path.join(tmp, "cl"), self.srcdir, masters=3,
                                          replicas=1 if self.name in ("failover", "stop-one")
                                          else 0)
                self.lab_up()
                t0 = time.time()
                getattr(self, "case_" + self.name.replace("-", "_"))()
                self.figures["wall_s"] = round(time.time() - t0, 1)
            except Exception as e:       # noqa: BLE001 - report, then clean up
                self.fails.append("%s: %s" % (type(e).__name__, e))
            finally:
                for p in self.procs + [self.chotd_proc]:
                    if p is not None and p.poll() is None:
                        p.kill()
                        p.wait()
                if self.prefix:
                    cp.cleanup_prefix(self.prefix)
                if self.cluster is not None:
                    self.cluster.teardown()
                self.sh(self.netlab, "down", self.lab, check=False)
                if self.fails and hasattr(self, "chotd_log"):
                    self.chotd_log.seek(0)
                    print(self.chotd_log.read()[-3000:])
        print(json.dumps(self.figures, sort_keys=True))
        if "--json" in sys.argv:
            with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
                json.dump(self.figures, f, sort_keys=True)
        for f in self.fails:
            print("FAIL:", f)
        return 1 if self.fails else 0


def main():
    if len(sys.argv) < 6 or sys.argv[1] not in ("failover", "stop-one", "reshard", "freeze"):
        print(__doc__)
        return 2
    return ClusterCase(*sys.argv[1:6]).run()


if __name__ == "__main__":
    sys.exit(main())
