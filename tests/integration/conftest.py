"""Shared fixtures for the cxapi integration tests.

The build directory comes from $CXAPI_BUILD (default: <repo>/build, found
relative to this file).  Each test module gets its own host (module-scoped
fixture `host`): a fresh state dir, a free port, a known root password and
an xapi.conf with http-header-timeout-ms=2000.  At teardown the host is
stopped and the test run fails if any DIR/log/*.out carries a sanitizer
report.
"""

import contextlib
import glob
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("CXAPI_BUILD") or os.path.join(REPO, "build")
CXAPI = os.path.join(BUILD, "cxapi")

PASSWORD = "s3cret-pw"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
CMD_TIMEOUT = 60  # seconds, for any cxapi start/stop/status invocation


class TimedTransport(xmlrpc.client.Transport):
    """An XML-RPC transport whose connection gives up after timeout seconds."""

    def __init__(self, timeout):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self._timeout
        return conn


def ok(r):
    """The value of a XenAPI reply that must have succeeded."""
    assert isinstance(r, dict), r
    assert r.get("Status") == "Success", r
    return r["Value"]


def failure(r):
    """The error [code, params...] of a XenAPI reply that must have failed."""
    assert isinstance(r, dict), r
    assert r.get("Status") == "Failure", r
    assert isinstance(r.get("ErrorDescription"), list), r
    return r["ErrorDescription"]


def wait_for(pred, timeout=10, step=0.05):
    """pred() until it is true or timeout seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def free_port():
    """A port no socket uses on any address, as xapi will bind it (every
    address, IPv4 and IPv6). Bound on 127.0.0.1 only, the kernel would
    offer a port that a socket of another loopback address (a test's
    client from 127.0.1.x in TIME_WAIT) still holds, and xapi's bind
    would fail with "address already in use"."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", 0))
        return s.getsockname()[1]


def run_cxapi(*args, timeout=CMD_TIMEOUT, binary=CXAPI):
    """Runs build/cxapi ARGS; returns the CompletedProcess (never raises on rc)."""
    return subprocess.run([binary, *args], capture_output=True, text=True,
                          timeout=timeout)


