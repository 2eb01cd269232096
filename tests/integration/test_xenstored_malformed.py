"""xenstored against malformed and hostile input: short headers, len over
4096 or over the data sent, missing NUL terminators, unknown types, bad
tx_ids, floods of watches and of events.  Each gets an error reply or a
closed connection; the daemon stays up and a bystander client, holding a
watch throughout, keeps getting its replies and events.
Harness: test_xenstored_harness.py.
"""

import random
import socket
import struct
import time

import pytest

from test_xenstored_harness import (  # noqa: F401 (top and xsd are fixtures)
    CONTROL, DIRECTORY, DIRECTORY_PART, ERROR, GET_DOMAIN_PATH, INTRODUCE, MKDIR, READ, RM,
    SET_PERMS, TRANSACTION_END, TYPE_COUNT, UNWATCH, WATCH, WATCH_EVENT, WATCH_QUOTA_ERRORS,
    WRITE, XsError, top, xsd, z)

HDR = struct.Struct("<IIII")


@pytest.fixture(scope="module")
def bystander(xsd):
    c = xsd.conn()
    c.watch("/bystander", "b")
    assert c.next_event() == ("/bystander", "b")
    yield c
    c.close()


def check_unaffected(xsd, bystander, n=[0]):
    """The daemon is up; the bystander's requests and watch still work."""
    assert xsd.alive(), "xenstored died:\n" + xsd.output()[-3000:]
    n[0] += 1
    with xsd.conn() as c:
        c.write("/bystander/poke", str(n[0]))
    assert bystander.next_event() == ("/bystander/poke", "b")
    assert bystander.read("/bystander/poke") == str(n[0]).encode()


def expect_error_or_close(c, rid, names):
    """The reply to rid is an error in names, or the connection closes."""
    try:
        while True:
            typ, got, tx, payload = c.recv_frame()
            if typ == WATCH_EVENT:
                continue
            assert got == rid
            assert typ == ERROR, "accepted: type %d %r" % (typ, payload)
            assert payload[:-1].decode() in names, payload
            return "error"
    except (EOFError, ConnectionResetError):
        return "closed"


def test_short_header_then_close(xsd, bystander):
    for n in (1, 4, 15):
        c = xsd.conn()
        c.send_raw(HDR.pack(READ, 1, 0, 2)[:n])
        c.close()
    check_unaffected(xsd, bystander)


def test_short_header_held_open_blocks_nobody(xsd, bystander, top):
    c = xsd.conn()
    frame, rid = c.frame(READ, z(top))
    c.send_raw(frame[:7])
    check_unaffected(xsd, bystander)
    # Completed later, it is answered.
    c.send_raw(frame[7:])
    assert expect_error_or_close(c, rid, ("ENOENT",)) == "error"
    c.close()


@pytest.mark.parametrize("length", [4097, 65536, 0x7fffffff, 0xffffffff])
def test_len_over_payload_max(xsd, bystander, length):
    c = xsd.conn()
    data, rid = c.frame(WRITE, z("/big") + b"x" * 100, length=length)
    c.send_raw(data)
    assert expect_error_or_close(c, rid, ("E2BIG", "EINVAL")) in ("error", "closed")
    c.close()
    check_unaffected(xsd, bystander)
    with xsd.conn() as c2:
        assert not c2.exists("/big")


def test_len_larger_than_data_sent(xsd, bystander, top):
    c = xsd.conn()
    data, rid = c.frame(WRITE, z(top + "/partial") + b"abc", length=200)
    c.send_raw(data)
    check_unaffected(xsd, bystander)
    with xsd.conn() as c2:
        assert not c2.exists(top + "/partial")
    c.close()  # the rest never comes
    check_unaffected(xsd, bystander)
    with xsd.conn() as c2:
        assert not c2.exists(top + "/partial")


def test_missing_nul_terminators(xsd, bystander, top):
    with xsd.conn() as c:
        c.write(top + "/n", "v")
        cases = [
            (READ, (top + "/n").encode()),
            (DIRECTORY, top.encode()),
            (RM, (top + "/n").encode()),
            (MKDIR, (top + "/m").encode()),
            (WRITE, (top + "/n").encode()),  # no NUL at all: no value either
            (WATCH, z(top) + b"token"),
            (WATCH, z(top)),
            (UNWATCH, z(top) + b"token"),
            (SET_PERMS, z(top + "/n") + b"b0"),
            (SET_PERMS, (top + "/n").encode()),
            (TRANSACTION_END, b"T"),
            (GET_DOMAIN_PATH, b"5"),
            (INTRODUCE, z("5", "0") + b"0"),
            (CONTROL, b"quota"),
            (DIRECTORY_PART, z(top) + b"0"),
        ]
        for typ, payload in cases:
            rid = c.send(typ, payload)
            try:
                r = c.reply(typ, rid)
            except XsError as e:
                assert e.name in ("EINVAL", "ENOENT"), (typ, payload, e.name)
                continue
            raise AssertionError("type %d %r accepted: %r" % (typ, payload, r))
        # Nothing changed, the connection still serves.
        assert c.read(top + "/n") == b"v"
        assert c.directory(top) == ["n"]
    check_unaffected(xsd, bystander)


def test_empty_payload_for_every_type(xsd, bystander):
    with xsd.conn() as c:
        for typ in range(TYPE_COUNT + 2):
            if typ in (TRANSACTION_END,):
                continue  # needs a tx_id: covered elsewhere
            rid = c.send(typ, b"")
            while True:
                rtyp, got, tx, payload = c.recv_frame()
                if rtyp != WATCH_EVENT:
                    break
            assert got == rid
            assert rtyp in (typ, ERROR), (typ, rtyp)
        c.reset_watches()
    check_unaffected(xsd, bystander)


