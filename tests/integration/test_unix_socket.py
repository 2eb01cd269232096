"""XML-RPC and JSON-RPC over RUNDIR/xapi.sock."""

import json
import os
import stat
import xmlrpc.client

from conftest import UnixHTTPConnection, opened_to_others, reply_bytes_as


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        self._connection = host, UnixHTTPConnection(self.unix_path)
        return self._connection[1]


def unix_proxy(host):
    return xmlrpc.client.ServerProxy("http://localhost/", transport=UnixTransport(host.sock_path),
                                     allow_none=True)


def test_socket_exists_in_default_run_dir(host):
    assert host.run == os.path.join(host.state, "run")
    assert stat.S_ISSOCK(os.stat(host.sock_path).st_mode)


def test_raw_http_client_over_unix(host):
    c = UnixHTTPConnection(host.sock_path)
    try:
        body = xmlrpc.client.dumps(("root", host.password, "1.0", "unix"),
                                   "session.login_with_password")
        c.request("POST", "/", body=body, headers={"Content-Type": "text/xml"})
        r = c.getresponse()
        data = r.read()
        assert r.status == 200
        assert r.getheader("Content-Type") == "text/xml"
        (res,), _ = xmlrpc.client.loads(data)
        assert res["Status"] == "Success", res
        session = res["Value"]
        # keep-alive on the unix socket too
        c.request("POST", "/", body=xmlrpc.client.dumps((session,), "pool.get_all"),
                  headers={"Content-Type": "text/xml"})
        r = c.getresponse()
        (res,), _ = xmlrpc.client.loads(r.read())
        assert res["Status"] == "Success" and len(res["Value"]) == 1, res
    finally:
        c.close()


def test_xmlrpc_proxy_over_unix(host):
    p = unix_proxy(host)
    r = p.session.login_with_password("root", host.password, "1.0", "unix")
    assert r["Status"] == "Success", r
    s = r["Value"]
    h = p.session.get_this_host(s, s)
    assert h["Status"] == "Success" and h["Value"].startswith("OpaqueRef:"), h
    assert p.no.such(s)["ErrorDescription"] == ["MESSAGE_METHOD_UNKNOWN", "no.such"]
    assert p.session.logout(s)["Status"] == "Success"
    assert p.pool.get_all(s)["ErrorDescription"] == ["SESSION_INVALID", s]


def test_session_shared_between_tcp_and_unix(host):
    s = host.login()  # over TCP
    r = unix_proxy(host).pool.get_all(s)
    assert r["Status"] == "Success", r
    assert r["Value"] == host.proxy().pool.get_all(s)["Value"]


def test_wrong_password_over_unix(host):
    r = unix_proxy(host).session.login_with_password("root", "nope")
    assert r["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED", r


def test_jsonrpc_over_unix(host):
    c = UnixHTTPConnection(host.sock_path)
    try:
        c.request("POST", "/jsonrpc",
                  body=json.dumps({"jsonrpc": "2.0", "method": "session.login_with_password",
                                   "params": ["root", host.password], "id": "u1"}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        assert r.status == 200
        assert r.getheader("Content-Type") == "application/json"
        res = json.loads(data)
        assert res["id"] == "u1" and res["result"].startswith("OpaqueRef:"), res
    finally:
        c.close()


def test_malformed_over_unix_then_serves(host):
    c = UnixHTTPConnection(host.sock_path)
    try:
        c.request("POST", "/", body=b"<broken", headers={"Content-Type": "text/xml"})
        r = c.getresponse()
        r.read()
        assert r.status == 500
        assert r.getheader("Content-Type") == "text/plain"
    finally:
        c.close()
    assert unix_proxy(host).session.login_with_password(
        "root", host.password)["Status"] == "Success"


def test_other_users_are_refused_even_if_the_socket_is_opened_up(host):
    """xapi.sock's clients are root on the host: the socket is 0600 in a
    0700 directory, and a client of another user (SO_PEERCRED) gets no
    answer even when someone loosens those modes."""
    assert stat.S_IMODE(os.stat(host.run).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(host.sock_path).st_mode) == 0o600
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    with opened_to_others(host.sock_path):
        nobody = reply_bytes_as(65534, host.sock_path, request)
        as_root = reply_bytes_as(0, host.sock_path, request)
    assert nobody == 0
    assert as_root > 0
    s = unix_proxy(host).session.login_with_password("root", host.password)
    assert s["Status"] == "Success", s
