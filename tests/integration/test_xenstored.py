"""xenstored: every operation, through Debian's xenstore-* commands
(libxenstore, via XENSTORED_PATH), raw frames and the project's client
library (bench/xs_bench verify); the read-only socket; clean shutdown;
`cxapi start` starting it.  Harness: test_xenstored_harness.py.
"""

import os
import signal
import stat
import subprocess
import time

from conftest import BUILD
from test_xenstored_harness import (  # noqa: F401 (top and xsd are fixtures)
    CONTROL, DIRECTORY, DIRECTORY_PART, GET_DOMAIN_PATH, INTRODUCE, MKDIR, READ, RELEASE, RESUME,
    RM, SET_PERMS, WRITE, XsConn, finish_xenstored, start_xenstored, strings, top, xsd, z)

XS_BENCH = os.path.join(BUILD, "bench", "xs_bench")


# --- Debian's xenstore-utils -------------------------------------------------

def test_tools_write_read(xsd, top):
    xsd.tool("xenstore-write", top + "/a", "hello world", top + "/b/c", "")
    r = xsd.tool("xenstore-read", top + "/a", top + "/b/c")
    assert r.stdout == "hello world\n\n"
    # Parents are created implicitly, with empty values.
    assert xsd.tool("xenstore-read", top + "/b").stdout == "\n"


def test_tools_read_missing_fails(xsd, top):
    r = xsd.tool("xenstore-read", top + "/nope", check=False)
    assert r.returncode != 0
    assert "couldn't read path" in r.stderr, r.stderr


def test_tools_exists(xsd, top):
    xsd.tool("xenstore-write", top + "/here", "1")
    assert xsd.tool("xenstore-exists", top + "/here", check=False).returncode == 0
    assert xsd.tool("xenstore-exists", top + "/gone", check=False).returncode != 0


def test_tools_list_and_ls(xsd, top):
    xsd.tool("xenstore-write", top + "/x", "1", top + "/y/z", "2", top + "/w", "")
    assert sorted(xsd.tool("xenstore-list", top).stdout.split()) == ["w", "x", "y"]
    ls = xsd.tool("xenstore-ls", top).stdout.splitlines()
    assert sorted(ls) == sorted(['w = ""', 'x = "1"', 'y = ""', ' z = "2"'])
    full = xsd.tool("xenstore-ls", "-f", top).stdout.splitlines()
    assert "%s/y/z = \"2\"" % top in full


def test_tools_rm(xsd, top):
    xsd.tool("xenstore-write", top + "/a/b", "1", top + "/keep", "2")
    xsd.tool("xenstore-rm", top + "/a")
    assert xsd.tool("xenstore-exists", top + "/a/b", check=False).returncode != 0
    assert xsd.tool("xenstore-read", top + "/keep").stdout == "2\n"


def test_tools_chmod_and_ls_p(xsd, top):
    xsd.tool("xenstore-write", top + "/node", "v")
    xsd.tool("xenstore-chmod", top + "/node", "n3", "r5", "b7")
    with xsd.conn() as c:
        assert c.get_perms(top + "/node") == ["n3", "r5", "b7"]
    out = xsd.tool("xenstore-ls", "-p", top).stdout
    assert "(n3,r5,b7)" in out, out


