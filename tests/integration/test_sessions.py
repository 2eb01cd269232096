"""Session limits and the calls that must not get a task."""

import os
import xmlrpc.client

from conftest import ok, own_host


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


def test_host_session_cap_evicts_the_least_used():
    """Logins with distinct originators each stay under the per-originator
    limit, but the host holds at most max-sessions of them (default 5000,
    here 200): each login past the cap evicts the least recently used
    session, the oldest first, so the live count stays at the cap."""
    with own_host("cxapi-sessions-", "max-sessions=200\n") as h:
        s = h.proxy()
        refs = [login(s, h.password, "client-%d" % i) for i in range(2000)]
        live = [r for r in refs if s.pool.get_all(r)["Status"] == "Success"]
        # wait_api's logins were evicted long ago: exactly the cap are left,
        # the newest ones.
        assert live == refs[-200:], (len(live), refs.index(live[0]) if live else None)
        with open(os.path.join(h.state, "log", "xapi.log"), errors="replace") as f:
            assert "evicted: the host holds 200" in f.read()


def test_20000_logins_keep_the_default_cap():
    """The probe's finding at full size: 20,000 logins with distinct
    originators leave exactly max-sessions (default 5,000) live, the
    newest; every session is counted through event.from, which lists the
    live ones to root."""
    with own_host("cxapi-sessions-") as h:
        s = h.proxy()
        refs = [login(s, h.password, "many-%d" % i) for i in range(20000)]
        events = ok(getattr(s.event, "from")(refs[-1], ["session"], "", 0.0))["events"]
        live = {e["ref"] for e in events if e["class"] == "session"}
        assert len(live) == 5000, len(live)
        assert live == set(refs[-5000:])


def test_failed_logins_are_throttled_per_address():
    """The first 3 failures from an address cost nothing; after that each
    bars the address (and the user name) for a doubling delay, during
    which its logins are refused without a look at the password: 200
    guesses in a row get about half a dozen checked, not 200. A success
    forgets the failures; the local socket is never throttled."""
    from test_unix_socket import unix_proxy
    with own_host("cxapi-throttle-") as h:
        s = h.proxy()
        for i in range(200):
            r = s.session.login_with_password("root", "wrong-%d" % i, "1.0", "guesser")
            assert r["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED", r
        # Barred: even the right password is refused now, over TCP ...
        r = s.session.login_with_password("root", h.password, "1.0", "t")
        assert r["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED", r
        # ... but root on the host logs in through the local socket.
        ok(unix_proxy(h).session.login_with_password("root", h.password, "1.0", "t"))
        with open(os.path.join(h.state, "log", "xapi.log"), errors="replace") as f:
            log = f.read()
        checked = log.count("authentication of 'root' from ")
        refused = log.count("refused for")
        assert checked + refused == 201, (checked, refused)
        assert checked <= 10, checked
        assert "(4 in a row from there, 4 for the user)" in log


def test_a_success_forgets_the_failures():
    with own_host("cxapi-throttle-") as h:
        s = h.proxy()
        for _ in range(5):
            for i in range(3):  # within the free failures: never barred
                r = s.session.login_with_password("root", "typo-%d" % i, "1.0", "t")
                assert r["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED", r
            login(s, h.password, "t")
