"""A small, independent Python model of the chot wire protocol (DESIGN §2)
for the integration tests: keys file, key derivation, sealing, ACK
verification, pseudonyms, protobuf encoding of ScanBatch by hand, Ethernet
/ IPv4 / UDP frames and pcap files, plus helpers to run redis-server and
chotd.  Needs Debian's python3-nacl (run with /usr/bin/python3).

Being written from DESIGN.md rather than from the C codec, it doubles as a
cross-check of libchotwire.
"""
import hashlib
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import nacl.bindings as nb

MAGIC = b"CHT1"
ACK_MAGIC = b"CHA1"
HDR_LEN = 26

CCCD, PCCOVID, VNEID, PASSPORT, PLATE, GREEN_LANE = 1, 2, 3, 4, 5, 6
IN, OUT, PASS = 1, 2, 3

CONTRACT = ["rx_packets", "not_ours", "bad_header", "bad_tag", "stale_epoch", "replayed",
            "decode_errors", "batches_accepted", "events_decoded", "bad_events", "dup_scans",
            "events_stored", "events_pending", "events_dropped", "redis_errors", "acks_sent"]


# ---------------------------------------------------------------- keys
def make_keys(path, seed=1):
    rnd = random.Random(seed)
    k = {"master": {1: bytes(rnd.getrandbits(8) for _ in range(32))},
         "pseudonym": bytes(rnd.getrandbits(8) for _ in range(32)),
         "vault": bytes(rnd.getrandbits(8) for _ in range(32))}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for kid, m in k["master"].items():
            f.write("master %d %s\n" % (kid, m.hex()))
        f.write("pseudonym %s\nvault %s\n" % (k["pseudonym"].hex(), k["vault"].hex()))
    return k


def load_keys(path):
    k = {"master": {}}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            if line[0] == "master":
                k["master"][int(line[1])] = bytes.fromhex(line[2])
            else:
                k[line[0]] = bytes.fromhex(line[1])
    return k


def kdf(master, subkey_id, ctx):
    return hashlib.blake2b(b"", digest_size=32, key=master,
                           salt=struct.pack("<Q", subkey_id) + bytes(8),
                           person=ctx + bytes(8)).digest()


def device_key(master, device_id):
    return kdf(master, device_id, b"chotdev1")


def ack_key(master, device_id):
    return kdf(master, device_id, b"chotack1")


def pid_hex(pkey, scheme, subject):
    return nb.crypto_shorthash_siphashx24(bytes([scheme]) + subject.encode(), pkey[:16]).hex()


# ---------------------------------------------------------------- protobuf
def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, wt, payload):
    return _varint(num << 3 | wt) + payload


def encode_event(ts_ms, site, scheme, subject, direction, decl=1, origin=0, vehicle="",
                 passengers=0):
    b = b""
    if ts_ms:
        b += _field(1, 0, _varint(ts_ms))
    if site:
        b += _field(2, 0, _varint(site))
    if scheme:
        b += _field(3, 0, _varint(scheme))
    if subject:
        s = subject.encode()
        b += _field(4, 2, _varint(len(s)) + s)
    if direction:
        b += _field(5, 0, _varint(direction))
    if decl:
        b += _field(6, 0, _varint(decl))
    if origin:
        b += _field(7, 0, _varint(origin))
    if vehicle:
        v = vehicle.encode()
        b += _field(8, 2, _varint(len(v)) + v)
    if passengers:
        b += _field(9, 0, _varint(passengers))
    return b


def encode_batch(events):
    return b"".join(_field(1, 2, _varint(len(e)) + e) for e in events)


# ---------------------------------------------------------------- wire
def header(flags, key_id, device_id, epoch, seq, body_len, magic=MAGIC, version=1):
    return magic + struct.pack(">BBHIIQH", version, flags, key_id, device_id, epoch, seq,
                               body_len)


def seal(devkey, device_id, epoch, seq, pt, flags=1, key_id=1):
    h = header(flags, key_id, device_id, epoch, seq, len(pt))
    nonce = struct.pack(">IQ", epoch, seq)
    return h + nb.crypto_aead_chacha20poly1305_ietf_encrypt(pt, h, nonce, devkey)


def verify_ack(buf, ackkey):
    """Returns (key_id, device_id, epoch, acked_seq) or raises ValueError."""
    if len(buf) != 40 or buf[:4] != ACK_MAGIC or buf[4] != 1:
        raise ValueError("malformed ACK")
    tag = hashlib.blake2b(buf[:24], digest_size=16, key=ackkey).digest()
    if tag != buf[24:40]:
        raise ValueError("bad ACK tag")
    key_id, device_id, epoch, acked = struct.unpack(">HIIQ", buf[6:24])
    return key_id, device_id, epoch, acked


def udp_payload(frame):
    """The UDP payload of an Ethernet (802.1Q) IPv4/IPv6 frame, or None."""
    off, et = 12, struct.unpack(">H", frame[12:14])[0]
    if et == 0x8100:
        off, et = 16, struct.unpack(">H", frame[16:18])[0]
    off += 2
    if et == 0x0800 and len(frame) >= off + 20 and frame[off + 9] == 17:
        off += (frame[off] & 0x0F) * 4
    elif et == 0x86DD and len(frame) >= off + 40 and frame[off + 6] == 17:
        off += 40
    else:
        return None
    ulen = struct.unpack(">H", frame[off + 4:off + 6])[0]
    return frame[off + 8:off + ulen]


