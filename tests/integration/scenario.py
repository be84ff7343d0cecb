"""A hand-made province in miniature with every outcome of DESIGN §2/§3
labelled, so the expected counters are known exactly without chot-flood:
valid batches, in-batch duplicates, bad events, replays, bad tags, unknown
key ids, bad headers, fragments, wrong ports, ARP, stale epochs and an
undecodable (but authentic) body.  Used by test_pcap.py.
"""
import struct
import time

import chotpy as cp

# The validation clock given to chotd (ingest.now_ms): the wall clock at import,
# since Redis expires keys by its own clock (EXPIREAT bucket end + retention).
NOW_MS = int(time.time()) * 1000


def cccd(i):
    return "%012d" % (79200000000 + i)


def build(keys, devices=6, batches=8, events=5, epoch_change=True):
    """Returns (frames, expected counters, expected stored set of (pid, site, ts, dir))."""
    master = keys["master"][1]
    pk = keys["pseudonym"]
    exp = {k: 0 for k in cp.CONTRACT}
    stored = set()
    frames = []
    sealed = []     # (frame) of accepted batches, for replays
    subj = 0

    def add(frame, outcome):
        frames.append(frame)
        exp["rx_packets"] += 1
        exp[outcome] += 1

    for d in range(1, devices + 1):
        dev_id = 1000 + d
        dk = cp.device_key(master, dev_id)
        site = 500 + d
        for s in range(1, batches + 1):
            evs = []
            for e in range(events):
                subj += 1
                ts = NOW_MS - 10 * cp.HOUR_MS + subj * 1000
                evs.append(cp.encode_event(ts, site, cp.CCCD, cccd(subj), cp.IN))
                stored.add((cp.pid_hex(pk, cp.CCCD, cccd(subj)), site, ts, cp.IN))
            n_ev = events
            # every third batch: one in-window duplicate and one bad event
            if s % 3 == 0:
                ts = NOW_MS - 10 * cp.HOUR_MS + subj * 1000 + 30000
                evs.append(cp.encode_event(ts, site, cp.CCCD, cccd(subj), cp.IN))
                evs.append(cp.encode_event(ts, 0, cp.CCCD, cccd(subj), cp.IN))   # site 0
                evs.append(cp.encode_event(ts, site, cp.CCCD, "12345", cp.IN))   # bad CCCD
                exp["dup_scans"] += 1
                exp["bad_events"] += 2
                n_ev += 3
            dg = cp.seal(dk, dev_id, 1, s, cp.encode_batch(evs))
            fr = cp.udp_frame(dg, src_ip="10.9.%d.%d" % (d, s))
            add(fr, "batches_accepted")
            exp["events_decoded"] += n_ev
            exp["events_stored"] += events
            exp["acks_sent"] += 1
            sealed.append(fr)
        # replays of this device's first and last batch: stored -> re-ACKed
        for fr in (sealed[-batches], sealed[-1]):
            add(fr, "replayed")
            exp["acks_sent"] += 1
        # a batch whose events are all duplicates of the previous one: accepted, ACKed
        ts = NOW_MS - 10 * cp.HOUR_MS + subj * 1000 + 1000
        dg = cp.seal(dk, dev_id, 1, batches + 1,
                     cp.encode_batch([cp.encode_event(ts, site, cp.CCCD, cccd(subj), cp.IN)]))
        add(cp.udp_frame(dg), "batches_accepted")
        exp["events_decoded"] += 1
        exp["dup_scans"] += 1
        exp["acks_sent"] += 1
        # an authentic but undecodable body: decode_errors, still ACKed
        dg = cp.seal(dk, dev_id, 1, batches + 2, b"\xff\xff\xff\xff")
        add(cp.udp_frame(dg), "decode_errors")
        exp["acks_sent"] += 1
        if epoch_change:
            # a new boot epoch, then a straggler from the old one
            dg = cp.seal(dk, dev_id, 2, 1, cp.encode_batch(
                [cp.encode_event(NOW_MS - 1000, site, cp.CCCD, cccd(90000 + d), cp.OUT)]))
            stored.add((cp.pid_hex(pk, cp.CCCD, cccd(90000 + d)), site, NOW_MS - 1000, cp.OUT))
            add(cp.udp_frame(dg), "batches_accepted")
            exp["events_decoded"] += 1
            exp["events_stored"] += 1
            exp["acks_sent"] += 1
            dg = cp.seal(dk, dev_id, 1, batches + 3, cp.encode_batch(
                [cp.encode_event(NOW_MS - 1000, site, cp.CCCD, cccd(91000 + d), cp.OUT)]))
            add(cp.udp_frame(dg), "stale_epoch")

    # hostile and foreign traffic
    dk = cp.device_key(master, 1001)
    ep, sq = (2, 2) if epoch_change else (1, batches + 3)
    good = cp.seal(dk, 1001, ep, sq, cp.encode_batch(
        [cp.encode_event(NOW_MS - 5000, 501, cp.PLATE, "51A-123.45", cp.PASS)]))
    stored.add((cp.pid_hex(pk, cp.PLATE, "51A12345"), 501, NOW_MS - 5000, cp.PASS))
    bad = bytearray(good)
    bad[40] ^= 1
    add(cp.udp_frame(bytes(bad)), "bad_tag")                 # tampered first
    add(cp.udp_frame(good), "batches_accepted")
    exp["events_decoded"] += 1
    exp["events_stored"] += 1
    exp["acks_sent"] += 1
    wrongkey = cp.seal(dk, 1001, ep, sq + 1, b"\x0a\x00", key_id=9)
    add(cp.udp_frame(wrongkey), "bad_tag")                   # unknown key id
    forged = cp.seal(bytes(32), 4242, 1, 1, b"\x0a\x00")
    add(cp.udp_frame(forged), "bad_tag")                     # unknown device, wrong key
    add(cp.udp_frame(b"XHT1" + good[4:]), "bad_header")
    add(cp.udp_frame(good[:20]), "bad_header")
    add(cp.udp_frame(good + b"\0"), "bad_header")            # length mismatch
    add(cp.udp_frame(good, frag=0x2000), "not_ours")         # fragment
    add(cp.udp_frame(good, dport=53), "not_ours")
    arp = b"\xff" * 6 + b"\x02\0\0\0\0\x01" + b"\x08\x06" + bytes(28) + bytes(18)
    add(arp, "not_ours")
    return frames, exp, stored
