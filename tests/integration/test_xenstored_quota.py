"""xenstored quotas, like Xen's: node value size, nodes (entries) per
domain, watches per domain, open transactions per domain, nodes one
transaction touches, permission entries, path length; dom0's generous
per-connection bounds.  Exceeding one is an error reply (EQUOTA/ENOSPC or
E2BIG), never a crash: each test ends with the daemon answering.
Harness: test_xenstored_harness.py.
"""

import contextlib
import subprocess

import pytest

from test_xenstored_harness import (  # noqa: F401 (top and xsd are fixtures)
    COUNT_QUOTA_ERRORS, PAYLOAD_MAX, SET_PERMS, TRANSACTION_START, WATCH, WATCH_QUOTA_ERRORS,
    WRITE, XsError, top, xsd, z)


def quotas(c, which=None):
    args = ("quota",) if which is None else ("quota", which)
    text = c.control(*args).rstrip(b"\0").decode()
    return {k: int(v) for k, v in (line.split() for line in text.splitlines())}


@contextlib.contextmanager
def quota_set(xsd, name, value, dom0=False):
    """Sets a quota for the block, then puts the old value back."""
    with xsd.conn() as c:
        old = quotas(c, "dom0" if dom0 else None)[name]
        cmd = "set-dom0" if dom0 else "set"
        assert c.control("quota", cmd, name, str(value)) == b"OK\0"
    try:
        yield
    finally:
        with xsd.conn() as c:
            assert c.control("quota", cmd, name, str(old)) == b"OK\0"
        xsd.check_healthy()


def guest(xsd, dom):
    with xsd.conn() as c:
        home = "/local/domain/%d" % dom
        c.mkdir(home + "/data")
        c.set_perms(home, ["n%d" % dom])
        c.set_perms(home + "/data", ["n%d" % dom])
    return xsd.domain_conn(dom)


def usage(xsd, dom):
    with xsd.conn() as c:
        return quotas(c, str(dom))


def test_defaults_are_xens(xsd):
    with xsd.conn() as c:
        q = quotas(c)
        assert q["node-size"] == 4096
        assert q["nodes"] == 1000
        assert q["watches"] == 128
        assert q["transactions"] == 10
        assert q["path-max"] == 2048
        assert q["node-permissions"] == 5
        assert c.error_of(0, z("quota", "set", "no-such-quota", "1")) == "EINVAL"
        assert c.error_of(0, z("quota", "set", "nodes", "-1")) == "EINVAL"


def test_value_of_4096_bytes_cannot_be_sent(xsd, top):
    """A value that fills the whole payload: the frame is over 4096 bytes,
    which the daemon refuses (error or closed connection), and stays up."""
    with xsd.conn() as other:
        other.write(top + "/before", "1")
        with xsd.conn() as c:
            data, rid = c.frame(WRITE, z(top + "/big") + b"v" * 4096)
            c.send_raw(data)
            try:
                c.reply(WRITE, rid)
                raise AssertionError("a %d-byte frame was accepted" % (len(data) - 16))
            except XsError as e:
                assert e.name in ("E2BIG", "EINVAL"), e.name
            except (EOFError, ConnectionResetError):
                pass
        assert other.read(top + "/before") == b"1"
        assert not other.exists(top + "/big")
        # The largest value that fits one payload is accepted.
        path = top + "/max"
        value = b"m" * (PAYLOAD_MAX - len(path) - 1)
        other.write(path, value)
        assert other.read(path) == value
    # libxenstore refuses it before sending.
    r = xsd.tool("xenstore-write", top + "/big", "v" * 4096, check=False)
    assert r.returncode != 0
    xsd.check_healthy()


def test_node_size_quota(xsd, top):
    with quota_set(xsd, "node-size", 100, dom0=True):
        with xsd.conn() as c:
            c.write(top + "/fits", b"x" * 100)
            assert c.error_of(WRITE, z(top + "/over") + b"x" * 101) == "E2BIG"
            assert not c.exists(top + "/over")
    with quota_set(xsd, "node-size", 50), guest(xsd, 21) as g:
        g.write("data/fits", b"y" * 50)
        assert g.error_of(WRITE, z("data/over") + b"y" * 51) == "E2BIG"


def test_nodes_per_domain(xsd):
    with quota_set(xsd, "nodes", 30), guest(xsd, 22) as g:
        owned = usage(xsd, 22)["nodes"]
        assert owned >= 1
        made = 0
        with pytest.raises(XsError) as e:
            for i in range(100):
                g.write("data/n%d" % i, "v")
                made += 1
        assert e.value.name in COUNT_QUOTA_ERRORS
        assert made == 30 - owned
        assert usage(xsd, 22)["nodes"] == 30
        # Another connection of the same domain is bound by the same count.
        with xsd.domain_conn(22) as g2:
            assert g2.error_of(WRITE, z("data/more") + b"v") in COUNT_QUOTA_ERRORS
        # Removing frees room; rewriting an existing node needs none.
        g.rm("data/n0")
        g.write("data/again", "v")
        g.write("data/n1", "rewritten")
        # A transaction that would go over fails too, and changes nothing.
        g.rm("data/n2")
        t = g.tx_start()
        try:
            g.write("data/t1", "v", t)
            g.write("data/t2", "v", t)
            g.tx_end(t)
            raise AssertionError("the transaction went over the nodes quota")
        except XsError as err:
            assert err.name in COUNT_QUOTA_ERRORS, err.name
        assert not g.exists("data/t1")
        # dom0 is not bound by the guest's quota, even below the guest's home.
        with xsd.conn() as c:
            c.write("/local/domain/22/by-dom0", "v")


