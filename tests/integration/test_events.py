"""event.from, event.inject, event.get_current_id and the legacy
event.register/next/unregister, over XML-RPC and JSON-RPC.

Every blocking call runs with a bounded server-side timeout and a client
socket timeout; threads are joined with a timeout, so nothing here can hang.
"""

import json
import re
import threading
import time
import xmlrpc.client

import pytest

from conftest import TimedTransport, failure, ok

TOKEN_RE = re.compile(r"^\d{20},\d{20}$")
CLIENT_TIMEOUT = 30  # seconds, socket timeout of every client connection


def proxy(host):
    """A fresh connection: threads never share one."""
    return xmlrpc.client.ServerProxy(host.url, transport=TimedTransport(CLIENT_TIMEOUT),
                                     allow_none=True)


def call(host, method, *args):
    return getattr(proxy(host), method)(*args)


def ev_from(host, s, classes, token, timeout):
    return ok(call(host, "event.from", s, classes, token, float(timeout)))


def token_now(host, s):
    """The current token, without waiting (task has few objects)."""
    return ev_from(host, s, ["task"], "", 0.0)["token"]


class Caller(threading.Thread):
    """Runs one call on its own connection, timing it."""

    def __init__(self, host, method, *args):
        super().__init__(daemon=True)
        self.host, self.method, self.args = host, method, args
        self.result = self.exc = None
        self.elapsed = None

    def run(self):
        t0 = time.monotonic()
        try:
            self.result = call(self.host, self.method, *self.args)
        except Exception as e:  # reported by the test
            self.exc = e
        self.elapsed = time.monotonic() - t0

    def finish(self, timeout=15):
        self.join(timeout)
        assert not self.is_alive(), "%s did not return" % self.method
        assert self.exc is None, self.exc
        return self.result


@pytest.fixture(scope="module")
def s(host):
    return host.login()


@pytest.fixture(scope="module")
def pool(host, s):
    pools = ok(call(host, "pool.get_all", s))
    assert len(pools) == 1
    return pools[0]


# --- event.from: shape and semantics -----------------------------------------

def test_from_shape_from_the_beginning(host, s, pool):
    t0 = time.monotonic()
    v = ev_from(host, s, ["pool"], "", 0.0)
    assert time.monotonic() - t0 < 2
    assert list(v) == ["events", "valid_ref_counts", "token"]
    assert TOKEN_RE.match(v["token"]), v["token"]
    assert len(v["events"]) == 1, v["events"]
    ev = v["events"][0]
    assert set(ev) == {"id", "timestamp", "class", "operation", "ref", "snapshot"}
    assert ev["class"] == "pool"
    assert ev["operation"] == "add"
    assert ev["ref"] == pool
    assert int(ev["id"]) > 0
    assert float(ev["timestamp"]) > 1e9
    assert ev["snapshot"] == ok(call(host, "pool.get_record", s, pool))
    counts = {k: int(n) for k, n in v["valid_ref_counts"].items()}
    assert counts["pool"] == 1
    assert "task" in counts and "vm" in counts and "session" in counts
    assert counts["session"] >= 1


def test_change_on_another_connection_wakes_a_blocked_from(host, s, pool):
    token = token_now(host, s)
    waiter = Caller(host, "event.from", s, ["pool"], token, 20.0)
    waiter.start()
    time.sleep(0.5)
    ok(call(host, "pool.set_name_label", s, pool, "events-pool"))
    v = ok(waiter.finish())
    assert 0.4 <= waiter.elapsed < 10, waiter.elapsed
    assert [(e["class"], e["operation"], e["ref"]) for e in v["events"]] == \
        [("pool", "mod", pool)]
    assert v["events"][0]["snapshot"]["name_label"] == "events-pool"
    assert v["token"] > token


