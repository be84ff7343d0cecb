#!/usr/bin/python3
"""Redis killed and restarted while chotd runs (DESIGN §3 "chotd survives
Redis restarts and reconnects by itself"; issue 3).

Redis (AOF, appendfsync always, so what it confirmed survives SIGKILL) is
frozen with SIGSTOP before chotd starts: chotd reads the whole capture,
its writes sit unanswered (outcome unknown).  Then Redis is SIGKILLed and,
after a pause, restarted from its AOF on the same port.  chotd must
reconnect by itself, write everything again (idempotent) and end with:
no event dropped, every counter exact, and the stored data complete.

Usage: test_redis_restart.py CHOTD SRCDIR
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402
import scenario          # noqa: E402


def main():
    chotd, srcdir = sys.argv[1], sys.argv[2]
    with cp.TempDir() as tmp:
        keys = cp.make_keys(os.path.join(tmp, "keys"), seed=11)
        frames, exp, stored = scenario.build(keys, devices=20, batches=100, events=8)
        pcap = os.path.join(tmp, "in.pcap")
        cp.write_pcap(pcap, frames)
        redis = cp.Redis(tmp)
        redis.args += ["--appendonly", "yes", "--appendfsync", "always"]
        redis.kill()
        redis.start()
        prefix = "chotrr%d" % os.getpid()
        proc = None
        try:
            os.kill(redis.proc.pid, signal.SIGSTOP)
            args = cp.chotd_args(chotd, prefix,
                                 "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                                 os.path.join(srcdir, "configs/chotd.conf"),
                                 {"keys.file": os.path.join(tmp, "keys"),
                                  "redis.url": "redis://127.0.0.1:%d" % redis.port,
                                  "ingest.exit_on_idle_ms": 1000,
                                  "ingest.now_ms": scenario.NOW_MS,
                                  "dedupe.capacity": 65536, "ingest.max_devices": 1024})
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # Wait until every frame is in and writes are waiting on the frozen Redis.
            st = cp.wait_for(lambda: (lambda s: s if s and s.get("rx_packets") == len(frames)
                                      else None)(cp.telemetry_query(prefix, "/chot/stats")), 30)
            if st is None:
                raise RuntimeError("chotd did not read the capture")
            print("before the kill: pending %d stored %d" % (st["events_pending"],
                                                            st["events_stored"]))
            os.kill(redis.proc.pid, signal.SIGKILL)
            redis.proc.wait()
            time.sleep(1.5)
            mid = cp.telemetry_query(prefix, "/chot/workers") or {}
            redis.start()
            out, err = proc.communicate(timeout=60)
            c = cp.parse_counters(out.decode())
            fails = []
            if proc.returncode != 0:
                fails.append("chotd exit %d" % proc.returncode)
            for k in ["events_stored", "events_dropped", "events_pending", "batches_accepted",
                      "dup_scans", "bad_events", "replayed"]:
                if c.get(k) != exp[k]:
                    fails.append("%s: expected %d, got %s" % (k, exp[k], c.get(k)))
            if c.get("redis_errors", 0) < 1:
                fails.append("the outage was not counted in redis_errors")
            # The outage is logged through chotd's logtype, naming worker and server.
            if "chotd: worker 0: store 127.0.0.1:%d:" % redis.port not in err.decode():
                fails.append("the outage was not logged as 'chotd: worker 0: store ...'")
            if mid.get("w0", {}).get("redis_connected", 1) != 0:
                fails.append("/chot/workers did not show Redis down: %s" % mid)
            tl, pr = cp.stored_events(redis.port)
            if tl != stored or pr != stored:
                fails.append("stored data incomplete: timeline %d/%d presence %d/%d" %
                             (len(tl & stored), len(stored), len(pr & stored), len(stored)))
            if fails:
                print(out.decode(), err.decode()[-3000:])
                for f in fails:
                    print("FAIL:", f)
                return 1
            print("ok: %d events stored after a Redis kill/restart, %d redis_errors" %
                  (c["events_stored"], c["redis_errors"]))
            return 0
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            cp.cleanup_prefix(prefix)
            if redis.proc.poll() is None:
                os.kill(redis.proc.pid, signal.SIGCONT)
            redis.stop()


if __name__ == "__main__":
    sys.exit(main())
