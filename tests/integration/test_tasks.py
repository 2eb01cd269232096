"""Tasks: Async. calls, the task messages, cancellation, limits and the
garbage collector, over XML-RPC and JSON-RPC.

Only explicit messages taking a session have Async. forms; the calls here
are message.create (a non-void result, the new message's ref, or a
deterministic failure for an object that does not exist), message.destroy
(void, and run through another message's implementation) and
session.logout (void).
Hosts started with CXAPI_TASK_* in their environment shorten the garbage
collector's ages and make task threads wait before running, so a running
task can be watched and cancelled.
"""

import json
import os
import subprocess
import threading
import time
import xmlrpc.client

import pytest

from conftest import CMD_TIMEOUT, CXAPI, failure, make_host, ok, teardown_host

FINAL = ("success", "failure", "cancelled")


def wait_task(p, s, task, timeout=15):
    """Polls task.get_status until the task ends; returns the final status."""
    deadline = time.monotonic() + timeout
    status = None
    for _ in range(int(timeout / 0.05) + 1):
        status = ok(p.task.get_status(s, task))
        if status in FINAL or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status in FINAL, "task %s still %s after %ss" % (task, status, timeout)
    return status


def wait_gone(p, s, task, timeout=20):
    """Polls until task is no longer in task.get_all; returns True/False."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.2) + 1):
        if task not in ok(p.task.get_all(s)):
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return False


def pool_uuid(p, s):
    return ok(p.pool.get_uuid(s, ok(p.pool.get_all(s))[0]))


def async_create(p, s, body="tasks"):
    """Async.message.create of an alert on the pool: a task whose result is a ref."""
    return ok(p.Async.message.create(s, "TASK_TEST", "3", "Pool", pool_uuid(p, s), body))


def created_message(p, s, task):
    """The message a successful async_create task made."""
    msg = parse_value(ok(p.task.get_result(s, task)))
    assert msg.startswith("OpaqueRef:"), msg
    return msg


def parse_value(text):
    """Parses an XML-RPC <value> the way clients do."""
    doc = ("<?xml version='1.0'?><methodResponse><params><param>%s</param>"
           "</params></methodResponse>" % text)
    (v,), _ = xmlrpc.client.loads(doc)
    return v


def started_host(env_extra):
    """Starts a second host whose daemons run with env_extra in their environment."""
    base, h = make_host("cxapi-it-tasks-")
    env = dict(os.environ)
    env.update(env_extra)
    r = subprocess.run([CXAPI, "start", "--state", h.state, "--port", str(h.port),
                        "--root-password", h.password], capture_output=True, text=True,
                       timeout=CMD_TIMEOUT, env=env)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert h.wait_api(), "host did not answer"
    return base, h


def finish_host(base, h):
    msgs = teardown_host(base, h)
    if msgs:
        pytest.fail("\n".join(msgs), pytrace=False)


# --- Async. calls ------------------------------------------------------------

def test_async_returns_task_and_result(host):
    p = host.proxy()
    s = host.login()
    t0 = time.monotonic()
    task = async_create(p, s, "result")
    assert time.monotonic() - t0 < 5
    assert task.startswith("OpaqueRef:") and task in ok(p.task.get_all(s))
    assert wait_task(p, s, task) == "success"
    rec = ok(p.task.get_record(s, task))
    assert rec["name_label"] == "Async.message.create"
    assert rec["status"] == "success"
    assert float(rec["progress"]) == 1.0
    assert rec["error_info"] == []
    assert rec["allowed_operations"] == []
    assert rec["resident_on"] == ok(p.session.get_this_host(s, s))
    assert str(rec["finished"]) >= str(rec["created"]) > "1970"
    assert ok(p.task.get_by_uuid(s, rec["uuid"])) == task
    msg = parse_value(rec["result"])
    assert msg.startswith("OpaqueRef:")
    assert ok(p.message.get_record(s, msg))["body"] == "result"
    ok(p.message.destroy(s, msg))
    ok(p.task.destroy(s, task))
    assert task not in ok(p.task.get_all(s))


def test_async_void_result_is_empty(host):
    p = host.proxy()
    s = host.login()
    victim = host.login()
    task = ok(p.Async.session.logout(victim))
    assert wait_task(p, s, task) == "success"
    rec = ok(p.task.get_record(s, task))
    assert rec["result"] == "" and rec["error_info"] == []
    assert failure(p.session.get_this_host(victim, victim))[0] == "SESSION_INVALID"
    ok(p.task.destroy(s, task))


def test_async_message_borrowing_an_implementation(host):
    """message.destroy runs the implicit destroy with a borrowed message;
    the task's result is still written with the dispatch table's message."""
    p = host.proxy()
    s = host.login()
    msg = ok(p.message.create(s, "TASK_TEST", "1", "Pool", pool_uuid(p, s), ""))
    task = ok(p.Async.message.destroy(s, msg))
    assert wait_task(p, s, task) == "success"
    rec = ok(p.task.get_record(s, task))
    assert rec["result"] == "" and rec["error_info"] == []
    assert failure(p.message.get_record(s, msg))[0] == "HANDLE_INVALID"
    ok(p.task.destroy(s, task))


def test_async_failure_error_info(host):
    p = host.proxy()
    s = host.login()
    nowhere = "00000000-0000-0000-0000-000000000000"
    task = ok(p.Async.message.create(s, "X", "1", "VM", nowhere, ""))
    assert wait_task(p, s, task) == "failure"
    rec = ok(p.task.get_record(s, task))
    assert rec["error_info"][0] == "UUID_INVALID", rec
    assert rec["result"] == ""
    assert float(rec["progress"]) == 1.0
    # A finished task cannot be cancelled.
    e = failure(p.task.cancel(s, task))
    assert e[0] == "OPERATION_NOT_ALLOWED" and len(e) == 2, e
    ok(p.task.destroy(s, task))


def test_async_checks_happen_before_the_task(host):
    p = host.proxy()
    s = host.login()
    before = len(ok(p.task.get_all(s)))
    assert failure(p.Async.task.get_all(s)) == ["MESSAGE_METHOD_UNKNOWN", "Async.task.get_all"]
    assert failure(p.Async.task.get_status(s, "OpaqueRef:NULL"))[0] == "MESSAGE_METHOD_UNKNOWN"
    assert failure(p.Async.VM.frobnicate(s))[0] == "MESSAGE_METHOD_UNKNOWN"
    assert failure(p.Async.session.logout("OpaqueRef:bogus"))[0] == "SESSION_INVALID"
    assert failure(p.Async.session.login_with_password("root", host.password))[0] == \
        "MESSAGE_METHOD_UNKNOWN"  # no session, no Async. form
    assert failure(p.Async.task.create(s, "x"))[0] == "MESSAGE_PARAMETER_COUNT_MISMATCH"
    assert len(ok(p.task.get_all(s))) == before


def test_async_task_messages(host):
    """Async. works for any explicit message, task.* included."""
    p = host.proxy()
    s = host.login()
    own = ok(p.task.create(s, "mine", ""))
    task = ok(p.Async.task.cancel(s, own))
    assert wait_task(p, s, task) == "success"
    assert ok(p.task.get_name_label(s, task)) == "Async.task.cancel"
    assert ok(p.task.get_status(s, own)) == "cancelled"
    for t in (own, task):
        ok(p.task.destroy(s, t))


def test_many_async_calls(host):
    p = host.proxy()
    s = host.login()
    tasks = [async_create(p, s) for _ in range(20)]
    assert len(set(tasks)) == 20
    for t in tasks:
        assert wait_task(p, s, t) == "success"
        ok(p.message.destroy(s, created_message(p, s, t)))
        ok(p.task.destroy(s, t))


def test_cancel_as_soon_as_a_task_appears(host):
    """A watcher cancels each Async. task the moment event.from shows it.
    Whenever task.cancel succeeds the task must end cancelled: the task's
    run is registered before the task can be seen, so a cancel never takes
    it for a client's own task that the thread then overwrites."""
    p = host.proxy()
    s = host.login()
    n = 40
    cancels = {}  # task -> task.cancel's reply
    stop = threading.Event()

    def watch(token):
        wp = host.proxy()
        while not stop.is_set() and len(cancels) < n:
            v = ok(getattr(wp.event, "from")(s, ["task"], token, 1.0))
            token = v["token"]
            for e in v["events"]:
                if e["operation"] == "add" and e["snapshot"]["name_label"].startswith("Async."):
                    cancels[e["ref"]] = wp.task.cancel(s, e["ref"])

    start = ok(getattr(p.event, "from")(s, ["task"], "", 0.0))["token"]
    watcher = threading.Thread(target=watch, args=(start,), daemon=True)
    watcher.start()
    tasks = [async_create(p, s) for _ in range(n)]
    watcher.join(30)
    stop.set()
    assert not watcher.is_alive(), "the watcher did not see every task"
    assert sorted(cancels) == sorted(tasks)
    for t in tasks:
        status = wait_task(p, s, t)
        if cancels[t]["Status"] == "Success":
            assert status == "cancelled", (t, status)
            assert ok(p.task.get_error_info(s, t)) == ["TASK_CANCELLED", t]
        else:
            assert failure(cancels[t])[0] == "OPERATION_NOT_ALLOWED"
            assert status == "success", (t, status)
            ok(p.message.destroy(s, created_message(p, s, t)))
        ok(p.task.destroy(s, t))