def test_barrier_like_xen_orchestra(host, s, pool):
    """pool.add_to_other_config, then wait for the pool mod carrying the key."""
    token = ok(call(host, "event.inject", s, "pool", pool))
    v = ev_from(host, s, ["pool"], token, 5.0)  # the injected event
    token = v["token"]
    waiter = Caller(host, "event.from", s, ["pool"], token, 20.0)
    waiter.start()
    time.sleep(0.3)
    ok(call(host, "pool.add_to_other_config", s, pool, "xo:barrier:42", "1234"))
    v = ok(waiter.finish())
    assert len(v["events"]) == 1
    assert v["events"][0]["operation"] == "mod"
    assert v["events"][0]["snapshot"]["other_config"]["xo:barrier:42"] == "1234"
    ok(call(host, "pool.remove_from_other_config", s, pool, "xo:barrier:42"))


def test_changes_coalesce_into_one_event_with_the_latest_state(host, s, pool):
    token = token_now(host, s)
    for i in range(3):
        ok(call(host, "pool.set_name_label", s, pool, "label-%d" % i))
    v = ev_from(host, s, ["pool"], token, 5.0)
    assert len(v["events"]) == 1, v["events"]
    assert v["events"][0]["operation"] == "mod"
    assert v["events"][0]["snapshot"]["name_label"] == "label-2"


def test_class_names_any_case_events_lower_case(host, s):
    upper = ev_from(host, s, ["VM"], "", 0.0)
    lower = ev_from(host, s, ["vm"], "", 0.0)
    refs = sorted(e["ref"] for e in upper["events"])
    assert refs == sorted(e["ref"] for e in lower["events"])
    assert refs == sorted(ok(call(host, "VM.get_all", s)))
    assert all(e["class"] == "vm" for e in upper["events"])
    assert all(e["operation"] == "add" for e in upper["events"])


def test_star_from_the_beginning_is_every_object(host, s, pool):
    v = ev_from(host, s, ["*"], "", 0.0)
    counts = {k: int(n) for k, n in v["valid_ref_counts"].items()}
    assert len(v["events"]) == sum(counts.values())
    classes = {e["class"] for e in v["events"]}
    assert {"pool", "host", "session"} <= classes
    assert all(e["operation"] == "add" for e in v["events"])
    ids = [int(e["id"]) for e in v["events"]]
    assert ids == sorted(ids)


def test_class_filter_excludes_other_classes(host, s, pool):
    token = token_now(host, s)
    secret = ok(call(host, "secret.create", s, {"value": "filtered"}))
    ok(call(host, "pool.set_name_label", s, pool, "filter-check"))
    v = ev_from(host, s, ["pool"], token, 5.0)
    assert [e["class"] for e in v["events"]] == ["pool"]
    v = ev_from(host, s, ["secret", "pool"], token, 5.0)
    assert sorted(e["class"] for e in v["events"]) == ["pool", "secret"]
    ok(call(host, "secret.destroy", s, secret))


def test_subscription_to_one_object(host, s, pool):
    token = token_now(host, s)
    a = ok(call(host, "secret.create", s, {"value": "a"}))
    b = ok(call(host, "secret.create", s, {"value": "b"}))
    v = ev_from(host, s, ["secret/" + b], token, 5.0)
    assert [(e["ref"], e["operation"]) for e in v["events"]] == [(b, "add")]
    # An object that does not exist: nothing, until the timeout.
    t0 = time.monotonic()
    v = ev_from(host, s, ["secret/OpaqueRef:no-such-secret"], token, 0.5)
    assert v["events"] == []
    assert time.monotonic() - t0 >= 0.4
    ok(call(host, "secret.destroy", s, a))
    ok(call(host, "secret.destroy", s, b))


def test_create_modify_destroy_give_add_and_del(host, s):
    token = token_now(host, s)
    secret = ok(call(host, "secret.create", s, {"value": "v1"}))
    ok(call(host, "secret.set_value", s, secret, "v2"))
    v = ev_from(host, s, ["secret"], token, 5.0)
    assert [(e["ref"], e["operation"]) for e in v["events"]] == [(secret, "add")]
    assert v["events"][0]["snapshot"]["value"] == "v2"  # latest state
    token = v["token"]
    ok(call(host, "secret.set_value", s, secret, "v3"))
    v = ev_from(host, s, ["secret"], token, 5.0)
    assert [(e["ref"], e["operation"]) for e in v["events"]] == [(secret, "mod")]
    assert v["events"][0]["snapshot"]["value"] == "v3"
    token = v["token"]
    ok(call(host, "secret.destroy", s, secret))
    v = ev_from(host, s, ["secret"], token, 5.0)
    assert len(v["events"]) == 1
    ev = v["events"][0]
    assert (ev["ref"], ev["operation"], ev["class"]) == (secret, "del", "secret")
    assert "snapshot" not in ev
    # Nothing more after that.
    v = ev_from(host, s, ["secret"], v["token"], 0.3)
    assert v["events"] == []