def load_lists(redis, lists_json):
    """Load `chot-flood gen --lists` output into redis (a Redis object, as its
    chot-admin): one HSET per list and one INCR of the version key, in one
    MULTI, as chotctl writes them."""
    import json
    with open(lists_json) as f:
        lists = json.load(f)
    r = Resp(redis.port, redis.user, redis.password)
    try:
        r.call("MULTI")
        for key, fields in lists["hashes"].items():
            if fields:
                args = []
                for k, v in fields.items():
                    args += [k.encode(), v.encode()]
                r.call("HSET", key.encode(), *args)
        r.call("INCR", lists["version_key"].encode())
        res = r.call("EXEC")
    finally:
        r.close()
    if res is None or any(isinstance(x, Exception) for x in res):
        raise RuntimeError("loading the lists failed: %r" % (res,))
    return lists


# ---------------------------------------------------------------- frames / pcap
def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(payload, src_ip="10.9.0.1", dst_ip="10.9.0.2", sport=40000, dport=7311,
              frag=0, src_mac=b"\x02\0\0\0\0\x01", dst_mac=b"\x02\0\0\0\0\x02"):
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, frag, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack(">H", _csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000, len(fr),
                                len(fr)))
            f.write(fr)


def read_pcap(path):
    frames = []
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            _, _, incl, _ = struct.unpack(endian + "IIII", rec)
            frames.append(f.read(incl))
    return hdr, frames


def concat_pcap(out, inputs):
    """Write one pcap holding every frame of every input, in order."""
    frames = []
    for p in inputs:
        frames += read_pcap(p)[1]
    write_pcap(out, frames)


# ---------------------------------------------------------------- processes
def free_port():
    for _ in range(50):
        port = random.randint(20000, 60000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


# configs/redis.conf loads the audit module (redismod/chot_audit.c) from its
# installed path; a test server loads this build's copy instead.
AUDIT_MODULE_INSTALLED = "/usr/lib/chot/chot_audit.so"


def audit_module():
    """This build's chot_audit.so: $CHOT_AUDIT_MODULE (meson test sets it),
    else $CHOT_BUILD/redismod, else build/redismod in the source tree."""
    if os.environ.get("CHOT_AUDIT_MODULE"):
        return os.environ["CHOT_AUDIT_MODULE"]
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    build = os.environ.get("CHOT_BUILD") or os.path.join(src, "build")
    return os.path.normpath(os.path.join(build, "redismod", "chot_audit.so"))


class Redis:
    """A private redis-server on a free loopback port, in a temp dir.

    With shipped_conf (configs/redis.conf) it runs the shipped configuration
    with fresh passwords for its ACL users, written to DIR/<user>.pass (0600),
    and this build's audit module; the test itself then talks to Redis as
    chot-admin.  extra_args go on redis-server's command line."""

    def __init__(self, workdir, shipped_conf=None, extra_args=()):
        self.dir = workdir
        self.port = free_port()
        self.user = self.password = None
        self.passfiles = {}
        args = ["redis-server"]
        if shipped_conf:
            with open(shipped_conf) as f:
                text = f.read()
            for u in ("admin", "ingest", "operator"):
                pw = os.urandom(12).hex()
                text = text.replace(">CHANGE-ME-%s" % u, ">" + pw)
                path = os.path.join(workdir, "%s.pass" % u)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(pw + "\n")
                self.passfiles[u] = path
                if u == "admin":
                    self.user, self.password = "chot-admin", pw
            text = text.replace(AUDIT_MODULE_INSTALLED, audit_module())
            conf = os.path.join(workdir, "redis.conf")
            with open(conf, "w") as f:
                f.write(text)
            args.append(conf)
        args += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", workdir,
                 "--daemonize", "no", "--logfile", os.path.join(workdir, "redis.log")]
        if not shipped_conf:
            args += ["--save", "", "--appendonly", "no"]
        args += list(extra_args)
        self.args = args
        self.proc = None
        self.started = False
        self.start()

    def start(self):
        """Start (or restart, on the same port) and wait for PONG: up to 30 s
        (a restart may load an AOF on a busy machine).  If the server exits
        at once, the port was most likely taken between free_port() and its
        bind: a first start moves to another port, a restart retries."""
        for _ in range(3):
            self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            deadline = time.time() + 30
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    pong = self.cli("PING", check=False, timeout=2).strip() == "PONG"
                except subprocess.TimeoutExpired:
                    pong = False    # someone else's listener on the port
                if pong:
                    self.started = True
                    return
                time.sleep(0.05)
            if self.proc.poll() is None:
                break
            if not self.started:
                self.port = free_port()
                self.args[self.args.index("--port") + 1] = str(self.port)
            time.sleep(0.5)
        self.kill()
        log = ""
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                log = f.read()[-1500:]
        except OSError:
            pass
        raise RuntimeError("redis-server did not start (exit %s): %s" % (self.proc.poll(), log))

    def cli(self, *args, check=True, timeout=60):
        cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)]
        if self.user:
            cmd += ["--user", self.user, "--pass", self.password, "--no-auth-warning"]
        r = subprocess.run(cmd + list(args), capture_output=True, timeout=timeout)
        if check and (r.returncode != 0 or r.stdout.startswith(b"ERR")
                      or r.stdout.startswith(b"NOPERM")):
            raise RuntimeError("redis-cli %s: %s %s" % (args, r.stdout, r.stderr))
        return r.stdout.decode("latin-1")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self.kill()


