"""chotctl's commands end to end, against a real redis-server (shipped
configs/redis.conf, ACL users) filled by a real chotd from a small
`chot-flood gen` province:

  - exit codes and one-line errors (DESIGN §5): unreachable Redis (3), bad
    credentials (3), malformed subject (2), unknown scheme (2), unknown
    option (2), no data (1), no telemetry socket (3);
  - keys init: mode 0600, refuses to overwrite (exit 2, file unchanged);
  - sites import: a bad row names its line and nothing is written; a good
    file lands in chot:{lists}:sites; the read-only operator cannot import; list;
  - visits SUBJECT (pseudonymised with the keys file) and site SITE --from
    --to return exactly the truth's stored scans;
  - trace with an explicit --keys reveals raw ids from the vault (they equal
    the truth's ids) and every lookup and reveal is audited;
  - stats --json over the telemetry socket of a live chotd: once the pcap is
    consumed its counters equal the truth's and both identities hold;
    --csv stats prints CSV;
  - strict arguments (issue 11): loose numbers, times and durations, a
    SITE_ID over 32 bits and extra arguments are exit 2 with a one-line
    error naming the argument, and audit nothing; --help lists every command
    of the table and the not-implemented ones answer so; keys init into a
    missing directory is exit 2; bad sites files (duplicate ids, 33-bit ids,
    bad communes, long lines, ANSI escapes) import nothing; a BOM is fine.

usage: test_cli.py CHOTCTL CHOTD CHOT_FLOOD SRCDIR
"""
import json
import os
import re
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import chotpy as cp  # noqa: E402
import test_trace_truth as tt  # noqa: E402

DIRS = {1: "IN", 2: "OUT", 3: "PASS"}


def one_line_error(r):
    e = r.stderr.strip()
    return e != "" and "\n" not in e and r.stdout.strip() == ""