# --- task.create and friends -------------------------------------------------

def test_task_create_and_setters(host):
    p = host.proxy()
    s = host.login()
    task = ok(p.task.create(s, "backup", "nightly"))
    rec = ok(p.task.get_record(s, task))
    assert rec["name_label"] == "backup"
    assert rec["name_description"] == "nightly"
    assert rec["status"] == "pending"
    assert float(rec["progress"]) == 0.0
    assert rec["allowed_operations"] == ["cancel"]
    assert rec["resident_on"] == ok(p.session.get_this_host(s, s))
    assert task in ok(p.task.get_by_name_label(s, "backup"))

    ok(p.task.set_progress(s, task, 0.5))
    assert float(ok(p.task.get_progress(s, task))) == 0.5
    ok(p.task.set_progress(s, task, 7.0))  # clamped
    assert float(ok(p.task.get_progress(s, task))) == 1.0
    ok(p.task.set_result(s, task, "<value>done</value>"))
    ok(p.task.set_status(s, task, "success"))
    rec = ok(p.task.get_record(s, task))
    assert rec["status"] == "success"
    assert parse_value(rec["result"]) == "done"
    assert rec["allowed_operations"] == []
    assert str(rec["finished"]) > "1970"
    assert failure(p.task.set_status(s, task, "bogus"))[0] == "FIELD_TYPE_ERROR"

    ok(p.task.set_error_info(s, task, ["SR_FULL", "a", "b"]))
    assert ok(p.task.get_error_info(s, task)) == ["SR_FULL", "a", "b"]
    ok(p.task.add_to_other_config(s, task, "k", "v"))  # implicit
    assert ok(p.task.get_other_config(s, task)) == {"k": "v"}

    ok(p.task.destroy(s, task))
    assert failure(p.task.get_status(s, task)) == ["HANDLE_INVALID", "task", task]
    assert failure(p.task.destroy(s, task)) == ["HANDLE_INVALID", "task", task]
    assert failure(p.task.cancel(s, task)) == ["HANDLE_INVALID", "task", task]
    assert failure(p.task.set_progress(s, task, 0.1))[0] == "HANDLE_INVALID"


