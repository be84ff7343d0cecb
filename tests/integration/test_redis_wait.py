#!/usr/bin/python3
"""redis.wait_replicas on the single-node store (DESIGN §8; issue 12 part 2):
chotd with `redis.url = redis://...`, redis.wait_replicas = 1 against a
redis-server (the shipped config) that has no replica yet.

  1. chotd reads the whole capture; the writes reach Redis, but WAIT 1
     answers 0 replicas: nothing is confirmed (events_stored stays 0, the
     events stay pending, redis_wait_short grows) -- a batch is not ACKed
     while its writes exist on one node only; chotd's connection killed
     (CLIENT KILL) while WAIT is pending changes nothing of that;
  2. a replica is started (replicaof the primary); once it has synced,
     WAIT reports it and every batch completes: the counters equal the
     scenario's, the stored data is complete, and the ACKs of the stored
     batches are sent only then (acks_sent grows after the replica).

Usage: test_redis_wait.py CHOTD SRCDIR
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402
import scenario          # noqa: E402


def main():
    chotd, srcdir = sys.argv[1], sys.argv[2]
    fails = []
    with cp.TempDir() as tmp:
        keys = cp.make_keys(os.path.join(tmp, "keys"), seed=12)
        frames, exp, stored = scenario.build(keys, devices=10, batches=40, events=8)
        pcap = os.path.join(tmp, "in.pcap")
        cp.write_pcap(pcap, frames)
        pdir, rdir = os.path.join(tmp, "primary"), os.path.join(tmp, "replica")
        os.mkdir(pdir)
        os.mkdir(rdir)
        primary = cp.Redis(pdir, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
        replica = None
        prefix = "chotrw%d" % os.getpid()
        proc = None
        try:
            args = cp.chotd_args(chotd, prefix,
                                 "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                                 os.path.join(srcdir, "configs/chotd.conf"),
                                 {"keys.file": os.path.join(tmp, "keys"),
                                  "redis.url": "redis://127.0.0.1:%d" % primary.port,
                                  "redis.user": "chot-ingest",
                                  "redis.password_file": primary.passfiles["ingest"],
                                  "redis.wait_replicas": 1, "redis.wait_timeout_ms": 100,
                                  "redis.drain_ms": 20000,
                                  "ingest.exit_on_idle_ms": 8000,
                                  "ingest.now_ms": scenario.NOW_MS,
                                  "dedupe.capacity": 65536, "ingest.max_devices": 1024})
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            st = cp.wait_for(lambda: (lambda s: s if s and s.get("rx_packets") == len(frames)
                                      else None)(cp.telemetry_query(prefix, "/chot/stats")), 30)
            if st is None:
                raise RuntimeError("chotd did not read the capture")
            time.sleep(2)
            st = cp.telemetry_query(prefix, "/chot/stats") or {}
            print("no replica, 2 s after the capture: stored %s pending %s wait_short %s "
                  "acks_sent %s" % (st.get("events_stored"), st.get("events_pending"),
                                    st.get("redis_wait_short"), st.get("acks_sent")))
            if st.get("events_stored") != 0:
                fails.append("%s events confirmed without a replica" % st.get("events_stored"))
            if st.get("events_pending") != exp["events_stored"]:
                fails.append("pending %s, expected all %d held" % (st.get("events_pending"),
                                                                   exp["events_stored"]))
            if st.get("redis_wait_short", 0) < 2:
                fails.append("redis_wait_short %s: short WAITs not retried and counted" %
                             st.get("redis_wait_short"))
            acks_held = st.get("acks_sent", 0)
            # Writes did reach the primary (they are only unconfirmed).
            keys_on_primary = int(primary.cli("DBSIZE").strip())
            if keys_on_primary == 0:
                fails.append("nothing written to the primary at all")
            # Break chotd's connection while its WAIT is pending: the writes
            # go again on the new connection (with the EXPIREATs before the
            # WAIT), and still nothing is confirmed without a replica.
            primary.cli("CLIENT", "KILL", "USER", "chot-ingest")
            time.sleep(1.5)
            st = cp.telemetry_query(prefix, "/chot/stats") or {}
            if st.get("events_stored") != 0 or st.get("redis_errors", 0) < 1:
                fails.append("after the connection was killed: stored %s, redis_errors %s" %
                             (st.get("events_stored"), st.get("redis_errors")))
            replica = cp.Redis(rdir, extra_args=[
                "--replicaof", "127.0.0.1", str(primary.port), "--masteruser", "chot-admin",
                "--masterauth", primary.password])
            out, err = proc.communicate(timeout=90)
            c = cp.parse_counters(out.decode())
            if proc.returncode != 0:
                fails.append("chotd exit %d" % proc.returncode)
            for k in ["events_stored", "events_dropped", "events_pending", "batches_accepted",
                      "dup_scans", "bad_events", "replayed"]:
                if c.get(k) != exp[k]:
                    fails.append("%s: expected %d, got %s" % (k, exp[k], c.get(k)))
            # ACKs are cumulative per device, so their number depends on
            # timing; but the stored batches' ACKs came only after the replica.
            if c.get("acks_sent", 0) <= acks_held:
                fails.append("no ACK after the writes were confirmed (%s, %d while held)" %
                             (c.get("acks_sent"), acks_held))
            tl, pr = cp.stored_events(primary.port, primary.user, primary.password)
            if tl != stored or pr != stored:
                fails.append("stored data incomplete: timeline %d/%d presence %d/%d" %
                             (len(tl & stored), len(stored), len(pr & stored), len(stored)))
            if fails:
                print(out.decode(), err.decode()[-3000:])
            else:
                print("ok: %d events confirmed once the replica synced; %d keys; "
                      "redis_wait_short %d" % (c["events_stored"], keys_on_primary,
                                               c.get("redis_wait_short", 0)))
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            cp.cleanup_prefix(prefix)
            if replica is not None:
                replica.stop()
            primary.stop()
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