def live_stats(chotctl, chotd, srcdir, tmp, keys, pcap, truth, fails):
    """chotd stays up (long idle exit) while chotctl reads its counters."""
    prefix = "chotcs%d" % os.getpid()
    sets = {"keys.file": keys, "redis.url": "null://", "ingest.exit_on_idle_ms": 8000,
            "dedupe.capacity": 65536, "ingest.max_devices": 4096}
    args = cp.chotd_args(chotd, prefix, "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                         os.path.join(srcdir, "configs/chotd.conf"), sets, "0")
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    want = truth["counters"]
    last = None
    try:
        end = time.time() + 30
        while time.time() < end and p.poll() is None:
            r = subprocess.run([chotctl, "--json", "stats", "--prefix", prefix],
                               capture_output=True, text=True, timeout=10)
            if r.returncode == 0:
                last = json.loads(r.stdout)
                last = last.get("stats", last)
                if last.get("rx_packets") == want["rx_packets"] and \
                        last.get("events_pending") == 0:
                    break
            time.sleep(0.2)
        if last is None:
            fails.append("stats: never read chotd's counters over telemetry")
            return
        for k in ("rx_packets", "batches_accepted", "events_decoded", "bad_events",
                  "dup_scans", "events_stored"):
            if last.get(k) != want.get(k):
                fails.append("stats: %s = %s, truth %s" % (k, last.get(k), want.get(k)))
        try:
            cp.check_identities(last)
        except (AssertionError, KeyError) as e:
            fails.append("stats: %s" % e)
        r = subprocess.run([chotctl, "stats", "--prefix", prefix], capture_output=True,
                           text=True, timeout=10)
        if r.returncode != 0 or "rx_packets" not in r.stdout:
            fails.append("stats table: exit %d %r" % (r.returncode, r.stderr))
        r = subprocess.run([chotctl, "--csv", "stats", "--prefix", prefix],
                           capture_output=True, text=True, timeout=10)
        rows = [ln.split(",") for ln in r.stdout.splitlines()]
        if r.returncode != 0 or not rows or rows[0] != ["counter", "value"] or \
                any(len(x) != 2 or not x[1].isdigit() for x in rows[1:]) or \
                ["rx_packets", str(last.get("rx_packets"))] not in rows:
            fails.append("--csv stats: expected a counter,value header and rows, got exit %d "
                         "%r" % (r.returncode, r.stdout[:200]))
    finally:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        cp.cleanup_prefix(prefix)


def main():
    if len(sys.argv) < 5:
        print(__doc__)
        return 2
    chotctl, chotd, flood, srcdir = sys.argv[1:5]
    fails = []

    def expect(cond, msg):
        if not cond:
            fails.append(msg)

    with cp.TempDir() as tmp:
        keys, pcap, sites, truth = tt.gen(flood, tmp, True)
        redis, c = tt.ingest(chotd, srcdir, tmp, keys, pcap, 1, "0", "cli")
        try:
            url = "redis://127.0.0.1:%d" % redis.port
            op = tt.Ctl(chotctl, redis, "operator")
            admin = tt.Ctl(chotctl, redis, "admin")

            # ---- errors and exit codes
            port = cp.free_port()
            r = subprocess.run([chotctl, "-r", "redis://127.0.0.1:%d" % port, "--json", "trace",
                                "--pid", "00" * 16], capture_output=True, text=True, timeout=30)
            expect(r.returncode == 3 and one_line_error(r),
                   "unreachable Redis: expected exit 3 + one line, got %d %r" % (r.returncode,
                                                                                r.stderr))
            bad = os.path.join(tmp, "bad.pass")
            with open(bad, "w") as f:
                f.write("wrong\n")
            os.chmod(bad, 0o600)
            r = subprocess.run([chotctl, "-r", url, "--user", "chot-operator", "--password-file",
                                bad, "--json", "trace", "--pid", "00" * 16],
                               capture_output=True, text=True, timeout=30)
            expect(r.returncode == 3 and one_line_error(r),
                   "bad credentials: expected exit 3 + one line, got %d %r" % (r.returncode,
                                                                              r.stderr))
            # ---- issue 11 item 13: no or empty password against a server that wants
            # one says so; a server without ACLs works without one; redis://[::1]:P
            env = {k: v for k, v in os.environ.items() if k != "CHOT_PASSWORD_FILE"}
            empty = os.path.join(tmp, "empty.pass")
            with open(empty, "w"):
                pass
            os.chmod(empty, 0o600)
            for extra, what in (([], "no password file"), (["--password-file", empty],
                                                            "an empty password file")):
                r = subprocess.run([chotctl, "-r", url, "--user", "chot-operator"] + extra +
                                   ["--json", "trace", "--pid", "00" * 16], env=env,
                                   capture_output=True, text=True, timeout=30)
                expect(r.returncode == 3 and "requires authentication" in r.stderr and
                       one_line_error(r), "%s: expected exit 3 'requires authentication', "
                       "got %d %r" % (what, r.returncode, r.stderr))
            has6 = subprocess.run(["ip", "-6", "addr", "show", "lo"], capture_output=True,
                                  text=True).stdout.find("::1") >= 0
            opendir = os.path.join(tmp, "redis-open")
            os.mkdir(opendir)
            bind = ["--bind", "127.0.0.1", "::1"] if has6 else []
            open_redis = cp.Redis(opendir, extra_args=["--loadmodule", cp.audit_module()] + bind)
            try:
                urls = ["redis://127.0.0.1:%d" % open_redis.port]
                if has6:
                    urls.append("redis://[::1]:%d" % open_redis.port)
                else:
                    print("note: no ::1 on lo, redis://[::1]:P not checked")
                for u in urls:
                    r = subprocess.run([chotctl, "-r", u, "--json", "trace", "--pid", "00" * 16],
                                       env=env, capture_output=True, text=True, timeout=30)
                    expect(r.returncode == 1, "%s without ACLs and no password: expected exit "
                           "1 (not found), got %d %r" % (u, r.returncode, r.stderr))
                for u in ("redis://[::1", "redis://127.0.0.1:0", "redis://127.0.0.1:65536",
                          "redis://127.0.0.1:12x"):
                    r = subprocess.run([chotctl, "-r", u, "--json", "trace", "--pid", "00" * 16],
                                       env=env, capture_output=True, text=True, timeout=30)
                    expect(r.returncode == 3 and "bad Redis URL" in r.stderr,
                           "%s: expected exit 3 'bad Redis URL', got %d %r" % (
                               u, r.returncode, r.stderr))
            finally:
                open_redis.stop()
            for args, what in ((["trace", "12345"], "malformed CCCD"),
                               (["trace", "--scheme", "martian", "123456789012"], "unknown scheme"),
                               (["trace", "--bogus"], "unknown option"),
                               (["trace", "--pid", "xyz"], "malformed pid"),
                               (["trace", "--pid", "00" * 16, "--depth", "3"], "depth 3"),
                               (["trace", "--pid", "00" * 16, "--window", "soon"], "bad window"),
                               (["frobnicate"], "unknown command")):
                r = op.run("--keys", keys, *args)
                expect(r.returncode == 2 and one_line_error(r) or
                       (r.returncode == 2 and r.stderr.strip() != "" and r.stdout == ""),
                       "%s: expected exit 2 with an error, got %d %r" % (what, r.returncode,
                                                                       r.stderr))
            r = op.run("--json", "trace", "--pid", "00" * 16)
            expect(r.returncode == 1, "unknown pid: expected exit 1 (not found), got %d %r" % (
                r.returncode, r.stderr))
            r = op.run("stats", "--prefix", "nosuchprefix%d" % os.getpid())
            expect(r.returncode == 3 and r.stderr.strip() != "",
                   "stats without chotd: expected exit 3, got %d" % r.returncode)

            # ---- strict arguments (issue 11 item 5): exit 2, one line naming the argument,
            # nothing audited
            pid0 = ["--pid", "00" * 16]
            site_tt = ["--from", "1627812000000", "--to", "1627815600000"]
            kx = os.path.join(tmp, "keys-extra")
            audit0 = tt.audit_len(redis)
            for args, name in (
                    (["trace"] + pid0 + ["--window", "inf"], "--window"),
                    (["trace"] + pid0 + ["--window", "nan"], "--window"),
                    (["trace"] + pid0 + ["--window", "0x1p70"], "--window"),
                    (["trace"] + pid0 + ["--window", "99999999999999999999d"], "--window"),
                    (["trace"] + pid0 + ["--min-overlap", "inf"], "--min-overlap"),
                    (["trace"] + pid0 + ["--days", "14x"], "--days"),
                    (["trace"] + pid0 + ["--days", "1e3"], "--days"),
                    (["trace"] + pid0 + ["--days", "7.9"], "--days"),
                    (["visits"] + pid0 + ["--days", "14x"], "--days"),
                    (["visits"] + pid0 + ["--days", "7.9"], "--days"),
                    (["trace"] + pid0 + ["--until", "-5"], "--until"),
                    (["visits"] + pid0 + ["--until", "-5"], "--until"),
                    (["trace"] + pid0 + ["--until", "2021-02-30"], "--until"),
                    (["visits"] + pid0 + ["--until", "2021-08-01T10:00:00+99:00"], "--until"),
                    (["trace"] + pid0 + ["--depth", "2x"], "--depth"),
                    (["trace"] + pid0 + ["--limit", "5x"], "--limit"),
                    (["trace"] + pid0 + ["--limit", "-1"], "--limit"),
                    (["site", "1", "--from", "2021-02-30", "--to", "1627815600000"], "--from"),
                    (["site", "1", "--from", "1627812000000", "--to",
                      "2021-08-01T11:00:00+99:00"], "--to"),
                    (["site", "4294967300"] + site_tt, "4294967300"),
                    (["site", "0"] + site_tt, "SITE_ID"),
                    (["site", "-1"] + site_tt, "-1"),          # getopt: an option
                    (["site", "17x"] + site_tt, "SITE_ID"),
                    (["trace"] + pid0 + ["extra"], "extra"),
                    (["trace", "123456789012", "extra"], "extra"),
                    (["visits"] + pid0 + ["extra"], "extra"),
                    (["site", "1"] + site_tt + ["extra"], "extra"),
                    (["stats", "extra"], "extra"),
                    (["sites", "list", "extra"], "extra"),
                    (["sites", "import", sites, "extra"], "extra"),
                    (["sites", "frobnicate"], "frobnicate"),
                    (["keys", "init", kx, "extra"], "extra")):
                r = op.run("--keys", keys, *args)
                expect(r.returncode == 2 and one_line_error(r) and name in r.stderr,
                       "%s: expected exit 2 and one line naming %r, got %d %r %r" % (
                           " ".join(args), name, r.returncode, r.stderr, r.stdout[:80]))
            expect(tt.audit_len(redis) == audit0,
                   "rejected arguments must audit nothing (%d records written)" % (
                       tt.audit_len(redis) - audit0))
            expect(not os.path.exists(kx), "keys init with an extra argument created the file")
            expect(redis.cli("HLEN", "chot:{lists}:sites").strip() == "0",
                   "sites import with an extra argument must write nothing")

            # ---- the command table: one --help lists it all; placeholders answer
            r = subprocess.run([chotctl, "--help"], capture_output=True, text=True, timeout=30)
            for cmd in ("trace", "visits", "site", "stats", "sites import", "sites list",
                        "keys init", "flag", "watchlist", "alerts", "zone", "vehicle"):
                expect(r.returncode == 0 and re.search(r"(?m)^  %s\b" % cmd, r.stdout),
                       "chotctl --help must list %r (exit %d)" % (cmd, r.returncode))
            # The §9 commands are built: a bad argument is a one-line usage error.
            for cmd in ("flag", "watchlist", "alerts", "zone", "vehicle"):
                r = op.run(cmd, "x")
                expect(r.returncode == 2 and one_line_error(r) and
                       "not implemented" not in r.stderr,
                       "%s x: expected a one-line usage error (exit 2), got %d %r" % (
                           cmd, r.returncode, r.stderr))
            for args in (["trace", "--help"], ["site", "--help"], ["sites", "import", "--help"],
                         ["sites", "--help"], ["keys", "init", "--help"], ["stats", "--help"],
                         ["flag", "--help"], ["watchlist", "--help"], ["alerts", "--help"],
                         ["zone", "--help"], ["vehicle", "--help"],
                         ["vehicle", "register", "--help"]):
                r = op.run(*args)
                expect(r.returncode == 0 and "usage" in r.stdout,
                       "%s: expected exit 0 and a usage, got %d %r" % (" ".join(args),
                                                                      r.returncode, r.stdout))

            # ---- keys init into a missing directory: a usage error, not a backend one
            kf = os.path.join(tmp, "no-such-dir", "keys")
            r = subprocess.run([chotctl, "keys", "init", kf], capture_output=True, text=True,
                               timeout=30)
            expect(r.returncode == 2 and one_line_error(r) and "no-such-dir" in r.stderr,
                   "keys init into a missing directory: expected exit 2 naming it, got %d %r" % (
                       r.returncode, r.stderr))

            # ---- keys init
            kf = os.path.join(tmp, "newkeys")
            r = subprocess.run([chotctl, "keys", "init", kf], capture_output=True, text=True,
                               timeout=30)
            expect(r.returncode == 0 and os.path.exists(kf), "keys init: exit %d %r" % (
                r.returncode, r.stderr))
            if os.path.exists(kf):
                mode = stat.S_IMODE(os.stat(kf).st_mode)
                expect(mode == 0o600, "keys init: mode %o, expected 600" % mode)
                before = open(kf).read()
                expect("pseudonym " in before and "vault " in before and "master 1 " in before,
                       "keys init: file lacks master/pseudonym/vault entries")
                r = subprocess.run([chotctl, "keys", "init", kf], capture_output=True,
                                   text=True, timeout=30)
                expect(r.returncode == 2 and one_line_error(r),
                       "keys init over an existing file: expected exit 2, got %d" % r.returncode)
                expect(open(kf).read() == before, "keys init overwrote an existing file")

            # ---- sites import / list
            badcsv = os.path.join(tmp, "bad.csv")
            with open(badcsv, "w") as f:
                f.write("id,name,kind,commune\n1,Chợ A,market,100\n2,Bến B,spaceport,100\n")
            r = admin.run("sites", "import", badcsv)
            expect(r.returncode == 2 and "line 3" in r.stderr,
                   "bad sites CSV: expected exit 2 naming line 3, got %d %r" % (r.returncode,
                                                                               r.stderr))
            expect(redis.cli("HLEN", "chot:{lists}:sites").strip() == "0",
                   "a bad sites CSV must write nothing")
            hdr = "id,name,kind,commune\n"
            for body, line in (("7,A,market,1\n8,B,venue,1\n7,C,market,1\n", "line 4"),
                               ("4,A,market,1\n4294967300,B,market,1\n", "line 3"),
                               ("1,A,market,x\n", "line 2"),
                               ("1,A,market,100000\n", "line 2"),
                               ("1,A,market\n", "line 2"),
                               ("1,A,market,1" + " " * 1011 + "666,Evil,checkpoint,1\n",
                                "line 2"),
                               ("1,A,market,1\n2,\x1b[31mRed\x1b[0m,market,1\n", "line 3")):
                with open(badcsv, "w") as f:
                    f.write(hdr + body)
                r = admin.run("sites", "import", badcsv)
                expect(r.returncode == 2 and one_line_error(r) and line in r.stderr,
                       "bad sites CSV %r: expected exit 2 naming %s, got %d %r" % (
                           body[:40], line, r.returncode, r.stderr))
                expect(redis.cli("HLEN", "chot:{lists}:sites").strip() == "0",
                       "bad sites CSV %r must write nothing" % body[:40])
            r = op.run("sites", "import", sites)
            expect(r.returncode == 3 and one_line_error(r),
                   "the read-only operator must not import sites: expected exit 3 + one "
                   "line, got %d %r" % (r.returncode, r.stderr))
            r = admin.run("sites", "import", sites)
            n_sites = sum(1 for _ in open(sites)) - 1
            expect(r.returncode == 0, "sites import: exit %d %r" % (r.returncode, r.stderr))
            expect(redis.cli("HLEN", "chot:{lists}:sites").strip() == str(n_sites),
                   "chot:{lists}:sites must hold the %d imported sites" % n_sites)
            bom = os.path.join(tmp, "bom.csv")
            with open(bom, "wb") as f:
                f.write(b"\xef\xbb\xbf" + open(sites, "rb").read().replace(b"\n", b"\r\n"))
            r = admin.run("sites", "import", bom)
            expect(r.returncode == 0 and redis.cli("HLEN", "chot:{lists}:sites").strip() == str(n_sites),
                   "sites import of a BOM + CRLF file: exit %d %r" % (r.returncode, r.stderr))
            r = op.run("sites", "list")
            first = open(sites).readlines()[1].split(",")[0]
            expect(r.returncode == 0 and first in r.stdout, "sites list: exit %d" % r.returncode)

            # ---- visits and site vs the truth's stored scans
            stored = [(p, int(s), int(t), DIRS.get(d, d)) for p, s, t, d in truth["stored"]]
            f0 = truth["f0"][0]
            audit0 = tt.audit_len(redis)
            r = op.run("--keys", keys, "--json", "visits", f0["id"], "--scheme", f0["scheme"],
                       "--until", str(f0["until_ms"]), "--days", str(f0["days"]))
            if r.returncode != 0:
                fails.append("visits %s: exit %d %r" % (f0["id"], r.returncode, r.stderr))
            else:
                got = set((s["site"], s["ts_ms"], s["dir"]) for s in json.loads(r.stdout)["scans"])
                lo = f0["until_ms"] - f0["days"] * 86400000
                want = set((s, t, d) for p, s, t, d in stored
                           if p == f0["pid"] and lo <= t <= f0["until_ms"])
                expect(got == want, "visits: %d scans, truth %d (%d missing, %d extra)" % (
                    len(got), len(want), len(want - got), len(got - want)))
            site = stored[0][1]
            t_from = min(t for p, s, t, d in stored if s == site)
            t_to = t_from + 3 * 3600000
            r = op.run("--json", "site", str(site), "--from", str(t_from), "--to", str(t_to))
            if r.returncode != 0:
                fails.append("site %d: exit %d %r" % (site, r.returncode, r.stderr))
            else:
                got = set((s["pid"], s["ts_ms"], s["dir"]) for s in json.loads(r.stdout)["scans"])
                want = set((p, t, d) for p, s, t, d in stored
                           if s == site and t_from <= t <= t_to)
                expect(got == want, "site: %d scans, truth %d (%d missing, %d extra)" % (
                    len(got), len(want), len(want - got), len(got - want)))
            expect(tt.audit_len(redis) - audit0 >= 2, "visits and site must each be audited")

            # ---- trace with --keys: raw ids from the vault, audited
            ids = {p: i for p, _, i in truth.get("subjects", [])} if truth.get("subjects") and \
                len(truth["subjects"][0]) == 3 else {}
            audit0 = tt.audit_len(redis)
            r = op.run("--keys", keys, "--json", "trace", "--pid", f0["pid"], "--until",
                       str(f0["until_ms"]), "--days", str(f0["days"]), "--depth", "1")
            if r.returncode != 0:
                fails.append("trace --keys: exit %d %r" % (r.returncode, r.stderr))
            else:
                out = json.loads(r.stdout)
                expect(out["subject"].get("id") == f0["id"],
                       "trace --keys: subject.id %r, expected %r" % (out["subject"].get("id"),
                                                                     f0["id"]))
                missing = [x for x in out["contacts"] if not x.get("id")]
                expect(not missing, "trace --keys: %d contacts without a raw id" % len(missing))
                wrong = [x for x in out["contacts"] if ids and ids.get(x["pid"]) not in
                         (None, x.get("id"))]
                expect(not wrong, "trace --keys: %d contacts with a wrong raw id" % len(wrong))
                expect(tt.audit_len(redis) - audit0 >= 2,
                       "trace with reveals: expected the lookup and the reveal audited")

            # ---- trace --format godata (depth 2, --keys): one row per contact of the
            # JSON trace, F1s first, sources F0 / via, identities as revealed
            targs = ["trace", "--pid", f0["pid"], "--until", str(f0["until_ms"]),
                     "--days", str(f0["days"]), "--depth", "2"]
            rj = op.run("--keys", keys, "--json", *targs)
            rg = op.run("--keys", keys, *(targs + ["--format", "godata"]))
            if rj.returncode != 0 or rg.returncode != 0:
                fails.append("trace --format godata: exit %d / %d %r" % (
                    rj.returncode, rg.returncode, rg.stderr))
            else:
                import csv
                import io
                contacts = json.loads(rj.stdout)["contacts"]
                rows = list(csv.DictReader(io.StringIO(rg.stdout, newline="")))
                expect(len(rows) == len(contacts) and contacts,
                       "godata: %d rows for %d contacts" % (len(rows), len(contacts)))
                degrees = [2 if r["riskReason"].startswith("F2") else 1 for r in rows]
                expect(degrees == sorted(degrees), "godata: F1 rows must precede F2 rows")
                byp = {c["pid"]: c for c in contacts}
                bad = [r["visualId"] for r in rows if r["visualId"] not in byp or
                       r["relationship.persons[].id"] != byp[r["visualId"]].get("via", f0["pid"])
                       or r["firstName"] != byp[r["visualId"]].get("id")
                       or r["documents[].number"] != byp[r["visualId"]].get("id")]
                expect(not bad, "godata: %d rows with a wrong source or identity" % len(bad))
            r = op.run("--json", "trace", "--pid", f0["pid"], "--format", "yaml")
            expect(r.returncode == 2 and one_line_error(r),
                   "--format yaml: expected exit 2 + one line, got %d %r" % (r.returncode,
                                                                           r.stderr))
        finally:
            redis.stop()
        live_stats(chotctl, chotd, srcdir, tmp, keys, pcap, truth, fails)
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print("ok: exit codes, keys init, sites import/list, visits/site == truth, reveal "
              "audited, live stats == truth")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