def test_nodes_default_quota_reached(xsd):
    """The default 1000 nodes per domain holds without any setting."""
    with guest(xsd, 23) as g:
        owned = usage(xsd, 23)["nodes"]
        t = g.tx_start()  # one commit instead of 1000 round trips of checks
        made = 0
        try:
            for i in range(1000 - owned):
                g.write("data/d%d" % i, "", t)
                made += 1
            g.tx_end(t)
        except XsError as e:
            raise AssertionError("refused after %d nodes: %s" % (made, e.name))
        assert usage(xsd, 23)["nodes"] == 1000
        assert g.error_of(WRITE, z("data/one-more") + b"") in COUNT_QUOTA_ERRORS


def test_watches_per_domain(xsd):
    with guest(xsd, 24) as g, xsd.domain_conn(24) as g2:
        for i in range(64):
            g.watch("data/w%d" % i, "t")
        for i in range(64):
            g2.watch("data/w%d" % i, "t2")
        assert g.error_of(WATCH, z("data/extra", "t")) in WATCH_QUOTA_ERRORS
        assert g2.error_of(WATCH, z("data/extra", "t")) in WATCH_QUOTA_ERRORS
        g.unwatch("data/w0", "t")
        g2.watch("data/extra", "t")
        assert g.error_of(WATCH, z("data/extra2", "t")) in WATCH_QUOTA_ERRORS
    # Their connections closed: the count went with them.
    with guest(xsd, 24) as g:
        g.watch("data/fresh", "t")
        assert usage(xsd, 24)["watches"] == 1


def test_watches_dom0_bound(xsd, top):
    with quota_set(xsd, "watches", 20, dom0=True), xsd.conn() as c:
        for i in range(20):
            c.watch("%s/w%d" % (top, i), "t")
        assert c.error_of(WATCH, z(top + "/over", "t")) in WATCH_QUOTA_ERRORS
        # dom0's bound is per connection.
        with xsd.conn() as c2:
            c2.watch(top + "/other-conn", "t")


def test_transactions_per_domain(xsd):
    with guest(xsd, 25) as g, xsd.domain_conn(25) as g2:
        txs = [g.tx_start() for _ in range(6)] + [g2.tx_start() for _ in range(4)]
        assert g.error_of(TRANSACTION_START, b"\0") in COUNT_QUOTA_ERRORS
        assert g2.error_of(TRANSACTION_START, b"\0") in COUNT_QUOTA_ERRORS
        g.tx_end(txs[0], commit=False)
        g2.tx_start()
        assert g.error_of(TRANSACTION_START, b"\0") in COUNT_QUOTA_ERRORS


def test_transactions_dom0_bound(xsd):
    with quota_set(xsd, "transactions", 50, dom0=True), xsd.conn() as c:
        for _ in range(50):
            c.tx_start()
        assert c.error_of(TRANSACTION_START, b"\0") in COUNT_QUOTA_ERRORS
        with xsd.conn() as c2:
            c2.tx_end(c2.tx_start())


def test_transaction_nodes(xsd, top):
    with quota_set(xsd, "transaction-nodes", 20, dom0=True), xsd.conn() as c:
        t = c.tx_start()
        try:
            for i in range(40):
                c.write("%s/n%d" % (top, i), "v", t)
            c.tx_end(t)
            raise AssertionError("a transaction touched 40 nodes")
        except XsError as e:
            assert e.name in COUNT_QUOTA_ERRORS, e.name
        assert not c.exists(top + "/n0")


def test_permission_entries(xsd):
    with guest(xsd, 26) as g:
        g.write("data/p", "v")
        g.set_perms("data/p", ["n26", "r1", "r2", "r3", "r4"])
        assert g.error_of(SET_PERMS, z("data/p", "n26", "r1", "r2", "r3", "r4", "r5")) \
            in COUNT_QUOTA_ERRORS
        assert g.get_perms("data/p") == ["n26", "r1", "r2", "r3", "r4"]


def test_path_length(xsd):
    with guest(xsd, 27) as g:
        rel = "data/" + "p" * (2048 - 5)
        g.write(rel, "ok")  # 2048 bytes below the home
        assert g.error_of(WRITE, z(rel + "q") + b"v") == "E2BIG"
    with xsd.conn() as c:
        path = "/" + "a" * 3071
        c.write(path, "v")  # XENSTORE_ABS_PATH_MAX
        assert c.error_of(WRITE, z(path + "b") + b"v") == "E2BIG"
        c.rm(path)


def test_tools_see_quota_errors(xsd):
    with quota_set(xsd, "node-size", 10, dom0=True):
        r = xsd.tool("xenstore-write", "/tool-too-big", "x" * 11, check=False)
        assert r.returncode != 0
        r = subprocess.run(["xenstore-read", "/tool-too-big"], env=xsd.env(),
                           capture_output=True, timeout=20)
        assert r.returncode != 0
