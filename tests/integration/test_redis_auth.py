#!/usr/bin/python3
"""chotd refuses to start on Redis credentials that can never work (issue 11,
item 10).  Redis runs the shipped configs/redis.conf (ACL users, default
user off).  chotd is started with:

  - chot-ingest and a wrong password         -> exit != 0, "authentication failed"
  - no user / password at all                -> exit != 0, "authentication failed"
  - a user that lacks APPEND                  -> exit != 0, "NOPERM", names append
  - a user with APPEND but not on chot's keys -> exit != 0, "NOPERM"
  - a user that may not append alerts         -> exit != 0, "NOPERM", names XADD
    (DESIGN §9: an ACKed scan's alert must be writable)
  - chot-ingest with its password (control)   -> runs, stores the scenario, exit 0

The start-up probes are data-neutral: afterwards no probe key is left.

Every refusal must name the user and the server (host:port), never the
password, and come within a few seconds (no silent retrying forever).

Usage: test_redis_auth.py CHOTD SRCDIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chotpy as cp      # noqa: E402
import scenario          # noqa: E402


def write_pass(tmp, name, pw):
    path = os.path.join(tmp, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(pw + "\n")
    return path


def main():
    chotd, srcdir = sys.argv[1], sys.argv[2]
    fails = []
    with cp.TempDir() as tmp:
        keys_path = os.path.join(tmp, "keys")
        keys = cp.make_keys(keys_path, seed=10)
        frames, exp, _ = scenario.build(keys, devices=2, batches=3)
        pcap = os.path.join(tmp, "in.pcap")
        cp.write_pcap(pcap, frames)
        redis = cp.Redis(tmp, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
        try:
            redis.cli("ACL", "SETUSER", "chot-noappend", "on", ">noappend-pw", "resetkeys",
                      "%W~s:*", "%W~p:*", "resetchannels", "-@all", "+expireat",
                      "+ping", "+auth", "+hello")
            redis.cli("ACL", "SETUSER", "chot-wrongkeys", "on", ">wrongkeys-pw", "resetkeys",
                      "%W~x:*", "resetchannels", "-@all", "+append", "+expireat", "+set",
                      "+ping", "+auth", "+hello")
            redis.cli("ACL", "SETUSER", "chot-noxadd", "on", ">noxadd-pw", "resetkeys",
                      "%W~s:*", "%W~p:*", "%R~chot:{lists}:*", "resetchannels",
                      "-@all", "+append", "+expireat", "+get", "+hscan", "+ping",
                      "+auth", "+hello")
            server = "127.0.0.1:%d" % redis.port
            cases = [
                ("wrongpass", "chot-ingest", write_pass(tmp, "bad.pass", "not-the-password"),
                 ["authentication failed", "chot-ingest", server]),
                ("nocreds", "", "", ["authentication failed", server]),
                ("noappend", "chot-noappend", write_pass(tmp, "noappend.pass", "noappend-pw"),
                 ["NOPERM", "append", "chot-noappend", server]),
                ("wrongkeys", "chot-wrongkeys", write_pass(tmp, "wk.pass", "wrongkeys-pw"),
                 ["NOPERM", "chot-wrongkeys", server]),
                ("noxadd", "chot-noxadd", write_pass(tmp, "noxadd.pass", "noxadd-pw"),
                 ["NOPERM", "XADD", "chot:{alerts}", "chot-noxadd", server]),
            ]
            for tag, user, pwfile, want in cases:
                sets = {"keys.file": keys_path, "redis.url": "redis://" + server,
                        "ingest.exit_on_idle_ms": 500, "ingest.now_ms": scenario.NOW_MS}
                if user:
                    sets["redis.user"] = user
                if pwfile:
                    sets["redis.password_file"] = pwfile
                args = cp.chotd_args(chotd, "chotau%s%d" % (tag, os.getpid()),
                                     "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                                     os.path.join(srcdir, "configs/chotd.conf"), sets)
                try:
                    rc, _, out, err = cp.run_chotd(args, timeout=20)
                except Exception as e:      # noqa: BLE001 (TimeoutExpired)
                    fails.append("%s: chotd did not refuse to start: %s" % (tag, e))
                    continue
                if rc == 0:
                    fails.append("%s: chotd exited 0; it must refuse to start" % tag)
                for w in want:
                    if w not in err:
                        fails.append("%s: the error does not say %r: %s" % (tag, w,
                                                                           err[-800:]))
                for pw in ["not-the-password", "noappend-pw", "wrongkeys-pw", "noxadd-pw",
                           redis.password]:
                    if pw in err or pw in out:
                        fails.append("%s: a password appears in the output" % tag)
                if not fails:
                    print("ok %s: exit %d: %s" % (tag, rc, [ln for ln in err.splitlines()
                                                           if "redis" in ln.lower()][-1:]))
            # Control: the right credentials work.
            sets = {"keys.file": keys_path, "redis.url": "redis://" + server,
                    "redis.user": "chot-ingest", "redis.password_file":
                    redis.passfiles["ingest"], "ingest.exit_on_idle_ms": 500,
                    "ingest.now_ms": scenario.NOW_MS}
            args = cp.chotd_args(chotd, "chotauok%d" % os.getpid(),
                                 "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null" % pcap,
                                 os.path.join(srcdir, "configs/chotd.conf"), sets)
            rc, c, out, err = cp.run_chotd(args, timeout=60)
            if rc != 0 or c.get("events_stored") != exp["events_stored"]:
                fails.append("control: rc %d, events_stored %s, expected %d: %s" %
                             (rc, c.get("events_stored"), exp["events_stored"], err[-800:]))
            else:
                print("ok control: chot-ingest stores %d events" % c["events_stored"])
            left = redis.cli("--raw", "KEYS", "*chot-start-probe*").split()
            if left:
                fails.append("the start-up probes left keys behind: %r" % left)
        finally:
            redis.stop()
    for f in fails:
        print("FAIL:", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
