"""The audit trail is append-only for operators (issue 11, item 1; DESIGN §4).

A real redis-server with the shipped configs/redis.conf (which loads the
chot_audit module) and the real chotctl.  Two personal operators, alice and
bob, are made from the chot-operator template with
tools/chot-operator-add.sh.  As an operator, every way to wipe, trim, jam or
rewrite chot:audit must be refused:

  a. XADD chot:audit MAXLEN 0 * a b (and MINID) - the old wipe;
  b. XADD with an explicit ID, the last possible one - the old jam;
  c. XTRIM, XDEL, DEL, UNLINK, RENAME, EXPIRE, XSETID, COPY/RESTORE/SET over
     it, EVAL/FCALL, FLUSHALL, MODULE UNLOAD, ACL SETUSER ...;
  d. a forged "who": no argument names the operator; `--operator` is gone;
     $USER does not count; an empty or reserved name cannot be created;
  f. CHOT.AUDIT with attacker-chosen MAXLEN / ID / oversize arguments.

After every attempt the stream is unchanged (length, last ID, type, no TTL)
and a lookup (`chotctl visits`, `chotctl trace`) still works and writes
exactly one record whose operator is the authenticated ACL user (e).

Also: without the module a lookup fails with exit 3 and says so; with the
module and no ACL at all (the default user, no --user), a lookup works and
its record says "default".

usage: test_audit.py CHOTCTL SRCDIR
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chotpy as cp  # noqa: E402

AUDIT = "chot:audit"
PID = "00112233445566778899aabbccddeeff"
MAX_ID = "18446744073709551615-18446744073709551615"


class Check:
    def __init__(self):
        self.fails = []
        self.n = 0

    def expect(self, ok, what):
        self.n += 1
        if not ok:
            self.fails.append(what)
            print("FAIL:", what)


def stream_state(admin):
    """(length, last-generated-id, type, ttl) of the audit stream."""
    t = admin.call("TYPE", AUDIT)
    if t != b"stream":
        return (None, None, t, admin.call("TTL", AUDIT))
    info = admin.call("XINFO", "STREAM", AUDIT)
    d = dict(zip(info[0::2], info[1::2]))
    return (d[b"length"], d[b"last-generated-id"], t, admin.call("TTL", AUDIT))


def last_record(admin):
    r = admin.call("XREVRANGE", AUDIT, "+", "-", "COUNT", 1)
    if not r:
        return None, {}
    rid, fields = r[0]
    return rid.decode(), {fields[i].decode(): fields[i + 1].decode()
                          for i in range(0, len(fields), 2)}


class Op:
    """One operator: a raw RESP connection and a chotctl command line."""

    def __init__(self, chotctl, redis, user, passfile):
        self.user = user
        self.pw = open(passfile).read().strip()
        self.passfile = passfile
        self.port = redis.port
        self.base = [chotctl, "-r", "redis://127.0.0.1:%d" % redis.port, "--user", user,
                     "--password-file", passfile]

    def raw(self, *args):
        """Send one command as this user; the error text, or None if it was accepted."""
        r = cp.Resp(self.port, self.user, self.pw)
        try:
            r.call(*args)
            return None
        except RuntimeError as e:
            return str(e)
        finally:
            r.close()

    def ctl(self, *args, env_user="mallory"):
        env = dict(os.environ, USER=env_user, SUDO_USER=env_user)
        return subprocess.run(self.base + list(args), capture_output=True, text=True,
                              timeout=60, env=env)


def lookup_ok(ck, admin, op, what, cmd="visits"):
    """One lookup as op: it must run (exit 0 or 1, not 3) and append exactly
    one record whose operator is op's ACL user and whose ID is server time."""
    before = stream_state(admin)
    args = [cmd, "--pid", PID, "--until", "1700000000000"]
    r = op.ctl(*args)
    ck.expect(r.returncode in (0, 1),
              "%s: %s as %s exit %d (expected 0/1): %s" % (what, cmd, op.user, r.returncode,
                                                           r.stderr.strip()))
    after = stream_state(admin)
    n0 = before[0] or 0
    ck.expect(after[0] == n0 + 1, "%s: %s wrote %s records (expected 1)" % (
        what, cmd, None if after[0] is None else after[0] - n0))
    rid, rec = last_record(admin)
    ck.expect(rec.get("operator") == op.user, "%s: record's operator %r, expected %r" % (
        what, rec.get("operator"), op.user))
    ck.expect(rec.get("cmd") == cmd and rec.get("pid") == PID,
              "%s: record lacks the command or the pid: %r" % (what, rec))
    if rid is not None:
        ms = int(rid.split("-")[0])
        ck.expect(abs(ms - time.time() * 1000) < 120000,
                  "%s: record ID %s is not server time" % (what, rid))


