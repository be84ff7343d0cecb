#!/usr/bin/python3
"""An independent check of the truth's checkpoint fields (DESIGN §9).

The independent decoder (tests/indep/chot_indep.py: Google protobuf, PyNaCl,
hashlib) opens every datagram of a flood with lists.  This file adds the §9
rules, written again from DESIGN.md, over the Redis values of `--lists` (as
chotd would read them, not the generator's tables):
  - the verdict codes of every accepted batch with flag bit 1;
  - the alerts of every stored event with a reason.
Both must equal the truth's `verdicts` and `alerts` exactly.

usage: indep_lists.py KEYS PCAP TRUTH LISTS PROTO_DIR
"""
import collections
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../indep"))
import chot_indep as ci   # noqa: E402

REASONS = [("watch_f0", 16), ("watch_quarantine", 19), ("watch_f1", 17), ("zone_red", 33),
           ("decl_symptoms", 48), ("watch_f2", 18), ("zone_orange", 32), ("decl_exposed", 49),
           ("greenlane_unknown", 64), ("off_route", 65), ("greenlane_expired", 66),
           ("passengers_over", 67)]
SCHEMES = {1: "cccd", 2: "pccovid", 3: "vneid", 4: "passport", 5: "plate", 6: "greenlane"}


class Lists:
    def __init__(self, path):
        h = json.load(open(path))["hashes"]
        self.watch = {}
        for pid, v in h["chot:{lists}:watch"].items():
            status, _set_ms, until = v.split(" ", 3)[:3]
            self.watch[pid] = (status, int(until))
        self.zones = {int(c): int(v) for c, v in h["chot:{lists}:zones"].items()}
        self.green = {}
        for pid, v in h["chot:{lists}:greenlane"].items():
            a, b, n, route = v.split(" ")
            self.green[pid] = (int(a), int(b), int(n), set(int(x) for x in route.split(",")))
        self.checkpoints = set(int(s) for s, v in h["chot:{lists}:sites"].items()
                               if v.split(",", 1)[0] == "checkpoint")

    def reasons(self, pid, ev):
        r = set()
        w = self.watch.get(pid)
        if w and ev.ts_ms <= w[1]:
            r.add("watch_" + w[0])
        cp = ev.site_id in self.checkpoints
        if 1 <= ev.scheme <= 4 and cp:
            lvl = self.zones.get(ev.origin_commune)
            if lvl == 4:
                r.add("zone_red")
            elif lvl == 3:
                r.add("zone_orange")
        if ev.decl == 2:
            r.add("decl_symptoms")
        elif ev.decl == 3:
            r.add("decl_exposed")
        if ev.scheme == 6:
            g = self.green.get(pid)
            if g is None:
                r.add("greenlane_unknown")
            else:
                if cp and ev.site_id not in g[3]:
                    r.add("off_route")
                if ev.ts_ms < g[0] or ev.ts_ms > g[1]:
                    r.add("greenlane_expired")
                if ev.passengers > g[2]:
                    r.add("passengers_over")
        return [name for name, _ in REASONS if name in r]


class Checked(ci.Pipeline):
    def __init__(self, lists, *a, **kw):
        super().__init__(*a, **kw)
        self.lists = lists
        self.verdicts = {}
        self.alerts = collections.Counter()
        self.batch = None

    def frame(self, f):
        d, _ = ci.udp_payload(f)
        hdr = struct.unpack(">4sBBHIIQH", d[:26]) if d is not None and len(d) >= 26 else None
        accepted = self.counters["batches_accepted"]
        self.batch = {"hdr": hdr, "codes": []}
        super().frame(f)
        if self.counters["batches_accepted"] != accepted and hdr[2] & 2:
            self.verdicts[(hdr[4], hdr[5], hdr[6])] = self.batch["codes"]

    def event(self, ev):
        bad, stored = self.counters["bad_events"], self.counters["events_stored"]
        super().event(ev)
        if self.counters["bad_events"] != bad:
            self.batch["codes"].append(1)
            return
        subj, _ = ci.norm_subject(ev.scheme, ev.subject)
        pid = ci.nb.crypto_shorthash_siphashx24(bytes([ev.scheme]) + subj.encode(),
                                                self.keys["pseudonym"][:16]).hex()
        rs = self.lists.reasons(pid, ev)
        self.batch["codes"].append(dict(REASONS)[rs[0]] if rs else 0)
        if rs and self.counters["events_stored"] != stored:
            self.alerts[(pid, ev.site_id, ev.ts_ms, SCHEMES[ev.scheme], self.batch["hdr"][4],
                         ev.origin_commune, tuple(rs))] += 1


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    keys_path, pcap, truth_path, lists_path, proto_dir = sys.argv[1:]
    keys, truth = ci.load_keys(keys_path), json.load(open(truth_path))
    p = Checked(Lists(lists_path), keys, ci.load_pb(proto_dir), int(time.time() * 1000),
                truth["params"]["retention_days"], truth["params"]["dedupe_window_s"] * 1000)
    for f in ci.read_pcap(pcap):
        p.frame(f)
    bad = 0
    want_v = {(v["device"], v["epoch"], v["seq"]): v["codes"] for v in truth["verdicts"]}
    if p.verdicts != want_v:
        diff = [k for k in set(want_v) | set(p.verdicts) if want_v.get(k) != p.verdicts.get(k)]
        print("verdicts differ in %d batches, e.g. %s: independent %s, truth %s" % (
            len(diff), diff[0], p.verdicts.get(diff[0]), want_v.get(diff[0])))
        bad += 1
    want_a = collections.Counter((a["pid"], a["site"], a["ts_ms"], a["scheme"], a["device"],
                                  a["origin_commune"], tuple(a["reasons"]))
                                 for a in truth["alerts"])
    if p.alerts != want_a:
        print("alerts differ: %d only independent (e.g. %s), %d only in the truth (e.g. %s)" % (
            sum((p.alerts - want_a).values()), list(p.alerts - want_a)[:1],
            sum((want_a - p.alerts).values()), list(want_a - p.alerts)[:1]))
        bad += 1
    codes = collections.Counter(c for v in p.verdicts.values() for c in v)
    print("independent §9 check: %d verdict batches, %d alerts, codes %s; %s the truth" % (
        len(p.verdicts), sum(p.alerts.values()), dict(sorted(codes.items())),
        "AGREES with" if bad == 0 else "DISAGREES with"))
    if len(codes) < 14:
        print("the flood does not exercise every code (0, 1 and 12 reasons): blind")
        bad += 1
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
