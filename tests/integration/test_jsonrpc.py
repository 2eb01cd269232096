"""JSON-RPC v1.0 and v2.0 on POST /jsonrpc."""

import json

import pytest


def call(host, method, params, id_=1, v2=False, conn=None):
    req = {"method": method, "params": params, "id": id_}
    if v2:
        req["jsonrpc"] = "2.0"
    status, headers, data = host.jsonrpc(req, conn=conn)
    assert status == 200, (status, data)
    assert headers.get("content-type") == "application/json", headers
    return json.loads(data.decode("utf-8"))


def login(host, v2=False):
    r = call(host, "session.login_with_password",
             ["root", host.password, "1.0", "pytest"], v2=v2)
    s = r["result"]
    assert isinstance(s, str) and s.startswith("OpaqueRef:"), r
    return s


# --- v1.0 ------------------------------------------------------------------

def test_v1_success_shape(host):
    r = call(host, "session.login_with_password", ["root", host.password], id_=11)
    assert set(r) == {"result", "error", "id"}, r
    assert r["error"] is None
    assert r["id"] == 11
    assert r["result"].startswith("OpaqueRef:")


def test_v1_error_is_array(host):
    r = call(host, "session.login_with_password", ["root", "bad-pw"], id_=12)
    assert set(r) == {"result", "error", "id"}, r
    assert r["result"] is None
    assert isinstance(r["error"], list), r
    assert r["error"][0] == "SESSION_AUTHENTICATION_FAILED"
    assert r["id"] == 12


def test_v1_unknown_method(host):
    r = call(host, "VM.frobnicate", [], id_=13)
    assert r["result"] is None
    assert r["error"] == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"], r


def test_v1_param_count(host):
    r = call(host, "session.login_with_password", ["root"], id_=14)
    assert r["error"] == ["MESSAGE_PARAMETER_COUNT_MISMATCH",
                          "session.login_with_password", "4", "1"], r


def test_v1_pool_get_all_and_this_host(host):
    s = login(host)
    r = call(host, "pool.get_all", [s])
    assert r["error"] is None
    assert isinstance(r["result"], list) and len(r["result"]) == 1
    assert r["result"][0].startswith("OpaqueRef:")
    r = call(host, "session.get_this_host", [s, s])
    assert r["error"] is None and r["result"].startswith("OpaqueRef:"), r


def test_v1_logout_then_invalid(host):
    s = login(host)
    r = call(host, "session.logout", [s])
    assert r["error"] is None, r
    r = call(host, "pool.get_all", [s])
    assert r["result"] is None
    assert r["error"] == ["SESSION_INVALID", s], r


# --- v2.0 ------------------------------------------------------------------

def test_v2_success_shape(host):
    r = call(host, "session.login_with_password", ["root", host.password], id_=21, v2=True)
    assert r.get("jsonrpc") == "2.0", r
    assert "error" not in r, r
    assert r["id"] == 21
    assert r["result"].startswith("OpaqueRef:")


def test_v2_error_object(host):
    r = call(host, "session.login_with_password", ["root", "bad-pw"], id_=22, v2=True)
    assert r.get("jsonrpc") == "2.0", r
    assert "result" not in r, r
    assert r["id"] == 22
    e = r["error"]
    assert isinstance(e, dict), r
    assert {"code", "message", "data"} <= set(e), e
    assert isinstance(e["code"], int), e
    assert e["message"] == "SESSION_AUTHENTICATION_FAILED", e
    assert isinstance(e["data"], list), e


def test_v2_unknown_method(host):
    r = call(host, "VM.frobnicate", ["x"], id_=23, v2=True)
    e = r["error"]
    assert e["message"] == "MESSAGE_METHOD_UNKNOWN", e
    assert e["data"] == ["VM.frobnicate"], e


def test_v2_param_count(host):
    s = login(host, v2=True)
    r = call(host, "session.get_this_host", [s], id_=24, v2=True)
    e = r["error"]
    assert e["message"] == "MESSAGE_PARAMETER_COUNT_MISMATCH", e
    assert e["data"] == ["session.get_this_host", "2", "1"], e


def test_v2_logout_then_invalid(host):
    s = login(host, v2=True)
    r = call(host, "session.logout", [s], v2=True)
    assert "error" not in r, r
    r = call(host, "pool.get_all", [s], v2=True)
    assert r["error"]["message"] == "SESSION_INVALID", r
    assert r["error"]["data"] == [s], r


# --- ids -------------------------------------------------------------------

@pytest.mark.parametrize("v2", [False, True])
@pytest.mark.parametrize("id_", [
    0, 1, 2 ** 31 + 5, -7, "abc", "", "id with \"quotes\" and \\ and \u00e9\u65e5\U0001F600",
])
def test_id_echoed(host, id_, v2):
    r = call(host, "pool.get_all", ["OpaqueRef:bogus"], id_=id_, v2=v2)
    assert r["id"] == id_, r
    assert type(r["id"]) is type(id_), r
    r = call(host, "session.login_with_password", ["root", host.password], id_=id_, v2=v2)
    assert r["id"] == id_, r


def test_unicode_round_trip(host):
    ref = "OpaqueRef:\u00e9\u65e5\u672c\U0001F600<&>\"'\\"
    r = call(host, "pool.get_all", [ref])
    assert r["error"] == ["SESSION_INVALID", ref], r


def test_content_type_exact_on_errors(host):
    status, headers, data = host.jsonrpc(
        {"jsonrpc": "2.0", "method": "no.such", "params": [], "id": "x"})
    assert status == 200
    assert headers.get("content-type") == "application/json", headers


def test_strings_xml_cannot_carry_are_refused(host):
    """Only JSON-RPC can send a control character; stored, it would make
    every XML-RPC reply carrying it unreadable (XenCenter's, XO's), so it
    is refused as FIELD_TYPE_ERROR. Tab, newline and CR are fine."""
    s = login(host)
    pool = call(host, "pool.get_all", [s])["result"][0]
    for bad in ("a\u0001b", "\u001f", "x\uffffy", "\ufffe"):
        r = call(host, "pool.set_name_description", [s, pool, bad])
        assert r["error"][:2] == ["FIELD_TYPE_ERROR", "value"], (bad, r)
        r = call(host, "pool.add_to_other_config", [s, pool, bad, "v"])
        assert r["error"][0] == "FIELD_TYPE_ERROR", (bad, r)
    ok = "tab\there\nline\r\u00e9\u4e2d"
    assert call(host, "pool.set_name_description", [s, pool, ok])["error"] is None
    # and the XML-RPC view of it parses
    proxy = host.proxy()
    xs = proxy.session.login_with_password("root", host.password)["Value"]
    assert proxy.pool.get_name_description(xs, pool)["Value"] == ok
