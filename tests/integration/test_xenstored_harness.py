"""Shared harness of the xenstored integration tests (test_xenstored_*.py).

It holds no tests: its name only keeps it beside the modules that import
it.  What is here:

- Xenstored: build/xenstored/xenstored started directly in a temp dir
  (--state DIR --run DIR/run), so these tests need nothing else of the
  host; stopped with SIGTERM at teardown, which must exit 0, remove the
  sockets and leave no sanitizer report.
- XsConn: a raw-socket client speaking <xen/io/xs_wire.h> frames with
  struct.pack('<IIII', type, req_id, tx_id, len), so every byte on the wire
  is the test's choice. Replies are matched by req_id; WATCH_EVENTs that
  arrive meanwhile are queued, in order.
- the `xsd` fixture (one daemon per module) and `tool()` for Debian's
  xenstore-* commands through XENSTORED_PATH.
"""

import collections
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, SANITIZER_MARKERS

XENSTORED = os.path.join(BUILD, "xenstored", "xenstored")

# enum xsd_sockmsg_type
CONTROL, DIRECTORY, READ, GET_PERMS, WATCH, UNWATCH = 0, 1, 2, 3, 4, 5
TRANSACTION_START, TRANSACTION_END, INTRODUCE, RELEASE = 6, 7, 8, 9
GET_DOMAIN_PATH, WRITE, MKDIR, RM, SET_PERMS, WATCH_EVENT, ERROR = 10, 11, 12, 13, 14, 15, 16
IS_DOMAIN_INTRODUCED, RESUME, SET_TARGET = 17, 18, 19
RESET_WATCHES, DIRECTORY_PART, TYPE_COUNT = 21, 22, 23
PAYLOAD_MAX = 4096
HEADER = struct.Struct("<IIII")

# Quota errors: Xen's C daemon answers ENOSPC where oxenstored answers
# EQUOTA; sizes and (in both) the watch count are E2BIG.
COUNT_QUOTA_ERRORS = ("EQUOTA", "ENOSPC")
WATCH_QUOTA_ERRORS = ("EQUOTA", "E2BIG")