def chotd_args(chotd, prefix, vdev, conf, sets, lcores="0"):
    lc = ["--lcores", lcores] if "@" in lcores else ["-l", lcores]
    args = [chotd, "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix] + lc + [
            "--log-level=lib.eal:error", "--vdev", vdev, "--", "-c", conf]
    for k, v in sets.items():
        args += ["--set", "%s=%s" % (k, v)]
    return args


def parse_counters(text):
    c = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            c[parts[0]] = int(parts[1])
    return c


def cleanup_prefix(prefix):
    """Remove the EAL runtime directory a chotd instance leaves behind."""
    if prefix and "/" not in prefix:
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)


def prefix_of(args):
    return args[args.index("--file-prefix") + 1] if "--file-prefix" in args else None


def run_chotd(args, timeout=120):
    """Run chotd to completion (exit_on_idle); returns (rc, counters, stdout, stderr)."""
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout)
    finally:
        cleanup_prefix(prefix_of(args))
    out = p.stdout.decode(errors="replace")
    return p.returncode, parse_counters(out), out, p.stderr.decode(errors="replace")


def check_identities(c):
    rx = sum(c[k] for k in ["not_ours", "bad_header", "bad_tag", "stale_epoch", "replayed",
                            "decode_errors", "batches_accepted"])
    ev = sum(c[k] for k in ["bad_events", "dup_scans", "events_stored", "events_pending",
                            "events_dropped"])
    assert c["rx_packets"] == rx, "rx identity: rx_packets %d != %d" % (c["rx_packets"], rx)
    assert c["events_decoded"] == ev, "event identity: events_decoded %d != %d" % (
        c["events_decoded"], ev)


