"""xenstored transactions: optimistic concurrency decided per node that a
transaction read or wrote (not per subtree), so concurrent setups of
different domains' devices commit while read-modify-write races end in
EAGAIN.  Harness: test_xenstored_harness.py.
"""

import threading

from test_xenstored_harness import (  # noqa: F401 (top and xsd are fixtures)
    READ, TRANSACTION_END, TRANSACTION_START, WRITE, XsError, top, xsd, z)


def commit_error(c, tx):
    try:
        c.tx_end(tx)
        return None
    except XsError as e:
        return e.name


def test_commit_makes_writes_visible(xsd, top):
    with xsd.conn() as a, xsd.conn() as b:
        tx = a.tx_start()
        a.write(top + "/n", "in-tx", tx)
        assert a.read(top + "/n", tx) == b"in-tx"
        assert b.error_of(READ, z(top + "/n")) == "ENOENT"
        assert a.error_of(READ, z(top + "/n")) == "ENOENT"  # outside the tx, not yet
        a.tx_end(tx)
        assert b.read(top + "/n") == b"in-tx"


def test_abort_discards(xsd, top):
    with xsd.conn() as a:
        a.write(top + "/keep", "old")
        tx = a.tx_start()
        a.write(top + "/keep", "new", tx)
        a.write(top + "/added", "x", tx)
        a.rm(top + "/keep", tx)
        assert a.error_of(READ, z(top + "/keep"), tx) == "ENOENT"
        a.tx_end(tx, commit=False)
        assert a.read(top + "/keep") == b"old"
        assert not a.exists(top + "/added")


def test_rm_and_directory_inside_tx(xsd, top):
    with xsd.conn() as a:
        a.write(top + "/d/x", "1")
        a.write(top + "/d/y", "2")
        tx = a.tx_start()
        a.rm(top + "/d/x", tx)
        a.write(top + "/d/z", "3", tx)
        assert sorted(a.directory(top + "/d", tx)) == ["y", "z"]
        assert sorted(a.directory(top + "/d")) == ["x", "y"]
        a.tx_end(tx)
        assert sorted(a.directory(top + "/d")) == ["y", "z"]


def test_disjoint_domains_under_local_both_commit(xsd):
    """Two device setups of different domains, as xenopsd does them in
    parallel: they share the ancestors /local and /local/domain only."""
    with xsd.conn() as setup:
        setup.mkdir("/local/domain/31")
        setup.mkdir("/local/domain/32")
    with xsd.conn() as a, xsd.conn() as b:
        ta, tb = a.tx_start(), b.tx_start()
        for c, t, dom in ((a, ta, 31), (b, tb, 32)):
            base = "/local/domain/%d/device/vif/0" % dom
            assert c.error_of(READ, z(base + "/state"), t) == "ENOENT"
            c.write(base + "/state", "1", t)
            c.write(base + "/mac", "00:16:3e:00:00:%02x" % dom, t)
            c.write("/local/domain/0/backend/vif/%d/0/state" % dom, "1", t)
        a.tx_end(ta)
        b.tx_end(tb)
        assert a.read("/local/domain/32/device/vif/0/state") == b"1"
        assert b.read("/local/domain/31/device/vif/0/mac") == b"00:16:3e:00:00:1f"


def test_new_siblings_under_local_both_commit(xsd):
    """Each transaction creates a different new child of /local itself."""
    with xsd.conn() as a, xsd.conn() as b:
        ta, tb = a.tx_start(), b.tx_start()
        a.write("/local/sibling-a/x", "a", ta)
        b.write("/local/sibling-b/x", "b", tb)
        a.tx_end(ta)
        b.tx_end(tb)
        assert sorted(n for n in a.directory("/local") if n.startswith("sibling-")) == [
            "sibling-a", "sibling-b"]


def test_read_modify_write_race_gets_eagain(xsd, top):
    with xsd.conn() as a, xsd.conn() as b:
        a.write(top + "/counter", "0")
        ta, tb = a.tx_start(), b.tx_start()
        va = int(a.read(top + "/counter", ta))
        vb = int(b.read(top + "/counter", tb))
        a.write(top + "/counter", str(va + 1), ta)
        b.write(top + "/counter", str(vb + 1), tb)
        a.tx_end(ta)
        assert commit_error(b, tb) == "EAGAIN"
        assert a.read(top + "/counter") == b"1"
        # The retry sees the committed value.
        tb = b.tx_start()
        vb = int(b.read(top + "/counter", tb))
        b.write(top + "/counter", str(vb + 1), tb)
        b.tx_end(tb)
        assert a.read(top + "/counter") == b"2"


def test_read_node_changed_outside_conflicts(xsd, top):
    with xsd.conn() as a, xsd.conn() as b:
        a.write(top + "/r", "0")
        t = a.tx_start()
        a.read(top + "/r", t)
        b.write(top + "/r", "changed")
        a.write(top + "/other", "x", t)
        assert commit_error(a, t) == "EAGAIN"
        assert not a.exists(top + "/other")


def test_written_node_changed_outside_conflicts(xsd, top):
    with xsd.conn() as a, xsd.conn() as b:
        t = a.tx_start()
        a.write(top + "/w", "mine", t)
        b.write(top + "/w", "theirs")
        assert commit_error(a, t) == "EAGAIN"
        assert a.read(top + "/w") == b"theirs"


