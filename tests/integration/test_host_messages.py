"""Explicit pool and host messages that answer from the running host."""

import calendar
import time
import xmlrpc.client


def value(r):
    assert r["Status"] == "Success", r
    return r["Value"]


def test_host_clock_memory_and_methods(host):
    s = host.proxy()
    sid = host.login()
    h = value(s.host.get_all(sid))[0]
    t = value(s.host.get_servertime(sid, h))
    assert isinstance(t, xmlrpc.client.DateTime)
    # the XenAPI writes UTC with a Z, which xmlrpc.client's timetuple() refuses
    server = calendar.timegm(time.strptime(t.value.rstrip("Z"), "%Y%m%dT%H:%M:%S"))
    assert abs(server - time.time()) < 120
    assert isinstance(value(s.host.get_server_localtime(sid, h)), xmlrpc.client.DateTime)
    assert int(value(s.host.compute_free_memory(sid, h))) > 0
    assert int(value(s.host.compute_memory_overhead(sid, h))) >= 0
    methods = value(s.host.list_methods(sid))
    assert "VM.get_record" in methods and "host.list_methods" in methods
    assert value(s.host.has_extension(sid, h, "anything")) is False
    r = s.host.get_servertime(sid, "OpaqueRef:nope")
    assert r["ErrorDescription"] == ["HANDLE_INVALID", "host", "OpaqueRef:nope"]


def test_pool_license_and_slave_login(host):
    s = host.proxy()
    sid = host.login()
    p = value(s.pool.get_all(sid))[0]
    state = value(s.pool.get_license_state(sid, p))
    assert state["edition"] and state["expiry"]
    assert value(s.pool.has_extension(sid, p, "x")) is False
    local = value(s.session.slave_local_login_with_password("root", host.password))
    assert value(s.pool.get_all(local)) == [p]
    r = s.session.slave_local_login_with_password("root", "wrong")
    assert r["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED"
