"""Connections per domain: a guest's socket takes at most 64 connections,
and a part of the daemon's cap (a quarter, at most 64) is kept for dom0,
so neither one guest nor all of them can lock the control domain out.
A refused connection is accepted and closed; those open are served as
before, and a guest that closes its connections may open new ones."""

import os
import socket
import struct

from conftest import opened_to_others, reply_bytes_as
from test_xenstored_harness import GET_DOMAIN_PATH, finish_xenstored, start_xenstored, z

MAX = 400  # so the reserve for dom0 is 64 (a quarter would be 100)


def served(path):
    """A new connection to path and whether it answers a request: the
    socket, or None when the daemon closed it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    payload = z("0")
    try:
        s.sendall(struct.pack("<IIII", GET_DOMAIN_PATH, 1, 0, len(payload)) + payload)
        head = s.recv(16)
    except (ConnectionResetError, BrokenPipeError):
        head = b""
    if len(head) < 16:
        s.close()
        return None
    return s


def open_many(path, n):
    socks = [served(path) for _ in range(n)]
    return [s for s in socks if s], socks.count(None)


def test_guests_cannot_take_dom0s_connections():
    d = start_xenstored(["--max-connections", str(MAX)])
    held = []
    try:
        with d.conn() as c:
            for dom in range(11, 18):
                c.introduce(dom)
        # One guest: 64 served, the rest refused.
        ok, refused = open_many(d.domain_sock(11), 100)
        assert (len(ok), refused) == (64, 36)
        held += ok
        # Another guest is not affected.
        ok, refused = open_many(d.domain_sock(12), 10)
        assert (len(ok), refused) == (10, 0)
        held += ok
        # All guests together stop short of dom0's reserve: MAX - 64.
        for dom in range(13, 18):
            ok, _ = open_many(d.domain_sock(dom), 64)
            held += ok
        assert len(held) == MAX - 64, len(held)
        assert served(d.domain_sock(12)) is None
        # dom0 still connects, up to the daemon's cap.
        ok, refused = open_many(d.sock_path, 70)
        assert (len(ok), refused) == (64, 6)
        held += ok
        for s in held:
            s.close()
        held = []
        # Closed connections are counted out: the first guest may connect again.
        d.check_healthy()
        ok, refused = open_many(d.domain_sock(11), 64)
        assert (len(ok), refused) == (64, 0)
        held += ok
        with open(os.path.join(d.state, "log", "xenstored.log"), errors="replace") as f:
            log = f.read()
        assert "refused 1 connection(s) (latest on domain 11's socket)" in log  # then 1 line a second
    finally:
        for s in held:
            s.close()
        msgs = finish_xenstored(d)
        assert not msgs, msgs


def test_other_users_get_no_xenstore():
    """dom0's sockets give dom0's rights: a client of another user is
    dropped (SO_PEERCRED) even when someone loosens the sockets' modes."""
    d = start_xenstored()
    try:
        payload = z("0")
        request = struct.pack("<IIII", GET_DOMAIN_PATH, 1, 0, len(payload)) + payload
        with opened_to_others(d.sock_path):
            nobody = reply_bytes_as(65534, d.sock_path, request)
            root = reply_bytes_as(0, d.sock_path, request)
        assert nobody == 0
        assert root > 0
        d.check_healthy()
    finally:
        msgs = finish_xenstored(d)
        assert not msgs, msgs
