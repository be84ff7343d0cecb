#!/usr/bin/python3
"""chotd refuses, at start, a keys file it cannot run a province with.

A keys file without a `vault` line used to be accepted silently: every scan
was then stored with no identity-vault entry (nothing for `chotctl trace
--keys` to reveal, ever).  chotd must exit non-zero before touching the port,
with a message that names the keys file and the missing `vault` line.  The
same file with the vault line added must start and run (control).

Usage: test_keys_file.py CHOTD SRCDIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402


def run(chotd, srcdir, tmp, keys_path, tag):
    pcap = os.path.join(tmp, "in.pcap")
    cp.write_pcap(pcap, [cp.udp_frame(b"not chot", dport=53)])
    sets = {"keys.file": keys_path, "ingest.exit_on_idle_ms": 300, "redis.url": "null://",
            "dedupe.capacity": 1024, "ingest.max_devices": 64}
    args = cp.chotd_args(chotd, "chotkf%d%s" % (os.getpid(), tag),
                         "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                         os.path.join(srcdir, "configs/chotd.conf"), sets)
    return cp.run_chotd(args, timeout=60)


def main():
    chotd, srcdir = sys.argv[1], sys.argv[2]
    fails = []
    with cp.TempDir() as tmp:
        keys = cp.make_keys(os.path.join(tmp, "full"))
        text = "master 1 %s\npseudonym %s\n" % (keys["master"][1].hex(), keys["pseudonym"].hex())
        novault = os.path.join(tmp, "novault")
        fd = os.open(novault, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        rc, c, out, err = run(chotd, srcdir, tmp, novault, "a")
        if rc == 0:
            fails.append("keys file without 'vault': chotd exited 0 (rx_packets %s)" %
                         c.get("rx_packets"))
        if novault not in err or "'vault'" not in err:
            fails.append("the message must name %s and the missing 'vault' line: %r" %
                         (novault, err[-500:]))
        if c:
            fails.append("chotd ran (printed counters) with no vault key")

        withvault = os.path.join(tmp, "withvault")
        fd = os.open(withvault, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text + "vault %s\n" % keys["vault"].hex())
        rc, c, out, err = run(chotd, srcdir, tmp, withvault, "b")
        if rc != 0 or c.get("rx_packets") != 1 or c.get("not_ours") != 1:
            fails.append("control: the same file with a vault line: exit %d, counters %r, "
                         "stderr %r" % (rc, {k: c.get(k) for k in ("rx_packets", "not_ours")},
                                        err[-500:]))
    for f in fails:
        print("FAIL:", f)
    if fails:
        return 1
    print("ok: no vault line -> refused at start with the file named; with it -> runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