class XsError(Exception):
    """An XS_ERROR reply; .name is its errno name ("ENOENT")."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


class XsConn:
    def __init__(self, path, timeout=10):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        # A full listen backlog makes a Unix connect fail with EAGAIN (the
        # timeout makes the socket non-blocking): wait for the daemon to accept.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self.next_id = 0
        self.buf = b""
        self.events = collections.deque()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- frames ---------------------------------------------------------
    def send_raw(self, data):
        self.sock.sendall(data)

    def frame(self, typ, payload, tx=0, req_id=None, length=None):
        """Encodes a frame; length overrides the header's len field."""
        if req_id is None:
            self.next_id += 1
            req_id = self.next_id
        n = len(payload) if length is None else length
        return HEADER.pack(typ, req_id, tx, n) + payload, req_id

    def send(self, typ, payload, tx=0, req_id=None):
        data, rid = self.frame(typ, payload, tx, req_id)
        self.send_raw(data)
        return rid

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("xenstored closed the connection")
        self.buf += chunk

    def recv_frame(self):
        """The next frame as (type, req_id, tx_id, payload)."""
        while len(self.buf) < HEADER.size:
            self._fill()
        typ, rid, tx, n = HEADER.unpack_from(self.buf)
        assert n <= PAYLOAD_MAX, "daemon sent a frame of %d bytes" % n
        while len(self.buf) < HEADER.size + n:
            self._fill()
        payload = self.buf[HEADER.size:HEADER.size + n]
        self.buf = self.buf[HEADER.size + n:]
        return typ, rid, tx, payload

    def reply(self, typ, rid, want_tx=None):
        """Waits for the reply to request rid of type typ, queueing events."""
        while True:
            rtyp, rrid, rtx, payload = self.recv_frame()
            if rtyp == WATCH_EVENT:
                self.events.append(split_event(payload))
                continue
            assert rrid == rid, "reply req_id %d, expected %d" % (rrid, rid)
            if want_tx is not None:
                assert rtx == want_tx, "reply tx_id %d, expected %d" % (rtx, want_tx)
            if rtyp == ERROR:
                assert payload.endswith(b"\0"), payload
                raise XsError(payload[:-1].decode())
            assert rtyp == typ, "reply type %d to a request of type %d" % (rtyp, typ)
            return payload

    def request(self, typ, payload, tx=0):
        return self.reply(typ, self.send(typ, payload, tx), want_tx=tx)

    def error_of(self, typ, payload, tx=0):
        """The error name a request gets (fails if it succeeds)."""
        try:
            r = self.request(typ, payload, tx)
        except XsError as e:
            return e.name
        raise AssertionError("expected an error, got %r" % r)

    # --- operations -----------------------------------------------------
    def read(self, path, tx=0):
        return self.request(READ, z(path), tx)

    def write(self, path, value, tx=0):
        value = value.encode() if isinstance(value, str) else value
        assert self.request(WRITE, z(path) + value, tx) == b"OK\0"

    def mkdir(self, path, tx=0):
        assert self.request(MKDIR, z(path), tx) == b"OK\0"

    def rm(self, path, tx=0):
        assert self.request(RM, z(path), tx) == b"OK\0"

    def directory(self, path, tx=0):
        return strings(self.request(DIRECTORY, z(path), tx))

    def get_perms(self, path, tx=0):
        return strings(self.request(GET_PERMS, z(path), tx))

    def set_perms(self, path, perms, tx=0):
        assert self.request(SET_PERMS, z(path, *perms), tx) == b"OK\0"

    def exists(self, path):
        try:
            self.read(path)
            return True
        except XsError as e:
            if e.name == "ENOENT":
                return False
            raise

    def tx_start(self):
        r = self.request(TRANSACTION_START, b"\0")
        assert r.endswith(b"\0") and r[:-1].isdigit() and int(r[:-1]) > 0, r
        return int(r[:-1])

    def tx_end(self, tx, commit=True):
        assert self.request(TRANSACTION_END, b"T\0" if commit else b"F\0", tx) == b"OK\0"

    def watch(self, path, token):
        assert self.request(WATCH, z(path, token)) == b"OK\0"

    def unwatch(self, path, token):
        assert self.request(UNWATCH, z(path, token)) == b"OK\0"

    def reset_watches(self):
        assert self.request(RESET_WATCHES, b"\0") == b"OK\0"

    def control(self, *args):
        return self.request(CONTROL, z(*args))

    def introduce(self, dom, mfn=0, port=0):
        assert self.request(INTRODUCE, z(str(dom), str(mfn), str(port))) == b"OK\0"

    def release(self, dom):
        assert self.request(RELEASE, z(str(dom))) == b"OK\0"

    def get_domain_path(self, dom):
        return self.request(GET_DOMAIN_PATH, z(str(dom)))

    def is_introduced(self, dom):
        r = self.request(IS_DOMAIN_INTRODUCED, z(str(dom)))
        assert r in (b"T\0", b"F\0"), r
        return r == b"T\0"

    def set_target(self, dom, target):
        assert self.request(SET_TARGET, z(str(dom), str(target))) == b"OK\0"

    # --- events ---------------------------------------------------------
    def next_event(self, timeout=5):
        """The next (path, token), waiting up to timeout seconds."""
        if self.events:
            return self.events.popleft()
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            typ, rid, tx, payload = self.recv_frame()
        finally:
            self.sock.settimeout(old)
        assert typ == WATCH_EVENT, "unsolicited frame of type %d" % typ
        assert rid == 0 and tx == 0, (rid, tx)
        return split_event(payload)

    def expect_no_event(self, within=0.3):
        assert not self.events, "unexpected event %r" % (self.events[0],)
        try:
            ev = self.next_event(timeout=within)
        except socket.timeout:
            return
        raise AssertionError("unexpected event %r" % (ev,))

    def drain_events(self, within=0.3):
        out = list(self.events)
        self.events.clear()
        while True:
            try:
                out.append(self.next_event(timeout=within))
            except socket.timeout:
                return out

    def is_closed(self, timeout=5):
        """True once the daemon closed the connection (reading what is left)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            while True:
                try:
                    if not self.sock.recv(65536):
                        return True
                except socket.timeout:
                    return False
                except ConnectionResetError:
                    return True
        finally:
            self.sock.settimeout(old)


def z(*args):
    """NUL-terminated strings, concatenated."""
    return b"".join((a.encode() if isinstance(a, str) else a) + b"\0" for a in args)


def strings(payload):
    """A payload of NUL-terminated strings as a list."""
    if not payload:
        return []
    assert payload.endswith(b"\0"), payload
    return [s.decode() for s in payload[:-1].split(b"\0")]


def split_event(payload):
    parts = payload.split(b"\0")
    assert len(parts) >= 3 and payload.endswith(b"\0"), payload
    return parts[0].decode(), parts[1].decode()


class Xenstored:
    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="cxapi-xsd-")
        self.state = os.path.join(self.base, "state")
        self.run = os.path.join(self.base, "run")
        os.makedirs(self.state)
        self.out_path = os.path.join(self.base, "xenstored.out")
        self.sock_path = os.path.join(self.run, "xenstored.sock")
        self.ro_path = os.path.join(self.run, "xenstored.ro.sock")
        self.proc = None

    def start(self, extra=()):
        assert os.access(XENSTORED, os.X_OK), "xenstored not built at %s" % XENSTORED
        with open(self.out_path, "ab") as out:
            self.proc = subprocess.Popen(
                [XENSTORED, "--state", self.state, "--run", self.run, *extra],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "xenstored exited: %s" % self.output()
            try:
                XsConn(self.sock_path, timeout=2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("xenstored did not listen on %s" % self.sock_path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        try:
            with open(self.out_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_report(self):
        text = self.output()
        for m in SANITIZER_MARKERS:
            i = text.find(m)
            if i >= 0:
                return text[max(0, i - 200):i + 3000]
        return None

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def cleanup(self):
        shutil.rmtree(self.base, ignore_errors=True)

    # --- clients --------------------------------------------------------
    def conn(self, timeout=10):
        return XsConn(self.sock_path, timeout)

    def ro_conn(self):
        return XsConn(self.ro_path)

    def domain_conn(self, dom):
        """A connection acting as domain dom (CONTROL set-domain)."""
        c = self.conn()
        assert c.control("set-domain", str(dom)) == b"OK\0"
        return c

    def domain_sock(self, dom):
        return os.path.join(self.run, "xenstored-domains", "%d.sock" % dom)

    def env(self):
        e = dict(os.environ)
        e["XENSTORED_PATH"] = self.sock_path
        return e

    def tool(self, *args, check=True, timeout=20):
        """Runs one of Debian's xenstore-* commands against this daemon."""
        r = subprocess.run(list(args), env=self.env(), capture_output=True, text=True,
                           timeout=timeout)
        if check:
            assert r.returncode == 0, "%s: rc %d\n%s%s" % (args, r.returncode, r.stdout,
                                                           r.stderr)
        return r

    def check_healthy(self):
        """The daemon is up and answers a fresh client."""
        assert self.alive(), "xenstored died:\n%s" % self.output()[-3000:]
        with self.conn() as c:
            c.write("/health/check", "ok")
            assert c.read("/health/check") == b"ok"


def start_xenstored(extra=()):
    d = Xenstored()
    d.start(extra)
    return d


def finish_xenstored(d):
    """Stops d; returns the failures to report (empty when clean)."""
    rc = d.stop()
    msgs = []
    if rc != 0:
        msgs.append("xenstored exit status %r after SIGTERM" % rc)
    for p in (d.sock_path, d.ro_path):
        if os.path.exists(p):
            msgs.append("%s left behind" % p)
    report = d.sanitizer_report()
    if report:
        msgs.append("sanitizer report:\n" + report)
    if msgs:
        msgs.append("daemon output kept in %s" % d.out_path)
    else:
        d.cleanup()
    return msgs


@pytest.fixture(scope="module")
def xsd():
    d = start_xenstored()
    try:
        yield d
    finally:
        msgs = finish_xenstored(d)
        if msgs:
            pytest.fail("\n".join(msgs), pytrace=False)


@pytest.fixture
def top(request, xsd):
    """A path of the test's own: /t/<test name>, absent at the start."""
    name = request.node.name.replace("[", "-").replace("]", "").replace(".", "-")
    return "/t/" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