def test_token_round_trip_never_repeats_events(host, s, pool):
    token = token_now(host, s)
    ok(call(host, "pool.set_name_label", s, pool, "round-1"))
    v1 = ev_from(host, s, ["pool"], token, 5.0)
    assert len(v1["events"]) == 1
    v2 = ev_from(host, s, ["pool"], v1["token"], 0.0)
    assert v2["events"] == []
    assert v2["token"] >= v1["token"]
    ok(call(host, "pool.set_name_label", s, pool, "round-2"))
    v3 = ev_from(host, s, ["pool"], v2["token"], 5.0)
    assert [e["snapshot"]["name_label"] for e in v3["events"]] == ["round-2"]
    assert int(v3["events"][0]["id"]) > int(v1["events"][0]["id"])
    assert v3["token"] > v1["token"]


def test_empty_batch_waits_for_the_timeout(host, s):
    token = token_now(host, s)
    t0 = time.monotonic()
    v = ev_from(host, s, ["secret"], token, 1.5)
    elapsed = time.monotonic() - t0
    assert 1.4 <= elapsed < 6, elapsed
    assert v["events"] == []
    assert v["token"] == token  # nothing changed meanwhile
    assert "secret" in v["valid_ref_counts"]
    t0 = time.monotonic()
    v = ev_from(host, s, ["secret"], token, 0.0)
    assert v["events"] == [] and time.monotonic() - t0 < 1.5


def test_from_integer_timeout_accepted(host, s):
    token = token_now(host, s)
    v = ok(call(host, "event.from", s, ["secret"], token, 0))
    assert v["events"] == []


@pytest.mark.parametrize("bad", ["abc", "12", "1,2,3", "-1,-1", "1,", ",1", "1, 2",
                                 "0x10,0x10", "99999999999999999999999,1"])
def test_from_bad_token(host, s, bad):
    e = failure(call(host, "event.from", s, ["pool"], bad, 0.0))
    assert e == ["EVENT_FROM_TOKEN_PARSE_FAILURE", bad]


@pytest.mark.parametrize("bad", ["nosuchclass", "nosuch/OpaqueRef:x", "", "event", "Async"])
def test_from_unknown_class_subscribes_to_nothing(host, s, bad):
    # As upstream: clients derive class lists from system.listMethods and
    # may send names that are no class; those match nothing.
    r = ok(call(host, "event.from", s, [bad], "", 0.0))
    assert r["events"] == []
    r = ok(call(host, "event.from", s, ["pool", bad], "", 0.0))
    assert {e["class"] for e in r["events"]} == {"pool"}


def test_token_from_the_future_is_events_lost(host, s):
    e = failure(call(host, "event.from", s, ["pool"],
                     "09999999999999999999,09999999999999999999", 0.0))
    assert e[0] == "EVENTS_LOST"


def test_logout_ends_a_blocked_from(host, s):
    other = host.login()
    token = token_now(host, other)
    waiter = Caller(host, "event.from", other, ["pool"], token, 20.0)
    waiter.start()
    time.sleep(0.5)
    ok(call(host, "session.logout", other))
    e = failure(waiter.finish())
    assert e == ["SESSION_INVALID", other]
    assert waiter.elapsed < 10


# --- event.inject, event.get_current_id --------------------------------------

def test_inject_returns_a_token_that_sees_the_object(host, s, pool):
    token = ok(call(host, "event.inject", s, "pool", pool))
    assert TOKEN_RE.match(token), token
    t0 = time.monotonic()
    v = ev_from(host, s, ["pool"], token, 10.0)
    assert time.monotonic() - t0 < 3
    assert [(e["ref"], e["operation"]) for e in v["events"]] == [(pool, "mod")]
    # Any case for the class, as event.from.
    ok(call(host, "event.inject", s, "Pool", pool))