def tamper(ck, admin, op, what, *cmd):
    """cmd as op must be refused and leave the stream as it was; a lookup still works."""
    before = stream_state(admin)
    err = op.raw(*cmd)
    ck.expect(err is not None, "%s: %s as %s was accepted" % (what, " ".join(map(str, cmd))[:80],
                                                              op.user))
    after = stream_state(admin)
    ck.expect(after == before, "%s: the stream changed: %r -> %r" % (what, before, after))
    lookup_ok(ck, admin, op, "after " + what)


def add_operator(srcdir, redis, name, passfile):
    env = dict(os.environ, CHOT_REDIS_PORT=str(redis.port),
               CHOT_ADMIN_PASSFILE=redis.passfiles["admin"])
    return subprocess.run(["bash", os.path.join(srcdir, "tools/chot-operator-add.sh"), name,
                           passfile], capture_output=True, text=True, timeout=60, env=env)


def shipped(ck, chotctl, srcdir, tmp):
    rdir = os.path.join(tmp, "shipped")
    os.mkdir(rdir)
    redis = cp.Redis(rdir, shipped_conf=os.path.join(srcdir, "configs/redis.conf"))
    try:
        admin = cp.Resp(redis.port, redis.user, redis.password)
        ops = [Op(chotctl, redis, "chot-operator", redis.passfiles["operator"])]
        for name in ("alice", "bob"):
            pf = os.path.join(rdir, name + ".pass")
            r = add_operator(srcdir, redis, name, pf)
            ck.expect(r.returncode == 0, "chot-operator-add.sh %s: exit %d %s" % (
                name, r.returncode, r.stderr.strip()))
            if r.returncode == 0:
                ops.append(Op(chotctl, redis, name, pf))
        for bad in ("", "default", "chot-admin", "a b", "x" * 65):
            r = add_operator(srcdir, redis, bad, os.path.join(rdir, "bad.pass"))
            ck.expect(r.returncode == 2 and r.stderr.strip(),
                      "chot-operator-add.sh %r: expected exit 2 and a message, got %d" % (
                          bad, r.returncode))
        # (e) Lookups by every operator, each one record with its own name.
        for op in ops:
            lookup_ok(ck, admin, op, "first lookup")
            lookup_ok(ck, admin, op, "first trace", cmd="trace")
        # The attacker is alice (the shared template user if alice failed).
        op = next((o for o in ops if o.user == "alice"), ops[0])
        first_id = last_record(admin)[0] or "0-1"
        # (a) the wipe, (b) the jam.
        tamper(ck, admin, op, "a: XADD MAXLEN 0", "XADD", AUDIT, "MAXLEN", "0", "*", "a", "b")
        tamper(ck, admin, op, "a: XADD MINID", "XADD", AUDIT, "MINID", "99999999999999", "*",
               "a", "b")
        tamper(ck, admin, op, "b: XADD max ID", "XADD", AUDIT, MAX_ID, "a", "b")
        tamper(ck, admin, op, "b: XADD plain", "XADD", AUDIT, "*", "operator", "alice")
        # (c) every other way to rewrite the key.
        for what, cmd in (
                ("XTRIM", ["XTRIM", AUDIT, "MAXLEN", "0"]),
                ("XDEL", ["XDEL", AUDIT, first_id]),
                ("XSETID", ["XSETID", AUDIT, MAX_ID]),
                ("DEL", ["DEL", AUDIT]),
                ("UNLINK", ["UNLINK", AUDIT]),
                ("RENAME", ["RENAME", AUDIT, "chot:x"]),
                ("RENAMENX", ["RENAMENX", AUDIT, "chot:x"]),
                ("EXPIRE", ["EXPIRE", AUDIT, "1"]),
                ("PEXPIREAT", ["PEXPIREAT", AUDIT, "1"]),
                ("SET over it", ["SET", AUDIT, "x"]),
                ("COPY over it", ["COPY", "chot:{lists}:sites", AUDIT, "REPLACE"]),
                ("RESTORE over it", ["RESTORE", AUDIT, "0", "x", "REPLACE"]),
                ("SORT STORE over it", ["SORT", "chot:{lists}:sites", "STORE", AUDIT]),
                ("MOVE", ["MOVE", AUDIT, "1"]),
                ("XGROUP", ["XGROUP", "CREATE", AUDIT, "g", "$"]),
                ("EVAL DEL", ["EVAL", "return redis.call('DEL', KEYS[1])", "1", AUDIT]),
                ("FUNCTION LOAD", ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function("
                                   "'x', function(k) return redis.call('DEL', k[1]) end)"]),
                ("FLUSHDB", ["FLUSHDB"]),
                ("FLUSHALL", ["FLUSHALL"]),
                ("SWAPDB", ["SWAPDB", "0", "1"]),
                ("MODULE UNLOAD", ["MODULE", "UNLOAD", "chot_audit"]),
                ("CONFIG SET", ["CONFIG", "SET", "maxmemory", "1"]),
                ("ACL SETUSER", ["ACL", "SETUSER", op.user, "+@all", "~*"])):
            tamper(ck, admin, op, "c: " + what, *cmd)
        # MULTI is the operator's since the checkpoint lists (DESIGN §9: a list
        # change and its version bump are one transaction), but a transaction
        # grants nothing: a refused command inside it aborts the EXEC.
        before = stream_state(admin)
        r = cp.Resp(redis.port, op.user, op.pw)
        errs = []
        for cmd in (["MULTI"], ["XTRIM", AUDIT, "MAXLEN", "0"], ["DEL", AUDIT], ["EXEC"]):
            try:
                r.call(*cmd)
            except RuntimeError as e:
                errs.append((cmd[0], str(e)))
        r.close()
        ck.expect([c for c, _ in errs] == ["XTRIM", "DEL", "EXEC"] and
                  "EXECABORT" in errs[-1][1],
                  "c: MULTI + XTRIM/DEL chot:audit + EXEC must abort: %r" % errs)
        ck.expect(stream_state(admin) == before, "c: MULTI: the stream changed")
        lookup_ok(ck, admin, op, "after c: MULTI")
        # (d) "who" cannot be forged.
        err = cp.Resp(redis.port)
        try:
            err.call("AUTH", "bob", op.pw)
            ck.expect(False, "d: AUTH as bob with alice's password was accepted")
        except RuntimeError:
            pass
        err.close()
        tamper(ck, admin, op, "d: CHOT.AUDIT naming another operator",
               "CHOT.AUDIT", "trace", PID, "", "bob")
        tamper(ck, admin, op, "d: CHOT.AUDIT operator field",
               "CHOT.AUDIT", "trace", PID, "x", "operator", "bob")
        before = stream_state(admin)
        for flag in (["--operator", "bob"], ["--operator", ""]):
            r = op.ctl(*(flag + ["visits", "--pid", PID]))
            ck.expect(r.returncode == 2 and "--operator" in r.stderr,
                      "d: chotctl %s: expected exit 2 naming --operator, got %d %r" % (
                          " ".join(flag), r.returncode, r.stderr.strip()))
        ck.expect(stream_state(admin) == before, "d: a refused --operator wrote a record")
        lookup_ok(ck, admin, op, "d: with USER=mallory in the environment")
        # (f) the module's own arguments cannot trim, jam or bloat.
        tamper(ck, admin, op, "f: CHOT.AUDIT MAXLEN 0 *", "CHOT.AUDIT", "MAXLEN", "0", "*")
        tamper(ck, admin, op, "f: CHOT.AUDIT with max ID as pid",
               "CHOT.AUDIT", "trace", MAX_ID, "x")
        tamper(ck, admin, op, "f: CHOT.AUDIT trailing MAXLEN",
               "CHOT.AUDIT", "trace", PID, "x", "MAXLEN", "0")
        tamper(ck, admin, op, "f: CHOT.AUDIT 64 KB detail",
               "CHOT.AUDIT", "trace", PID, "x" * 65536)
        tamper(ck, admin, op, "f: CHOT.AUDIT bad command name",
               "CHOT.AUDIT", "trace\r\nx", PID, "x")
        # ... while a well-formed call appends with a server-assigned ID.
        n0 = stream_state(admin)[0]
        ck.expect(op.raw("CHOT.AUDIT", "visits", "-", "") is None,
                  "f: a well-formed CHOT.AUDIT was refused")
        ck.expect(stream_state(admin)[0] == n0 + 1, "f: a well-formed CHOT.AUDIT added no record")
        ck.expect(last_record(admin)[1].get("operator") == op.user,
                  "f: a direct CHOT.AUDIT did not record the caller")
        # Every operator still looks up after all that.
        for o in ops:
            lookup_ok(ck, admin, o, "final lookup")
        admin.close()
    finally:
        redis.stop()


