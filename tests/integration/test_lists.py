#!/usr/bin/python3
"""The checkpoint loop end to end (DESIGN §9, issue 13), live on a veth pair:
a real redis-server with the shipped ACLs (chotd logs in as chot-ingest), a
real chotd on net_af_packet, and a kernel UDP socket in a network namespace
as the scanner.  The lists are written in proto/lists.h's encoding.

  1. cases: a hand-built set covering every reason, the severity order, the
     time rules, an invalid event, a semantic duplicate, a batch that asks
     for no verdict and a retransmission after the ACK (no second verdict):
     every verdict verifies (tag under the ACK key) and carries exactly the
     expected codes; the alerts stream holds exactly the expected alerts.
  2. a flag while chotd runs (`chotctl flag` as chot-operator with --chotctl,
     else written as chotctl writes it): the subject scanned before it raises nothing,
     the scan after the flag (> 2 s later) is stopped and alerted.
  3. reload churn: the version bumped every 0.3 s while a scanner sends;
     every table swap is under traffic (RCU grace periods), every verdict
     still right.
  4. Redis SIGSTOPped: verdicts keep coming (no ACK); after SIGCONT every
     batch is ACKed and every alert is in the stream, none lost.
  5. restart: a second chotd has the lists from its first packet.
Then: the accounting identities, verdicts_sent, alerts_raised and the
per-reason counts of /chot/alerts.

Usage: test_lists.py CHOTD SRCDIR [--workers N --lcores MAP] [--chotctl CHOTCTL]
       (with --chotctl the live flag is `chotctl flag` as chot-operator)
       (root; skips with 77 otherwise)
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402

DEV = 4242
CP_SITE, MARKET, CP2 = 17, 18, 19
RED, ORANGE, YELLOW = 33333, 32222, 31111


# ---------------------------------------------------------------- the scanner (in the netns)
def scanner(keys_path, dst, spec_path, out_path):
    """Send spec's batches, retransmit until ACKed, collect verdicts and ACKs."""
    import socket
    spec = json.load(open(spec_path))
    master = cp.load_keys(keys_path)["master"][1]
    dev, epoch = spec["device"], spec["epoch"]
    dk, ak = cp.device_key(master, dev), cp.ack_key(master, dev)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.05)
    dgrams, want_verdict = {}, set()
    for b in spec["batches"]:
        evs = [bytes.fromhex(e) for e in b["events"]]
        dgrams[b["seq"]] = cp.seal(dk, dev, epoch, b["seq"], cp.encode_batch(evs),
                                   flags=b["flags"])
        if b["flags"] & 2:
            want_verdict.add(b["seq"])
    top = max(dgrams)
    verdicts, bad, acked, ack_t = {}, [], 0, {}

    def receive(until):
        nonlocal acked
        while time.time() < until:
            try:
                buf, _ = s.recvfrom(2048)
            except socket.timeout:
                return
            now = time.time()
            if buf[:4] == cp.VERDICT_MAGIC:
                try:
                    _, d, ep, seq, codes = cp.verify_verdict(buf, ak)
                except ValueError as e:
                    bad.append(str(e))
                    continue
                if d != dev or ep != epoch:
                    bad.append("verdict for device %d epoch %d" % (d, ep))
                    continue
                verdicts.setdefault(seq, []).append({"codes": codes, "t": now})
            else:
                try:
                    _, d, ep, a = cp.verify_ack(buf, ak)
                except ValueError as e:
                    bad.append(str(e))
                    continue
                if d == dev and ep == epoch and a > acked:
                    for q in range(acked + 1, a + 1):
                        ack_t[q] = now
                    acked = a

    for q in sorted(dgrams):
        s.sendto(dgrams[q], (dst, 7311))
        if spec.get("gap_s"):
            receive(time.time() + spec["gap_s"])
    deadline = time.time() + spec.get("deadline_s", 20)
    next_resend = time.time() + spec.get("resend_s", 0.5)
    while time.time() < deadline:
        receive(time.time() + 0.05)
        if acked >= top and want_verdict <= set(verdicts):
            break
        if time.time() >= next_resend:
            for q in sorted(dgrams):
                if q > acked:
                    s.sendto(dgrams[q], (dst, 7311))
            next_resend = time.time() + spec.get("resend_s", 0.5)
    receive(time.time() + 0.3)            # a stray second verdict would show here
    for q in spec.get("resend_after_ack", []):
        s.sendto(dgrams[q], (dst, 7311))
    receive(time.time() + 0.5)
    json.dump({"verdicts": {str(k): v for k, v in verdicts.items()}, "acked": acked,
               "ack_t": {str(k): v for k, v in ack_t.items()}, "bad": bad,
               "t_end": time.time()}, open(out_path, "w"))


