#!/usr/bin/python3
"""chotd's checkpoint loop against a `chot-flood gen` province with lists
(issue 13, DESIGN §9), truth-exact:

  - gen draws a watchlist, commune levels and green-lane vehicles for the
    province (--watch/--zones/--greenlane), writes their exact Redis values
    (--lists) and, in the truth, the verdict codes of every batch that set
    flag bit 1 and every alert chotd must raise, by brute force;
  - a real redis-server (the shipped redis.conf) gets the lists as
    chot-admin (HSET + INCR of the version key), before chotd starts;
  - a real chotd (1 worker, then 2 worker lcores) reads the province from a
    pcap (net_pcap rx_pcap) and writes what it sends to another pcap
    (tx_pcap): every CHV1 verdict in it is decoded and its tag checked here
    (Python, from DESIGN §9, with the device's ACK key);
  - the verdicts equal the truth's exactly: one per verdict-requesting batch
    (device, epoch, seq), none for any other, codes in event order;
  - XRANGE chot:{alerts} equals the truth's alerts exactly (pid, site, ts_ms,
    scheme, device, origin_commune, reasons most severe first), each once;
  - the counters still equal the truth (the lists change no storage), and
    verdicts_sent / alerts_raised, when chotd reports them, agree.

Before comparing, the truth itself must exercise every reason code, invalid
events (code 1) and clear ones, so a blind comparison cannot pass.

Usage: test_verdicts_truth.py CHOTD CHOT_FLOOD SRCDIR [--quick]
"""
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402

REASONS = ["watch_f0", "watch_quarantine", "watch_f1", "zone_red", "decl_symptoms",
           "watch_f2", "zone_orange", "decl_exposed", "greenlane_unknown", "off_route",
           "greenlane_expired", "passengers_over"]
CODES = [16, 19, 17, 33, 48, 18, 32, 49, 64, 65, 66, 67]
SCHEMES = {1: "cccd", 2: "pccovid", 3: "vneid", 4: "passport", 5: "plate", 6: "greenlane"}


