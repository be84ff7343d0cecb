"""chotctl's checkpoint lists (DESIGN §5, §9) on a real redis-server (shipped
configs/redis.conf) holding a chot-flood province ingested by a real chotd.

  1. flag SUBJECT (the pid from the keys file's pseudonym key, checked
     against an independent computation) --status f0 --note: the watch entry
     is exactly "f0 <set> <set + 21 d> <note>"; --until sets the end; the
     watchlist shows it (table, JSON, CSV, --keys reveals the identity from
     the vault and audits it); clear removes it (exit 1 the second time).
  2. trace --flag on a sampled F0 of the truth: every F1 of the truth ends on
     the watchlist as f1 and every F2 as f2, never lowering: an F1 already
     f0 stays f0, an F2 already quarantine stays quarantine, an F1 at f2 is
     raised to f1, an expired f0 entry is replaced; a second run changes
     nothing and does not bump the version.
  3. zone set (English, Vietnamese, digits), zone import (all or nothing: a
     bad row is named by its line and nothing changes), zone list --lang vi
     and --csv (which zone import reads back).
  4. vehicle register: the entry under the pid of (GREEN_LANE, normalised
     plate), the plate sealed beside it in chot:{lists}:plates (opened here
     independently), nothing written to the vault (the s: keys); vehicle list --keys
     shows it (audited); with the plate's HSET refused nothing is written
     (one MULTI); revoke removes both (exit 1 the second time).
  5. Every change bumps chot:{lists}:version by exactly 1 and leaves its audit
     record(s), written as chot-operator, before it is applied: with
     CHOT.AUDIT taken away a change is refused (exit 3) and nothing changes.

usage: test_lists.py CHOTCTL CHOTD CHOT_FLOOD SRCDIR
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import chotpy as cp  # noqa: E402
import test_trace_truth as tt  # noqa: E402

DAY = 86400000
PLATES = "chot:{lists}:plates"
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)
    return cond


class State:
    def __init__(self, redis):
        self.r = cp.Resp(redis.port, redis.user, redis.password)

    def version(self):
        v = self.r.call("GET", cp.LISTS_VERSION)
        return int(v) if v else 0

    def watch(self):
        raw = self.r.call("HGETALL", cp.LISTS_WATCH)
        return {raw[i].decode(): cp.watch_decode(raw[i + 1]) for i in range(0, len(raw), 2)}

    def hash(self, key):
        raw = self.r.call("HGETALL", key)
        return {raw[i].decode(): raw[i + 1].decode() for i in range(0, len(raw), 2)}

    def audit(self):
        out = []
        for _id, f in self.r.call("XRANGE", "chot:audit", "-", "+"):
            out.append({f[i].decode(): f[i + 1].decode() for i in range(0, len(f), 2)})
        return out


def changed(st, op, args, want_rc=0, bump=1, what=None):
    """Run one chotctl change; check exit code and the version bump."""
    v0, a0 = st.version(), len(st.audit())
    r = op.run(*args)
    what = what or " ".join(args)
    check(r.returncode == want_rc, "%s: exit %d (expected %d): %s" % (
        what, r.returncode, want_rc, r.stderr.strip()))
    check(st.version() == v0 + bump, "%s: version %d -> %d (expected +%d)" % (
        what, v0, st.version(), bump))
    return r, st.audit()[a0:]


def part_flag(st, op, keys_path, k):
    subject = "079201001234"
    pid = cp.pid_hex(k["pseudonym"], cp.CCCD, subject)
    t0 = int(time.time() * 1000)
    r, recs = changed(st, op, ["--keys", keys_path, "flag", subject, "--status", "f0",
                               "--note", "ca bệnh, Phường 5"])
    t1 = int(time.time() * 1000)
    w = st.watch().get(pid)
    check(w is not None and w[0] == "f0" and t0 - 1000 <= w[1] <= t1 and w[2] == w[1] + 21 * DAY
          and w[3] == "ca bệnh, Phường 5", "flag f0: entry %r for pid %s" % (w, pid))
    check([x["cmd"] for x in recs] == ["flag"] and recs[0]["pid"] == pid
          and "status=f0" in recs[0]["detail"] and recs[0]["operator"] == "chot-operator",
          "flag: one audit record naming the pid and status, as the operator: %r" % recs)
    until = t1 + DAY
    changed(st, op, ["--keys", keys_path, "flag", subject, "--status", "quarantine", "--until",
                     str(until)])
    w = st.watch().get(pid)
    check(w is not None and w[0] == "quarantine" and w[2] == until and w[3] == "",
          "flag quarantine --until: %r" % (w,))
    # The watchlist, three ways, and the reveal.
    cp.put_vault(st.r, k["vault"], pid, cp.CCCD, subject)
    r = op.run("--json", "watchlist")
    wl = json.loads(r.stdout)["watchlist"] if r.returncode == 0 else []
    check(len(wl) == 1 and wl[0] == {"pid": pid, "status": "quarantine", "set_ms": w[1],
                                     "until_ms": until, "active": True, "note": ""},
          "watchlist --json: %r" % r.stdout)
    r = op.run("watchlist")
    check(r.returncode == 0 and pid in r.stdout and "quarantine" in r.stdout
          and r.stdout.rstrip().endswith("(1)"), "watchlist table: %r" % r.stdout)
    r = op.run("--csv", "watchlist")
    check(r.stdout.splitlines()[0] == "pid,status,set_ms,until_ms,active,note",
          "watchlist --csv header: %r" % r.stdout[:80])
    a0 = len(st.audit())
    r = op.run("--keys", keys_path, "--json", "watchlist")
    recs = st.audit()[a0:]
    check(r.returncode == 0 and json.loads(r.stdout)["watchlist"][0].get("id") == subject,
          "watchlist --keys reveals the identity: %r" % r.stdout)
    check(any(x["cmd"] == "reveal" and x["pid"] == pid for x in recs),
          "watchlist --keys: the reveal is audited: %r" % recs)
    # Refusals: usage errors change nothing.
    for args, msg in ((["flag", "--pid", pid, "--status", "f3"], "'f3' is not"),
                      (["flag", "--pid", pid], "--status is required"),
                      (["flag", "--pid", pid, "--status", "f1", "--until", "1000"],
                       "not in the future"),
                      (["flag", "--pid", pid, "--status", "clear", "--note", "x"], "clear takes"),
                      (["flag", "--pid", pid, "--status", "f1", "--note", "a\x1b[2Jb"],
                       "--note")):
        changed(st, op, args, want_rc=2, bump=0)
        r = op.run(*args)
        check(msg in r.stderr and r.stderr.count("\n") == 1, "%s: %r" % (args, r.stderr))
    # clear
    r, recs = changed(st, op, ["flag", "--pid", pid, "--status", "clear"])
    check(pid not in st.watch() and "cleared" in r.stdout, "clear: still there")
    check(recs and recs[0]["cmd"] == "flag" and "status=clear" in recs[0]["detail"],
          "clear audited: %r" % recs)
    changed(st, op, ["flag", "--pid", pid, "--status", "clear"], want_rc=1)
    r = op.run("watchlist")
    check(r.returncode == 1, "an empty watchlist is exit 1, got %d" % r.returncode)


def part_trace_flag(st, op, truth):
    f0 = next((f for f in truth["f0"] if len(f["traces"][0]["f1"]) >= 3
               and len(f["traces"][0]["f2"]) >= 1), None)
    if not check(f0 is not None, "the truth has no F0 with 3 F1s and an F2"):
        return
    tr = f0["traces"][0]
    f1, f2 = sorted(tr["f1"]), sorted(tr["f2"])
    now = int(time.time() * 1000)
    pre = {f1[0]: "f0 %d %d" % (now, now + DAY), f1[1]: "f2 %d %d" % (now, now + DAY),
           f1[2]: "f0 1000 2000", f2[0]: "quarantine %d %d note" % (now, now + DAY)}
    for p, v in pre.items():
        st.r.call("HSET", cp.LISTS_WATCH, p, v)
    args = ["--json", "trace", "--pid", f0["pid"], "--until", str(f0["until_ms"]), "--days",
            str(f0["days"]), "--window", tt.duration(tr["window_ms"]), "--min-overlap",
            tt.duration(tr["min_overlap_ms"]), "--depth", "2", "--flag"]
    r, recs = changed(st, op, args, what="trace --flag")
    w = st.watch()
    want = {p: "f1" for p in f1}
    want.update({p: "f2" for p in f2})
    want[f1[0]] = "f0"
    want[f2[0]] = "quarantine"
    got = {p: e[0] for p, e in w.items()}
    check(got == want, "trace --flag: %d entries differ from the truth's F1/F2 (%d, %d): %r" % (
        sum(1 for p in set(got) | set(want) if got.get(p) != want.get(p)), len(f1), len(f2),
        {p: (got.get(p), want.get(p)) for p in set(got) | set(want)
         if got.get(p) != want.get(p)}))
    check(w.get(f1[2], ("", 0, 0))[2] > now, "an expired f0 is replaced by an active f1")
    changed_pids = sorted(x["pid"] for x in recs if x["cmd"] == "flag")
    check(changed_pids == sorted(set(f1 + f2) - {f1[0], f2[0]}),
          "trace --flag: one audit record per entry changed (%d), got %d" % (
              len(f1) + len(f2) - 2, len(changed_pids)))
    check(any(x["cmd"] == "trace" and "flag=1" in x["detail"] for x in recs),
          "trace --flag: the trace's own record says flag=1")
    check("2 kept" in r.stderr and "1 raised" in r.stderr, "summary: %r" % r.stderr)
    try:
        out = json.loads(r.stdout)
        check(set(c["pid"] for c in out["contacts"]) == set(f1 + f2),
              "trace --flag still prints the trace")
    except ValueError:
        fails.append("trace --flag: stdout is not JSON")
    # Again: nothing to change, no transaction, no bump.
    r, recs = changed(st, op, args, bump=0, what="trace --flag again")
    check(st.watch() == w, "a second trace --flag changed the watchlist")
    check("0 added, 0 raised" in r.stderr, "second run summary: %r" % r.stderr)
    # depth 1 flags F1s only
    st.r.call("DEL", cp.LISTS_WATCH)
    changed(st, op, args[:-2] + ["1", "--flag"], what="trace --depth 1 --flag")
    check({p: e[0] for p, e in st.watch().items()} == {p: "f1" for p in f1},
          "trace --depth 1 --flag: exactly the F1s as f1")
    st.r.call("DEL", cp.LISTS_WATCH)
    print("trace --flag: %d F1, %d F2 flagged, never lowered" % (len(f1), len(f2)))


def part_zones(st, op, tmp):
    for c, lvl, want in (("16005", "red", "4"), ("16006", "vàng", "2"), ("16007", "cam", "3"),
                         ("16008", "1", "1"), ("16005", "ĐỎ".lower(), "4")):
        changed(st, op, ["zone", "set", c, lvl])
        check(st.hash(cp.LISTS_ZONES).get(c) == want, "zone set %s %s" % (c, lvl))
    changed(st, op, ["zone", "set", "0", "red"], want_rc=2, bump=0)
    changed(st, op, ["zone", "set", "5", "purple"], want_rc=2, bump=0)
    good = os.path.join(tmp, "zones.csv")
    with open(good, "w") as f:
        f.write("commune,level\n20001,orange\n20002,xanh\n16005,yellow\n")
    r, recs = changed(st, op, ["zone", "import", good])
    z = st.hash(cp.LISTS_ZONES)
    check(z.get("20001") == "3" and z.get("20002") == "1" and z.get("16005") == "2"
          and z.get("16006") == "2", "zone import: %r" % z)
    check([x["cmd"] for x in recs] == ["zone-import"] and "rows=3" in recs[0]["detail"],
          "zone import: one audit record: %r" % recs)
    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("commune,level\n30001,red\n30002,crimson\n")
    r, _ = changed(st, op, ["zone", "import", bad], want_rc=2, bump=0)
    check("line 3" in r.stderr and st.hash(cp.LISTS_ZONES) == z,
          "a bad import names line 3 and changes nothing: %r" % r.stderr)
    r = op.run("--lang", "vi", "zone", "list")
    check(r.returncode == 0 and "vàng" in r.stdout and "đỏ" not in r.stdout and "cam" in r.stdout
          and "Cấp độ" in r.stdout, "zone list --lang vi: %r" % r.stdout)
    r = op.run("--json", "zone", "list")
    check(json.loads(r.stdout)["zones"][0] == {"commune": 16005, "level": 2, "name": "yellow"},
          "zone list --json: %r" % r.stdout[:200])
    r = op.run("--csv", "zone", "list")
    back = os.path.join(tmp, "back.csv")
    with open(back, "w") as f:
        f.write(r.stdout)
    changed(st, op, ["zone", "import", back])
    check(st.hash(cp.LISTS_ZONES) == z, "zone list --csv reads back through zone import")


def operator_selectors(srcdir):
    """chot-operator's selectors, "(...)" each, as configs/redis.conf ships them."""
    with open(os.path.join(srcdir, "configs/redis.conf")) as f:
        line = next(x for x in f if x.startswith("user chot-operator "))
    return re.findall(r"\([^)]*\)", line)