# ---------------------------------------------------------------- the test
class Lab:
    def __init__(self, tmp, srcdir, chotd, workers=1, lcores="0"):
        self.tmp, self.srcdir, self.chotd = tmp, srcdir, chotd
        self.workers, self.lcores = workers, lcores
        tag = "%d" % (os.getpid() % 100000)
        self.tag = tag
        self.ns, self.host_if, self.ns_if = "chotls" + tag, "chotl" + tag, "chotm" + tag
        self.proc = None
        self.keys_path = os.path.join(tmp, "keys")
        self.keys = cp.make_keys(self.keys_path, seed=13)
        self.runs = 0
        self.chotctl = None

    def sh(self, *args, check=True):
        return subprocess.run(args, check=check, capture_output=True, text=True)

    def net_up(self):
        sh = self.sh
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        sh("ip", "link", "set", self.ns_if, "netns", self.ns)
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % self.host_if, check=False)
        sh("ip", "link", "set", self.host_if, "up")
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.ns, "addr", "add", "10.78.0.1/24", "dev", self.ns_if)
        sh("ip", "-n", self.ns, "link", "set", self.ns_if, "up")

    def net_down(self):
        self.sh("ip", "link", "del", self.host_if, check=False)
        self.sh("ip", "netns", "del", self.ns, check=False)

    def prefix(self):
        return "chotlists%s_%d" % (self.tag, self.runs)

    def start(self, redis):
        self.runs += 1
        args = cp.chotd_args(self.chotd, self.prefix(), "net_af_packet0,iface=%s" % self.host_if,
                             os.path.join(self.srcdir, "configs/chotd.conf"),
                             {"keys.file": self.keys_path,
                              "redis.url": "redis://127.0.0.1:%d" % redis.port,
                              "redis.user": "chot-ingest",
                              "redis.password_file": redis.passfiles["ingest"],
                              "ingest.address": "10.78.0.2/24",
                              "dedupe.capacity": 4096, "ingest.max_devices": 64,
                              "ingest.workers": self.workers}, lcores=self.lcores)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ok = cp.wait_for(lambda: self.proc.poll() is not None or
                         "/chot/lists" in self.telemetry(), 30, step=0.2)
        if self.proc.poll() is not None or not ok:
            raise RuntimeError("chotd did not come up: %s" % self.proc.stderr.read().decode())

    def telemetry(self, cmd="/chot/lists"):
        v = cp.telemetry_query(self.prefix(), cmd, timeout=2)
        return {cmd: v} if v is not None else {}

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=60)
        cp.cleanup_prefix(self.prefix())
        rc, self.proc = self.proc.returncode, None
        return rc, cp.parse_counters(out.decode()), err.decode()

    def scan(self, name, spec, wait=True):
        spec.setdefault("device", DEV)
        path, out = (os.path.join(self.tmp, "%s.%s.json" % (name, x)) for x in ("spec", "out"))
        json.dump(spec, open(path, "w"))
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable,
                              os.path.abspath(__file__), "--scanner", self.keys_path,
                              "10.78.0.2", path, out], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        if not wait:
            return p, out
        return self.collect(p, out)

    @staticmethod
    def collect(p, out):
        o, e = p.communicate(timeout=90)
        if p.returncode != 0 or not os.path.exists(out):
            raise RuntimeError("scanner failed: %s %s" % (o.decode(), e.decode()))
        return json.load(open(out))


