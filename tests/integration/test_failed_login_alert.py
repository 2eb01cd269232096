"""Failed logins are reported to the pool as a FAILED_LOGIN_ATTEMPTS
message, as upstream does: priority 3, about the pool, with a body that
gives the total and the clients that failed most. Reported once per
failed-login-alert-freq (here 1 s), and only when logins failed."""

import time
import xml.etree.ElementTree as ET
import xmlrpc.client

from conftest import ok, own_host, wait_for


class AgentTransport(xmlrpc.client.Transport):
    user_agent = "alert-test-agent/1.0"


def fail_logins(h, user, originator, n):
    p = xmlrpc.client.ServerProxy(h.url, transport=AgentTransport())
    for _ in range(n):
        r = p.session.login_with_password(user, "wrong", "1.0", originator)
        assert r["ErrorDescription"][0] == "SESSION_AUTHENTICATION_FAILED", r


def alerts(s, sid):
    recs = ok(s.message.get_all_records(sid)).values()
    return [m for m in recs if m["name"] == "FAILED_LOGIN_ATTEMPTS"]


def test_failed_logins_raise_a_message_with_the_worst_clients():
    with own_host("cxapi-alert-", "failed-login-alert-freq=1\n") as h:
        s = h.proxy()
        sid = h.login()
        pool_uuid = ok(s.pool.get_uuid(sid, ok(s.pool.get_all(sid))[0]))
        # A user name that needs escaping, failing most; two others less.
        fail_logins(h, "eve<&>", "scanner", 5)
        fail_logins(h, "bob", "xe", 2)
        fail_logins(h, "carol", "xc", 1)
        fail_logins(h, "dave", "xo", 1)
        assert wait_for(lambda: alerts(s, sid), timeout=15), "no message raised"
        (m,) = alerts(s, sid)
        assert m["priority"] == "3", m  # XenAPI ints travel as strings
        assert m["cls"] == "Pool" and m["obj_uuid"] == pool_uuid, m
        body = ET.fromstring(m["body"])
        assert body.tag == "body"
        assert body.findtext("total") == "9"
        known = body.findall("known")
        assert len(known) == 3  # the three that failed most
        first = known[0]
        assert first.findtext("username") == "eve<&>"
        assert first.findtext("originator") == "scanner"
        assert first.findtext("useragent") == "alert-test-agent/1.0"
        assert first.findtext("ip") == "127.0.0.1"
        assert first.findtext("number") == "5"
        assert first.findtext("date").endswith("Z")
        assert known[1].findtext("username") == "bob"
        assert known[1].findtext("number") == "2"
        assert body.find("unknown") is None

        # Reported failures are forgotten: with none since, no new message.
        time.sleep(3)
        assert len(alerts(s, sid)) == 1
        # New failures make a new report of their own.
        fail_logins(h, "mallory", "", 1)
        assert wait_for(lambda: len(alerts(s, sid)) == 2, timeout=15)
        latest = max(alerts(s, sid), key=lambda m: m["timestamp"].value)
        body = ET.fromstring(latest["body"])
        assert body.findtext("total") == "1"
        (k,) = body.findall("known")
        assert k.findtext("username") == "mallory" and k.find("originator") is None
