#!/usr/bin/python3
"""No scan lost (issue 5, docs/RELIABILITY.md): real chot-flood sim scanners
in a network namespace, a real chotd on net_af_packet, a real redis-server
with the shipped configuration (AOF), and one fault per case:

  loss           20% loss, 5% duplication, 25% reordering, both ways
  ackloss        50% of the ACKs lost, nothing else
  redis-kill     redis-server kill -9 mid-flood, restarted on its AOF
  redis-stop     redis-server SIGSTOP for 20 s mid-flood
  chotd-restart  chotd kill -9 mid-flood and started again
  reboot         scanners reboot mid-run; old-epoch datagrams replayed
  overload       four times the sustainable rate for 10 s
  verdicts       no fault: every batch asks a CHV1 verdict (DESIGN §9) with
                 one scan in 7 on the watchlist as f0; every verdict arrives,
                 verifies, and has exactly the f0 codes; one alert per f0 scan

usage: test_reliability.py CASE CHOTD CHOT_FLOOD CHOT_IMPAIR SRCDIR [--json OUT]

Every case ends with the same proof: the simulator saw every scan
acknowledged (an ACK is only sent for a stored batch), and Redis holds
exactly the scans created (timeline and presence index), no more, no less;
chotd's accounting identities hold; events_stored counts each scan once
(except across a chotd restart, where a re-sent scan may be written again,
idempotently).  Figures go to stdout as one JSON line.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
import chotpy as cp      # noqa: E402

SCHEME_PCCOVID = 2


class Case:
    def __init__(self, name, chotd, flood, impair, srcdir):
        self.name, self.chotd, self.flood, self.srcdir = name, chotd, flood, srcdir
        self.impair = impair
        self.lab = "r%d" % (os.getpid() % 100000)
        self.netlab = os.path.join(srcdir, "tools", "netlab.sh")
        self.procs = []
        self.chotd_proc = None
        self.prefix = None
        self.runs = 0
        self.fails = []
        self.figures = {"case": name}
        self.samples = []

    # ------------------------------------------------------------ plumbing
    def sh(self, *args, check=True):
        env = dict(os.environ, CHOT_IMPAIR=self.impair)
        r = subprocess.run(args, capture_output=True, text=True, env=env)
        if check and r.returncode != 0:
            raise RuntimeError("%s: %s %s" % (" ".join(args), r.stdout, r.stderr))
        return r.stdout

    def lab_up(self):
        out = self.sh(self.netlab, "up", self.lab)
        self.labvars = dict(line.split("=", 1) for line in out.split())
        self.figures["impairment"] = self.labvars["CHOT_LAB_IMPAIR"]

    def netem(self, direction, spec):
        self.sh(self.netlab, "netem", self.lab, direction, spec)
        self.figures.setdefault("netem", {})[direction] = spec

    def start_chotd(self, extra=None):
        self.runs += 1
        self.prefix = "chotrel%s%d" % (self.lab, self.runs)
        sets = {"keys.file": self.keys_path,
                "redis.url": "redis://127.0.0.1:%d" % self.redis.port,
                "redis.user": "chot-ingest",
                "redis.password_file": self.redis.passfiles["ingest"],
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

    def stop_chotd(self):
        """SIGTERM: chotd drains what Redis still owes it and prints counters."""
        p = self.chotd_proc
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=60)
        cp.cleanup_prefix(self.prefix)
        c = cp.parse_counters(out)
        if p.returncode != 0:
            self.fails.append("chotd run %d exit code %d" % (self.runs, p.returncode))
        return c

    def sim(self, prefix, rate, events, devices, extra=(), timeout=240):
        """Run chot-flood sim in the scanners namespace in the background."""
        self.sim_report = os.path.join(self.tmp, "sim-%s.json" % prefix)
        self.sim_events = os.path.join(self.tmp, "sim-%s.events" % prefix)
        args = ["ip", "netns", "exec", self.labvars["CHOT_LAB_NS"], self.flood, "sim",
                "--devices", str(devices), "--rate", str(rate), "--events", str(events),
                "--to", "%s:7311" % self.labvars["CHOT_LAB_APPLIANCE_IP"],
                "--keys", self.keys_path, "--prefix", prefix, "--seed", str(os.getpid()),
                "--rto-ms", "200", "--rto-max-ms", "1000", "--deadline-s", str(timeout - 20),
                "--report", self.sim_report, "--events-out", self.sim_events,
                "--progress-s", "5"] + list(extra)
        log = open(os.path.join(self.tmp, "sim-%s.log" % prefix), "w+")
        p = subprocess.Popen(args, stdout=log, stderr=log)
        p.log = log
        self.procs.append(p)
        return p

    def sim_wait(self, p, timeout=240):
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.log.seek(0)
        sys.stdout.write(p.log.read()[-1500:])
        rep = json.load(open(self.sim_report)) if os.path.exists(self.sim_report) else {}
        if p.returncode != 0 or not rep.get("ok"):
            self.fails.append("sim exit %s: %s of %s scans not acknowledged" % (
                p.returncode, rep.get("events_outstanding"), rep.get("events")))
        return rep

    def stats(self):
        return cp.telemetry_query(self.prefix, "/chot/stats")

    def sample_every(self, period, stop):
        while not stop.is_set():
            t = time.time()
            s = cp.telemetry_query(self.prefix, "/chot/stats", timeout=2.0)
            w = cp.telemetry_query(self.prefix, "/chot/workers", timeout=2.0)
            self.samples.append((t, time.time() - t, s, w))
            stop.wait(period)

    # ------------------------------------------------------------ checks
    def expected(self, events_files, acked_only=False):
        keys = cp.load_keys(self.keys_path)
        tl = set()
        for path in events_files:
            with open(path) as f:
                for line in f:
                    if line.startswith("#"):
                        continue
                    subj, ts, site, d, acked = line.split()
                    if acked_only and acked != "1":
                        continue
                    pid = cp.pid_hex(keys["pseudonym"], SCHEME_PCCOVID, subj)
                    tl.add((pid, int(site), int(ts), int(d)))
        return tl

    def check_redis(self, events_files, n_events, abandoned=None):
        """Redis holds exactly the scans of events_files.  `abandoned`: the
        events file of a simulator stopped early; its acknowledged scans must
        be stored, the others may or may not be."""
        exp = self.expected(events_files)
        tl, pr = cp.stored_events(self.redis)
        if abandoned:
            must = self.expected([abandoned], acked_only=True)
            may = self.expected([abandoned])
            self.figures["abandoned_acked_lost"] = len(must - tl)
            if must - tl:
                self.fails.append("%d acknowledged scans of the stopped run are not stored" %
                                  len(must - tl))
            tl, pr = tl - may, pr - may
        lost = len(exp - tl)
        extra = len(tl - exp)
        lost_pr = len(exp - pr)
        extra_pr = len(pr - exp)
        self.figures.update({"events": n_events, "lost": lost, "duplicates_stored": extra,
                             "presence_lost": lost_pr, "presence_extra": extra_pr})
        if len(exp) != n_events:
            self.fails.append("the simulator's scans are not distinct: %d of %d" %
                              (len(exp), n_events))
        if lost or extra or lost_pr or extra_pr:
            self.fails.append("Redis: timeline lost %d extra %d, presence lost %d extra %d" %
                              (lost, extra, lost_pr, extra_pr))

    def check_counters(self, c, stored_exactly=None):
        try:
            cp.check_identities(c)
        except (AssertionError, KeyError) as e:
            self.fails.append("accounting: %s" % e)
        if c.get("events_pending", 0) != 0:
            self.fails.append("events still pending at the end: %d" % c["events_pending"])
        if stored_exactly is not None and c.get("events_stored") != stored_exactly:
            self.fails.append("events_stored %s, expected each of %d scans stored once" %
                              (c.get("events_stored"), stored_exactly))

    # ------------------------------------------------------------ run
    def run(self):
        if os.geteuid() != 0 or subprocess.run(["ip", "netns", "list"],
                                               capture_output=True).returncode != 0:
            print("SKIP: needs root and ip netns")
            return 77
        with cp.TempDir() as tmp:
            self.tmp = tmp
            try:
                self.keys_path = os.path.join(tmp, "keys")
                cp.make_keys(self.keys_path, seed=len(self.name))
                self.redis = cp.Redis(tmp, os.path.join(self.srcdir, "configs/redis.conf"))
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
                if hasattr(self, "redis"):
                    if self.redis.proc.poll() is None:
                        os.kill(self.redis.proc.pid, signal.SIGCONT)
                    self.redis.kill()
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

    def simple(self, rate, events, devices, extra_sim=(), fault=None, stored_once=True):
        """One chotd, one sim run, an optional fault(t) thread; the common checks."""
        self.start_chotd()
        sim = self.sim("a", rate, events, devices, extra_sim)
        if fault:
            th = threading.Thread(target=fault, daemon=True)
            th.start()
        rep = self.sim_wait(sim)
        if fault:
            th.join(timeout=60)
        c = self.stop_chotd()
        self.check_counters(c, events if stored_once else None)
        self.check_redis([self.sim_events], events)
        self.figures.update({k: rep.get(k) for k in (
            "retransmissions", "datagrams_sent", "batches_sent", "acks_received",
            "reboots", "stalls", "events_repacked", "old_epoch_replays", "drain_s",
            "rate_achieved")})
        self.figures.update({"chotd_" + k: c.get(k) for k in (
            "rx_packets", "replayed", "stale_epoch", "dup_scans", "events_stored",
            "events_dropped", "batches_dropped", "acks_sent", "redis_errors",
            "redis_resent")})
        return rep, c

    def case_loss(self):
        self.netem("both", "loss 20% duplicate 5% delay 5ms reorder 25% 50%")
        self.simple(20000, 200000, 1000)

    def case_ackloss(self):
        self.netem("down", "loss 50%")
        rep, c = self.simple(10000, 50000, 200)
        if c.get("replayed", 0) == 0 or c.get("acks_sent", 0) <= c.get("batches_accepted", 0):
            self.fails.append("no retransmission was re-ACKed (replayed %s, acks_sent %s, "
                              "batches %s)" % (c.get("replayed"), c.get("acks_sent"),
                                               c.get("batches_accepted")))

    def case_redis_kill(self):
        def fault():
            time.sleep(4)
            self.figures["pending_at_kill"] = (self.stats() or {}).get("events_pending")
            self.redis.proc.kill()          # SIGKILL
            self.redis.proc.wait()
            time.sleep(3)
            self.redis.start()              # same dir: loads its AOF
        rep, c = self.simple(10000, 100000, 500, fault=fault)
        self.figures["fault"] = "redis-server SIGKILL at 4 s, restarted on its AOF 3 s later"
        if c.get("redis_errors", 0) < 1:
            self.fails.append("the outage was not counted in redis_errors")

    def case_redis_stop(self):
        stop = threading.Event()

        def fault():
            time.sleep(4)
            os.kill(self.redis.proc.pid, signal.SIGSTOP)
            sampler = threading.Thread(target=self.sample_every, args=(1.0, stop), daemon=True)
            sampler.start()
            time.sleep(20)
            stop.set()
            sampler.join()
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        rep, c = self.simple(5000, 150000, 500, fault=fault)
        self.figures["fault"] = "redis-server SIGSTOP at 4 s for 20 s"
        answered = [x for x in self.samples if x[2] is not None and x[3] is not None]
        backlog = max([x[3].get("w0", {}).get("backlog_events", 0) for x in answered] or [0])
        slowest = max([x[1] for x in self.samples] or [0])
        self.figures.update({"telemetry_samples": len(self.samples),
                             "telemetry_answered": len(answered),
                             "telemetry_slowest_ms": round(slowest * 1000, 1),
                             "max_backlog_events": backlog})
        if len(answered) < len(self.samples) or len(answered) < 15:
            self.fails.append("telemetry answered %d of %d samples during the freeze" %
                              (len(answered), len(self.samples)))
        if backlog == 0:
            self.fails.append("/chot/workers never showed a backlog during the freeze")

    def case_chotd_restart(self):
        self.start_chotd()
        sim = self.sim("a", 10000, 100000, 500, ["--stall-ms", "3000"])
        time.sleep(4)
        # Kill it at its worst moment: with a backlog of batches handed to
        # Redis and not yet confirmed (Redis held for 1.5 s first).  Those
        # must not have been ACKed; the scanners must send them again.
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        time.sleep(1.5)
        before = self.stats() or {}
        self.chotd_proc.kill()              # SIGKILL: no drain, no goodbye
        self.chotd_proc.wait()
        os.kill(self.redis.proc.pid, signal.SIGCONT)
        cp.cleanup_prefix(self.prefix)
        time.sleep(1)
        self.start_chotd()
        rep = self.sim_wait(sim)
        c = self.stop_chotd()
        self.check_counters(c)
        self.check_redis([self.sim_events], 100000)
        stored = before.get("events_stored", 0) + c.get("events_stored", 0)
        self.figures.update({"fault": "redis-server SIGSTOP at 4 s, chotd SIGKILL 1.5 s later "
                                      "with a backlog, chotd started again 1 s after",
                             "pending_at_kill": before.get("events_pending"),
                             "stored_before_kill_at_least": before.get("events_stored"),
                             "stored_after_restart": c.get("events_stored"),
                             "written_again_idempotently_at_least": max(0, stored - 100000),
                             "stalls": rep.get("stalls"), "drain_s": rep.get("drain_s"),
                             "retransmissions": rep.get("retransmissions")})
        if not before.get("events_pending"):
            self.fails.append("no backlog when chotd was killed: the case proves little")
        if rep.get("stalls", 0) == 0:
            self.fails.append("no scanner had to start a new epoch after the restart?")

    def case_reboot(self):
        rep, c = self.simple(10000, 150000, 500, ["--reboot-rate", "0.05"])
        self.figures["fault"] = "each scanner reboots with probability 0.05/s"
        if rep.get("reboots", 0) < 50 or rep.get("old_epoch_replays", 0) < 10:
            self.fails.append("too few reboots (%s) or old-epoch replays (%s) to mean much" %
                              (rep.get("reboots"), rep.get("old_epoch_replays")))
        if c.get("stale_epoch", 0) < rep.get("old_epoch_replays", 0):
            self.fails.append("stale_epoch %s < old-epoch replays sent %s" %
                              (c.get("stale_epoch"), rep.get("old_epoch_replays")))

    def case_overload(self):
        # Calibrate: offer far more than Redis absorbs for 4 s, read the rate
        # at which chotd confirms events.
        self.start_chotd({"redis.max_pending_events": 50000})
        sim = self.sim("cal", 150000, 600000, 500, ["--duration", "4"])
        s0 = cp.wait_for(lambda: (lambda s: s if s and s["events_stored"] > 20000 else None)(
            self.stats()), 30)
        t0 = time.time()
        time.sleep(3)
        s1 = self.stats()
        rate = (s1["events_stored"] - s0["events_stored"]) / (time.time() - t0)
        sim.send_signal(signal.SIGTERM)     # writes its events file and stops
        sim.wait(timeout=30)
        cal_events = self.sim_events
        # Let chotd work off its backlog before the measured flood.
        cp.wait_for(lambda: (lambda s: s and s["events_pending"] == 0)(self.stats()), 60)
        self.figures["sustainable_events_per_s"] = int(rate)
        # The flood: four times that for 10 s.  The rate above is measured
        # under a 150k/s flood whose retransmissions now each cost an AEAD
        # open before they are counted (issue 11: no unauthenticated
        # replay), so it reads low; twice it was, in a clean CI run, no
        # overload at all (nothing dropped).
        offered = int(4 * rate)
        before = self.stats()
        sim = self.sim("b", offered, offered * 10, 500)
        rep = self.sim_wait(sim, timeout=300)
        c = self.stop_chotd()
        self.check_counters(c)
        self.check_redis([self.sim_events], offered * 10, abandoned=cal_events)
        dropped = c["events_dropped"] - before["events_dropped"]
        self.figures.update({"fault": "4x the sustainable rate for 10 s",
                             "offered_events_per_s": offered,
                             "events_dropped_counted": dropped,
                             "batches_dropped": c["batches_dropped"],
                             "drain_s": rep.get("drain_s"),
                             "retransmissions": rep.get("retransmissions")})
        if dropped == 0:
            self.fails.append("4x overload dropped nothing: not an overload?")


    def case_verdicts(self):
        events, every = 50000, 7
        keys = cp.load_keys(self.keys_path)
        flagged = [cp.pid_hex(keys["pseudonym"], SCHEME_PCCOVID, "V-%x" % i)
                   for i in range(0, events, every)]
        r = cp.Resp(self.redis.port, self.redis.user, self.redis.password)
        until = int(time.time() * 1000) + 86400000
        for k in range(0, len(flagged), 500):
            args = []
            for pid in flagged[k:k + 500]:
                args += [pid, "f0 0 %d" % until]
            r.call("HSET", "chot:{lists}:watch", *args)
        r.call("INCR", "chot:{lists}:version")
        self.start_chotd()      # loads the lists before its first packet
        sim = self.sim("V", 5000, events, 200, ["--verdict-rate", "1"])
        rep = self.sim_wait(sim)
        c = self.stop_chotd()
        self.check_counters(c, events)
        self.check_redis([self.sim_events], events)
        alerts = r.call("XLEN", "chot:{alerts}")
        r.close()
        codes = rep.get("verdict_codes", {})
        lat = rep.get("verdict_latency_us", {})
        self.figures.update({"fault": "none; verdicts requested by every batch",
                             "verdicts_requested": rep.get("verdicts_requested"),
                             "verdicts_received": rep.get("verdicts_received"),
                             "verdict_latency_p50_us": lat.get("p50"),
                             "verdict_latency_p99_us": lat.get("p99"),
                             "verdict_codes": codes, "alerts": alerts,
                             "chotd_verdicts_sent": c.get("verdicts_sent")})
        if rep.get("verdicts_bad") or rep.get("verdicts_missing") or \
                rep.get("verdicts_received") != rep.get("verdicts_requested"):
            self.fails.append("verdicts: requested %s, received %s, bad %s, missing %s" % (
                rep.get("verdicts_requested"), rep.get("verdicts_received"),
                rep.get("verdicts_bad"), rep.get("verdicts_missing")))
        if codes.get("watch_f0") != len(flagged) or codes.get("clear") != events - len(flagged):
            self.fails.append("verdict codes: watch_f0 %s (want %d), clear %s (want %d)" % (
                codes.get("watch_f0"), len(flagged), codes.get("clear"), events - len(flagged)))
        if alerts != len(flagged) or c.get("alerts_raised") != len(flagged):
            self.fails.append("alerts: stream %s, alerts_raised %s, want %d" % (
                alerts, c.get("alerts_raised"), len(flagged)))
        if not lat.get("n") or lat.get("p99", -1) <= 0:
            self.fails.append("no verdict latency measured")


def main():
    if len(sys.argv) < 6:
        print(__doc__)
        return 2
    return Case(*sys.argv[1:6]).run()


if __name__ == "__main__":
    sys.exit(main())
