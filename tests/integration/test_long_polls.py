"""Long polls whose clients went away free their threads at once: an
abandoned event.from (timeout 1e308, clamped to a day) or event.next no
longer holds a thread, and with it a connection slot, until its wait
ends."""

import os
import socket
import time
import xmlrpc.client

from conftest import ok, own_host, wait_for

N = 1000


def xapi_threads(host):
    with open(os.path.join(host.run, "status")) as f:
        pid = next(int(line.split()[1]) for line in f if line.startswith("xapi "))
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def send_call(host, method, params):
    body = xmlrpc.client.dumps(params, method).encode()
    s = socket.create_connection(("127.0.0.1", host.port), timeout=30)
    s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Type: text/xml\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return s


def test_abandoned_long_polls_free_their_threads():
    conf = "max-connections=%d\nmax-connections-per-address=%d\n" % (N + 100, N + 100)
    with own_host("cxapi-polls-", conf) as h:
        s = h.proxy()
        sid = h.login()
        ok(s.event.register(sid, ["pool"]))
        token = ok(getattr(s.event, "from")(sid, ["pool"], "", 0.0))["token"]
        idle = xapi_threads(h)
        socks = []
        for i in range(N):
            if i % 10 == 9:  # some of the legacy kind too
                socks.append(send_call(h, "event.next", (sid,)))
            else:
                socks.append(send_call(h, "event.from", (sid, ["pool"], token, 1e308)))
        # A thread for each waiting call (and a few spares, which may have
        # been there before).
        assert wait_for(lambda: xapi_threads(h) >= N + 2, timeout=60), (idle, xapi_threads(h))
        start = time.monotonic()
        for sock in socks:
            sock.close()
        # The server keeps up to 16 threads waiting for the next request.
        assert wait_for(lambda: xapi_threads(h) <= idle + 16, timeout=30), xapi_threads(h)
        print("%d abandoned long polls ended in %.3f s" % (N, time.monotonic() - start))
        # The host is as it was: a long poll from a client that stays is
        # still answered when something happens.
        waiter = send_call(h, "event.from", (sid, ["pool"], token, 30.0))
        pool = ok(s.pool.get_all(sid))[0]
        ok(s.pool.add_to_other_config(sid, pool, "long-poll", "1"))
        waiter.settimeout(30)
        data = b""
        while b"</methodResponse>" not in data:
            chunk = waiter.recv(65536)
            assert chunk, data
            data += chunk
        waiter.close()
        assert b"long-poll" in data