def test_tools_watch(xsd, top):
    xsd.tool("xenstore-write", top + "/w", "0")
    p = subprocess.Popen(["xenstore-watch", "-n", "3", top + "/w"], env=xsd.env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The first line is the watch firing once when set.
        assert p.stdout.readline().strip() == top + "/w"
        xsd.tool("xenstore-write", top + "/w", "1")
        assert p.stdout.readline().strip() == top + "/w"
        xsd.tool("xenstore-write", top + "/w/below", "2")
        assert p.stdout.readline().strip() == top + "/w/below"
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_tools_against_read_only_socket(xsd, top):
    xsd.tool("xenstore-write", top + "/r", "1")
    env = xsd.env()
    env["XENSTORED_PATH"] = xsd.ro_path
    r = subprocess.run(["xenstore-read", top + "/r"], env=env, capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0 and r.stdout == "1\n", r
    r = subprocess.run(["xenstore-write", top + "/r", "2"], env=env, capture_output=True,
                       text=True, timeout=20)
    assert r.returncode != 0
    assert xsd.tool("xenstore-read", top + "/r").stdout == "1\n"


# --- raw frames: node operations ----------------------------------------------

def test_read_write_binary_value(xsd, top):
    with xsd.conn() as c:
        value = bytes(range(256)) * 3
        c.write(top + "/bin", value)
        assert c.read(top + "/bin") == value
        c.write(top + "/empty", b"")
        assert c.read(top + "/empty") == b""


def test_reply_echoes_req_id_and_tx_id(xsd, top):
    with xsd.conn() as c:
        c.write(top + "/n", "v")
        rid = c.send(READ, z(top + "/n"), req_id=0xdeadbeef)
        typ, got_rid, tx, payload = c.recv_frame()
        assert (typ, got_rid, tx, payload) == (READ, 0xdeadbeef, 0, b"v")


def test_read_missing_is_enoent(xsd, top):
    with xsd.conn() as c:
        assert c.error_of(READ, z(top + "/missing")) == "ENOENT"


def test_write_creates_parents(xsd, top):
    with xsd.conn() as c:
        c.write(top + "/a/b/c", "deep")
        assert c.read(top + "/a") == b""
        assert c.read(top + "/a/b") == b""
        assert c.directory(top + "/a") == ["b"]
        assert c.directory(top + "/a/b/c") == []


def test_mkdir(xsd, top):
    with xsd.conn() as c:
        c.mkdir(top + "/m/n")
        assert c.read(top + "/m/n") == b""
        c.write(top + "/m/n", "kept")
        c.mkdir(top + "/m/n")  # existing: left as it is
        assert c.read(top + "/m/n") == b"kept"


def test_rm(xsd, top):
    with xsd.conn() as c:
        c.write(top + "/a/b/c", "1")
        c.write(top + "/a/x", "2")
        c.rm(top + "/a/b")
        assert not c.exists(top + "/a/b/c")
        assert not c.exists(top + "/a/b")
        assert c.directory(top + "/a") == ["x"]
        # Missing node under an existing parent: fine (Xen's rule).
        c.rm(top + "/a/b")
        assert c.error_of(RM, z(top + "/nothere/child")) == "ENOENT"
        assert c.error_of(RM, z("/")) == "EINVAL"


def test_directory(xsd, top):
    with xsd.conn() as c:
        for name in ("one", "two", "three"):
            c.write(top + "/d/" + name, name)
        assert sorted(c.directory(top + "/d")) == ["one", "three", "two"]
        assert c.error_of(DIRECTORY, z(top + "/none")) == "ENOENT"


def test_directory_part_for_big_directory(xsd, top):
    """A listing over 4096 bytes: DIRECTORY says E2BIG, DIRECTORY_PART pages it."""
    names = ["child-%04d-%s" % (i, "x" * 40) for i in range(150)]  # ~7.8 KB
    with xsd.conn() as c:
        tx = c.tx_start()
        for n in names:
            c.write(top + "/big/" + n, "", tx)
        c.tx_end(tx)
        assert c.error_of(DIRECTORY, z(top + "/big")) == "E2BIG"
        got, off, gen = [], 0, None
        for _ in range(100):
            r = c.request(DIRECTORY_PART, z(top + "/big", str(off)))
            assert len(r) <= 4096
            parts = r.split(b"\0")
            if gen is None:
                gen = parts[0]
            assert parts[0] == gen, "generation changed without a change"
            body = r[len(parts[0]) + 1:]
            off += len(body)
            if body.endswith(b"\0\0") or body == b"\0":
                got += strings(body[:-1])
                break
            got += strings(body)
        else:
            raise AssertionError("DIRECTORY_PART never ended")
        assert sorted(got) == sorted(names)
        # libxenstore falls back to DIRECTORY_PART the same way.
        listed = xsd.tool("xenstore-list", top + "/big").stdout.split()
        assert sorted(listed) == sorted(names)
        # A change to the directory changes its generation.
        c.write(top + "/big/another", "")
        r = c.request(DIRECTORY_PART, z(top + "/big", "0"))
        assert r.split(b"\0")[0] != gen
        # An offset past the end: an empty list.
        r = c.request(DIRECTORY_PART, z(top + "/big", "999999"))
        assert r.split(b"\0", 1)[1] == b"\0"


def test_small_directory_part(xsd, top):
    with xsd.conn() as c:
        c.write(top + "/s/a", "")
        c.write(top + "/s/b", "")
        r = c.request(DIRECTORY_PART, z(top + "/s", "0"))
        gen, rest = r.split(b"\0", 1)
        assert gen.isdigit()
        assert sorted(strings(rest[:-1])) == ["a", "b"] and rest.endswith(b"\0\0")


def test_get_set_perms(xsd, top):
    with xsd.conn() as c:
        c.write(top + "/p", "v")
        assert c.get_perms(top + "/p") == ["n0"]
        c.set_perms(top + "/p", ["b1", "r2", "w3", "n4"])
        assert c.get_perms(top + "/p") == ["b1", "r2", "w3", "n4"]
        # Children created later inherit the parent's list.
        c.write(top + "/p/kid", "k")
        assert c.get_perms(top + "/p/kid")[1:] == ["r2", "w3", "n4"]
        assert c.error_of(SET_PERMS, z(top + "/p", "x1")) == "EINVAL"
        assert c.error_of(SET_PERMS, z(top + "/p")) == "EINVAL"
        assert c.error_of(SET_PERMS, z(top + "/nope", "n0")) == "ENOENT"


def test_invalid_paths(xsd):
    with xsd.conn() as c:
        for bad in ("/a//b", "/a/", "/sp ace", "/quo\"te", "", "/a\xff"):
            assert c.error_of(WRITE, z(bad) + b"v") == "EINVAL", bad
        assert c.error_of(WRITE, z("/" + "a" * 3100) + b"v") in ("E2BIG", "EINVAL")


def test_relative_paths_for_dom0(xsd):
    with xsd.conn() as c:
        c.write("relative/node", "r")
        assert c.read("/local/domain/0/relative/node") == b"r"
        assert c.read("relative/node") == b"r"


# --- domains, control, watches reset --------------------------------------

def test_domain_operations(xsd):
    with xsd.conn() as c:
        assert c.get_domain_path(7) == b"/local/domain/7\0"
        assert c.is_introduced(0)
        assert not c.is_introduced(7)
        c.watch("@introduceDomain", "intro")
        c.watch("@releaseDomain", "rel")
        assert c.drain_events() == [("@introduceDomain", "intro"), ("@releaseDomain", "rel")]
        c.introduce(7, 0x1000, 5)
        assert c.is_introduced(7)
        assert c.next_event() == ("@introduceDomain", "intro")
        assert stat.S_ISSOCK(os.stat(xsd.domain_sock(7)).st_mode)
        assert c.request(RESUME, z("7")) == b"OK\0"
        c.introduce(8)
        c.next_event()
        c.set_target(8, 7)
        c.release(7)
        assert not c.is_introduced(7)
        assert c.next_event() == ("@releaseDomain", "rel")
        assert not os.path.exists(xsd.domain_sock(7))
        assert c.error_of(RELEASE, z("7")) == "ENOENT"
        assert c.error_of(GET_DOMAIN_PATH, z("notanumber")) == "EINVAL"
        c.release(8)
        c.next_event()


def test_control_commands(xsd, top):
    with xsd.conn() as c:
        assert c.control("log", "on") == b"OK\0"
        c.write(top + "/logged", "1")
        assert c.control("log", "off") == b"OK\0"
        assert c.control("print", "hello from the tests") == b"OK\0"
        q = c.control("quota").rstrip(b"\0").decode()
        names = {line.split()[0] for line in q.splitlines()}
        assert {"nodes", "watches", "transactions", "node-size", "path-max"} <= names, q
        help_text = c.control("help").decode()
        for cmd in ("log", "print", "quota"):
            assert cmd in help_text
        assert c.error_of(CONTROL, z("no-such-command")) == "EINVAL"
    time.sleep(0.2)
    log = open(os.path.join(xsd.state, "log", "xenstored.log")).read()
    assert "hello from the tests" in log
    assert top + "/logged" in log  # the access log was on for that write


def test_reset_watches(xsd, top):
    with xsd.conn() as c, xsd.conn() as w:
        c.watch(top, "t")
        assert c.next_event() == (top, "t")
        c.reset_watches()
        w.write(top + "/x", "1")
        c.expect_no_event()


def test_read_only_socket(xsd, top):
    with xsd.conn() as c:
        c.write(top + "/ro", "v")
    with xsd.ro_conn() as r:
        assert r.read(top + "/ro") == b"v"
        assert r.directory(top) == ["ro"]
        assert r.error_of(WRITE, z(top + "/ro") + b"x") == "EROFS"
        assert r.error_of(MKDIR, z(top + "/m")) == "EROFS"
        assert r.error_of(RM, z(top + "/ro")) == "EROFS"
        assert r.error_of(SET_PERMS, z(top + "/ro", "b0")) == "EROFS"
        assert r.error_of(INTRODUCE, z("3", "0", "0")) in ("EROFS", "EACCES")
        # Watching is reading.
        r.watch(top + "/ro", "tok")
        assert r.next_event() == (top + "/ro", "tok")
    with xsd.conn() as c:
        assert c.read(top + "/ro") == b"v"


def test_many_clients_at_once(xsd, top):
    conns = [xsd.conn() for _ in range(200)]
    try:
        for i, c in enumerate(conns):
            c.send(WRITE, z("%s/c%d" % (top, i)) + b"v")
        for i, c in enumerate(conns):
            assert c.reply(WRITE, c.next_id) == b"OK\0"
        with xsd.conn() as c:
            assert len(c.directory(top)) == 200
    finally:
        for c in conns:
            c.close()


# --- the project's client library -------------------------------------------

def test_client_library_against_daemon(xsd):
    """bench/xs_bench verify drives every call of lib/xs_client against the daemon."""
    assert os.access(XS_BENCH, os.X_OK), "%s not built" % XS_BENCH
    r = subprocess.run([XS_BENCH, "verify", xsd.sock_path], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verify: ok" in r.stdout, r.stdout


# --- lifecycle -----------------------------------------------------------

def test_clean_shutdown_on_sigterm():
    d = start_xenstored()
    with d.conn() as c:
        c.write("/x", "1")
        c.watch("/x", "t")
        tx = c.tx_start()
        c.write("/x/y", "2", tx)
        d.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(timeout=20) == 0
        assert c.is_closed()
    msgs = finish_xenstored(d)
    assert not msgs, msgs


def test_access_log_flag():
    d = start_xenstored(["--access-log"])
    try:
        with d.conn() as c:
            c.write("/accessed", "1")
    finally:
        msgs = finish_xenstored(d)
    assert not msgs, msgs


def test_cxapi_start_runs_xenstored(host):
    """`cxapi start` starts xenstored first, on RUNDIR's two sockets."""
    rw = os.path.join(host.run, "xenstored.sock")
    ro = os.path.join(host.run, "xenstored.ro.sock")
    assert stat.S_ISSOCK(os.stat(rw).st_mode)
    assert stat.S_ISSOCK(os.stat(ro).st_mode)
    env = dict(os.environ, XENSTORED_PATH=rw)
    subprocess.run(["xenstore-write", "/host/test", "up"], env=env, check=True, timeout=20)
    r = subprocess.run(["xenstore-read", "/host/test"], env=env, capture_output=True, text=True,
                       timeout=20)
    assert r.stdout == "up\n"
    with XsConn(ro) as c:
        assert c.read("/host/test") == b"up"
    st = host.status()
    assert "xenstored" in st.stdout, st.stdout


def test_resume_unknown_domain(xsd):
    with xsd.conn() as c:
        assert c.error_of(RESUME, z("99")) == "ENOENT"