def gen(flood, tmp, keys, quick):
    out = {k: os.path.join(tmp, k) for k in ("p.pcap", "truth.json", "lists.json")}
    size = ["--citizens", "4000", "--sites", "30", "--devices", "24", "--hours",
            "12" if quick else "30"]
    r = subprocess.run([flood, "gen"] + size + [
        "--seed", "13", "--dup-rate", "0.05", "--hostile-rate", "0.03",
        "--watch", "500", "--zones", "12", "--greenlane", "60", "--verdict-rate", "0.4",
        "--keys", keys, "--pcap", out["p.pcap"], "--truth", out["truth.json"],
        "--lists", out["lists.json"]], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("chot-flood gen failed: %s %s" % (r.stdout, r.stderr))
    print(r.stdout.strip())
    with open(out["truth.json"]) as f:
        return out["p.pcap"], out["lists.json"], json.load(f)


def decode_verdicts(tx_pcap, keys, fails, tag):
    """{(device, epoch, seq): [codes]} of every CHV1 in chotd's TX capture."""
    got, acks, other = {}, 0, 0
    ackkeys = {}
    for fr in cp.read_pcap(tx_pcap)[1]:
        pl = cp.udp_payload(fr)
        if pl is None:
            other += 1
            continue
        if pl[:4] == cp.ACK_MAGIC:
            acks += 1
            continue
        if pl[:4] != cp.VERDICT_MAGIC:
            other += 1
            continue
        key_id, dev = int.from_bytes(pl[6:8], "big"), int.from_bytes(pl[8:12], "big")
        k = ackkeys.get((key_id, dev))
        if k is None:
            k = ackkeys[(key_id, dev)] = cp.ack_key(keys["master"][key_id], dev)
        try:
            _, dev, epoch, seq, codes = cp.verify_verdict(pl, k)
        except ValueError as e:
            fails.append("%s: a verdict from chotd does not verify: %s" % (tag, e))
            continue
        if (dev, epoch, seq) in got:
            fails.append("%s: two verdicts for batch %s" % (tag, (dev, epoch, seq)))
        got[(dev, epoch, seq)] = codes
    return got, acks


def read_alerts(redis):
    """Every entry of chot:{alerts} as a comparable tuple."""
    r = cp.Resp(redis.port, redis.user, redis.password)
    try:
        entries = r.call("XRANGE", "chot:{alerts}", "-", "+")
    finally:
        r.close()
    out = []
    for _, kv in entries or []:
        d = {kv[i].decode(): kv[i + 1].decode() for i in range(0, len(kv), 2)}
        scheme = d.get("scheme", "")
        scheme = SCHEMES.get(int(scheme), scheme) if scheme.isdigit() else scheme
        out.append((d.get("pid"), int(d.get("site", -1)), int(d.get("ts_ms", -1)), scheme,
                    int(d.get("device", -1)), int(d.get("origin_commune", -1)),
                    tuple(x for x in d.get("reasons", "").split(",") if x)))
    return out


def truth_alerts(truth):
    return [(a["pid"], a["site"], a["ts_ms"], a["scheme"], a["device"], a["origin_commune"],
             tuple(a["reasons"])) for a in truth["alerts"]]


def check_truth_covers(truth, fails):
    codes = collections.Counter()
    for v in truth["verdicts"]:
        codes.update(v["codes"])
    for c in [0, 1] + CODES:
        if codes[c] == 0:
            fails.append("the truth has no verdict code %d: the comparison would be blind "
                         "to it" % c)
    reasons = collections.Counter(r for a in truth["alerts"] for r in a["reasons"])
    for r in REASONS:
        if reasons[r] == 0:
            fails.append("the truth has no alert with %s" % r)
    for a in truth["alerts"]:
        idx = [REASONS.index(r) for r in a["reasons"]]
        if idx != sorted(idx):
            fails.append("truth alert reasons not most severe first: %s" % a)
            break


def run(chotd, srcdir, tmp, keys_path, pcap, lists_json, workers, lcores, tag):
    rdir = os.path.join(tmp, "redis-" + tag)
    os.mkdir(rdir)
    redis = cp.Redis(rdir, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
    tx = os.path.join(tmp, "tx-%s.pcap" % tag)
    try:
        cp.load_lists(redis, lists_json)
        sets = {"keys.file": keys_path, "redis.url": "redis://127.0.0.1:%d" % redis.port,
                "redis.user": "chot-ingest", "redis.password_file": redis.passfiles["ingest"],
                "ingest.exit_on_idle_ms": 1500, "ingest.workers": workers,
                "dedupe.capacity": 65536, "ingest.max_devices": 4096}
        args = cp.chotd_args(chotd, "chotvt%s%d" % (tag, os.getpid()),
                             "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (pcap, tx),
                             os.path.join(srcdir, "configs/chotd.conf"), sets, lcores)
        rc, c, out, err = cp.run_chotd(args, timeout=240)
        if rc != 0:
            raise RuntimeError("chotd exit %d: %s %s" % (rc, out, err[-2000:]))
        return c, read_alerts(redis), tx, err
    finally:
        redis.stop()


def main():
    chotd, flood, srcdir = sys.argv[1:4]
    quick = "--quick" in sys.argv
    fails = []
    summary = []
    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        keys = cp.make_keys(keys_path, seed=13)
        pcap, lists_json, truth = gen(flood, tmp, keys_path, quick)
        check_truth_covers(truth, fails)
        want_v = {(v["device"], v["epoch"], v["seq"]): v["codes"] for v in truth["verdicts"]}
        want_a = collections.Counter(truth_alerts(truth))
        for workers, lcores, tag in [(1, "0", "w1"), (2, "0@0,1@1,2@1", "w2")]:
            c, alerts, tx, err = run(chotd, srcdir, tmp, keys_path, pcap, lists_json,
                                     workers, lcores, tag)
            for k, v in truth["counters"].items():
                if k != "redis_errors" and c.get(k) != v:
                    fails.append("%s: %s: truth %d, chotd %s" % (tag, k, v, c.get(k)))
            got_v, acks = decode_verdicts(tx, keys, fails, tag)
            if acks == 0:
                fails.append("%s: no ACK in chotd's TX capture: the capture is blind" % tag)
            missing = [k for k in want_v if k not in got_v]
            extra = [k for k in got_v if k not in want_v]
            wrong = [k for k in want_v if k in got_v and got_v[k] != want_v[k]]
            if missing or extra or wrong:
                fails.append("%s: verdicts: %d of %d missing, %d extra, %d with other codes; "
                             "e.g. missing %s extra %s wrong %s" % (
                                 tag, len(missing), len(want_v), len(extra), len(wrong),
                                 missing[:2], extra[:2],
                                 [(k, want_v[k], got_v[k]) for k in wrong[:2]]))
            got_a = collections.Counter(alerts)
            if got_a != want_a:
                fails.append("%s: alerts: %d in the stream, %d in the truth; %d missing, "
                             "%d extra; e.g. missing %s extra %s" % (
                                 tag, sum(got_a.values()), sum(want_a.values()),
                                 sum((want_a - got_a).values()), sum((got_a - want_a).values()),
                                 list((want_a - got_a))[:2], list((got_a - want_a))[:2]))
            if "verdicts_sent" in c and c["verdicts_sent"] != len(want_v):
                fails.append("%s: verdicts_sent %d, truth %d" % (tag, c["verdicts_sent"],
                                                                  len(want_v)))
            if "alerts_raised" in c and c["alerts_raised"] != sum(want_a.values()):
                fails.append("%s: alerts_raised %d, truth %d" % (tag, c["alerts_raised"],
                                                                  sum(want_a.values())))
            try:
                cp.check_identities(c)
            except AssertionError as e:
                fails.append("%s: %s" % (tag, e))
            summary.append("%s: %d verdicts, %d alerts" % (tag, len(got_v),
                                                           sum(got_a.values())))
    if fails:
        for f in fails:
            print("FAIL:", f)
        return 1
    print("ok: verdicts and alerts equal the truth (%s); %d verdict batches, %d alerts" % (
        "; ".join(summary), len(want_v), sum(want_a.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