@pytest.mark.parametrize("typ", [WATCH_EVENT, ERROR, 20, TYPE_COUNT, 100, 0xffff, 0xffffffff])
def test_unknown_or_reply_only_types(xsd, bystander, typ):
    with xsd.conn() as c:
        rid = c.send(typ, z("/x", "y"))
        assert expect_error_or_close(c, rid, ("EINVAL", "ENOSYS")) == "error"
        assert c.read("/bystander") == b""  # still usable
    check_unaffected(xsd, bystander)


@pytest.mark.parametrize("tx", [1, 77, 0x7fffffff, 0xffffffff])
def test_bad_tx_id(xsd, bystander, tx):
    with xsd.conn() as c:
        for typ, payload in ((READ, z("/")), (WRITE, z("/bad-tx") + b"v"),
                             (TRANSACTION_END, b"T\0"), (DIRECTORY, z("/"))):
            rid = c.send(typ, payload, tx=tx)
            assert expect_error_or_close(c, rid, ("ENOENT", "EINVAL")) == "error"
        assert not c.exists("/bad-tx")
    check_unaffected(xsd, bystander)


def test_watch_request_flood_from_guest(xsd, bystander):
    """A guest pipelines 2000 WATCHes: the first 128 (its quota) are set,
    the rest refused; nothing else notices."""
    with xsd.conn() as c:
        c.mkdir("/local/domain/50")
        c.set_perms("/local/domain/50", ["n50"])
    with xsd.domain_conn(50) as g:
        frames, rids = [], []
        for i in range(2000):
            f, rid = g.frame(WATCH, z("w%d" % i, "t"))
            frames.append(f)
            rids.append(rid)
        g.send_raw(b"".join(frames))
        ok = refused = 0
        for rid in rids:
            try:
                g.reply(WATCH, rid)
                ok += 1
            except XsError as e:
                assert e.name in WATCH_QUOTA_ERRORS, e.name
                refused += 1
        assert (ok, refused) == (128, 2000 - 128)
        check_unaffected(xsd, bystander)


def test_huge_tokens_refused(xsd, bystander):
    with xsd.conn() as c:
        rid = c.send(WATCH, z("/w", "t" * 4000))
        assert expect_error_or_close(c, rid, ("E2BIG", "EINVAL")) == "error"
    check_unaffected(xsd, bystander)


def test_event_flood_to_a_client_that_never_reads(xsd, bystander, top):
    """A watcher that never reads is cut off once its unread output passes
    its bound; writers and other watchers go on."""
    with xsd.conn() as c:
        old = int(dict(line.split() for line in c.control("quota", "dom0").rstrip(b"\0")
                       .decode().splitlines())["output"])
        assert c.control("quota", "set-dom0", "output", str(256 * 1024)) == b"OK\0"
    try:
        lazy = xsd.conn()
        lazy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        lazy.watch("/", "everything")
        with xsd.conn() as w:
            tx = w.tx_start()
            for i in range(20000):
                w.write("%s/f%d" % (top, i), "", tx)
            w.tx_end(tx)
            for i in range(200):
                w.write(top + "/more", str(i))
        assert lazy.is_closed(timeout=10), "the lazy watcher was never dropped"
        lazy.close()
        check_unaffected(xsd, bystander)
    finally:
        with xsd.conn() as c:
            c.control("quota", "set-dom0", "output", str(old))


def test_pipelined_requests_without_reading(xsd, bystander, top):
    """10,000 requests in one burst, replies read only afterwards."""
    with xsd.conn(timeout=30) as c:
        frames = [c.frame(WRITE, z("%s/p%d" % (top, i % 50)) + b"v%d" % i)[0]
                  for i in range(10000)]
        c.send_raw(b"".join(frames))
        check_unaffected(xsd, bystander)
        for i in range(10000):
            assert c.reply(WRITE, i + 1) == b"OK\0"
        assert c.read(top + "/p49") == b"v9999"


def test_byte_by_byte(xsd, bystander, top):
    with xsd.conn() as c:
        c.write(top + "/slow", "tortoise")
        data, rid = c.frame(READ, z(top + "/slow"))
        for b in data:
            c.send_raw(bytes([b]))
            time.sleep(0.001)
        assert c.reply(READ, rid) == b"tortoise"


def test_close_with_replies_pending(xsd, bystander, top):
    for _ in range(20):
        c = xsd.conn()
        c.send_raw(b"".join(c.frame(READ, z("/bystander"))[0] for _ in range(500)))
        c.close()
    check_unaffected(xsd, bystander)


def test_random_garbage(xsd, bystander):
    rng = random.Random(5)
    for i in range(200):
        c = xsd.conn()
        n = rng.randrange(1, 3000)
        data = bytes(rng.randrange(256) for _ in range(n))
        if i % 2:  # plausible header, garbage payload
            typ = rng.randrange(TYPE_COUNT + 3)
            ln = rng.randrange(0, 200)
            data = HDR.pack(typ, rng.randrange(1 << 32), rng.choice((0, 0, 1, 5)), ln) + \
                data[:ln]
        try:
            c.send_raw(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        c.close()
    check_unaffected(xsd, bystander)


def test_many_connections(xsd, bystander):
    conns = []
    try:
        for _ in range(1000):
            conns.append(xsd.conn())
        check_unaffected(xsd, bystander)
        for c in conns[::50]:
            assert c.read("/bystander") == b""
    finally:
        for c in conns:
            c.close()
    check_unaffected(xsd, bystander)