def test_task_cancel_own_task(host):
    p = host.proxy()
    s = host.login()
    task = ok(p.task.create(s, "to-cancel", ""))
    ok(p.task.cancel(s, task))
    rec = ok(p.task.get_record(s, task))
    assert rec["status"] == "cancelled"
    assert rec["error_info"] == ["TASK_CANCELLED", task]
    assert rec["allowed_operations"] == []
    e = failure(p.task.cancel(s, task))
    assert e[0] == "OPERATION_NOT_ALLOWED", e
    ok(p.task.destroy(s, task))


def test_task_unknown_explicit_stays_unknown(host):
    p = host.proxy()
    s = host.login()
    assert failure(p.task.frobnicate(s))[0] == "MESSAGE_METHOD_UNKNOWN"
    names = p.system.listMethods()
    for m in ("task.create", "task.cancel", "Async.task.cancel", "task.get_status"):
        assert m in names, m


def test_pending_task_limit(host):
    p = host.proxy()
    s = host.login()
    existing = [t for t in ok(p.task.get_all(s))
                if ok(p.task.get_status(s, t)) in ("pending", "cancelling")]
    assert len(existing) < 200
    created = []
    try:
        for i in range(200 - len(existing)):
            created.append(ok(p.task.create(s, "limit-%d" % i, "")))
        assert failure(p.task.create(s, "one-too-many", "")) == ["TOO_MANY_PENDING_TASKS"]
        assert failure(p.Async.session.logout(s)) == ["TOO_MANY_PENDING_TASKS"]
        assert ok(p.session.get_this_host(s, s))  # the Async. call did not run
        # A finished task frees a slot.
        ok(p.task.set_status(s, created[0], "success"))
        created.append(ok(p.task.create(s, "fits-again", "")))
    finally:
        for t in created:
            p.task.destroy(s, t)
    assert not set(created) & set(ok(p.task.get_all(s)))


# --- JSON-RPC ----------------------------------------------------------------

def jcall(host, method, params):
    status, _, data = host.jsonrpc({"jsonrpc": "2.0", "method": method, "params": params,
                                    "id": 1})
    assert status == 200, data
    return json.loads(data.decode("utf-8"))


