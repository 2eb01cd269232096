"""What Xen Orchestra's connector does, replayed with stdlib clients.

Each test runs over three transports: stdlib xmlrpc.client on POST / (what
XenAPI.py uses), the same on POST /xmlrpc (what the npm xen-api client
uses), and a small JSON-RPC 2.0 client over urllib on POST /jsonrpc. The
response Content-Type is checked exactly the way the npm client checks it
(a mismatch makes it give up on the transport).

The sequence mirrors the npm client: login with two arguments,
pool.get_all_records, system.listMethods without a session, one
get_all_records per class found there, event.inject for the first token,
event.from loops, Async. calls watched to completion with task.result
parsed as an XML-RPC <value>, task.destroy, logout.
"""

import itertools
import json
import threading
import time
import urllib.request
import uuid
import xmlrpc.client

import pytest

CALL_TIMEOUT = 40  # seconds; above the 30 s event.from timeout used here
EVENT_TIMEOUT = 30.0
FINAL = ("success", "failure", "cancelled")


class XapiFailure(Exception):
    def __init__(self, code, params):
        super().__init__("%s %r" % (code, params))
        self.code = code
        self.params = params


# --- clients -----------------------------------------------------------------

class _RecordingTransport(xmlrpc.client.Transport):
    """Keeps the Content-Type of the last response."""

    def __init__(self):
        super().__init__()
        self.content_type = None

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = CALL_TIMEOUT
        return conn

    def parse_response(self, response):
        self.content_type = response.getheader("Content-Type")
        return super().parse_response(response)


class XmlRpcClient:
    """stdlib xmlrpc.client; one HTTP connection per instance (not thread-safe)."""

    def __init__(self, host, path):
        self.name = "xml-rpc " + path
        self.transport = _RecordingTransport()
        self.proxy = xmlrpc.client.ServerProxy(
            "http://127.0.0.1:%d%s" % (host.port, path), transport=self.transport,
            allow_none=True)

    def call(self, method, *args):
        fn = self.proxy
        for part in method.split("."):
            fn = getattr(fn, part)
        r = fn(*args)
        ct = self.transport.content_type
        assert ct in ("text/xml", "application/xml"), \
            "%s: response Content-Type %r (the npm client needs exactly text/xml " \
            "or application/xml)" % (method, ct)
        # like the npm client: a result without Status is returned as is
        if isinstance(r, dict) and "Status" in r:
            if r["Status"] == "Success":
                return r["Value"]
            desc = r.get("ErrorDescription") or ["?"]
            raise XapiFailure(desc[0], desc[1:])
        return r


class JsonRpcClient:
    """JSON-RPC 2.0 over urllib to POST /jsonrpc."""

    _ids = itertools.count(1)

    def __init__(self, host):
        self.name = "json-rpc"
        self.url = "http://127.0.0.1:%d/jsonrpc" % host.port

    def call(self, method, *args):
        id_ = next(self._ids)
        body = json.dumps({"jsonrpc": "2.0", "id": id_, "method": method,
                           "params": list(args)}).encode("utf-8")
        req = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=CALL_TIMEOUT) as resp:
            status = resp.status
            ct = resp.headers.get("Content-Type")
            data = resp.read()
        assert status == 200, (method, status, data[:500])
        assert ct == "application/json", \
            "%s: response Content-Type %r (the npm client needs exactly " \
            "application/json, or it falls back to XML-RPC)" % (method, ct)
        r = json.loads(data.decode("utf-8"))
        assert r.get("jsonrpc") == "2.0", r
        assert r.get("id") == id_, (id_, r)
        if "error" in r and r["error"] is not None:
            e = r["error"]
            assert "result" not in r, r
            assert isinstance(e, dict) and isinstance(e.get("message"), str), r
            raise XapiFailure(e["message"], e.get("data") or [])
        assert "result" in r, r
        return r["result"]


TRANSPORTS = ["xml-rpc /", "xml-rpc /xmlrpc", "json-rpc"]


