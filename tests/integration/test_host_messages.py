"""Explicit pool and host messages that answer from the running host."""

import calendar
import time
import xmlrpc.client

from conftest import ok


def test_host_clock_memory_and_methods(host):
    s = host.proxy()
    sid = host.login()
    h = ok(s.host.get_all(sid))[0]
    t = ok(s.host.get_servertime(sid, h))
    assert isinstance(t, xmlrpc.client.DateTime)
    # the XenAPI writes UTC with a Z, which xmlrpc.client's timetuple() refuses
    server = calendar.timegm(time.strptime(t.value.rstrip("Z"), "%Y%m%dT%H:%M:%S"))
    assert abs(server - time.time()) < 120
    assert isinstance(ok(s.host.get_server_localtime(sid, h)), xmlrpc.client.DateTime)
    assert int(ok(s.host.compute_free_memory(sid, h))) > 0
    assert int(ok(s.host.compute_memory_overhead(sid, h))) >= 0
    methods = ok(s.host.list_methods(sid))
    assert "VM.get_record" in methods and "host.list_methods" in methods
    assert ok(s.host.has_extension(sid, h, "anything")) is False
    r = s.host.get_servertime(sid, "OpaqueRef:nope")
    assert r["ErrorDescription"] == ["HANDLE_INVALID", "host", "OpaqueRef:nope"]


def test_pool_license_and_slave_login(host):
    s = host.proxy()
    sid = host.login()
    p = ok(s.pool.get_all(sid))[0]
    state = ok(s.pool.get_license_state(sid, p))
    assert state["edition"] and state["expiry"]
    assert ok(s.pool.has_extension(sid, p, "x")) is False
    local = ok(s.session.slave_local_login_with_password("root", host.password))
    assert ok(s.pool.get_all(local)) == [p]
    r = s.session.slave_local_login_with_password("root", "wrong")
    assert r["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED"