def no_acl(ck, chotctl, tmp):
    """A plain Redis (default user, no password): chotctl without --user."""
    for with_module in (False, True):
        rdir = os.path.join(tmp, "plain%d" % with_module)
        os.mkdir(rdir)
        extra = ["--loadmodule", cp.audit_module()] if with_module else []
        redis = cp.Redis(rdir, extra_args=extra)
        try:
            env = dict(os.environ, USER="mallory")
            env.pop("CHOT_PASSWORD_FILE", None)
            r = subprocess.run([chotctl, "-r", "redis://127.0.0.1:%d" % redis.port, "visits",
                                "--pid", PID], capture_output=True, text=True, timeout=60,
                               env=env)
            admin = cp.Resp(redis.port)
            if not with_module:
                ck.expect(r.returncode == 3 and "chot_audit" in r.stderr and not r.stdout,
                          "no module: expected exit 3 naming chot_audit, got %d %r" % (
                              r.returncode, r.stderr.strip()))
                ck.expect(admin.call("EXISTS", AUDIT) == 0, "no module: something was written")
            else:
                ck.expect(r.returncode == 1, "no ACL: visits exit %d %r" % (
                    r.returncode, r.stderr.strip()))
                ck.expect(last_record(admin)[1].get("operator") == "default",
                          "no ACL: record's operator is not 'default': %r" % (
                              last_record(admin)[1],))
            admin.close()
        finally:
            redis.stop()


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    chotctl, srcdir = sys.argv[1:3]
    ck = Check()
    with cp.TempDir() as tmp:
        shipped(ck, chotctl, srcdir, tmp)
        no_acl(ck, chotctl, tmp)
    if ck.fails:
        print("%d of %d checks failed" % (len(ck.fails), ck.n))
        return 1
    print("ok: %d checks; the audit trail is append-only for operators and "
          "records the ACL user" % ck.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