def sanitizer_reports(state_dir):
    """Returns [(file, excerpt)] for every *.out in DIR/log with a sanitizer report."""
    found = []
    for path in sorted(glob.glob(os.path.join(state_dir, "log", "*.out"))):
        try:
            with open(path, "r", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        for marker in SANITIZER_MARKERS:
            i = text.find(marker)
            if i >= 0:
                found.append((path, text[max(0, i - 200):i + 2000]))
                break
    return found


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client connection over an AF_UNIX socket."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Host:
    def __init__(self, state, port, password, run, binary=CXAPI):
        self.binary = binary  # the cxapi command: the sanitizer build's unless told
        self.state = state
        self.port = port
        self.password = password
        self.run = run
        self.url = "http://127.0.0.1:%d/" % port
        self.sock_path = os.path.join(run, "xapi.sock")

    # --- lifecycle -------------------------------------------------------
    def start(self, extra=()):
        r = run_cxapi("start", "--state", self.state, "--port", str(self.port),
                      "--root-password", self.password, *extra, binary=self.binary)
        if r.returncode != 0:  # the logs go with the failure: teardown removes them
            tails = self.log_tails(40)
            r.stderr += tails
            # In full: an assertion's message is cut short in the report.
            print("cxapi start failed:\n%s%s" % (r.stderr, ""), file=sys.stderr)
        return r

    def log_tails(self, lines=15):
        """The last lines of each of the host's logs, for a failure's message."""
        out = ""
        for path in sorted(glob.glob(os.path.join(self.state, "log", "*"))):
            try:
                with open(path, errors="replace") as f:
                    tail = f.read().splitlines()[-lines:]
            except OSError:
                continue
            out += "\n== %s ==\n%s" % (os.path.basename(path), "\n".join(tail))
        return out

    def stop(self):
        return run_cxapi("stop", "--state", self.state, binary=self.binary)

    def status(self):
        return run_cxapi("status", "--state", self.state, binary=self.binary)

    # --- clients -------------------------------------------------------
    def proxy(self, path="/"):
        return xmlrpc.client.ServerProxy("http://127.0.0.1:%d%s" % (self.port, path),
                                         allow_none=True)

    def login(self, path="/"):
        r = self.proxy(path).session.login_with_password(
            "root", self.password, "1.0", "cxapi-integration-tests")
        assert r["Status"] == "Success", r
        return r["Value"]

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def post(self, path, body, content_type="text/xml", conn=None, timeout=10):
        """POSTs body; returns (status, headers-dict-lowercase, body bytes)."""
        own = conn is None
        c = conn or self.conn(timeout)
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            c.request("POST", path, body=body, headers={"Content-Type": content_type})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def jsonrpc(self, payload, conn=None):
        status, headers, data = self.post("/jsonrpc", json.dumps(payload),
                                          "application/json", conn=conn)
        return status, headers, data

    def wait_api(self, timeout=30):
        """Polls until login works; returns True/False. Bounded in time and count."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout * 10) + 1):
            try:
                self.login()
                return True
            except Exception:
                pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return False


def make_host(tmp_prefix="cxapi-it-", binary=CXAPI):
    assert os.access(binary, os.X_OK), "cxapi binary not found at %s (set CXAPI_BUILD)" % binary
    base = tempfile.mkdtemp(prefix=tmp_prefix)
    state = os.path.join(base, "state")
    os.makedirs(state)
    with open(os.path.join(state, "xapi.conf"), "w") as f:
        f.write("http-header-timeout-ms=2000\n")
    host = Host(state, free_port(), PASSWORD, os.path.join(state, "run"), binary)
    return base, host


def teardown_host(base, host):
    r = None
    try:
        r = host.stop()
    except subprocess.TimeoutExpired:
        pass
    reports = sanitizer_reports(host.state)
    if not reports:
        shutil.rmtree(base, ignore_errors=True)
    msgs = []
    if r is None:
        msgs.append("cxapi stop timed out")
    if reports:
        msgs.append("sanitizer report(s) in %s:\n" % host.state +
                    "\n".join("== %s ==\n%s" % (p, t) for p, t in reports))
    return msgs


@contextlib.contextmanager
def own_host(prefix="cxapi-it-", conf=""):
    """A host of the test's own, started with conf appended to its
    xapi.conf (settings a shared host must not have), and stopped, with
    a check for sanitizer reports, at the end of the block."""
    base, h = make_host(prefix)
    try:
        with open(os.path.join(h.state, "xapi.conf"), "a") as f:
            f.write(conf)
        r = h.start()
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert h.wait_api(), "API did not come up"
        yield h
    finally:
        msgs = teardown_host(base, h)
        assert not msgs, msgs


@contextlib.contextmanager
def opened_to_others(sock):
    """Loosens a socket to 0666 and lets every user through the
    directories above it, as a careless operator might; puts the modes
    back at the end of the block."""
    import stat
    opened = [(sock, stat.S_IMODE(os.stat(sock).st_mode))]
    os.chmod(sock, 0o666)
    d = os.path.dirname(sock)
    while d != "/":
        opened.append((d, stat.S_IMODE(os.stat(d).st_mode)))
        os.chmod(d, opened[-1][1] | 0o011)
        d = os.path.dirname(d)
    try:
        yield
    finally:
        for path, mode in opened:
            os.chmod(path, mode)


_PROBE = """import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
try:
    s.sendall(bytes.fromhex(sys.argv[2]))
    print(len(s.recv(100)))
except (ConnectionResetError, BrokenPipeError):
    print(0)
"""


def reply_bytes_as(uid, sock, request):
    """Connects to the Unix socket sock as uid, sends request (bytes) and
    returns how many bytes of a reply came: 0 when the server dropped the
    connection (before or after the request went out)."""
    import sys
    r = subprocess.run([sys.executable, "-c", _PROBE, sock, request.hex()], capture_output=True,
                       text=True, timeout=30, preexec_fn=lambda: os.setuid(uid))
    assert r.returncode == 0, (r.stdout, r.stderr)
    return int(r.stdout)


@pytest.fixture(scope="module")
def host():
    base, h = make_host()
    try:
        r = h.start()
        assert r.returncode == 0, "cxapi start failed rc=%d\nstdout:%s\nstderr:%s" % (
            r.returncode, r.stdout, r.stderr)
        assert h.url in r.stdout, r.stdout
        assert "login: root / %s" % h.password in r.stdout, r.stdout
        yield h
    finally:
        msgs = teardown_host(base, h)
        if msgs:
            pytest.fail("\n".join(msgs), pytrace=False)
