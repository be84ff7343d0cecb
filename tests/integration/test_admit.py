#!/usr/bin/python3
"""The admit path under key rotation and forgery: chotd on net_pcap with a
keys file of two master generations, ACKs captured with tx_pcap and checked
frame by frame with the ACK key of the generation each one names.

Devices, each a story (frames in this order in the capture):

  A  rotation, forged interleave: honest batch (key 1); a forged header of
     the same device with key_id 2 and a garbage tag; the honest batch
     re-sent.  The forgery is bad_tag and must change nothing: the re-ACK
     verifies under generation 1.
  B  rotation, honest mixed generations: batch 1 with key 1, batch 2 with
     key 2, batch 1 re-sent.  The re-ACK names key_id 1 and verifies under
     generation 1 (its own batch's), not under the last one seen.
  C  unauthenticated replays: honest batch 1 of epoch 2; its 26-byte header
     with a zeroed body and tag; a header of the older epoch 1, zero body.
  E  honest batch 1000 (first sight: nothing to ACK yet); a header of seq 3,
     far below the window, zero body.
     The three forgeries are bad_tag (not replayed / stale_epoch / too_old)
     and get no ACK.
  D  reflection: C's honest batch re-sent from 255.255.255.255, from a
     multicast MAC, from 0.0.0.0 and from port 0: not_ours (src_address),
     and no frame leaves towards any of them.

With --store null the counters are exact.  With --store redis completions
come later (a re-sent batch still in flight is covered by its completion's
ACK, which must carry that batch's key), so acks_sent is bounded instead.

Usage: test_admit.py CHOTD SRCDIR [--store null|redis]
"""
import argparse
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402

NOW_MS = int(time.time()) * 1000
DEV_A, DEV_B, DEV_C, DEV_E = 3001, 3002, 3003, 3004
SRC = {DEV_A: ("10.9.1.1", 41001), DEV_B: ("10.9.1.2", 41002), DEV_C: ("10.9.1.3", 41003),
       DEV_E: ("10.9.1.4", 41004)}


def make_keys2(path):
    k = cp.make_keys(path, seed=21)
    k["master"][2] = bytes(range(64, 96))
    with open(path, "a") as f:
        f.write("master 2 %s\n" % k["master"][2].hex())
    return k


def batch(master, dev, epoch, seq, key_id, subj):
    ev = cp.encode_event(NOW_MS - 600000 + subj * 1000, 700 + dev % 100, cp.CCCD,
                         "%012d" % (480000000000 + subj), cp.IN)
    return cp.seal(cp.device_key(master, dev), dev, epoch, seq, cp.encode_batch([ev]),
                   key_id=key_id)


def forged(dev, epoch, seq, key_id, body_len=40):
    """A header anyone can write, with a zeroed body and tag (no key needed)."""
    return cp.header(1, key_id, dev, epoch, seq, body_len) + bytes(body_len + 16)


def frame(dg, dev, **kw):
    ip, port = SRC[dev]
    args = {"src_ip": ip, "sport": port}
    args.update(kw)
    return cp.udp_frame(dg, **args)


def build(keys):
    m1, m2 = keys["master"][1], keys["master"][2]
    frames, exp = [], {k: 0 for k in cp.CONTRACT}

    def add(fr, outcome, acks=0):
        frames.append(fr)
        exp["rx_packets"] += 1
        exp[outcome] += 1
        exp["acks_sent"] += acks
        if outcome == "batches_accepted":
            exp["events_decoded"] += 1
            exp["events_stored"] += 1

    # A: honest, forged other generation, honest re-send.
    a1 = frame(batch(m1, DEV_A, 1, 1, 1, 1), DEV_A)
    add(a1, "batches_accepted", 1)
    add(frame(forged(DEV_A, 1, 2, 2), DEV_A), "bad_tag")
    add(frame(forged(DEV_A, 1, 1, 2), DEV_A), "bad_tag")
    add(a1, "replayed", 1)
    # B: key 1, key 2, key-1 batch re-sent.
    b1 = frame(batch(m1, DEV_B, 1, 1, 1, 11), DEV_B)
    add(b1, "batches_accepted", 1)
    add(frame(batch(m2, DEV_B, 1, 2, 2, 12), DEV_B), "batches_accepted", 1)
    add(b1, "replayed", 1)
    # C: unauthenticated replays.
    c1dg = batch(m1, DEV_C, 2, 1, 1, 21)
    add(frame(c1dg, DEV_C), "batches_accepted", 1)
    blen = struct.unpack(">H", c1dg[24:26])[0]
    add(frame(forged(DEV_C, 2, 1, 1, blen), DEV_C), "bad_tag")      # was: replayed
    add(frame(forged(DEV_C, 1, 5, 1, blen), DEV_C), "bad_tag")      # was: stale_epoch
    add(frame(batch(m1, DEV_E, 1, 1000, 1, 31), DEV_E), "batches_accepted")  # acked 0
    add(frame(forged(DEV_E, 1, 3, 1, blen), DEV_E), "bad_tag")      # was: too_old
    # D: C's honest batch from sources no reply may go to.
    add(frame(c1dg, DEV_C, src_ip="255.255.255.255"), "not_ours")
    add(frame(c1dg, DEV_C, src_mac=b"\x01\x00\x5e\x00\x00\x01"), "not_ours")
    add(frame(c1dg, DEV_C, src_mac=b"\xff" * 6), "not_ours")
    add(frame(c1dg, DEV_C, src_ip="0.0.0.0"), "not_ours")
    add(frame(c1dg, DEV_C, src_ip="224.0.0.251"), "not_ours")
    add(frame(c1dg, DEV_C, sport=0), "not_ours")
    return frames, exp


