#!/usr/bin/python3
"""chotd reads the checkpoint lists from a Redis Cluster (DESIGN §8, §9):
lists.url = cluster://DOWN,SEED with DOWN a port nobody listens on (the
loader must go on to the next seed) and SEED a master that does not own the
{lists} slot (the loader must follow MOVED to the owner).  Then the {lists} slot is put
in migration by hand (IMPORTING on a target, MIGRATING on the owner, every
list key MIGRATEd), so the owner answers ASK for each of them: a second
chotd, seeded with the owner only, must follow ASK (ASKING on the target)
and load the same lists.  The store is null://; the scan pcap's verdicts,
written by net_pcap's tx_pcap, must carry the watchlist's and the zones'
codes both times.

Usage: test_lists_cluster.py CHOTD SRCDIR
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402


def main():
    chotd, srcdir = sys.argv[1], sys.argv[2]
    fails = []
    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        keys = cp.make_keys(keys_path, seed=21)
        pk, master = keys["pseudonym"], keys["master"][1]
        try:
            cl = cp.Cluster(os.path.join(tmp, "cl"), srcdir, masters=3, replicas=0)
        except (RuntimeError, OSError) as e:
            print("SKIP: no cluster: %s" % e)
            return 77
        try:
            owner = cl.slot_owner(cp.key_slot(cp.LISTS_VERSION))
            seed = next(p for p in cl.nodes if p != owner)
            now = int(time.time() * 1000)
            a, b = "%012d" % 123456789012, "%012d" % 123456789013
            r = cl.resp(owner)
            cp.lists_write(r, watch=[(cp.pid_hex(pk, cp.CCCD, a), "quarantine", now,
                                      now + cp.DAY_MS)],
                           zones=[(33333, 4)],
                           sites=[(17, "checkpoint", 16005, "Chot A")])
            r.close()
            dev = 99
            evs = [cp.encode_event(now - 1000, 17, cp.CCCD, a, cp.IN),
                   cp.encode_event(now - 999, 17, cp.CCCD, b, cp.IN, origin=33333),
                   cp.encode_event(now - 998, 17, cp.CCCD, "%012d" % 5, cp.IN)]
            dk, ak = cp.device_key(master, dev), cp.ack_key(master, dev)
            frame = cp.udp_frame(cp.seal(dk, dev, 1, 1, cp.encode_batch(evs), flags=3))
            rx, tx = os.path.join(tmp, "rx.pcap"), os.path.join(tmp, "tx.pcap")
            cp.write_pcap(rx, [frame])
            def run(tag, lists_url):
                args = cp.chotd_args(chotd, "chotlcl%s%d" % (tag, os.getpid()),
                                     "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (rx, tx),
                                     os.path.join(srcdir, "configs/chotd.conf"),
                                     {"keys.file": keys_path, "redis.url": "null://",
                                      "lists.url": lists_url,
                                      "redis.user": "chot-ingest",
                                      "redis.password_file": cl.passfiles["ingest"],
                                      "ingest.exit_on_idle_ms": 500,
                                      "dedupe.capacity": 4096, "ingest.max_devices": 64})
                rc, c, out, err = cp.run_chotd(args, timeout=60)
                if rc != 0:
                    fails.append("%s: chotd exit %d: %s" % (tag, rc, err[-1500:]))
                if "in force: 1 watchlist, 1 communes, 0 green-lane, 1 checkpoints" not in err:
                    fails.append("%s: the lists were not loaded (%s; owner %d): %s"
                                 % (tag, lists_url, owner,
                                    [ln for ln in err.splitlines() if "lists" in ln]))
                verdicts = []
                for f in cp.read_pcap(tx)[1]:
                    d = f[42:]        # Ethernet + IPv4 + UDP: the reply to udp_frame()
                    if d and d[:4] == cp.VERDICT_MAGIC:
                        verdicts.append(cp.verify_verdict(d, ak)[4])
                if verdicts != [[19, 33, 0]]:
                    fails.append("%s: verdicts %s, expected [[19, 33, 0]] (quarantine, "
                                 "zone_red, clear)" % (tag, verdicts))
                if c.get("lists_reloaded") != 1 or c.get("lists_errors", 0) != 0:
                    fails.append("%s: lists_reloaded %s lists_errors %s"
                                 % (tag, c.get("lists_reloaded"), c.get("lists_errors")))

            run("moved", "cluster://127.0.0.1:%d,127.0.0.1:%d" % (cp.free_port(), seed))
            # Half-migrated {lists} slot: the keys are on the target already.
            slot, m = cp.key_slot(cp.LISTS_VERSION), cl.masters()
            keys_in = cl.cli(owner, "CLUSTER", "GETKEYSINSLOT", slot, 100).split()
            cl.cli(seed, "CLUSTER", "SETSLOT", slot, "IMPORTING", m[owner])
            cl.cli(owner, "CLUSTER", "SETSLOT", slot, "MIGRATING", m[seed])
            cl.cli(owner, "MIGRATE", "127.0.0.1", seed, "", 0, 5000, "AUTH2", cl.user,
                   cl.password, "KEYS", *keys_in)
            asked = cl.cli(owner, "GET", cp.LISTS_VERSION, check=False)
            if not asked.startswith("ASK "):
                fails.append("the owner did not answer ASK after the migration: %r (keys %s)"
                             % (asked, keys_in))
            run("ask", "cluster://127.0.0.1:%d" % owner)
        finally:
            cl.teardown()
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print("ok: lists read past a dead seed, through a non-owner one (MOVED), and from "
              "a half-migrated slot (ASK); verdicts right")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
