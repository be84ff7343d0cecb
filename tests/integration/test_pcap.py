#!/usr/bin/python3
"""chotd on net_pcap against the hand-made scenario (scenario.py):

  every counter equals the expected value, both accounting identities hold,
  and (with a Redis URL) the stored data equals the expected set, read back
  from both indexes.  --twice feeds the capture twice in one run: the second
  copy stores nothing new (every legit batch is replayed and re-ACKed).
  --workers/--lcores run the same with worker lcores.  --replay has
  net_pcap replay the capture from memory forever (infinite_rx=1, as
  chot-bench's ingest pass does) and chotd stop after exactly one pass
  (ingest.exit_after_packets; two with --twice, from a capture holding one
  copy), in bursts of 7 so the last burst asks for less than a burst: the
  counters must equal a finite pass's.

  With --store redis the server is a bare redis-server, so chotd writes with
  APPEND + EXPIREAT; --module loads this build's chot_audit module into it,
  and chotd must find CHOT.APPEND and write with it: the same truth either way.

Usage: test_pcap.py CHOTD SRCDIR [--store null|redis] [--module] [--workers N] [--twice]
                    [--replay]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402
import scenario          # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chotd")
    ap.add_argument("srcdir")
    ap.add_argument("--store", default="null")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--lcores", default="0")
    ap.add_argument("--twice", action="store_true")
    ap.add_argument("--replay", action="store_true")
    ap.add_argument("--module", action="store_true")
    a = ap.parse_args()

    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        keys = cp.make_keys(keys_path)
        frames, exp, stored = scenario.build(keys, epoch_change=not a.twice)
        one_copy = frames
        if a.twice:
            # The tampered copy of a batch stored by then stays bad_tag: the tag is
            # verified before a datagram counts as a replay (or is re-ACKed).
            legit = exp["batches_accepted"] + exp["decode_errors"] + exp["replayed"]
            once = dict(exp)
            frames = frames + frames
            for k in exp:
                exp[k] *= 2
            # second copy: every legit datagram is a replay (re-ACKed), the hostile ones
            # count as before; nothing new is decoded or stored.
            exp["replayed"] = once["replayed"] + legit
            exp["batches_accepted"] = once["batches_accepted"]
            exp["decode_errors"] = once["decode_errors"]
            for k in ["events_decoded", "bad_events", "dup_scans", "events_stored"]:
                exp[k] = once[k]
            exp["acks_sent"] = once["acks_sent"] + legit
            exp["bad_tag"] = 2 * once["bad_tag"]
        pcap = os.path.join(tmp, "in.pcap")
        cp.write_pcap(pcap, one_copy if a.replay else frames)
        redis = None
        sets = {"keys.file": keys_path, "ingest.exit_on_idle_ms": 500,
                "ingest.now_ms": scenario.NOW_MS, "ingest.workers": a.workers,
                "dedupe.capacity": 4096, "ingest.max_devices": 1024}
        vdev = "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap
        if a.replay:
            # The port never runs dry: only the packet count can stop chotd.
            assert len(frames) % 7 != 0, "pick a burst that leaves a remainder"
            vdev += ",infinite_rx=1"
            sets.update({"ingest.exit_on_idle_ms": 0, "ingest.burst": 7,
                         "ingest.exit_after_packets": len(frames)})
        try:
            if a.store == "redis":
                redis = cp.Redis(tmp, extra_args=["--loadmodule", cp.audit_module()]
                                 if a.module else [])
                sets["redis.url"] = "redis://127.0.0.1:%d" % redis.port
            else:
                sets["redis.url"] = "null://"
            args = cp.chotd_args(a.chotd, "chotit%d" % os.getpid(),
                                 vdev,
                                 os.path.join(a.srcdir, "configs/chotd.conf"), sets, a.lcores)
            rc, c, out, err = cp.run_chotd(args, timeout=60)
            if rc != 0:
                print(out, err)
                print("FAIL: chotd exited %d" % rc)
                return 1
            fails = []
            for k in cp.CONTRACT:
                if k == "redis_errors":
                    continue
                if k == "acks_sent" and redis is not None:
                    # With a real store, completions come later: a replay of a batch still
                    # in flight is covered by the completion's ACK, and a batch completing
                    # after its device rebooted is not ACKed (its window is gone).
                    if not 0 < c.get(k, 0) <= exp[k]:
                        fails.append("acks_sent %s not in (0, %d]" % (c.get(k), exp[k]))
                    continue
                if c.get(k) != exp[k]:
                    fails.append("%s: expected %d, got %s" % (k, exp[k], c.get(k)))
            try:
                cp.check_identities(c)
            except AssertionError as e:
                fails.append(str(e))
            if redis is not None:
                mode = ("writes with CHOT.APPEND" if a.module
                        else "writes with APPEND + EXPIREAT")
                if mode not in out + err:
                    fails.append("chotd should log '%s'" % mode)
                calls = {}
                for line in redis.cli("INFO", "commandstats").splitlines():
                    if line.startswith("cmdstat_"):
                        name, rest = line[8:].split(":", 1)
                        calls[name] = int(rest.split(",")[0].split("=")[1])
                # The start-up check's probes run 4 EXPIREATs and 2 CHOT.APPENDs
                # (store_check.c); the writes are one mode's only.
                used = calls.get("chot.append", 0) > 2, calls.get("expireat", 0) > 4
                if used != ((True, False) if a.module else (False, True)):
                    fails.append("CHOT.APPEND, EXPIREAT written with: %s (%s), module %s"
                                 % (used, calls, a.module))
                tl, pr = cp.stored_events(redis.port)
                if tl != stored:
                    fails.append("timeline != expected: %d missing, %d extra" %
                                 (len(stored - tl), len(tl - stored)))
                if pr != stored:
                    fails.append("presence != expected: %d missing, %d extra" %
                                 (len(stored - pr), len(pr - stored)))
                # Every week key holds its subject's vault unit (proto/layout.h),
                # sealed (no raw id), opening to an identity whose pseudonym is the
                # key's pid; no v: keys any more.
                r = cp.Resp(redis.port)
                weeks = r.get_many(r.scan("s:*"))
                pids = set(p for p, _, _, _ in stored)
                opened = set()
                for k, v in weeks:
                    pid = cp.parse_subject_key(k)[0]
                    sealed = cp.subject_split(v, k)[1]
                    if sealed is None:
                        fails.append("%r: no vault unit" % k)
                        continue
                    scheme, subject = cp.vault_open(keys["vault"], pid, sealed)
                    if cp.pid_hex(keys["pseudonym"], scheme, subject) != pid or subject.encode() in v:
                        fails.append("%r: its vault unit is not its subject's, or not sealed" % k)
                    opened.add(pid)
                if opened != pids:
                    fails.append("subjects with an opening vault unit %d != stored subjects %d"
                                 % (len(opened), len(pids)))
                if r.scan("v:*"):
                    fails.append("v: keys are written: %r" % r.scan("v:*")[:5])
                r.close()
            if fails:
                print(out)
                print(err[-3000:])
                for f in fails:
                    print("FAIL:", f)
                return 1
            print("ok: %d frames, %d events stored, counters exact, identities hold" %
                  (len(frames), c["events_stored"]))
            return 0
        finally:
            if redis is not None:
                redis.stop()


if __name__ == "__main__":
    sys.exit(main())