def check_acks(keys, tx_frames, fails):
    """Every frame chotd sent: an ACK to a known scanner, verifying under the
    ACK key of the generation it names.  Returns {dev: [(key_id, acked)]}."""
    got = {}
    for fr in tx_frames:
        if len(fr) < 42 or fr[12:14] != b"\x08\x00":
            fails.append("tx: a frame that is not IPv4: %s" % fr[:20].hex())
            continue
        dst_ip = socket.inet_ntoa(fr[30:34])
        dport = struct.unpack(">H", fr[36:38])[0]
        ack = fr[42:]
        if fr[0] & 1 or dst_ip in ("255.255.255.255", "0.0.0.0") or dport == 0:
            fails.append("tx: an ACK to %s mac %s port %d" % (dst_ip, fr[:6].hex(), dport))
            continue
        try:
            key_id, dev = struct.unpack(">HI", ack[6:12])
        except struct.error:
            fails.append("tx: short payload %s" % ack.hex())
            continue
        if dev not in SRC or SRC[dev] != (dst_ip, dport):
            fails.append("tx: ACK for device %d sent to %s:%d" % (dev, dst_ip, dport))
            continue
        master = keys["master"].get(key_id)
        if master is None:
            fails.append("tx: ACK for device %d names key_id %d" % (dev, key_id))
            continue
        try:
            _, _, epoch, acked = cp.verify_ack(ack, cp.ack_key(master, dev))
        except ValueError as e:
            fails.append("device %d: ACK naming key_id %d does not verify under "
                         "generation %d's ACK key (%s)" % (dev, key_id, key_id, e))
            continue
        got.setdefault(dev, []).append((key_id, epoch, acked))
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("chotd")
    ap.add_argument("srcdir")
    ap.add_argument("--store", default="null")
    a = ap.parse_args()
    fails = []
    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        keys = make_keys2(keys_path)
        frames, exp = build(keys)
        pcap, tx = os.path.join(tmp, "in.pcap"), os.path.join(tmp, "tx.pcap")
        cp.write_pcap(pcap, frames)
        sets = {"keys.file": keys_path, "ingest.exit_on_idle_ms": 500,
                "ingest.now_ms": NOW_MS, "dedupe.capacity": 1024, "ingest.max_devices": 64}
        redis = None
        try:
            if a.store == "redis":
                redis = cp.Redis(tmp)
                sets["redis.url"] = "redis://127.0.0.1:%d" % redis.port
            else:
                sets["redis.url"] = "null://"
            args = cp.chotd_args(a.chotd, "chotad%d" % os.getpid(),
                                 "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (pcap, tx),
                                 os.path.join(a.srcdir, "configs/chotd.conf"), sets)
            rc, c, out, err = cp.run_chotd(args)
        finally:
            if redis is not None:
                redis.stop()
        if rc != 0:
            print(out, err[-3000:])
            print("FAIL: chotd exited %d" % rc)
            return 1
        for k in cp.CONTRACT:
            if k == "redis_errors":
                continue
            if k == "acks_sent" and redis is not None:
                if not 0 < c.get(k, 0) <= exp[k]:
                    fails.append("acks_sent %s not in (0, %d]" % (c.get(k), exp[k]))
                continue
            if c.get(k) != exp[k]:
                fails.append("%s: expected %d, got %s" % (k, exp[k], c.get(k)))
        if c.get("reason.not_ours.src_address") != 6:
            fails.append("reason.not_ours.src_address: expected 6, got %s" %
                         c.get("reason.not_ours.src_address"))
        try:
            cp.check_identities(c)
        except AssertionError as e:
            fails.append(str(e))
        tx_frames = cp.read_pcap(tx)[1] if os.path.exists(tx) else []
        got = check_acks(keys, tx_frames, fails)
        if len(tx_frames) != c.get("acks_sent"):
            fails.append("captured %d frames, acks_sent %s" % (len(tx_frames), c.get("acks_sent")))
        if any(k != 1 for k, _, _ in got.get(DEV_A, [])):
            fails.append("device A only ever used key 1, ACKs named %r" % got.get(DEV_A))
        want_top = {DEV_A: (1, 1), DEV_B: (1, 2), DEV_C: (2, 1)}
        for dev, (ep, top) in want_top.items():
            acks = got.get(dev, [])
            if not acks or max(x for _, e, x in acks if e == ep) != top:
                fails.append("device %d: expected an ACK up to %d of epoch %d, got %r" %
                             (dev, top, ep, acks))
        # B's last ACK answers the re-sent key-1 batch: it names key 1 (null store:
        # at once; with Redis the re-send may have been covered by a completion).
        if redis is None and got.get(DEV_B, [(0, 0, 0)])[-1][0] != 1:
            fails.append("device B: the re-ACK of its key-1 batch named key_id %d" %
                         got[DEV_B][-1][0])
        if redis is None and len(got.get(DEV_A, [])) != 2:
            fails.append("device A: expected 2 ACKs (batch, re-send), got %r" % got.get(DEV_A))
    for f in fails:
        print("FAIL:", f)
    if fails:
        print(out)
        return 1
    print("ok: %d frames, %d ACKs each verified under its own generation; forgeries and "
          "unanswerable sources changed nothing" % (len(frames), len(tx_frames)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
