#!/usr/bin/python3
"""The truth's F1/F2 for a hand-made tiny province (tiny.scn) equals the
answer worked out by hand below.  usage: test_tiny.py CHOT_FLOOD SCENARIO

A = F0: venue [60,120], checkpoint [300,305].  Contact: c <= b + w and
a - w <= d, overlap = min(b,d) - max(a,c) clipped at 0, kept if >= min-overlap.

v1 (w = 15, min-overlap 0):
  F1: B venue [100,150] overlaps 20;  C [130,190]: 130 <= 120+15;
      D [135,195]: 135 <= 135 (exactly +w);  F [280,285]: 300-15 <= 285
      (exactly -w);  H [10,50]: 60-15 <= 50;  K [0,60]: 45 <= 60 (K's IN/OUT
      are 400 min apart > 6 h, so they do not pair).
      Not: E (136 > 135), G (285 > 284), I, J (never with A).
  F2 (contacts of F1 visits starting at or after that F1's first contact):
      E with B's venue [100,150]; J with B's market [210,240];
      G with F's [280,285] (overlap 4).
      Not I: it met B at the market at [30,50], before B's exposure at 100.
v2 (w = 5, min-overlap 10):
  F1: only B (overlap 20).  C, D, E, F, H, K only meet A through the window
      or not at all; K's unpaired IN [0,60] overlaps A for 0.
  F2: C (20), D (15), E (14) with B at the venue, J (20) at the market.
"""
import json
import subprocess
import sys
import tempfile
import os

NAMES = {f"0380000000{n:02d}": ch for n, ch in zip(range(1, 12), "ABCDEFGHIJK")}
WANT = {
    (900000, 0): ("BCDFHK", "EJG"),
    (300000, 600000): ("B", "CDEJ"),
}


def main():
    flood, scenario = sys.argv[1:3]
    d = tempfile.mkdtemp(prefix="chot-tiny-")
    keys, pcap, truth = (os.path.join(d, n) for n in ("keys", "tiny.pcap", "tiny.json"))
    subprocess.run([flood, "keys", keys], check=True)
    subprocess.run([flood, "gen", "--scenario", scenario, "--hours", "24",
                    "--start", "2026-11-01T00:00:00Z", "--seed", "1", "--keys", keys,
                    "--pcap", pcap, "--truth", truth], check=True, stdout=subprocess.DEVNULL)
    t = json.load(open(truth))
    name = {pid: NAMES[norm] for pid, _, norm in t["subjects"]}
    assert len(t["f0"]) == 1, f"expected one F0, got {len(t['f0'])}"
    f0 = t["f0"][0]
    assert name[f0["pid"]] == "A", "the F0 must be A"
    bad = 0
    for tr in f0["traces"]:
        key = (tr["window_ms"], tr["min_overlap_ms"])
        got = ("".join(sorted(name[p] for p in tr["f1"])), "".join(sorted(name[p] for p in tr["f2"])))
        want = tuple("".join(sorted(s)) for s in WANT[key])
        status = "ok" if got == want else "MISMATCH"
        print(f"window {key[0] // 60000} min, min-overlap {key[1] // 60000} min: "
              f"F1 {got[0]} (want {want[0]}), F2 {got[1]} (want {want[1]}) {status}")
        bad += got != want
    assert len(f0["traces"]) == len(WANT), "both trace variants must be present"
    print("2 passed, 0 failed" if not bad else f"{2 - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
