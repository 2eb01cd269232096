"""XML-RPC front door: session.*, pool.get_all, error shapes, paths, headers."""

import xmlrpc.client

import pytest

from conftest import failure, ok


def is_ref(v):
    return isinstance(v, str) and v.startswith("OpaqueRef:") and len(v) > len("OpaqueRef:")


def test_login_4_args(host):
    s = ok(host.proxy().session.login_with_password("root", host.password, "1.0", "pytest"))
    assert is_ref(s)


def test_login_2_args(host):
    s = ok(host.proxy().session.login_with_password("root", host.password))
    assert is_ref(s)


def test_login_3_args(host):
    s = ok(host.proxy().session.login_with_password("root", host.password, "1.0"))
    assert is_ref(s)


def test_sessions_are_distinct(host):
    a = host.login()
    b = host.login()
    assert a != b


def test_pool_get_all_one_ref(host):
    s = host.login()
    pools = ok(host.proxy().pool.get_all(s))
    assert isinstance(pools, list) and len(pools) == 1
    assert is_ref(pools[0])
    # stable across sessions
    assert ok(host.proxy().pool.get_all(host.login())) == pools


def test_get_this_host(host):
    s = host.login()
    h = ok(host.proxy().session.get_this_host(s, s))
    assert is_ref(h)
    assert ok(host.proxy().session.get_this_host(s, s)) == h
    # the pool ref and the host ref are different objects
    assert h not in ok(host.proxy().pool.get_all(s))


def test_logout_then_session_invalid(host):
    p = host.proxy()
    s = host.login()
    ok(p.pool.get_all(s))
    assert ok(p.session.logout(s)) in ("", None)
    err = failure(p.pool.get_all(s))
    assert err[0] == "SESSION_INVALID", err
    assert err[1:] == [s], err
    err = failure(p.session.get_this_host(s, s))
    assert err[0] == "SESSION_INVALID", err


def test_bogus_session_invalid(host):
    err = failure(host.proxy().pool.get_all("OpaqueRef:nonexistent"))
    assert err == ["SESSION_INVALID", "OpaqueRef:nonexistent"], err


def test_other_sessions_survive_logout(host):
    p = host.proxy()
    a, b = host.login(), host.login()
    ok(p.session.logout(a))
    ok(p.pool.get_all(b))


def test_wrong_password(host):
    err = failure(host.proxy().session.login_with_password("root", "wrong-" + host.password))
    assert err[0] == "SESSION_AUTHENTICATION_FAILED", err


def test_wrong_user(host):
    err = failure(host.proxy().session.login_with_password("nobody", host.password))
    assert err[0] == "SESSION_AUTHENTICATION_FAILED", err


def test_unknown_method(host):
    err = failure(host.proxy().VM.frobnicate("x"))
    assert err == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"], err


def test_unknown_method_no_params(host):
    err = failure(host.proxy().nosuch.method())
    assert err == ["MESSAGE_METHOD_UNKNOWN", "nosuch.method"], err


@pytest.mark.parametrize("args,expected", [
    ((), "4"),
    (("root",), "4"),
    (("root", "a", "b", "c", "d"), "4"),
])
def test_login_param_count(host, args, expected):
    err = failure(host.proxy().session.login_with_password(*args))
    assert err[0] == "MESSAGE_PARAMETER_COUNT_MISMATCH", err
    assert err[1] == "session.login_with_password", err
    assert err[2] == expected, err
    assert err[3] == str(len(args)), err


def test_get_this_host_param_count(host):
    s = host.login()
    err = failure(host.proxy().session.get_this_host(s))
    assert err == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "session.get_this_host", "2", "1"], err


def test_pool_get_all_param_count(host):
    s = host.login()
    err = failure(host.proxy().pool.get_all(s, s))
    assert err == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "pool.get_all", "1", "2"], err


def test_content_type_exact(host):
    body = xmlrpc.client.dumps(("root", host.password), "session.login_with_password")
    status, headers, data = host.post("/", body)
    assert status == 200
    assert headers.get("content-type") == "text/xml", headers
    (r,), _ = xmlrpc.client.loads(data)
    assert is_ref(ok(r))


def test_content_type_exact_on_failure(host):
    body = xmlrpc.client.dumps(("x",), "no.such")
    status, headers, data = host.post("/", body)
    assert status == 200
    assert headers.get("content-type") == "text/xml", headers
    (r,), _ = xmlrpc.client.loads(data)
    assert failure(r)[0] == "MESSAGE_METHOD_UNKNOWN"


@pytest.mark.parametrize("path", ["/RPC2", "/xmlrpc"])
def test_alternate_paths(host, path):
    p = host.proxy(path)
    r = p.session.login_with_password("root", host.password, "1.0", "pytest")
    s = ok(r)
    assert is_ref(s)
    assert len(ok(p.pool.get_all(s))) == 1
    body = xmlrpc.client.dumps((s,), "pool.get_all")
    status, headers, _ = host.post(path, body)
    assert status == 200 and headers.get("content-type") == "text/xml", (status, headers)


UNICODE = "h\u00e9llo-\u65e5\u672c\u8a9e-\u0416-\U0001F600-<&>\"'"


def test_unicode_session_ref_round_trip(host):
    ref = "OpaqueRef:" + UNICODE
    err = failure(host.proxy().pool.get_all(ref))
    assert err == ["SESSION_INVALID", ref], err


def test_unicode_method_name_round_trip(host):
    name = "m\u00e9thode.\u65e5\u672c"
    body = xmlrpc.client.dumps(("x",), name, encoding="utf-8")
    status, headers, data = host.post("/", body)
    assert status == 200, data
    (r,), _ = xmlrpc.client.loads(data)
    assert failure(r) == ["MESSAGE_METHOD_UNKNOWN", name]


def test_unicode_username_in_auth_failure(host):
    user = "r\u00f6\u00f6t-\u65e5\U0001F600"
    err = failure(host.proxy().session.login_with_password(user, host.password))
    assert err[0] == "SESSION_AUTHENTICATION_FAILED", err
    assert err[1] == user, err


def test_unicode_originator_accepted(host):
    s = ok(host.proxy().session.login_with_password("root", host.password, "1.0", UNICODE))
    assert is_ref(s)


def test_untyped_value_is_string(host):
    # XML-RPC spec: a <value> with no type element is a string.
    body = ("<?xml version='1.0'?><methodCall><methodName>session.login_with_password"
            "</methodName><params><param><value>root</value></param>"
            "<param><value>%s</value></param></params></methodCall>" % host.password)
    status, headers, data = host.post("/", body)
    assert status == 200, data
    (r,), _ = xmlrpc.client.loads(data)
    assert is_ref(ok(r))
