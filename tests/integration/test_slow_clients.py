"""Slow and hostile clients cannot exhaust the front door.

The soak of the hardening issue: while 1,000 connections send their
headers one byte every 5 s (slow-header) and 800 send whole headers and
then their body one byte every 5 s (slow-body), each reconnecting as soon
as the server gives up on it, a normal client logs in 5 times a second
for 60 s, each time on a new connection, and at least 99% of those logins
succeed. The attackers come from ten loopback addresses (127.0.1.1-10),
180 from each, under the per-address limit: the event-driven reader and
its deadlines must carry the load, not the per-address refusal alone.
"""

import errno
import resource
import selectors
import socket
import struct
import time
import xmlrpc.client

from conftest import TimedTransport, own_host

SLOW_HEADER = 1000
SLOW_BODY = 800
ADDRESSES = ["127.0.1.%d" % i for i in range(1, 11)]
SOAK_S = 60
LOGINS_PER_S = 5
BYTE_EVERY_S = 5.0


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= need, "this test needs %d descriptors, the hard limit is %d" % (need, hard)


class Attacker:
    """One slow connection: its bytes, and where it is in sending them."""

    def __init__(self, index, port, body):
        self.source = ADDRESSES[index % len(ADDRESSES)]
        self.port = port
        self.body = body
        self.sock = None
        self.sent = 0
        self.next_send = 0.0

    def head(self):
        if self.body:  # whole headers, then the body trickles
            return (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml\r\n"
                    b"Content-Length: 1000\r\n\r\n")
        return b""

    def connect(self, sel, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((self.source, 0))
        err = s.connect_ex(("127.0.0.1", self.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            return False
        self.sock = s
        self.sent = 0
        self.next_send = now + 0.2  # once connected
        sel.register(s, selectors.EVENT_READ, self)
        return True

    def close(self, sel):
        sel.unregister(self.sock)
        # A reset, not a FIN: thousands of sockets in TIME_WAIT would hold
        # their ports for a minute after the test.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.sock = None

    def trickle(self, now):
        """Sends what is due: the headers at once for a slow body, then
        one byte every BYTE_EVERY_S. False when the server has closed."""
        if now < self.next_send:
            return True
        if self.sent == 0 and self.body:
            data = self.head()
        elif self.body:
            data = b"x"
        else:
            data = (b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 100000)[self.sent:self.sent + 1]
        try:
            self.sock.send(data)
        except OSError:
            return False
        self.sent += 1
        self.next_send = now + BYTE_EVERY_S
        return True


def attack_step(sel, attackers, now, stats):
    """Answers (a 408, a close) end a connection, which reconnects at once."""
    for key, _ in sel.select(timeout=0.05):
        a = key.data
        try:
            a.sock.recv(65536)
        except OSError:
            pass
        a.close(sel)
        stats["ended"] += 1
        a.connect(sel, now)
    for a in attackers:
        if a.sock is None:
            a.connect(sel, now)
        elif not a.trickle(now):
            a.close(sel)
            a.connect(sel, now)


def test_logins_succeed_under_slow_header_and_slow_body_floods():
    raise_fd_limit(SLOW_HEADER + SLOW_BODY + 512)
    conf = "http-header-timeout-ms=10000\n"  # the default, as a user runs it
    with own_host("cxapi-slow-", conf) as h:
        sel = selectors.DefaultSelector()
        attackers = ([Attacker(i, h.port, False) for i in range(SLOW_HEADER)] +
                     [Attacker(i, h.port, True) for i in range(SLOW_BODY)])
        stats = {"ended": 0}
        now = time.monotonic()
        for a in attackers:
            assert a.connect(sel, now)
        # Let them all be accepted and start trickling.
        settle = time.monotonic() + 3
        while time.monotonic() < settle:
            attack_step(sel, attackers, time.monotonic(), stats)

        start = time.monotonic()
        end = start + SOAK_S
        next_login = start
        results = []
        live = []
        while time.monotonic() < end:
            now = time.monotonic()
            attack_step(sel, attackers, now, stats)
            if now >= next_login:
                t0 = time.monotonic()
                results.append(login_once(h))
                live.append(sum(1 for a in attackers if a.sock is not None))
                next_login += 1.0 / LOGINS_PER_S
                if time.monotonic() - t0 > 1.0:  # a slow login must not starve the attack
                    attack_step(sel, attackers, time.monotonic(), stats)
        for a in attackers:
            if a.sock is not None:
                a.close(sel)
        sel.close()

        n = len(results)
        good = sum(results)
        print("%d/%d logins succeeded; attackers live at each login: min %d, max %d; "
              "%d attacker connections ended by the server" %
              (good, n, min(live), max(live), stats["ended"]))
        assert n >= SOAK_S * LOGINS_PER_S * 0.9, n  # the client kept its pace
        assert good >= 0.99 * n, (good, n)
        # The attack was real: the server ended slow connections on its
        # deadlines, and they were back at once.
        assert stats["ended"] >= SLOW_HEADER, stats
        assert sorted(live)[len(live) // 2] >= 0.9 * (SLOW_HEADER + SLOW_BODY), live[:20]


def login_once(h):
    """One login (and logout) on a new connection, answered within 10 s."""
    try:
        p = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % h.port, transport=TimedTransport(10))
        r = p.session.login_with_password("root", h.password, "1.0", "slow-clients-test")
        ok = r.get("Status") == "Success"
        if ok:
            p.session.logout(r["Value"])
        p("close")()
        return ok
    except (OSError, xmlrpc.client.Error):
        return False
