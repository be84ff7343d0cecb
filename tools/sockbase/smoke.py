#!/usr/bin/python3
"""sockbase_smoke: chot-sockbase receives a tiny flood over loopback and
accounts for it exactly as the flood's truth says chotd would.

usage: smoke.py CHOT_SOCKBASE CHOT_FLOOD

Generates keys and a tiny province (no hostile traffic) with chot-flood,
starts the receiver on a kernel-chosen port, feeds the pcap once and checks
rx_packets and events_stored + dup_scans + bad_events against the truth.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def counters(text):
    out = {}
    for line in text.splitlines():
        p = line.split()
        if len(p) == 2 and p[1].isdigit():
            out[p[0]] = int(p[1])
    return out


def main():
    sockbase, flood = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="sockbase-smoke-")
    prefix = f"sbsmoke{os.getpid()}"
    rx = None
    try:
        keys, pcap, truth = f"{work}/k", f"{work}/p.pcap", f"{work}/t.json"
        subprocess.run([flood, "keys", keys], check=True, capture_output=True)
        subprocess.run([flood, "gen", "--citizens", "300", "--sites", "10", "--devices", "10",
                        "--hours", "6", "--seed", "3", "--hostile-rate", "0", "--keys", keys,
                        "--pcap", pcap, "--truth", truth], check=True, capture_output=True)
        want = json.load(open(truth))["counters"]

        rx = subprocess.Popen([sockbase, "--file-prefix", prefix, "--", "--keys", keys,
                               "--port", "0", "--idle-ms", "500"],
                              stdout=subprocess.PIPE, text=True)
        port = None
        for line in rx.stdout:
            if line.startswith("listening_port "):
                port = int(line.split()[1])
                break
        if port is None:
            print("receiver did not start", file=sys.stderr)
            return 1
        feed = subprocess.run([sockbase, "feed", "--pcap", pcap, "--to", f"127.0.0.1:{port}"],
                              check=True, capture_output=True, text=True)
        fc = counters(feed.stdout)
        out, _ = rx.communicate(timeout=60)
        rc = rx.returncode
        rx = None
        c = counters(out)
        print(f"truth {want}\nfeeder {fc}\nreceiver rx_packets {c.get('rx_packets')} "
              f"events_decoded {c.get('events_decoded')} stored {c.get('events_stored')} "
              f"dup {c.get('dup_scans')} bad {c.get('bad_events')} acks {c.get('acks_sent')} "
              f"events_per_cpu_s {c.get('events_per_cpu_s')}")
        ok = rc == 0
        ok &= fc["sent"] == want["rx_packets"]
        ok &= c["rx_packets"] == want["rx_packets"]
        ok &= c["events_stored"] + c["dup_scans"] + c["bad_events"] == want["events_decoded"]
        ok &= c["events_decoded"] == want["events_decoded"]
        for k in ("batches_accepted", "events_stored", "dup_scans", "bad_events"):
            if c[k] != want[k]:
                print(f"note: {k} {c[k]} != truth {want[k]}")
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if rx is not None:
            rx.kill()
            rx.wait()
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
