#!/usr/bin/python3
"""Live run on a veth pair (net_af_packet): chotd owns one end in the root
namespace, a network namespace holds the other end with a kernel UDP socket
as the scanner.  The kernel resolves chotd's address with ARP (IPv4) and
neighbour discovery (IPv6); chotd must answer both, receive sealed batches,
and send ACKs that verify with the device's ACK key and cover every batch.

Usage: test_veth.py CHOTD SRCDIR          (root; skips with 77 otherwise)
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402

NOW_MS = None
BATCHES = 20


def scanner(keys_path, dst, family, out_path):
    """Runs inside the namespace: send BATCHES sealed batches, collect ACKs."""
    import socket
    keys = cp.load_keys(keys_path)
    master = keys["master"][1]
    dev_id = 77 if family == "4" else 78
    dk, ak = cp.device_key(master, dev_id), cp.ack_key(master, dev_id)
    fam = socket.AF_INET if family == "4" else socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    now = int(time.time() * 1000)
    acked, tags_ok, sent = 0, 0, 0
    deadline = time.time() + 20
    seq = 1
    while time.time() < deadline and acked < BATCHES:
        # send (or resend: the outbox) every batch above acked
        for q in range(acked + 1, BATCHES + 1):
            ev = cp.encode_event(now - 1000 * q, 900, cp.CCCD, "%012d" % (555000000000 + 1000 * dev_id + q),
                                 cp.IN)
            s.sendto(cp.seal(dk, dev_id, 1, q, cp.encode_batch([ev])), (dst, 7311))
            sent += 1
        t_end = time.time() + 1.0
        while time.time() < t_end and acked < BATCHES:
            try:
                buf, _ = s.recvfrom(2048)
            except socket.timeout:
                continue
            try:
                _, d, ep, a = cp.verify_ack(buf, ak)
            except ValueError:
                continue
            if d == dev_id and ep == 1:
                tags_ok += 1
                acked = max(acked, a)
        seq += 1
    with open(out_path, "w") as f:
        json.dump({"acked": acked, "acks_verified": tags_ok, "sent": sent}, f)


def telemetry(prefix):
    """Query /chot/stats and /chot/workers with DPDK's own dpdk-telemetry.py."""
    r = subprocess.run(["/usr/bin/dpdk-telemetry.py", "-f", prefix],
                       input="/chot/stats\n/chot/workers\n", capture_output=True, text=True,
                       timeout=30)
    out = {}
    dec = json.JSONDecoder()
    text = r.stdout
    i = 0
    while True:
        j = text.find("{", i)
        if j < 0:
            break
        try:
            obj, i = dec.raw_decode(text, j)
        except ValueError:
            i = j + 1
            continue
        out.update({k: v for k, v in obj.items() if k.startswith("/chot/")})
    return out


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--scanner":
        scanner(*sys.argv[2:6])
        return 0
    chotd, srcdir = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0 or sh("ip", "netns", "list", check=False).returncode != 0:
        print("SKIP: needs root and ip netns")
        return 77
    tag = "%d" % (os.getpid() % 100000)
    ns, host_if, ns_if = "chotns" + tag, "chotd" + tag, "chots" + tag
    proc = None
    with cp.TempDir() as tmp:
        try:
            keys_path = os.path.join(tmp, "keys")
            cp.make_keys(keys_path, seed=3)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
            sh("ip", "link", "set", ns_if, "netns", ns)
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % host_if, check=False)
            sh("ip", "link", "set", host_if, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", "10.77.0.1/24", "dev", ns_if)
            sh("ip", "-n", ns, "addr", "add", "fd77::1/64", "dev", ns_if, "nodad")
            sh("ip", "-n", ns, "link", "set", ns_if, "up")
            args = cp.chotd_args(chotd, "chotveth" + tag,
                                 "net_af_packet0,iface=%s" % host_if,
                                 os.path.join(srcdir, "configs/chotd.conf"),
                                 {"keys.file": keys_path, "redis.url": "null://",
                                  "ingest.address": "10.77.0.2/24,fd77::2/64",
                                  "dedupe.capacity": 4096, "ingest.max_devices": 64})
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(2.0)
            if proc.poll() is not None:
                print(proc.stdout.read().decode(), proc.stderr.read().decode())
                print("FAIL: chotd exited early")
                return 1
            results = {}
            for fam, dst in (("4", "10.77.0.2"), ("6", "fd77::2")):
                out = os.path.join(tmp, "scan%s.json" % fam)
                r = subprocess.run(["ip", "netns", "exec", ns, sys.executable,
                                    os.path.abspath(__file__), "--scanner", keys_path, dst,
                                    fam, out], capture_output=True, text=True, timeout=60)
                if r.returncode != 0:
                    print(r.stdout, r.stderr)
                results[fam] = json.load(open(out)) if os.path.exists(out) else {}
            neigh = sh("ip", "-n", ns, "neigh", "show", "dev", ns_if).stdout
            tel = telemetry("chotveth" + tag)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
            c = cp.parse_counters(out.decode())
            fails = []
            if proc.returncode != 0:
                fails.append("chotd exit code %d" % proc.returncode)
            for fam in ("4", "6"):
                r = results.get(fam, {})
                if r.get("acked") != BATCHES:
                    fails.append("IPv%s: acked_seq %s, expected %d" % (fam, r.get("acked"),
                                                                      BATCHES))
                if not r.get("acks_verified"):
                    fails.append("IPv%s: no ACK verified" % fam)
            if c.get("arp_replies", 0) < 1:
                fails.append("chotd sent no ARP reply")
            if c.get("nd_replies", 0) < 1:
                fails.append("chotd sent no neighbour advertisement")
            if c.get("events_stored", 0) < 2 * BATCHES:
                fails.append("events_stored %s < %d" % (c.get("events_stored"), 2 * BATCHES))
            try:
                cp.check_identities(c)
            except (AssertionError, KeyError) as e:
                fails.append(str(e))
            # The stock dpdk-telemetry.py reads the live counters.
            st = tel.get("/chot/stats", {})
            missing = [k for k in cp.CONTRACT if k not in st]
            if missing:
                fails.append("/chot/stats lacks %s (got %s)" % (missing, tel))
            elif st["events_stored"] != c["events_stored"] or st["acks_sent"] != c["acks_sent"]:
                fails.append("/chot/stats %s disagrees with the final counters" % st)
            else:
                try:
                    cp.check_identities(st)
                except AssertionError as e:
                    fails.append("telemetry: " + str(e))
            w0 = tel.get("/chot/workers", {}).get("w0", {})
            if "backlog_events" not in w0 or "redis_connected" not in w0:
                fails.append("/chot/workers lacks w0 backlog/redis state: %s" % w0)
            if fails:
                print(out.decode(), err.decode()[-2000:], neigh, results)
                for f in fails:
                    print("FAIL:", f)
                return 1
            print("ok: ARP+ND answered (%d/%d), %s" % (c["arp_replies"], c["nd_replies"],
                                                      results))
            return 0
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            cp.cleanup_prefix("chotveth" + tag)
            sh("ip", "link", "del", host_if, check=False)
            sh("ip", "netns", "del", ns, check=False)


if __name__ == "__main__":
    sys.exit(main())