def test_inject_unknown_object(host, s, pool):
    e = failure(call(host, "event.inject", s, "pool", "OpaqueRef:nope"))
    assert e[0] == "HANDLE_INVALID" and e[-1] == "OpaqueRef:nope"
    e = failure(call(host, "event.inject", s, "VM", pool))  # a pool is no VM
    assert e[0] == "HANDLE_INVALID"
    e = failure(call(host, "event.inject", s, "nosuchclass", pool))
    assert e[0] == "HANDLE_INVALID"


def test_get_current_id_moves_with_changes(host, s, pool):
    a = int(ok(call(host, "event.get_current_id", s)))
    ok(call(host, "pool.set_name_label", s, pool, "id-check"))
    b = int(ok(call(host, "event.get_current_id", s)))
    assert b > a


# --- legacy register / next / unregister -------------------------------------

def test_next_without_register(host):
    other = host.login()
    e = failure(call(host, "event.next", other))
    assert e == ["SESSION_NOT_REGISTERED", other]
    # unregister alone does not register
    ok(call(host, "event.unregister", other, ["pool"]))
    e = failure(call(host, "event.next", other))
    assert e == ["SESSION_NOT_REGISTERED", other]
    ok(call(host, "session.logout", other))


def test_register_next_unregister(host, s, pool):
    other = host.login()
    ok(call(host, "event.register", other, ["secret"]))
    waiter = Caller(host, "event.next", other)
    waiter.start()
    time.sleep(0.5)
    secret = ok(call(host, "secret.create", s, {"value": "legacy"}))
    evs = ok(waiter.finish())
    assert 0.4 <= waiter.elapsed < 10
    assert [(e["class"], e["operation"], e["ref"]) for e in evs] == \
        [("secret", "add", secret)]
    assert evs[0]["snapshot"]["value"] == "legacy"
    assert int(evs[0]["id"]) > 0

    # Switch to pool: the secret's deletion is no longer reported.
    ok(call(host, "event.unregister", other, ["secret"]))
    ok(call(host, "event.register", other, ["POOL"]))
    ok(call(host, "secret.destroy", s, secret))
    ok(call(host, "pool.set_name_label", s, pool, "legacy-pool"))
    evs = ok(call(host, "event.next", other))
    assert [(e["class"], e["operation"], e["ref"]) for e in evs] == [("pool", "mod", pool)]
    assert evs[0]["snapshot"]["name_label"] == "legacy-pool"

    ok(call(host, "event.register", other, ["nosuchclass"]))  # matches nothing
    ok(call(host, "session.logout", other))


def test_next_ended_by_logout(host, s):
    other = host.login()
    ok(call(host, "event.register", other, ["secret"]))
    waiter = Caller(host, "event.next", other)
    waiter.start()
    time.sleep(0.5)
    ok(call(host, "session.logout", other))
    e = failure(waiter.finish())
    assert e == ["SESSION_INVALID", other]


# --- many subscriptions --------------------------------------------------------

MAX_SUBS = 10000  # EVENT_MAX_SUBS in event.c


def vm_refs(prefix, n):
    """n distinct subscriptions to objects that do not exist."""
    return ["VM/OpaqueRef:%s-%08d" % (prefix, i) for i in range(n)]


