#!/usr/bin/python3
"""The live telemetry endpoints against the exit print (issue 11, items 8
and 11).

chotd runs on the hand-made scenario (scenario.py: bad events, bad tags,
bad headers, fragments, replays, ...) and stays up (no idle exit).  Once
it has read the capture and is quiescent, DPDK's stock
/usr/bin/dpdk-telemetry.py reads /chot/stats, /chot/workers and
/chot/reasons while chotd runs; then chotd gets SIGTERM and prints its
final counters.  Expected:

  - /chot/reasons is not empty and equals the exit print's reason lines
    (`reason.C.R n` there, `C/R` here);
  - /chot/stats equals the exit print, counter for counter, and both
    identities hold on the live figures;
  - /chot/workers: the per-worker counters sum to /chot/stats for every
    counter that only workers write; at quiescence each worker's backlog
    is 0 and its dedupe table holds exactly the events it stored;
  - and while the capture is still being ingested, every /chot/workers
    sample is one consistent moment of each worker: its event identity
    holds exactly and its store backlog equals its events_pending (a read
    of live counters mid-batch breaks both).

With --store redis the capture goes in at Redis's pace (backpressure),
so there is time to sample; --devices/--batches size the scenario.

Usage: test_telemetry.py CHOTD SRCDIR [--workers N --lcores L] [--store null|redis]
                         [--devices D --batches B]
"""
import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402
import scenario          # noqa: E402

WORKER_OWNED = ["bad_tag", "stale_epoch", "replayed", "decode_errors", "batches_accepted",
                "events_decoded", "bad_events", "dup_scans", "events_stored",
                "events_pending", "events_dropped", "acks_sent"]


def worker_sample_fails(workers):
    """What is inconsistent in one /chot/workers sample taken mid-ingest."""
    out = []
    for name, w in sorted((workers or {}).items()):
        ev = sum(w[k] for k in ["bad_events", "dup_scans", "events_stored", "events_pending",
                                "events_dropped"])
        if w["events_decoded"] != ev:
            out.append("%s mid-ingest: events_decoded %d != %d" % (name, w["events_decoded"], ev))
        if w["backlog_events"] != w["events_pending"]:
            out.append("%s mid-ingest: backlog_events %d != events_pending %d" %
                       (name, w["backlog_events"], w["events_pending"]))
    return out


def quiescent(prefix, n_frames, fails, samples):
    """/chot/stats once every frame is in and two reads 300 ms apart agree;
    until then, check /chot/workers samples."""
    prev = None
    end = time.time() + 60
    while time.time() < end:
        s = cp.telemetry_query(prefix, "/chot/stats")
        if s and s.get("rx_packets") == n_frames and s.get("events_pending") == 0:
            if s == prev:
                return s
            prev = s
            time.sleep(0.3)
            continue
        w = cp.telemetry_query(prefix, "/chot/workers")
        if w:
            samples[0] += 1
            if len(fails) < 10:
                fails += worker_sample_fails(w)[:3]
        time.sleep(0.005)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chotd")
    ap.add_argument("srcdir")
    ap.add_argument("--store", default="null")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--lcores", default="0")
    ap.add_argument("--devices", type=int, default=6)
    ap.add_argument("--batches", type=int, default=8)
    a = ap.parse_args()
    fails = []
    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        keys = cp.make_keys(keys_path, seed=8)
        frames, exp, _ = scenario.build(keys, devices=a.devices, batches=a.batches)
        pcap = os.path.join(tmp, "in.pcap")
        cp.write_pcap(pcap, frames)
        redis = cp.Redis(tmp) if a.store == "redis" else None
        prefix = "chottel%d" % os.getpid()
        sets = {"keys.file": keys_path, "ingest.exit_on_idle_ms": 0,
                "ingest.now_ms": scenario.NOW_MS, "ingest.workers": a.workers,
                "dedupe.capacity": 262144, "ingest.max_devices": 1024,
                "ingest.backpressure": 1 if redis else 0,
                "redis.url": "redis://127.0.0.1:%d" % redis.port if redis else "null://"}
        args = cp.chotd_args(a.chotd, prefix, "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                             os.path.join(a.srcdir, "configs/chotd.conf"), sets, a.lcores)
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            samples = [0]
            live = quiescent(prefix, len(frames), fails, samples)
            if live is None:
                fails.append("chotd never became quiescent with every frame read")
                live = {}
            tel, raw = cp.telemetry_stock(prefix, ["/chot/stats", "/chot/workers",
                                                   "/chot/reasons"])
            os.kill(proc.pid, signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            cp.cleanup_prefix(prefix)
            if redis:
                redis.stop()
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        c = cp.parse_counters(out)
        if proc.returncode != 0:
            fails.append("chotd exit %d after SIGTERM" % proc.returncode)
        stats, workers, reasons = (tel.get("/chot/stats"), tel.get("/chot/workers"),
                                   tel.get("/chot/reasons"))
        want_reasons = cp.exit_reasons(c)
        if not want_reasons:
            fails.append("the exit print has no reasons: the scenario should produce some")
        if not reasons:
            fails.append("/chot/reasons is empty (%r) while the exit print has %d reasons"
                         % (reasons, len(want_reasons)))
        elif reasons != want_reasons:
            fails.append("/chot/reasons %s != exit print %s" % (reasons, want_reasons))
        if not stats:
            fails.append("/chot/stats unreadable with dpdk-telemetry.py: %s" % raw[-500:])
        else:
            for k in cp.CONTRACT:
                if stats.get(k) != c.get(k):
                    fails.append("/chot/stats %s = %s, exit print %s" % (k, stats.get(k),
                                                                         c.get(k)))
                if k != "redis_errors" and c.get(k) != exp[k] and not (
                        k == "acks_sent" and redis):
                    fails.append("exit %s = %s, expected %d" % (k, c.get(k), exp[k]))
            try:
                cp.check_identities(stats)
            except (AssertionError, KeyError) as e:
                fails.append("live identities: %s" % e)
        if not workers or len(workers) != a.workers:
            fails.append("/chot/workers: %d workers expected, got %r" % (a.workers, workers))
        elif stats:
            for k in WORKER_OWNED:
                tot = sum(w.get(k, -1) for w in workers.values())
                if tot != stats.get(k):
                    fails.append("sum of /chot/workers %s = %d != /chot/stats %s" %
                                 (k, tot, stats.get(k)))
            for name, w in sorted(workers.items()):
                for k in ["backlog_events", "backlog_batches", "barrier_batches", "rx_ring"]:
                    if w.get(k) != 0:
                        fails.append("%s %s = %s at quiescence" % (name, k, w.get(k)))
                if w.get("dedupe_entries") != w.get("events_stored"):
                    fails.append("%s dedupe_entries %s != its events_stored %s" %
                                 (name, w.get("dedupe_entries"), w.get("events_stored")))
            if sum(w.get("devices", 0) for w in workers.values()) < 1:
                fails.append("/chot/workers shows no device")
        if fails:
            print(out)
            print(err[-3000:])
            print(raw[-3000:])
            for f in fails:
                print("FAIL:", f)
            return 1
        print("ok: live /chot/reasons (%d) = exit print, /chot/stats = exit print, "
              "%d worker(s) consistent, %d samples mid-ingest consistent" %
              (len(reasons), a.workers, samples[0]))
        return 0


if __name__ == "__main__":
    sys.exit(main())
