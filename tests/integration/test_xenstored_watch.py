"""xenstored watches: fired once when set, then on every change at or below
the path (removals of parents included), with the token, in commit order,
never lost while the connection lives; @introduceDomain/@releaseDomain.
Harness: test_xenstored_harness.py.
"""

from test_xenstored_harness import (  # noqa: F401 (top and xsd are fixtures)
    UNWATCH, WATCH, WRITE, top, xsd, z)


def test_fires_once_when_set(xsd, top):
    with xsd.conn() as w:
        w.watch(top + "/not/yet", "first")
        assert w.next_event() == (top + "/not/yet", "first")
        w.expect_no_event()


def test_fires_on_set_and_below(xsd, top):
    with xsd.conn() as w, xsd.conn() as c:
        w.watch(top + "/a", "t")
        w.next_event()
        c.write(top + "/a", "1")
        assert w.next_event() == (top + "/a", "t")
        c.write(top + "/a/b/c", "2")
        # Creating /a/b/c creates /a/b too; at least the node written shows.
        evs = w.drain_events()
        assert (top + "/a/b/c", "t") in evs, evs
        assert all(p.startswith(top + "/a") for p, _ in evs), evs
        c.mkdir(top + "/a/m")
        assert w.next_event() == (top + "/a/m", "t")
        c.set_perms(top + "/a/m", ["n0", "r3"])
        assert w.next_event() == (top + "/a/m", "t")
        c.rm(top + "/a/m")
        assert w.next_event() == (top + "/a/m", "t")
        # Not above, not beside.
        c.write(top + "/ab", "x")
        c.write(top, "x")
        w.expect_no_event()


def test_fires_on_removal_of_parent(xsd, top):
    with xsd.conn() as w, xsd.conn() as c:
        c.write(top + "/p/q/r", "1")
        w.watch(top + "/p/q/r", "deep")
        w.next_event()
        c.rm(top + "/p")
        assert w.next_event() == (top + "/p/q/r", "deep")
        w.expect_no_event()


def test_watch_on_missing_node_fires_when_created(xsd, top):
    with xsd.conn() as w, xsd.conn() as c:
        w.watch(top + "/later", "t")
        w.next_event()
        c.write(top + "/later", "now")
        assert w.next_event() == (top + "/later", "t")


def test_tokens(xsd, top):
    with xsd.conn() as w, xsd.conn() as c:
        w.watch(top + "/k", "one")
        w.watch(top + "/k", "two")
        w.watch(top, "parent")
        w.drain_events()
        c.write(top + "/k", "v")
        got = sorted(w.drain_events())
        assert got == sorted([(top + "/k", "one"), (top + "/k", "two"),
                              (top + "/k", "parent")]), got
        # The same path and token twice: EEXIST.
        assert w.error_of(WATCH, z(top + "/k", "one")) == "EEXIST"


def test_unwatch(xsd, top):
    with xsd.conn() as w, xsd.conn() as c:
        w.watch(top + "/u", "t1")
        w.watch(top + "/u", "t2")
        w.drain_events()
        w.unwatch(top + "/u", "t1")
        c.write(top + "/u", "v")
        assert w.drain_events() == [(top + "/u", "t2")]
        assert w.error_of(UNWATCH, z(top + "/u", "t1")) == "ENOENT"
        assert w.error_of(UNWATCH, z(top + "/never", "t")) == "ENOENT"


def test_events_in_commit_order(xsd, top):
    n = 300
    with xsd.conn() as w, xsd.conn() as a, xsd.conn() as b:
        w.watch(top, "ord")
        w.next_event()
        # Two writers interleaved: the events follow the order of commits.
        for i in range(n):
            (a if i % 2 else b).write("%s/n%03d" % (top, i), str(i))
        got = [w.next_event() for _ in range(n)]
        assert got == [("%s/n%03d" % (top, i), "ord") for i in range(n)]
        w.expect_no_event()


def test_pipelined_writes_events_in_order(xsd, top):
    """Writes sent back to back on one connection: replies and events both
    in request order, events interleaved with replies as they come."""
    n = 500
    with xsd.conn() as w, xsd.conn() as c:
        w.watch(top, "p")
        w.next_event()
        data = b"".join(c.frame(WRITE, z("%s/x%d" % (top, i)) + b"v")[0] for i in range(n))
        c.send_raw(data)
        for i in range(n):
            assert c.reply(WRITE, i + 1) == b"OK\0"
        got = [w.next_event() for _ in range(n)]
        assert got == [("%s/x%d" % (top, i), "p") for i in range(n)]


def test_own_write_event_and_reply_both_arrive(xsd, top):
    with xsd.conn() as c:
        c.watch(top + "/self", "me")
        assert c.next_event() == (top + "/self", "me")
        c.write(top + "/self", "1")  # events meanwhile are queued
        assert c.next_event() == (top + "/self", "me")


def test_no_event_lost_in_a_burst(xsd, top):
    n = 5000
    with xsd.conn() as w, xsd.conn() as c:
        w.watch(top, "burst")
        w.next_event()
        t = c.tx_start()
        for i in range(n):
            c.write("%s/b%d" % (top, i), "", t)
        c.tx_end(t)
        got = {w.next_event(timeout=10)[0] for _ in range(n)}
        assert got == {"%s/b%d" % (top, i) for i in range(n)}


def test_special_paths(xsd):
    with xsd.conn() as w, xsd.conn() as c:
        w.watch("@introduceDomain", "i")
        w.watch("@releaseDomain", "r")
        w.drain_events()
        c.introduce(41)
        assert w.next_event() == ("@introduceDomain", "i")
        c.introduce(41)  # already introduced: no second event
        c.release(41)
        assert w.next_event() == ("@releaseDomain", "r")
        # Ordinary writes do not fire the special watches.
        c.write("/local/domain/41/x", "1")
        w.expect_no_event()


def test_watch_root_sees_everything(xsd, top):
    with xsd.conn() as w, xsd.conn() as c:
        w.watch("/", "root")
        w.next_event()
        c.write(top + "/anything", "1")
        evs = w.drain_events()
        assert (top + "/anything", "root") in evs


def test_relative_watch_reports_relative_paths(xsd):
    with xsd.conn() as c:
        c.mkdir("/local/domain/42")
        c.set_perms("/local/domain/42", ["n42"])
    with xsd.domain_conn(42) as d, xsd.conn() as c:
        d.watch("data", "rel")
        assert d.next_event() == ("data", "rel")
        c.write("/local/domain/42/data/ip", "10.0.0.2")
        assert d.next_event() == ("data/ip", "rel")


def test_watch_ends_with_connection(xsd, top):
    w = xsd.conn()
    w.watch(top, "t")
    w.next_event()
    w.close()
    with xsd.conn() as c:
        c.write(top + "/after", "1")  # nobody to deliver to: no crash
    xsd.check_healthy()


def test_tool_watch_reports_every_change(xsd, top):
    import subprocess
    xsd.tool("xenstore-write", top + "/tw", "0")
    p = subprocess.Popen(["xenstore-watch", "-n", "4", top], env=xsd.env(),
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == top
        with xsd.conn() as c:
            c.write(top + "/tw", "1")
            c.write(top + "/tw/deeper", "2")
            c.rm(top + "/tw")
        lines = [p.stdout.readline().strip() for _ in range(3)]
        assert lines == [top + "/tw", top + "/tw/deeper", top + "/tw"], lines
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
