"""Session limits and the calls that must not get a task."""

import xmlrpc.client

from conftest import ok


def login(s, password, originator):
    return ok(s.session.login_with_password("root", password, "1.0", originator))


def test_originator_limit_evicts_only_its_own(host):
    s = host.proxy()
    a = login(s, host.password, "client-A")
    b_sessions = [login(s, host.password, "client-B") for _ in range(505)]
    # B is held to 500 sessions, its oldest going first; A is untouched.
    assert ok(s.pool.get_all(a))
    r = s.pool.get_all(b_sessions[0])
    assert r["ErrorDescription"][0] == "SESSION_INVALID"
    assert ok(s.pool.get_all(b_sessions[-1]))
    live_b = [x for x in b_sessions if s.pool.get_all(x)["Status"] == "Success"]
    assert len(live_b) == 500
    for x in b_sessions[5:]:
        ok(s.session.logout(x))


def test_no_async_login(host):
    s = host.proxy()
    r = getattr(s, "Async.session.login_with_password")("root", host.password)
    assert r["ErrorDescription"] == ["MESSAGE_METHOD_UNKNOWN", "Async.session.login_with_password"]
    sid = login(s, host.password, "t")
    methods = s.system.listMethods()
    assert not [m for m in methods if m.startswith("Async.") and ".get" in m]
    assert "Async.session.login_with_password" not in methods
    assert "Async.message.create" in methods
    ok(s.session.logout(sid))


def test_bad_filter_is_invalid_value_with_the_expression(host):
    s = host.proxy()
    sid = login(s, host.password, "t")
    expr = 'field "name_label" = '
    r = s.VM.get_all_records_where(sid, expr)
    assert r["ErrorDescription"] == ["INVALID_VALUE", "expr", expr]