def part_vehicle(st, op, keys_path, k, redis, srcdir):
    pid = cp.pid_hex(k["pseudonym"], cp.GREEN_LANE, "51C12345")
    r, recs = changed(st, op, ["--keys", keys_path, "vehicle", "register", "51c-123.45",
                               "--route", "3,4", "--from", "1700000000000", "--to",
                               "2700000000000", "--passengers", "2"])
    check(st.hash(cp.LISTS_GREENLANE).get(pid) == "1700000000000 2700000000000 2 3,4",
          "vehicle register: %r" % st.hash(cp.LISTS_GREENLANE))
    sealed = st.r.call("HGET", PLATES, pid)
    try:
        check(cp.vault_open(k["vault"], pid, sealed) == (cp.GREEN_LANE, "51C12345"),
              "the plate sealed in %s" % PLATES)
    except Exception as e:  # noqa: BLE001
        fails.append("the sealed plate in %s does not open: %r" % (PLATES, e))
    # Week keys are binary (proto/layout.h): a raw pid in a MATCH glob could
    # hold * ? [ ] \, so every s: key is decoded instead.
    check(all(cp.parse_subject_key(x)[0] != pid for x in st.r.scan("s:*")),
          "vehicle register wrote the vault (a week key s:{%s}): the operator must not" % pid)
    plates = sorted(x.decode() for x in st.r.call("HKEYS", PLATES))
    check(plates == sorted(st.hash(cp.LISTS_GREENLANE)),
          "one sealed plate per green-lane entry: %r" % plates)
    check(recs and recs[0]["cmd"] == "vehicle-register" and recs[0]["pid"] == pid,
          "vehicle register audited: %r" % recs)
    r = op.run("--keys", keys_path, "--json", "vehicle", "list")
    v = json.loads(r.stdout)["vehicles"] if r.returncode == 0 else []
    check(v == [{"pid": pid, "plate": "51C12345", "from_ms": 1700000000000,
                 "to_ms": 2700000000000, "passengers": 2, "route": [3, 4]}],
          "vehicle list --keys: %r" % r.stdout)
    check(any(x["cmd"] == "reveal" and x["pid"] == pid for x in st.audit()[-2:]),
          "vehicle list --keys: the reveal is audited")
    # The entry and its plate go in one MULTI: with the plate's HSET refused,
    # nothing is written (no entry whose plate cannot be revealed).
    shipped = operator_selectors(srcdir)
    redis.cli("ACL", "SETUSER", "chot-operator", "clearselectors",
              *[x.replace(" ~" + PLATES, "") for x in shipped])
    try:
        changed(st, op, ["--keys", keys_path, "vehicle", "register", "29A99999", "--route", "3",
                         "--from", "1", "--to", "2"], want_rc=3, bump=0,
                what="vehicle register without HSET on %s" % PLATES)
        check(cp.pid_hex(k["pseudonym"], cp.GREEN_LANE, "29A99999")
              not in st.hash(cp.LISTS_GREENLANE), "the entry was written without its plate")
    finally:
        redis.cli("ACL", "SETUSER", "chot-operator", "clearselectors", *shipped)
    changed(st, op, ["vehicle", "register", "X1", "--route", "3,3", "--from", "1", "--to", "2"],
            want_rc=2, bump=0)
    changed(st, op, ["--keys", keys_path, "vehicle", "register", "#!", "--route", "3",
                     "--from", "1", "--to", "2"], want_rc=2, bump=0)
    changed(st, op, ["--keys", keys_path, "vehicle", "revoke", "51C 12345"])
    check(pid not in st.hash(cp.LISTS_GREENLANE), "vehicle revoke")
    check(st.r.call("HEXISTS", PLATES, pid) == 0, "vehicle revoke removes the sealed plate too")
    changed(st, op, ["--keys", keys_path, "vehicle", "revoke", "51C12345"], want_rc=1)