def make_client(host, transport):
    if transport == "json-rpc":
        return JsonRpcClient(host)
    return XmlRpcClient(host, transport.split(" ", 1)[1])


def login(client, host):
    s = client.call("session.login_with_password", "root", host.password)
    assert isinstance(s, str) and s.startswith("OpaqueRef:"), s
    return s


def the_pool(client, s):
    pools = client.call("pool.get_all_records", s)
    assert isinstance(pools, dict) and len(pools) == 1, pools
    ((ref, rec),) = pools.items()
    assert ref.startswith("OpaqueRef:"), ref
    return ref, rec


def xo_types(methods):
    """The classes the npm client watches: every method ending in
    .get_all_records, cut at the first dot (case kept)."""
    suffix = ".get_all_records"
    return sorted({m[:m.index(".")] for m in methods if m.endswith(suffix)})


def parse_value(text):
    """Parses a task result (an XML-RPC <value>) the way clients do."""
    doc = ("<?xml version='1.0'?><methodResponse><params><param>%s</param>"
           "</params></methodResponse>" % text)
    (v,), _ = xmlrpc.client.loads(doc)
    return v


def as_count(client, v):
    if isinstance(client, JsonRpcClient):
        # the npm client compares it with !== to a number
        assert isinstance(v, int) and not isinstance(v, bool), repr(v)
        return v
    assert isinstance(v, (int, str)), repr(v)  # xapi sends int64 as strings
    return int(v)


@pytest.fixture(params=TRANSPORTS)
def client(request, host):
    return make_client(host, request.param)


# --- tests ----------------------------------------------------------------------

def test_connect_sequence(client, host):
    """login (2 args), pool.get_all_records, system.listMethods (no session),
    then every watched class's get_all_records."""
    s = login(client, host)
    pool_ref, pool = the_pool(client, s)
    assert isinstance(pool["master"], str) and pool["master"].startswith("OpaqueRef:"), pool
    assert isinstance(pool["other_config"], dict), pool

    methods = client.call("system.listMethods")
    assert isinstance(methods, list) and methods, methods
    assert all(isinstance(m, str) for m in methods)
    types = xo_types(methods)
    for t in ("pool", "host", "VM", "task", "message"):
        assert t in types, (t, types)
    # the npm client calls <type>.get_all_records for every type it derived
    not_listed = [t for t in types if t + ".get_all_records" not in methods]
    assert not not_listed, \
        "system.listMethods has *.get_all_records names that the npm client cuts " \
        "at the first dot into classes without a get_all_records: %s" % [
            m for m in methods if m.endswith(".get_all_records") and
            m[:m.index(".")] in not_listed]
    for t in types:
        try:
            recs = client.call(t + ".get_all_records", s)
        except XapiFailure as e:
            pytest.fail("%s.get_all_records failed: %s" % (t, e))
        assert isinstance(recs, dict), (t, recs)
        for ref, rec in recs.items():
            assert isinstance(ref, str) and ref.startswith("OpaqueRef:"), (t, ref)
            assert isinstance(rec, dict), (t, ref, rec)
    assert pool_ref in client.call("pool.get_all_records", s)
    client.call("session.logout", s)


def test_event_from_with_all_watched_types(client, host):
    """event.inject then event.from on every class the npm client derives,
    with the 60.1 s float timeout it sends; valid_ref_counts.task must match."""
    s = login(client, host)
    pool_ref, _ = the_pool(client, s)
    types = xo_types(client.call("system.listMethods"))
    token = client.call("event.inject", s, "pool", pool_ref)
    assert isinstance(token, str) and token, token
    try:
        r = client.call("event.from", s, types, token, 60.1)
    except XapiFailure as e:
        pytest.fail("event.from(<the npm client's types>) failed: %s\ntypes=%s" % (e, types))
    assert set(r) >= {"events", "token", "valid_ref_counts"}, r
    assert isinstance(r["token"], str) and r["token"], r
    # the injected event comes back first: the token is taken before it
    assert any(e["class"] == "pool" and e["ref"] == pool_ref for e in r["events"]), r["events"]
    counts = r["valid_ref_counts"]
    assert "task" in counts, sorted(counts)
    assert as_count(client, counts["task"]) == len(client.call("task.get_all", s)), counts
    client.call("session.logout", s)