class Resp:
    """A minimal binary-safe RESP2 client (tests only: reads every key).
    Replies are parsed at an offset into one buffer (no copy of the rest per
    reply), and pipeline() sends many commands in one write, so reading the
    millions of records of a reliability run is not one round trip a key."""

    def __init__(self, port, user=None, password=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf, self.pos = bytearray(), 0
        if user:
            r = self.call("AUTH", user, password)
            if r != b"OK":
                raise RuntimeError("AUTH failed: %r" % r)

    def _fill(self):
        d = self.sock.recv(1 << 20)
        if not d:
            raise ConnectionError("redis closed")
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += d

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                break
            self._fill()
        line, self.pos = bytes(self.buf[self.pos:i]), i + 2
        return line

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n + 2
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    @staticmethod
    def _encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def call(self, *args):
        self.sock.sendall(self._encode(args))
        return self._reply()

    def pipeline(self, cmds):
        """Send every command of cmds (tuples of arguments) at once; their
        replies, in order (an error reply raises after all were read)."""
        self.sock.sendall(b"".join(self._encode(c) for c in cmds))
        out, err = [], None
        for _ in cmds:
            try:
                out.append(self._reply())
            except RuntimeError as e:
                err = err or e
                out.append(None)
        if err:
            raise err
        return out

    def get_many(self, keys, chunk=1000):
        """(key, value) for every key: GETs pipelined chunk at a time."""
        for i in range(0, len(keys), chunk):
            part = keys[i:i + chunk]
            yield from zip(part, self.pipeline([("GET", k) for k in part]))

    def scan(self, pattern):
        cursor, keys = b"0", []
        while True:
            cursor, batch = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            keys += batch
            if cursor == b"0":
                return keys

    def close(self):
        self.sock.close()


DAY_MS = 86400000
WEEK_MS = 7 * DAY_MS
HOUR_MS = 3600000
BLOCK_MS = 4 * HOUR_MS


def subject_key(pid, week):
    """A subject's week key (proto/layout.h, layout_subject_key): b"s:{" +
    the 16 raw pid bytes + b"}" + week BE16, 22 bytes (binary: any byte of
    the pid may be '{', '}' or NUL).  pid: 32 hex or 16 bytes."""
    pid = bytes.fromhex(pid) if isinstance(pid, str) else bytes(pid)
    assert len(pid) == 16 and 0 <= week <= 0xFFFF
    return b"s:{" + pid + b"}" + week.to_bytes(2, "big")


def parse_subject_key(k):
    """(pid hex, week) of a subject key; raises on anything else."""
    if len(k) != 22 or k[:3] != b"s:{" or k[19:20] != b"}":
        raise AssertionError("%r is not a subject week key (proto/layout.h)" % k)
    return k[3:19].hex(), int.from_bytes(k[20:22], "big")


def subject_key_text(pid, week):
    """A subject key as chotctl names it in messages (layout_key_text)."""
    pid = pid if isinstance(pid, str) else pid.hex()
    return "s:{%s}:w%d" % (pid, week)


UNIT_MARK, UNIT_VAULT = 0xFF, ord("v")     # proto/layout.h's vault unit
VAULT_MIN, VAULT_MAX = 17, 49


SUBJECT_REC = 8                            # site BE32 || (ms_of_week << 2 | dir) BE32
DIR_BITS = 2


def subject_record(site, ms_of_week, d):
    """A subject's timeline record (proto/layout.h, layout_subject_member)."""
    if not 0 <= d <= 3 or not 0 <= ms_of_week < WEEK_MS:
        raise ValueError("dir %d / ms_of_week %d do not fit a subject record" % (d, ms_of_week))
    return struct.pack(">II", site, ms_of_week << DIR_BITS | d)


def subject_record_decode(m):
    """(site, ms_of_week, dir) of an 8-byte subject record."""
    site, w = struct.unpack(">II", m)
    return site, w >> DIR_BITS, w & ((1 << DIR_BITS) - 1)


def vault_unit(sealed):
    """The vault unit of proto/layout.h carrying a sealed value: a header
    record sealed[0:4] 0xFF 'v' len sealed[4], then sealed[5:] zero-padded
    to whole 8-byte records.  What chotd appends to a subject's week key."""
    if not VAULT_MIN <= len(sealed) <= VAULT_MAX:
        raise ValueError("a sealed vault value is %d..%d bytes, not %d"
                         % (VAULT_MIN, VAULT_MAX, len(sealed)))
    body = sealed[5:]
    return sealed[:4] + bytes([UNIT_MARK, UNIT_VAULT, len(sealed)]) + sealed[4:5] \
        + body + bytes(-len(body) % SUBJECT_REC)


def subject_split(value, key=b"?"):
    """A week key's value (proto/layout.h, layout_subject_split): (the
    event records as bytes, the first vault unit's sealed value or None).
    A value off the 8-byte grid, or a malformed unit, is corrupt."""
    value = value or b""
    R = SUBJECT_REC
    if len(value) % R:
        raise AssertionError("%r holds %d bytes, not whole %d-byte records" % (key, len(value), R))
    recs, vault, i = [], None, 0
    while i < len(value):
        r = value[i:i + R]
        if r[4] != UNIT_MARK:
            recs.append(r)
            i += R
            continue
        n = r[6]
        if r[5] != UNIT_VAULT or not VAULT_MIN <= n <= VAULT_MAX:
            raise AssertionError("%r: a malformed vault unit at byte %d" % (key, i))
        b = n - 5
        body = value[i + R:i + R + b + (-b % R)]
        if len(body) != b + (-b % R) or any(body[b:]):
            raise AssertionError("%r: a malformed vault unit at byte %d" % (key, i))
        if vault is None:
            vault = r[:4] + r[7:8] + body[:b]
        i += R + len(body)
    return b"".join(recs), vault


def records(value, size, key):
    """A key's STRING value as its fixed-size records (proto/layout.h); a
    value that is not whole records is corrupt, never half-read.  A week
    key's (8-byte records) vault unit is taken out: never an event."""
    value = value or b""
    if size == SUBJECT_REC:
        value = subject_split(value, key)[0]
    if len(value) % size:
        raise AssertionError("%r holds %d bytes, not whole %d-byte records"
                             % (key, len(value), size))
    return [value[i:i + size] for i in range(0, len(value), size)]


def stored_events(port, user=None, password=None):
    """Decode every s:{pid}<week BE16> and p:{site}:b<block> record (proto/layout.h) into two
    sets of (pid hex, site, ts_ms, dir); they must agree with each other.  Sets:
    the exact duplicates a resent generation appends are dropped, as chotctl drops them."""
    if hasattr(port, "port"):          # a Redis object: use its credentials
        port, user, password = port.port, port.user, port.password
    r = Resp(port, user, password)
    timeline, presence = set(), set()
    for k, v in r.get_many(r.scan("s:*")):
        pid, week = parse_subject_key(k)
        for m in records(v, SUBJECT_REC, k):
            site, ms, d = subject_record_decode(m)
            timeline.add((pid, site, week * WEEK_MS + ms, d))
    for k, v in r.get_many(r.scan("p:*")):
        site = int(k.split(b"}")[0][3:])
        block = int(k.rsplit(b":", 1)[1].lstrip(b"b"))
        for m in records(v, 20, k):
            ms = int.from_bytes(m[16:19], "big")
            presence.add((m[:16].hex(), site, block * BLOCK_MS + ms, m[19]))
    r.close()
    return timeline, presence


def stored_duplicates(port, user=None, password=None):
    """Exact duplicate records at rest over every s:/p: key (what a resent
    APPEND leaves and readers drop): records stored minus distinct records."""
    if hasattr(port, "port"):
        port, user, password = port.port, port.user, port.password
    r = Resp(port, user, password)
    dups = 0
    for pattern, size in (("s:*", SUBJECT_REC), ("p:*", 20)):
        for k, v in r.get_many(r.scan(pattern)):
            recs = records(v, size, k)
            dups += len(recs) - len(set(recs))
    r.close()
    return dups


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="chot-it-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def telemetry_query(prefix, cmd, timeout=5.0):
    """One command over chotd's telemetry socket (what dpdk-telemetry.py
    does); returns the decoded value or None when the socket is not up."""
    import json
    path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.recv(4096)
        s.send(cmd.encode())
        return json.loads(s.recv(1 << 20).decode()).get(cmd)
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def wait_for(pred, timeout, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def telemetry_stock(prefix, cmds, timeout=30):
    """Run DPDK's own /usr/bin/dpdk-telemetry.py -f PREFIX with cmds on stdin
    (what an operator does); returns {command: value} for every /chot/
    reply it printed, and the raw output."""
    import json
    r = subprocess.run(["/usr/bin/dpdk-telemetry.py", "-f", prefix],
                       input="".join(c + "\n" for c in cmds), capture_output=True, text=True,
                       timeout=timeout)
    out, dec, text, i = {}, json.JSONDecoder(), r.stdout, 0
    while True:
        j = text.find("{", i)
        if j < 0:
            break
        try:
            obj, i = dec.raw_decode(text, j)
        except ValueError:
            i = j + 1
            continue
        if isinstance(obj, dict):
            out.update({k: v for k, v in obj.items() if k.startswith("/chot/")})
    return out, r.stdout + r.stderr


def exit_reasons(counters):
    """The exit print's `reason.COUNTER.REASON n` lines as {"COUNTER/REASON": n},
    the names /chot/reasons uses."""
    return {k[len("reason."):].replace(".", "/", 1): v for k, v in counters.items()
            if k.startswith("reason.")}


# ---------------------------------------------------------------- Redis Cluster
def crc16_xmodem(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = (crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    """The cluster slot of a key: CRC16 of its hash tag (the first {...} with
    something inside), else of the whole key, mod 16384 (cluster spec)."""
    key = key if isinstance(key, bytes) else key.encode()
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16_xmodem(key) % 16384


class Cluster:
    """A local Redis Cluster for tests, made by tools/redis-cluster.sh (the
    shipped configs, the chot ACL users, AOF) in WORKDIR.  The test talks to
    it as chot-admin.  Every wait is bounded; teardown() (or `with`) stops
    every node, and is safe to call twice.

    nodes: {port: pid} of every node started; url: the cluster:// URL;
    env: the script's assignments; passfiles: {user: path}."""

    def __init__(self, workdir, srcdir, masters=3, replicas=1, timeout=120):
        import shlex
        self.dir = workdir
        self._stopped = []
        self.script = os.path.join(srcdir, "tools/redis-cluster.sh")
        r = subprocess.run(["bash", self.script, "up", workdir, "--masters", str(masters),
                            "--replicas", str(replicas)], capture_output=True, timeout=timeout)
        self.up_stderr = r.stderr.decode(errors="replace")
        if r.returncode != 0:
            self.teardown()
            raise RuntimeError("redis-cluster.sh up failed (%d): %s" % (r.returncode,
                                                                       self.up_stderr[-3000:]))
        self.env = {}
        for line in r.stdout.decode().splitlines():
            k, v = line.split("=", 1)
            self.env[k] = shlex.split(v)[0] if v else ""
        self.url = self.env["CHOT_REDIS_URL"]
        ports = [int(a.rsplit(":", 1)[1]) for a in self.env["CHOT_REDIS_NODES"].split()]
        self.nodes = dict(zip(ports, map(int, self.env["CHOT_REDIS_PIDS"].split())))
        self.passfiles = {k[5:-9].lower(): v for k, v in self.env.items()
                          if k.startswith("CHOT_") and k.endswith("_PASSFILE")}
        self.user = "chot-admin"
        self.password = self.passwd("admin")
        self.dead = set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()

    def passwd(self, user):
        with open(self.passfiles[user]) as f:
            return f.readline().strip()

    def cli(self, port, *args, user=None, password=None, cluster_mode=False, check=True,
            timeout=30):
        """redis-cli to one node (as chot-admin unless user is given); -c
        follows MOVED/ASK.  Returns stdout; check raises on an error reply."""
        user = user or self.user
        if password is None:
            password = self.password if user == self.user else self.passwd(user[5:])
        cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--user", user, "--pass",
               password, "--no-auth-warning"] + (["-c"] if cluster_mode else [])
        r = subprocess.run(cmd + [str(a) for a in args], capture_output=True, timeout=timeout)
        out = r.stdout.decode("latin-1")
        if check and (r.returncode != 0 or out.startswith(("ERR", "NOPERM", "MOVED",
                                                           "CLUSTERDOWN", "WRONGPASS"))):
            raise RuntimeError("redis-cli -p %s %s: %s %s" % (port, args, out, r.stderr))
        return out

    def live_ports(self):
        return [p for p in self.nodes if p not in self.dead]

    def info(self, port, section="cluster"):
        cmd = ("CLUSTER", "INFO") if section == "cluster" else ("INFO", section)
        out = self.cli(port, *cmd, check=False, timeout=5)
        return dict(line.split(":", 1) for line in out.replace("\r", "").splitlines()
                    if ":" in line)

    def cluster_nodes(self, port=None):
        """CLUSTER NODES from a live node: [{id, port, flags, master, link,
        slots}] (slots: how many the node owns)."""
        port = port or self.live_ports()[0]
        rows = []
        for line in self.cli(port, "CLUSTER", "NODES", timeout=5).splitlines():
            f = line.split()
            if len(f) < 8:
                continue
            n = 0
            for r in f[8:]:
                if r.startswith("["):
                    continue       # a slot being migrated
                a, _, b = r.partition("-")
                n += int(b or a) - int(a) + 1
            rows.append({"id": f[0], "port": int(f[1].split("@")[0].rsplit(":", 1)[1]),
                         "flags": set(f[2].split(",")), "master": f[3], "link": f[7],
                         "slots": n})
        return rows

    def masters(self, port=None):
        """{port: node id} of the live masters that own slots (in the view
        of node port, by default a live one)."""
        return {n["port"]: n["id"] for n in self.cluster_nodes(port)
                if "master" in n["flags"] and "fail" not in n["flags"] and n["slots"]
                and n["port"] not in self.dead}

    def replicas_of(self, port):
        rows = self.cluster_nodes()
        mid = [n["id"] for n in rows if n["port"] == port][0]
        return [n["port"] for n in rows if n["master"] == mid]

    def slot_map(self, port=None):
        """[(first slot, last slot, master port)] from CLUSTER SLOTS."""
        r = self.resp(port or self.live_ports()[0])
        try:
            return [(a, b, int(m[1])) for a, b, m, *_ in r.call("CLUSTER", "SLOTS")]
        finally:
            r.close()

    def slot_owner(self, slot, slot_map=None):
        for a, b, p in slot_map or self.slot_map():
            if a <= slot <= b:
                return p
        raise RuntimeError("no owner for slot %d" % slot)

    def wait_ok(self, timeout=30):
        """Every live node says cluster_state:ok and agrees on the masters."""
        def ok():
            try:
                if not all(self.info(p).get("cluster_state") == "ok" for p in self.live_ports()):
                    return False
                views = [sorted(n["port"] for n in self.cluster_nodes(p)
                                if "master" in n["flags"] and n["slots"]
                                and "fail" not in n["flags"]) for p in self.live_ports()]
                return all(v == views[0] for v in views)
            except (RuntimeError, subprocess.TimeoutExpired):
                return False
        if not wait_for(ok, timeout, step=0.1):
            raise RuntimeError("cluster not ok within %d s: %s" % (
                timeout, {p: self.info(p).get("cluster_state") for p in self.live_ports()}))

    def kill_master(self, port=None):
        """kill -9 a master (the given one, or the first); returns its port."""
        port = port or sorted(self.masters())[0]
        os.kill(self.nodes[port], signal.SIGKILL)
        self.dead.add(port)
        return port

    def signal_masters(self, sig):
        """SIGSTOP or SIGCONT every live master; returns their ports."""
        ports = sorted(self.masters()) if sig == signal.SIGSTOP else sorted(self._stopped)
        for p in ports:
            os.kill(self.nodes[p], sig)
        self._stopped = ports if sig == signal.SIGSTOP else []
        return ports

    def wait_failover(self, dead_port, replicas, timeout=15):
        """Wait until one of replicas (ports of dead_port's replicas) is a
        master owning slots and every live node is ok; returns (port, s)."""
        t0 = time.time()

        def promoted():
            try:
                m = self.masters()
            except (RuntimeError, subprocess.TimeoutExpired):
                return None
            return next((p for p in replicas if p in m), None)
        p = wait_for(promoted, timeout, step=0.1)
        if p is None:
            raise RuntimeError("no replica of %d promoted within %d s: %s" % (
                dead_port, timeout, self.cluster_nodes()))
        self.wait_ok(max(1, timeout - (time.time() - t0)))
        return p, time.time() - t0

    def reshard(self, src, dst, slots, timeout=60):
        """Move `slots` slots (and their keys) from master port src to dst."""
        m = self.masters()
        r = subprocess.run(["redis-cli", "--cluster", "reshard", "127.0.0.1:%d" % src,
                            "--cluster-from", m[src], "--cluster-to", m[dst],
                            "--cluster-slots", str(slots), "--cluster-yes",
                            "--user", self.user, "--pass", self.password, "--no-auth-warning"],
                           capture_output=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("reshard failed: %s %s" % (r.stdout[-2000:], r.stderr))
        return r.stdout.decode(errors="replace")

    def check(self):
        """redis-cli --cluster check: returns (ok, output)."""
        r = subprocess.run(["redis-cli", "--cluster", "check",
                            "127.0.0.1:%d" % sorted(self.masters())[0], "--user", self.user,
                            "--pass", self.password, "--no-auth-warning"],
                           capture_output=True, timeout=30)
        out = r.stdout.decode(errors="replace")
        return r.returncode == 0 and "[ERR]" not in out, out

    def dbsize(self):
        """{master port: DBSIZE}."""
        return {p: int(self.cli(p, "DBSIZE", timeout=5).strip()) for p in self.masters()}

    def resp(self, port, user="chot-admin"):
        """A Resp connection to one node as user."""
        return Resp(port, user, self.password if user == self.user else self.passwd(user[5:]))

    def down(self, timeout=60):
        return subprocess.run(["bash", self.script, "down", self.dir], capture_output=True,
                              timeout=timeout)

    def teardown(self):
        for p in self._stopped:
            try:
                os.kill(self.nodes[p], signal.SIGCONT)
            except (OSError, KeyError):
                pass
        self.down()


# ---------------------------------------------------------------- vault, lists (DESIGN §4, §9)
def vault_nonce(vkey, pid):
    """proto/vault.h's derived nonce: BLAKE2b-192 keyed with the vault key
    over "chotvlt1" || pid (not stored: whoever opens recomputes it)."""
    return hashlib.blake2b(b"chotvlt1" + pid, digest_size=24, key=vkey).digest()


def vault_seal(vkey, pid, scheme, subject):
    """The sealed vault value of proto/vault.h, from its description:
    XChaCha20-Poly1305 of scheme || subject with the pid as additional data,
    under the derived nonce; stored as ciphertext || tag, no nonce."""
    pid = bytes.fromhex(pid) if isinstance(pid, str) else pid
    return nb.crypto_aead_xchacha20poly1305_ietf_encrypt(bytes([scheme]) + subject.encode(), pid,
                                                         vault_nonce(vkey, pid), vkey)


def vault_open(vkey, pid, sealed):
    """(scheme, subject) of a sealed vault value; raises on a bad one."""
    pid = bytes.fromhex(pid) if isinstance(pid, str) else pid
    pt = nb.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, pid, vault_nonce(vkey, pid), vkey)
    return pt[0], pt[1:].decode()


def put_vault(r, vkey, pid, scheme, subject, ts_ms=None, retention_days=21):
    """Store a subject's identity as chotd does (proto/layout.h): its vault
    unit APPENDed to the subject's week key of ts_ms (default now), with the
    key's expiry.  r: a Resp (or anything with call()) allowed to APPEND."""
    pid_hex = pid if isinstance(pid, str) else pid.hex()
    week = (int(time.time() * 1000) if ts_ms is None else ts_ms) // WEEK_MS
    key = subject_key(pid_hex, week)
    r.call("APPEND", key, vault_unit(vault_seal(vkey, pid_hex, scheme, subject)))
    r.call("EXPIREAT", key, (week + 1) * WEEK_MS // 1000 + retention_days * DAY_MS // 1000)
    return key


def stored_vault(r, vkey, pid, weeks):
    """(scheme, subject) from the first vault unit that opens in the
    subject's week keys `weeks` (newest first), or None: chotctl's reveal."""
    pid_hex = pid if isinstance(pid, str) else pid.hex()
    for w in weeks:
        sealed = subject_split(r.call("GET", subject_key(pid_hex, w)))[1]
        if sealed is not None:
            try:
                return vault_open(vkey, pid_hex, sealed)
            except Exception:
                continue
    return None


SCHEME_NAMES = {CCCD: "cccd", PCCOVID: "pccovid", VNEID: "vneid", PASSPORT: "passport",
                PLATE: "plate", GREEN_LANE: "greenlane"}
LISTS_WATCH, LISTS_ZONES = "chot:{lists}:watch", "chot:{lists}:zones"
LISTS_GREENLANE, LISTS_VERSION = "chot:{lists}:greenlane", "chot:{lists}:version"
ALERTS_STREAM = "chot:{alerts}"
# proto/lists.h, most severe first
REASONS = ["watch_f0", "watch_quarantine", "watch_f1", "zone_red", "decl_symptoms", "watch_f2",
           "zone_orange", "decl_exposed", "greenlane_unknown", "off_route", "greenlane_expired",
           "passengers_over"]


def watch_decode(v):
    """A chot:{lists}:watch value: (status, set_ms, until_ms, note)."""
    v = v.decode() if isinstance(v, bytes) else v
    parts = v.split(" ", 3)
    return parts[0], int(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else ""


def user_resp(redis, user):
    """A Resp connection to a shipped-conf Redis as chot-USER."""
    with open(redis.passfiles[user]) as f:
        return Resp(redis.port, "chot-" + user, f.read().strip())


# ---------------------------------------------------------------- checkpoint loop (§9)
VERDICT_MAGIC = b"CHV1"
LISTS_SITES = "chot:{lists}:sites"
# proto/lists.h chk_reasons[], most severe first: (code, name).  (The merge of
# lists-ctl and lists-dp: REASONS above was the names alone; no test reads it.)
REASONS = [(16, "watch_f0"), (19, "watch_quarantine"), (17, "watch_f1"), (33, "zone_red"),
           (48, "decl_symptoms"), (18, "watch_f2"), (32, "zone_orange"), (49, "decl_exposed"),
           (64, "greenlane_unknown"), (65, "off_route"), (66, "greenlane_expired"),
           (67, "passengers_over")]
REASON_CODE = {n: c for c, n in REASONS}


def verify_verdict(buf, ackkey):
    """A CHV1 verdict: (key_id, device_id, epoch, seq, [codes]) or raises ValueError."""
    if len(buf) < 42 or buf[:4] != VERDICT_MAGIC or buf[4] != 1:
        raise ValueError("malformed verdict")
    n = buf[5]
    if n == 0 or len(buf) != 24 + 2 * n + 16:
        raise ValueError("verdict length %d for n = %d" % (len(buf), n))
    tag = hashlib.blake2b(buf[:24 + 2 * n], digest_size=16, key=ackkey).digest()
    if tag != buf[24 + 2 * n:]:
        raise ValueError("bad verdict tag")
    key_id, device_id, epoch, seq = struct.unpack(">HIIQ", buf[6:24])
    codes = list(struct.unpack(">%dH" % n, buf[24:24 + 2 * n]))
    return key_id, device_id, epoch, seq, codes


def lists_write(r, watch=(), zones=(), greenlane=(), sites=()):
    """Write list entries in proto/lists.h's encoding (as chotctl does), then
    bump the version in the same MULTI.  watch: (pid, status, set_ms, until_ms);
    zones: (commune, level); greenlane: (pid, from_ms, to_ms, passengers, [sites]);
    sites: (site, kind, commune, name)."""
    r.call("MULTI")
    for pid, status, set_ms, until_ms in watch:
        r.call("HSET", LISTS_WATCH, pid, "%s %d %d" % (status, set_ms, until_ms))
    for commune, level in zones:
        r.call("HSET", LISTS_ZONES, commune, level)
    for pid, t0, t1, pas, route in greenlane:
        r.call("HSET", LISTS_GREENLANE, pid,
               "%d %d %d %s" % (t0, t1, pas, ",".join(map(str, route))))
    for site, kind, commune, name in sites:
        r.call("HSET", LISTS_SITES, site, "%s,%d,%s" % (kind, commune, name))
    r.call("INCR", LISTS_VERSION)
    return r.call("EXEC")


def alerts_read(r):
    """Every entry of chot:{alerts}: [{field: str, ..., "id": stream id}]."""
    out = []
    for sid, fields in r.call("XRANGE", ALERTS_STREAM, "-", "+") or []:
        d = {fields[i].decode(): fields[i + 1].decode() for i in range(0, len(fields), 2)}
        d["id"] = sid.decode()
        out.append(d)
    return out


def cluster_stored_events(cluster):
    """stored_events() over every live master of a Cluster (as chot-admin):
    (timeline, presence) sets, and {master port: keys} (DBSIZE)."""
    tl, pr, keys = set(), set(), {}
    for p in cluster.masters():
        t, q = stored_events(p, cluster.user, cluster.password)
        tl |= t
        pr |= q
        keys[p] = int(cluster.cli(p, "DBSIZE", timeout=10).strip())
    return tl, pr, keys


def cluster_restart(cluster, port, timeout=30):
    """Start a node of cluster again (after kill_master) on its own
    directory and port, as tools/redis-cluster.sh does; it rejoins the
    cluster from its nodes.conf (as a replica of whoever took its slots).
    Returns its new pid once it answers PING."""
    d = None
    for name in sorted(os.listdir(cluster.dir)):
        pf = os.path.join(cluster.dir, name, "port")
        if os.path.exists(pf) and open(pf).read().strip() == str(port):
            d = os.path.join(cluster.dir, name)
    if d is None:
        raise RuntimeError("no node directory for port %d in %s" % (port, cluster.dir))
    p = subprocess.Popen(["redis-server", os.path.join(cluster.dir, "redis.conf"), "--port",
                          str(port), "--bind", "127.0.0.1", "--dir", d, "--daemonize", "no",
                          "--logfile", os.path.join(d, "redis.log"), "--pidfile",
                          os.path.join(d, "redis.pid")], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    with open(os.path.join(d, "pid"), "w") as f:
        f.write("%d\n" % p.pid)

    def pong():
        return cluster.cli(port, "PING", check=False, timeout=2).strip() == "PONG"
    if not wait_for(pong, timeout, step=0.1):
        raise RuntimeError("restarted node %d does not answer PING" % port)
    cluster.nodes[port] = p.pid
    cluster.dead.discard(port)
    return p.pid


def cluster_keys_without_ttl(cluster):
    """{master port: number of chot keys (s:, p:) with no expiry}: chot
    keys always expire (DESIGN §4), so anything but 0 is a bug."""
    script = ("#!lua flags=allow-cross-slot-keys\n"
              "local n = 0 local c = '0' repeat "
              "local r = redis.call('SCAN', c, 'COUNT', 1000) c = r[1] "
              "for _, k in ipairs(r[2]) do local p = string.sub(k, 1, 2) "
              "if (p == 's:' or p == 'p:') and redis.call('TTL', k) == -1 "
              "then n = n + 1 end end until c == '0' return n")
    out = {}
    for p in cluster.masters():
        r = cluster.resp(p)
        try:
            out[p] = r.call("EVAL", script, 0)
        finally:
            r.close()
    return out