def part_audit_first(st, op, redis):
    redis.cli("ACL", "SETUSER", "chot-operator", "-chot.audit")
    try:
        for args in (["flag", "--pid", "00" * 16, "--status", "f1"], ["zone", "set", "7", "red"]):
            before = (st.hash(cp.LISTS_WATCH), st.hash(cp.LISTS_ZONES))
            r, _ = changed(st, op, args, want_rc=3, bump=0, what="%s without CHOT.AUDIT" % args)
            check((st.hash(cp.LISTS_WATCH), st.hash(cp.LISTS_ZONES)) == before,
                  "%s applied although its audit record was refused" % args)
            check("audit" in r.stderr, "the refusal says why: %r" % r.stderr)
    finally:
        redis.cli("ACL", "SETUSER", "chot-operator", "+chot.audit")


def main():
    if len(sys.argv) < 5:
        print(__doc__)
        return 2
    chotctl, chotd, flood, srcdir = sys.argv[1:5]
    with cp.TempDir() as tmp:
        keys_path, pcap, sites, truth = tt.gen(flood, tmp, True)
        k = cp.load_keys(keys_path)
        redis, c = tt.ingest(chotd, srcdir, tmp, keys_path, pcap, 1, "0", "l")
        try:
            check(c.get("events_stored") == truth["counters"]["events_stored"],
                  "chotd stored %s events, truth %d" % (c.get("events_stored"),
                                                        truth["counters"]["events_stored"]))
            admin = tt.Ctl(chotctl, redis, "admin")
            check(admin.run("sites", "import", sites).returncode == 0, "sites import")
            op = tt.Ctl(chotctl, redis, "operator")
            st = State(redis)
            part_flag(st, op, keys_path, k)
            part_trace_flag(st, op, truth)
            part_zones(st, op, tmp)
            part_vehicle(st, op, keys_path, k, redis, srcdir)
            part_audit_first(st, op, redis)
        finally:
            redis.stop()
    for f in fails:
        print("FAIL:", f)
    if not fails:
        print("ok: flag/watchlist/clear, trace --flag == truth never lowering, zones, vehicles; "
              "each change audited first and bumps the version once")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