def test_event_from_blocks_then_sees_pool_mod(client, host):
    """A thread blocked in event.from(["pool"], token, 30.0) sees the mod
    made by another connection, with the new snapshot."""
    s = login(client, host)
    pool_ref, _ = the_pool(client, s)
    token = client.call("event.inject", s, "pool", pool_ref)
    # drain the injected event
    r = client.call("event.from", s, ["pool"], token, EVENT_TIMEOUT)
    assert r["events"] and all(e["class"] == "pool" for e in r["events"]), r
    token = r["token"]

    wanted = "interop-%s" % uuid.uuid4().hex
    seen = {}

    def watch():
        try:
            t = token
            deadline = time.monotonic() + EVENT_TIMEOUT + 5
            while time.monotonic() < deadline:
                start = time.monotonic()
                res = client.call("event.from", s, ["pool"], t, EVENT_TIMEOUT)
                seen.setdefault("calls", []).append(
                    (round(time.monotonic() - start, 3), len(res["events"])))
                t = res["token"]
                for e in res["events"]:
                    if (e.get("snapshot") or {}).get("name_description") == wanted:
                        seen["event"] = e
                        return
        except Exception as e:  # reported by the main thread
            seen["error"] = e

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    time.sleep(0.7)
    assert th.is_alive(), "event.from returned with no change pending: %r" % (seen,)

    other = make_client(host, "json-rpc" if isinstance(client, XmlRpcClient) else "xml-rpc /")
    s2 = login(other, host)
    t0 = time.monotonic()
    other.call("pool.set_name_description", s2, pool_ref, wanted)
    th.join(EVENT_TIMEOUT + 10)
    assert not th.is_alive(), "event.from still blocked 40 s after the change"
    assert "error" not in seen, seen
    assert "event" in seen, "no pool event with the new name_description: %r" % (seen,)
    e = seen["event"]
    assert e["class"] == "pool" and e["operation"] == "mod" and e["ref"] == pool_ref, e
    assert e["snapshot"]["name_description"] == wanted
    assert time.monotonic() - t0 < EVENT_TIMEOUT - 5, \
        "the event arrived only after %.1f s" % (time.monotonic() - t0)
    other.call("session.logout", s2)
    client.call("session.logout", s)


def test_async_call_task_result_and_destroy(client, host):
    """Async.message.create: wait for the task, parse task.result as an
    XML-RPC <value>, task.destroy."""
    s = login(client, host)
    _, pool = the_pool(client, s)
    body = "interop-%s" % uuid.uuid4().hex
    task = client.call("Async.message.create", s, "interop", 1, "pool", pool["uuid"], body)
    assert isinstance(task, str) and task.startswith("OpaqueRef:"), task
    deadline = time.monotonic() + 20
    status = None
    for _ in range(400):
        status = client.call("task.get_status", s, task)
        if status in FINAL or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    rec = client.call("task.get_record", s, task)
    assert status == "success", rec
    assert rec["error_info"] == [], rec
    msg_ref = parse_value(rec["result"])
    assert isinstance(msg_ref, str) and msg_ref.startswith("OpaqueRef:"), rec["result"]
    assert client.call("message.get_record", s, msg_ref)["body"] == body
    client.call("task.destroy", s, task)
    assert task not in client.call("task.get_all", s)
    with pytest.raises(XapiFailure) as ei:
        client.call("task.get_record", s, task)
    assert ei.value.code == "HANDLE_INVALID", ei.value
    client.call("session.logout", s)


def test_logout_invalidates_session(client, host):
    s = login(client, host)
    client.call("session.logout", s)
    with pytest.raises(XapiFailure) as ei:
        client.call("pool.get_all_records", s)
    assert ei.value.code == "SESSION_INVALID", ei.value