def ev(ts, site, scheme, subject, direction=cp.IN, decl=1, origin=0, passengers=0):
    return cp.encode_event(ts, site, scheme, subject, direction, decl=decl, origin=origin,
                           passengers=passengers).hex()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--scanner":
        scanner(*sys.argv[2:6])
        return 0
    chotd, srcdir = sys.argv[1], sys.argv[2]
    opts = dict(zip(sys.argv[3::2], sys.argv[4::2]))

    def on_term(sig, frame):          # meson's timeout: clean up on the way out
        raise SystemExit("terminated by signal %d" % sig)
    signal.signal(signal.SIGTERM, on_term)
    if os.geteuid() != 0 or subprocess.run(["ip", "netns", "list"],
                                           capture_output=True).returncode != 0:
        print("SKIP: needs root and ip netns")
        return 77
    fails = []
    with cp.TempDir() as tmp:
        lab = Lab(tmp, srcdir, chotd, int(opts.get("--workers", 1)),
                  opts.get("--lcores", "0"))
        lab.chotctl = opts.get("--chotctl")
        redis = None
        try:
            lab.net_up()
            redis = cp.Redis(tmp, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
            r = cp.Resp(redis.port, redis.user, redis.password)
            pk = lab.keys["pseudonym"]
            now = int(time.time() * 1000)

            def cccd(i):
                return "%012d" % (790000000000 + i)

            def pid(scheme, subject):
                return cp.pid_hex(pk, scheme, subject)

            A, B, C, D, E, F, G, Hs, I, J, K = (cccd(i) for i in range(1, 12))
            lists_write(r, now, pid, A, B, C, D, E)
            fails += phase_cases(lab, redis, r, now, pid, A, B, C, D, E, F, G, Hs, I, J)
            fails += phase_flag(lab, redis, r, now, pid, K)
            fails += phase_churn(lab, redis, now, pid, A)
            fails += phase_outage(lab, redis, r, now, pid, A)
            vt = lab.telemetry("/chot/verdict").get("/chot/verdict", {})
            al = lab.telemetry("/chot/alerts").get("/chot/alerts", {})
            print("/chot/verdict:", json.dumps(vt))
            print("/chot/alerts:", json.dumps(al))
            rc, c1, err1 = lab.stop()
            if vt.get("verdicts_sent") != c1.get("verdicts_sent") or not vt.get("p99_us"):
                fails.append("/chot/verdict %s vs verdicts_sent %s" % (vt, c1.get("verdicts_sent")))
            want_by = {}
            for reasons in lab.expected_alerts.values():
                for name in reasons.split(","):
                    want_by[name] = want_by.get(name, 0) + 1
            if any(al.get(n, 0) != want_by.get(n, 0) for _, n in cp.REASONS):
                fails.append("/chot/alerts %s, expected %s" % (al, want_by))
            tel_ok = check_run(fails, "run 1", rc, c1, err1)
            fails += phase_restart(lab, redis, r, now, pid, A)
            fails += check_alerts(r, lab.expected_alerts)
            if tel_ok and c1.get("alerts_raised", 0) < len(lab.expected_alerts) - 1:
                fails.append("alerts_raised %s, expected at least %d" %
                             (c1.get("alerts_raised"), len(lab.expected_alerts) - 1))
        except Exception as e:          # noqa: BLE001 -- report, clean up
            import traceback
            traceback.print_exc()
            fails.append("exception: %s" % e)
        finally:
            if lab.proc is not None and lab.proc.poll() is None:
                lab.proc.kill()
                lab.proc.wait()
                cp.cleanup_prefix(lab.prefix())
            if redis is not None:
                try:
                    os.kill(redis.proc.pid, signal.SIGCONT)
                except OSError:
                    pass
                redis.stop()
            lab.net_down()
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print("ok: checkpoint loop (cases, live flag, Redis frozen, restart)")
    return 1 if fails else 0


def lists_write(r, now, pid, A, B, C, D, E):
    D21 = 21 * cp.DAY_MS
    cp.lists_write(
        r,
        watch=[(pid(cp.CCCD, A), "f0", now, now + D21),
               (pid(cp.CCCD, B), "quarantine", now, now + D21),
               (pid(cp.CCCD, C), "f1", now, now + D21),
               (pid(cp.CCCD, D), "f2", now, now + D21),
               (pid(cp.CCCD, E), "f0", now - D21, now - 3600000)],       # expired
        zones=[(RED, 4), (ORANGE, 3), (YELLOW, 2)],
        greenlane=[(pid(cp.GREEN_LANE, "51G12345"), now - 3600000, now + 3600000, 2,
                    [5, CP_SITE]),
                   (pid(cp.GREEN_LANE, "29A99999"), now - 3600000, now + 3600000, 2, [5]),
                   (pid(cp.GREEN_LANE, "30B11111"), now - 3 * 3600000, now - 2 * 3600000,
                    2, [CP_SITE, MARKET])],
        sites=[(CP_SITE, "checkpoint", 16005, "Chot A"), (MARKET, "market", 16005, "Cho B"),
               (CP2, "checkpoint", 16006, "Chot C")])
    # a malformed entry: skipped and counted, the rest still loads
    r.call("HSET", cp.LISTS_WATCH, "nothex", "f0 1 2")
    r.call("INCR", cp.LISTS_VERSION)


def phase_cases(lab, redis, r, now, pid, A, B, C, D, E, F, G, Hs, I, J):
    """Every reason, the severity order, invalid, duplicate, no-verdict, replay."""
    lab.start(redis)
    t = now - 60000
    SYM, EXP = 2, 3
    # (event, expected verdict code, alert reasons or None); pid key for the alert
    cases = [
        (ev(t + 1, CP_SITE, cp.CCCD, A, origin=YELLOW), 16, "watch_f0", (cp.CCCD, A)),
        (ev(t + 2, MARKET, cp.CCCD, B), 19, "watch_quarantine", (cp.CCCD, B)),
        (ev(t + 3, MARKET, cp.CCCD, C), 17, "watch_f1", (cp.CCCD, C)),
        (ev(t + 4, CP_SITE, cp.CCCD, F, origin=RED), 33, "zone_red", (cp.CCCD, F)),
        (ev(t + 5, MARKET, cp.CCCD, G, decl=SYM), 48, "decl_symptoms", (cp.CCCD, G)),
        (ev(t + 6, MARKET, cp.CCCD, D), 18, "watch_f2", (cp.CCCD, D)),
        (ev(t + 7, CP_SITE, cp.CCCD, Hs, origin=ORANGE), 32, "zone_orange", (cp.CCCD, Hs)),
        (ev(t + 8, MARKET, cp.CCCD, I, decl=EXP), 49, "decl_exposed", (cp.CCCD, I)),
        (ev(t + 9, MARKET, cp.GREEN_LANE, "77C00000"), 64, "greenlane_unknown",
         (cp.GREEN_LANE, "77C00000")),
        (ev(t + 10, CP_SITE, cp.GREEN_LANE, "29A-999.99", passengers=1), 65, "off_route",
         (cp.GREEN_LANE, "29A99999")),
        (ev(t + 11, MARKET, cp.GREEN_LANE, "30B11111"), 66, "greenlane_expired",
         (cp.GREEN_LANE, "30B11111")),
        (ev(t + 12, CP_SITE, cp.GREEN_LANE, "51G12345", passengers=3), 67, "passengers_over",
         (cp.GREEN_LANE, "51G12345")),
        (ev(t + 13, CP_SITE, cp.GREEN_LANE, "51G12345", direction=cp.OUT, passengers=2), 0,
         None, None),
        (ev(t + 14, MARKET, cp.CCCD, E), 0, None, None),                   # until passed
        (ev(t + 15, MARKET, cp.CCCD, J, origin=RED), 0, None, None),       # not a checkpoint
        (ev(t + 16, CP_SITE, cp.PLATE, "51G12345"), 0, None, None),       # not GREEN_LANE
        (ev(t + 17, CP_SITE, cp.CCCD, D, origin=RED, decl=EXP), 33,
         "zone_red,watch_f2,decl_exposed", (cp.CCCD, D)),
        (ev(t + 18, CP_SITE, cp.CCCD, C, origin=ORANGE, decl=SYM), 17,
         "watch_f1,decl_symptoms,zone_orange", (cp.CCCD, C)),
        (ev(t + 19, CP_SITE, cp.CCCD, "123"), 1, None, None),              # invalid
        (ev(t + 20, CP_SITE, cp.PASSPORT, "B1234567", origin=RED), 33, "zone_red",
         (cp.PASSPORT, "B1234567")),
    ]
    batches = [{"seq": 1, "flags": 3, "events": [c[0] for c in cases[:10]]},
               {"seq": 2, "flags": 3, "events": [c[0] for c in cases[10:]]},
               # a semantic duplicate of case 0 (same pid, site, dir, 30 s later):
               # its verdict still stops A, but no second alert
               {"seq": 3, "flags": 3,
                "events": [ev(t + 30001, CP_SITE, cp.CCCD, A, origin=YELLOW)]},
               # no verdict asked: none sent, the alert is still raised
               {"seq": 4, "flags": 1, "events": [ev(t + 40, CP2, cp.CCCD, B)]}]
    want = {1: [c[1] for c in cases[:10]], 2: [c[1] for c in cases[10:]], 3: [16]}
    lab.expected_alerts = {}
    for c in cases:
        if c[2]:
            lab.expected_alerts[(pid(*c[3]), ts_of(c[0]), site_of(c[0]))] = c[2]
    lab.expected_alerts[(pid(cp.CCCD, B), t + 40, CP2)] = "watch_quarantine"
    res = lab.scan("cases", {"epoch": 1, "batches": batches, "resend_after_ack": [1]})
    fails = []
    if res["bad"]:
        fails.append("cases: bad replies %s" % res["bad"][:3])
    if res["acked"] != 4:
        fails.append("cases: acked_seq %s, expected 4" % res["acked"])
    for seq, codes in want.items():
        got = res["verdicts"].get(str(seq), [])
        if len(got) != 1:
            fails.append("cases: batch %d got %d verdicts, expected exactly 1 (a "
                         "retransmission gets none)" % (seq, len(got)))
        elif got[0]["codes"] != codes:
            fails.append("cases: batch %d verdict %s, expected %s" % (seq, got[0]["codes"],
                                                                      codes))
    if "4" in res["verdicts"]:
        fails.append("cases: batch 4 asked for no verdict but got one")
    return fails


def _fields(hexev):
    b, i, out = bytes.fromhex(hexev), 0, {}
    while i < len(b):
        key, i = _uvarint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            out[num], i = _uvarint(b, i)
        else:
            n, i = _uvarint(b, i)
            out[num], i = b[i:i + n], i + n
    return out


def _uvarint(b, i):
    v, shift = 0, 0
    while True:
        v |= (b[i] & 0x7f) << shift
        i += 1
        if not b[i - 1] & 0x80:
            return v, i
        shift += 7


def ts_of(hexev):
    return _fields(hexev)[1]


def site_of(hexev):
    return _fields(hexev)[2]


def phase_flag(lab, redis, r, now, pid, K):
    """Flag K while chotd runs: the scan before raises nothing, the one after is stopped."""
    t = now - 50000
    before = lab.scan("flag-before", {"epoch": 2, "batches": [
        {"seq": 1, "flags": 3, "events": [ev(t, CP_SITE, cp.CCCD, K)]}]})
    if lab.chotctl:
        p = subprocess.run([lab.chotctl, "-r", "redis://127.0.0.1:%d" % redis.port,
                            "--user", "chot-operator", "--password-file",
                            redis.passfiles["operator"], "--keys", lab.keys_path, "flag", K,
                            "--status", "f1"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, USER="chot-test"))
        if p.returncode != 0:
            return ["flag: chotctl flag exit %d: %s" % (p.returncode, p.stderr)]
    else:
        cp.lists_write(r, watch=[(pid(cp.CCCD, K), "f1", now, now + 14 * cp.DAY_MS)])
    time.sleep(2.5)
    after = lab.scan("flag-after", {"epoch": 2, "batches": [
        {"seq": 2, "flags": 3, "events": [ev(t + 1000, CP2, cp.CCCD, K)]}]})
    lab.expected_alerts[(pid(cp.CCCD, K), t + 1000, CP2)] = "watch_f1"
    fails = []
    vb = before["verdicts"].get("1", [{}])[0].get("codes")
    va = after["verdicts"].get("2", [{}])[0].get("codes")
    if vb != [0]:
        fails.append("flag: the scan before the flag got %s, expected [0]" % vb)
    if va != [17]:
        fails.append("flag: the scan 2.5 s after the flag got %s, expected [17] (watch_f1)"
                     % va)
    return fails


def phase_churn(lab, redis, now, pid, A):
    """Reloads under traffic: every swap waits for the workers' grace period."""
    import threading
    t = now - 45000
    n = 30
    batches = [{"seq": q, "flags": 3, "events": [ev(t + q, 2000 + q, cp.CCCD, A)]}
               for q in range(1, n + 1)]
    for q in range(1, n + 1):
        lab.expected_alerts[(pid(cp.CCCD, A), t + q, 2000 + q)] = "watch_f0"
    before = lab.telemetry("/chot/lists").get("/chot/lists", {}).get("lists_reloaded", 0)
    stop = threading.Event()

    def bump():
        rr = cp.Resp(redis.port, redis.user, redis.password)
        for _ in range(12):
            if stop.wait(0.3):
                break
            rr.call("INCR", cp.LISTS_VERSION)
        rr.close()
    th = threading.Thread(target=bump)
    th.start()
    try:
        res = lab.scan("churn", {"epoch": 3, "batches": batches, "gap_s": 0.12})
    finally:
        stop.set()
        th.join()
    time.sleep(1.0)
    after = lab.telemetry("/chot/lists").get("/chot/lists", {}).get("lists_reloaded", 0)
    fails = []
    if after - before < 3:     # polled every 0.5 s: several bumps make one reload
        fails.append("churn: only %d reloads while the version moved 12 times" %
                     (after - before))
    bad = [q for q in range(1, n + 1)
           if [v["codes"] for v in res["verdicts"].get(str(q), [])] != [[16]]]
    if bad or res["acked"] != n:
        fails.append("churn: batches %s without exactly one [16] verdict, acked %s" %
                     (bad[:5], res["acked"]))
    return fails


def phase_outage(lab, redis, r, now, pid, A):
    """Redis frozen: verdicts flow, ACKs wait; after the thaw nothing is lost."""
    t = now - 40000
    n = 12
    batches = [{"seq": q, "flags": 3,
                "events": [ev(t + q, 1000 + q, cp.CCCD, A),
                           ev(t + q, 1000 + q, cp.CCCD, "%012d" % (700000000000 + q))]}
               for q in range(1, n + 1)]
    for q in range(1, n + 1):
        lab.expected_alerts[(pid(cp.CCCD, A), t + q, 1000 + q)] = "watch_f0"
    os.kill(redis.proc.pid, signal.SIGSTOP)
    t_stop = time.time()
    p, out = lab.scan("outage", {"epoch": 4, "batches": batches, "gap_s": 0.05,
                                 "resend_s": 1.0, "deadline_s": 30}, wait=False)
    time.sleep(4.0)
    t_cont = time.time()
    os.kill(redis.proc.pid, signal.SIGCONT)
    res = lab.collect(p, out)
    fails = []
    if res["acked"] != n:
        fails.append("outage: acked_seq %s after the thaw, expected %d" % (res["acked"], n))
    for q in range(1, n + 1):
        got = res["verdicts"].get(str(q), [])
        if len(got) != 1 or got[0]["codes"] != [16, 0]:
            fails.append("outage: batch %d verdicts %s, expected one [16, 0]" % (q, got))
        elif not t_stop < got[0]["t"] < t_cont:
            fails.append("outage: batch %d's verdict came at +%.2f s, not while Redis was "
                         "frozen (%.2f s)" % (q, got[0]["t"] - t_stop, t_cont - t_stop))
        a = res["ack_t"].get(str(q))
        if a is not None and a < t_cont:
            fails.append("outage: batch %d ACKed while Redis was frozen" % q)
    return fails


def phase_restart(lab, redis, r, now, pid, A):
    """A fresh chotd has the lists from its first packet."""
    lab.start(redis)
    t = now - 30000
    res = lab.scan("restart", {"epoch": 5, "batches": [
        {"seq": 1, "flags": 3, "events": [ev(t, CP2, cp.CCCD, A)]}]})
    lab.expected_alerts[(pid(cp.CCCD, A), t, CP2)] = "watch_f0"
    tel = lab.telemetry("/chot/lists").get("/chot/lists", {})
    rc, c, err = lab.stop()
    fails = []
    check_run(fails, "run 2", rc, c, err)
    got = res["verdicts"].get("1", [{}])[0].get("codes")
    if got != [16]:
        fails.append("restart: the first scan after a restart got %s, expected [16]" % got)
    if tel.get("watch") != 6 or tel.get("zones") != 3 or tel.get("greenlane") != 3 or \
            tel.get("checkpoints") != 2:
        fails.append("restart: /chot/lists %s, expected 6 watch, 3 zones, 3 green-lane, "
                     "2 checkpoints" % tel)
    if c.get("lists_bad_entries", 0) < 1:
        fails.append("restart: the malformed watch entry was not counted: %s" %
                     c.get("lists_bad_entries"))
    return fails


def check_run(fails, name, rc, c, err):
    if rc != 0:
        fails.append("%s: chotd exit code %d: %s" % (name, rc, err[-1500:]))
        return False
    try:
        cp.check_identities(c)
    except (AssertionError, KeyError) as e:
        fails.append("%s: %s" % (name, e))
    for k in ("verdicts_sent", "alerts_raised", "lists_reloaded"):
        if c.get(k, 0) < 1:
            fails.append("%s: %s = %s" % (name, k, c.get(k)))
    if c.get("verdicts_dropped", 0) or c.get("alerts_dropped", 0):
        fails.append("%s: verdicts_dropped %s alerts_dropped %s" % (
            name, c.get("verdicts_dropped"), c.get("alerts_dropped")))
    return True


def check_alerts(r, expected):
    """The stream holds exactly the expected alerts (repeats after a fault allowed)."""
    got = {}
    for a in cp.alerts_read(r):
        key = (a["pid"], int(a["ts_ms"]), int(a["site"]))
        if key in got and got[key] != a["reasons"]:
            return ["alerts: %s appears with reasons %s and %s" % (key, got[key], a["reasons"])]
        got[key] = a["reasons"]
        if a.get("device") != str(DEV) or "origin_commune" not in a or "scheme" not in a:
            return ["alerts: entry %s lacks device/origin_commune/scheme" % a]
    fails = []
    for k in sorted(set(expected) | set(got)):
        if expected.get(k) != got.get(k):
            fails.append("alerts: %s expected %s, in the stream %s" % (k, expected.get(k),
                                                                       got.get(k)))
    return fails[:10]


if __name__ == "__main__":
    sys.exit(main())