def test_removed_node_conflicts(xsd, top):
    with xsd.conn() as a, xsd.conn() as b:
        a.write(top + "/gone/x", "1")
        t = a.tx_start()
        assert a.read(top + "/gone/x", t) == b"1"
        b.rm(top + "/gone")
        a.write(top + "/elsewhere", "1", t)
        assert commit_error(a, t) == "EAGAIN"


def test_listed_directory_gaining_child_conflicts(xsd, top):
    with xsd.conn() as a, xsd.conn() as b:
        a.write(top + "/dir/x", "1")
        t = a.tx_start()
        assert a.directory(top + "/dir", t) == ["x"]
        b.write(top + "/dir/y", "2")
        a.write(top + "/count", "1", t)
        assert commit_error(a, t) == "EAGAIN"


def test_unrelated_change_does_not_conflict(xsd, top):
    with xsd.conn() as a, xsd.conn() as b:
        a.write(top + "/mine", "0")
        a.write(top + "/theirs", "0")
        t = a.tx_start()
        a.read(top + "/mine", t)
        b.write(top + "/theirs", "1")
        b.write(top + "/theirs/child", "1")
        b.write(top + "/new-sibling", "1")
        a.write(top + "/mine", "1", t)
        a.tx_end(t)
        assert a.read(top + "/mine") == b"1"


def test_concurrent_increments_are_serialisable(xsd, top):
    """8 clients x 25 increments with retry on EAGAIN: no update lost."""
    with xsd.conn() as c:
        c.write(top + "/ctr", "0")
    errors, retries = [], [0]

    def worker():
        try:
            with xsd.conn() as c:
                for _ in range(25):
                    while True:
                        t = c.tx_start()
                        v = int(c.read(top + "/ctr", t))
                        c.write(top + "/ctr", str(v + 1), t)
                        e = commit_error(c, t)
                        if e is None:
                            break
                        assert e == "EAGAIN", e
                        retries[0] += 1
        except Exception as e:  # surfaced below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors
    with xsd.conn() as c:
        assert c.read(top + "/ctr") == b"200"


def test_many_open_transactions_commit_independently(xsd, top):
    """200 transactions open at once on disjoint nodes: all commit."""
    with xsd.conn() as c:
        txs = [c.tx_start() for _ in range(200)]
        assert len(set(txs)) == 200
        for i, t in enumerate(txs):
            c.write("%s/n%d" % (top, i), str(i), t)
        for t in reversed(txs):
            c.tx_end(t)
        assert len(c.directory(top)) == 200


def test_bad_tx_ids(xsd, top):
    with xsd.conn() as a, xsd.conn() as b:
        assert a.error_of(READ, z("/"), tx=987654) == "ENOENT"
        assert a.error_of(WRITE, z(top + "/x") + b"v", tx=987654) == "ENOENT"
        t = a.tx_start()
        # Another connection's transaction is not ours to use.
        assert b.error_of(WRITE, z(top + "/x") + b"v", tx=t) == "ENOENT"
        assert b.error_of(TRANSACTION_END, b"T\0", tx=t) == "ENOENT"
        assert a.error_of(TRANSACTION_END, b"X\0", tx=t) == "EINVAL"
        a.tx_end(t)
        # Ended: gone.
        assert a.error_of(READ, z("/"), tx=t) == "ENOENT"
        assert a.error_of(TRANSACTION_END, b"T\0", tx=t) == "ENOENT"
        assert a.error_of(TRANSACTION_END, b"T\0", tx=0) in ("ENOENT", "EINVAL")
        assert not a.exists(top + "/x")
        # No nesting.
        t = a.tx_start()
        assert a.error_of(TRANSACTION_START, b"\0", tx=t) in ("EBUSY", "EINVAL")
        a.tx_end(t, commit=False)


def test_closing_connection_drops_its_transactions(xsd, top):
    a = xsd.conn()
    t = a.tx_start()
    a.write(top + "/never", "x", t)
    a.close()
    with xsd.conn() as b:
        assert not b.exists(top + "/never")


def test_watch_fires_on_commit_only(xsd, top):
    with xsd.conn() as w, xsd.conn() as a:
        w.watch(top, "tok")
        assert w.next_event() == (top, "tok")
        t = a.tx_start()
        a.write(top + "/x", "1", t)
        a.write(top + "/y", "2", t)
        w.expect_no_event()
        a.tx_end(t)
        got = sorted(p for p, _ in w.drain_events())
        assert got == [top + "/x", top + "/y"], got
        t = a.tx_start()
        a.write(top + "/z", "3", t)
        a.tx_end(t, commit=False)
        w.expect_no_event()
        # A transaction that conflicts fires nothing either.
        t = a.tx_start()
        a.read(top + "/x", t)
        a.write(top + "/q", "1", t)
        w.drain_events()
        with xsd.conn() as b:
            b.write(top + "/x", "changed")
        assert w.next_event() == (top + "/x", "tok")
        assert commit_error(a, t) == "EAGAIN"
        w.expect_no_event()