def test_jsonrpc_async(host):
    s = jcall(host, "session.login_with_password", ["root", host.password])["result"]
    pool = jcall(host, "pool.get_all", [s])["result"][0]
    uuid = jcall(host, "pool.get_uuid", [s, pool])["result"]
    task = jcall(host, "Async.message.create",
                 [s, "TASK_TEST", "3", "Pool", uuid, "json"])["result"]
    assert task.startswith("OpaqueRef:")
    deadline = time.monotonic() + 15
    status = None
    for _ in range(300):
        status = jcall(host, "task.get_status", [s, task])["result"]
        if status in FINAL or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == "success"
    rec = jcall(host, "task.get_record", [s, task])["result"]
    # The result is XML-RPC text whatever the wire.
    assert rec["result"].startswith("<value>")
    assert parse_value(rec["result"]).startswith("OpaqueRef:")
    r = jcall(host, "Async.message.create",
              [s, "X", "1", "VM", "00000000-0000-0000-0000-000000000000", ""])
    t2 = r["result"]
    for _ in range(300):
        if jcall(host, "task.get_status", [s, t2])["result"] in FINAL:
            break
        time.sleep(0.05)
    assert jcall(host, "task.get_error_info", [s, t2])["result"][0] == "UUID_INVALID"
    e = jcall(host, "Async.task.get_all", [s])["error"]  # v2: {code, message, data}
    assert e["message"] == "MESSAGE_METHOD_UNKNOWN" and e["data"] == ["Async.task.get_all"], e
    own = jcall(host, "task.create", [s, "json-task", "d"])["result"]
    assert "error" not in jcall(host, "task.cancel", [s, own])
    assert jcall(host, "task.get_error_info", [s, own])["result"] == ["TASK_CANCELLED", own]
    for t in (task, t2, own):
        assert "error" not in jcall(host, "task.destroy", [s, t])


# --- running tasks, cancellation and GC (hosts of their own) ----------------

@pytest.fixture(scope="module")
def slow_host():
    """Task threads wait 3 s before running; GC ages: finished 3 s, pending 6 s."""
    base, h = started_host({"CXAPI_TASK_TEST_DELAY_MS": "3000",
                            "CXAPI_TASK_GC_FINISHED_S": "3",
                            "CXAPI_TASK_GC_PENDING_S": "6",
                            "CXAPI_TASK_GC_INTERVAL_S": "1"})
    try:
        yield h
    finally:
        finish_host(base, h)


def test_cancel_running_task(slow_host):
    h = slow_host
    p = h.proxy()
    s = h.login()
    task = async_create(p, s)
    rec = ok(p.task.get_record(s, task))
    assert rec["status"] == "pending" and rec["allowed_operations"] == ["cancel"]
    ok(p.task.cancel(s, task))
    assert ok(p.task.get_status(s, task)) in ("cancelling", "cancelled")
    assert wait_task(p, s, task) == "cancelled"
    rec = ok(p.task.get_record(s, task))
    assert rec["error_info"] == ["TASK_CANCELLED", task]
    assert rec["result"] == ""
    assert failure(p.task.cancel(s, task))[0] == "OPERATION_NOT_ALLOWED"


def test_destroy_running_task(slow_host):
    h = slow_host
    p = h.proxy()
    s = h.login()
    task = async_create(p, s)
    assert ok(p.task.get_status(s, task)) == "pending"
    ok(p.task.destroy(s, task))
    assert task not in ok(p.task.get_all(s))
    time.sleep(0.5)  # the thread notices and ends; the host stays healthy
    assert ok(p.session.get_this_host(s, s)).startswith("OpaqueRef:")


def test_running_task_completes(slow_host):
    h = slow_host
    p = h.proxy()
    s = h.login()
    task = async_create(p, s)
    assert ok(p.task.get_status(s, task)) == "pending"
    assert wait_task(p, s, task) == "success"
    ok(p.message.destroy(s, created_message(p, s, task)))


def test_gc_finished_and_pending(slow_host):
    h = slow_host
    p = h.proxy()
    s = h.login()
    done = ok(p.task.create(s, "gc-finished", ""))
    ok(p.task.set_status(s, done, "failure"))
    pending = ok(p.task.create(s, "gc-pending", ""))
    t0 = time.monotonic()
    assert wait_gone(p, s, done), "finished task not collected"
    assert pending in ok(p.task.get_all(s)), "pending task collected too early"
    assert wait_gone(p, s, pending), "pending task not collected"
    assert time.monotonic() - t0 >= 3


def test_finished_task_limit():
    """At most 200 finished tasks are kept: the longest finished go first."""
    base, h = started_host({"CXAPI_TASK_GC_INTERVAL_S": "1"})
    try:
        p = h.proxy()
        s = h.login()
        tasks = []
        for i in range(205):
            t = ok(p.task.create(s, "done-%d" % i, ""))
            ok(p.task.set_status(s, t, "success"))
            tasks.append(t)
        deadline = time.monotonic() + 20
        for _ in range(100):
            left = ok(p.task.get_all(s))
            if len(left) <= 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(left) == 200, len(left)
        # finished times have one-second resolution: only the newest are sure to stay
        assert tasks[-1] in left
    finally:
        finish_host(base, h)