def test_many_ref_subscriptions_do_not_block_writers(host, s, pool):
    """Thousands of ref subscriptions (with duplicates) are indexed once:
    a blocked event.from rescans on every commit without holding writers
    up, and still finds the one object among them that changes."""
    subs = vm_refs("many", MAX_SUBS // 2 - 1)
    subs = subs + subs + ["pool/" + pool]
    t0 = time.monotonic()
    v = ev_from(host, s, subs, "", 0.0)
    assert time.monotonic() - t0 < 10
    assert [(e["class"], e["ref"]) for e in v["events"]] == [("pool", pool)]
    waiter = Caller(host, "event.from", s, subs, v["token"], 20.0)
    waiter.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    for _ in range(20):  # each commit wakes the waiter, which rescans
        other = host.login()
        ok(call(host, "session.logout", other))
    assert time.monotonic() - t0 < 10, "writers were held up"
    ok(call(host, "pool.set_name_label", s, pool, "many-subs-pool"))
    v = ok(waiter.finish())
    assert [(e["class"], e["operation"], e["ref"]) for e in v["events"]] == \
        [("pool", "mod", pool)]


def test_subscriptions_per_call_are_capped(host, s):
    v = ev_from(host, s, vm_refs("cap", MAX_SUBS), "", 0.0)
    assert v["events"] == []
    subs = vm_refs("cap", MAX_SUBS + 2)
    e = failure(call(host, "event.from", s, subs, "", 0.0))
    assert e == ["EVENT_SUBSCRIPTION_PARSE_FAILURE", subs[MAX_SUBS]]
    e = failure(call(host, "event.register", s, subs))
    assert e == ["EVENT_SUBSCRIPTION_PARSE_FAILURE", subs[MAX_SUBS]]


def test_subscriptions_per_session_are_capped(host, s, pool):
    other = host.login()
    first = vm_refs("a", 6000)
    ok(call(host, "event.register", other, first + first[:100]))  # duplicates count once
    ok(call(host, "event.register", other, first))  # held already: nothing new
    second = vm_refs("b", 6000)
    e = failure(call(host, "event.register", other, first[:10] + second))
    assert e == ["EVENT_SUBSCRIPTION_PARSE_FAILURE", second[MAX_SUBS - 6000]]
    # refused as a whole: room remains for exactly MAX_SUBS - 6000 more
    ok(call(host, "event.register", other, second[:MAX_SUBS - 6000]))
    e = failure(call(host, "event.register", other, ["pool"]))
    assert e == ["EVENT_SUBSCRIPTION_PARSE_FAILURE", "pool"]
    # unregistering makes room; the session still gets its events
    ok(call(host, "event.unregister", other, first[:1]))
    ok(call(host, "event.register", other, ["pool"]))
    ok(call(host, "pool.set_name_label", s, pool, "capped-pool"))
    evs = ok(call(host, "event.next", other))
    assert [(e["class"], e["operation"], e["ref"]) for e in evs] == [("pool", "mod", pool)]
    ok(call(host, "session.logout", other))


# --- JSON-RPC ------------------------------------------------------------------

def jcall(host, method, params):
    status, headers, data = host.jsonrpc({"jsonrpc": "2.0", "method": method,
                                          "params": params, "id": 7})
    assert status == 200, (status, data)
    return json.loads(data.decode("utf-8"))


def test_jsonrpc_event_from_and_inject(host, s, pool):
    r = jcall(host, "event.from", [s, ["pool"], "", 0.0])
    v = r["result"]
    assert list(v) == ["events", "valid_ref_counts", "token"]
    assert TOKEN_RE.match(v["token"])
    assert [(e["class"], e["operation"], e["ref"]) for e in v["events"]] == \
        [("pool", "add", pool)]
    assert v["events"][0]["snapshot"]["uuid"]
    r = jcall(host, "event.inject", [s, "pool", pool])
    token = r["result"]
    r = jcall(host, "event.from", [s, ["pool"], token, 60.1])
    assert [e["operation"] for e in r["result"]["events"]] == ["mod"]
    r = jcall(host, "event.from", [s, ["pool"], "bad", 0.0])
    assert r["error"]["message"] == "EVENT_FROM_TOKEN_PARSE_FAILURE", r
    assert r["error"]["data"] == ["bad"], r


# --- last: restarts the host ---------------------------------------------------

def test_token_from_before_a_restart_is_events_lost(host):
    s = host.login()
    token = token_now(host, s)
    assert host.stop().returncode == 0
    r = host.start()
    assert r.returncode == 0, r.stderr
    assert host.wait_api()
    s = host.login()
    e = failure(call(host, "event.from", s, ["pool"], token, 0.0))
    assert e == ["EVENTS_LOST"]
    v = ev_from(host, s, ["pool"], "", 0.0)
    assert len(v["events"]) == 1 and v["token"] > token
