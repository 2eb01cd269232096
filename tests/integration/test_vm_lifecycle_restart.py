"""What happens behind xapi's back, and across restarts: a guest that
reboots or shuts itself down, kill -9 of xapi and of xenopsd while VMs run
and while an operation is in flight. After each, the supervisor restarts
the daemon and the database agrees with xenopsd: no VM lost or
duplicated, the same domids, nothing stuck in current_operations.
"""

import json
import os
import signal
import socket

import pytest

from conftest import UnixHTTPConnection
from test_supervisor import parse_status, pid_alive
from test_vm_lifecycle_harness import (NULL_REF, Api, install, vm_host, wait_for, xenstore)
from test_xenstored_harness import XsError


@pytest.fixture
def api(host):
    """A session per test: sessions do not outlive a restart of xapi."""
    vm_host(host)
    return Api(host)


def xenopsd(host, method, *params):
    """A call straight to xenopsd, as xapi makes it."""
    conn = UnixHTTPConnection(os.path.join(host.run, "xenopsd.sock"), timeout=30)
    try:
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1})
        conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        reply = json.loads(conn.getresponse().read().decode("utf-8"))
    finally:
        conn.close()
    assert "error" not in reply or reply["error"] is None, (method, reply)
    return reply["result"]


def daemon_pid(host, name):
    r = host.status()
    assert r.returncode == 0, r.stdout
    d = parse_status(r.stdout).get(name)
    assert d and d["pid"], "%s not in the status:\n%s" % (name, r.stdout)
    return d["pid"]


def kill9_and_wait(host, name):
    """kill -9 of a daemon, then until the supervisor has it running again."""
    old = daemon_pid(host, name)
    os.kill(old, signal.SIGKILL)

    def restarted():
        r = host.status()
        d = parse_status(r.stdout).get(name) if r.returncode == 0 else None
        return d and d["state"] == "running" and d["pid"] not in (None, old) and d["pid"]

    new = wait_for(restarted, timeout=40, step=0.2)
    assert new and pid_alive(new), "%s not restarted:\n%s" % (name, host.status().stdout)
    # Until the new daemon listens: the killed one's socket file is still
    # there, refusing connections, until the new one binds it again.
    assert wait_for(lambda: listening(os.path.join(host.run, "%s.sock" % name)), 20)
    assert host.wait_api(30)


def listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(5)
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def consistent(api, host, vm):
    """The VM's record agrees with xenopsd's stat, with nothing in
    progress; returns the record."""
    def agrees():
        rec = api.call("VM.get_record", vm)
        ids = xenopsd(host, "VM.list")
        stat = xenopsd(host, "VM.stat", rec["uuid"]) if rec["uuid"] in ids else None
        want = stat["power_state"] if stat else "Halted"
        domid = stat["domid"] if stat and want in ("Running", "Paused") else -1
        ok = (rec["current_operations"] == {} and rec["power_state"] == want
              and int(rec["domid"]) == domid)
        return rec if ok else None

    rec = wait_for(agrees, timeout=30, step=0.1)
    assert rec, "VM %s does not agree with xenopsd: %r" % (vm, api.call("VM.get_record", vm))
    return rec


def pending_xenopsd_tasks(host):
    """xenopsd's pending tasks."""
    return xenopsd(host, "TASK.list")


def cancel_xenopsd_tasks(host):
    """Cancels xenopsd's pending tasks."""
    for task in pending_xenopsd_tasks(host):
        try:
            xenopsd(host, "TASK.cancel", task)
        except AssertionError:
            pass  # finished meanwhile


def guest_metrics_up(api, vm):
    gm = api.call("VM.get_guest_metrics", vm)
    return gm != NULL_REF and api.call("VM_guest_metrics.get_os_version", gm)


def test_guest_reboots_and_shuts_down_itself(api, host):
    vm = install(api, "self-driven")
    api.call("VM.start", vm, False, False)
    domid = int(api.call("VM.get_domid", vm))
    assert wait_for(lambda: guest_metrics_up(api, vm), 20), "the guest did not boot"
    with xenstore(host) as xs:
        xs.write("/local/domain/%d/control/shutdown" % domid, b"reboot")
    rebooted = wait_for(lambda: (lambda d: d if d not in (domid, -1) else None)(
        int(api.call("VM.get_domid", vm))), 30)
    assert rebooted, "no new domain after the guest rebooted"
    assert api.call("VM.get_power_state", vm) == "Running"
    assert wait_for(lambda: guest_metrics_up(api, vm), 20), "the guest did not boot again"
    with xenstore(host) as xs:
        xs.write("/local/domain/%d/control/shutdown" % rebooted, b"poweroff")
    assert wait_for(lambda: api.call("VM.get_power_state", vm) == "Halted", 30)
    rec = consistent(api, host, vm)
    assert rec["resident_on"] == NULL_REF and "start" in rec["allowed_operations"]
    api.call("VM.start", vm, False, False)
    api.call("VM.hard_shutdown", vm)
    api.call("VM.destroy", vm)


def test_kill9_xapi_while_vms_run(api, host):
    running = install(api, "survivor")
    paused = install(api, "sleeper")
    api.call("VM.start", running, False, False)
    api.call("VM.start", paused, True, False)
    before = {vm: api.call("VM.get_record", vm) for vm in (running, paused)}
    count = len(api.call("VM.get_all"))
    kill9_and_wait(host, "xapi")
    api2 = Api(host)
    for vm, old in before.items():
        rec = consistent(api2, host, vm)
        assert rec["power_state"] == old["power_state"], (rec["power_state"], old["power_state"])
        assert rec["domid"] == old["domid"], (rec["domid"], old["domid"])
        assert rec["resident_on"] == old["resident_on"]
    assert len(api2.call("VM.get_all")) == count
    api2.call("VM.hard_shutdown", running)
    api2.call("VM.hard_shutdown", paused)
    for vm in (running, paused):
        api2.call("VM.destroy", vm)


def test_kill9_xapi_during_an_operation(api, host):
    """A clean shutdown in flight (the guest never answers) when xapi dies:
    after the restart nothing is stuck and the VM can be stopped."""
    vm = install(api, "interrupted", {"sim_guest": "no-ack"})
    api.call("VM.start", vm, False, False)
    task = api.call("Async.VM.clean_shutdown", vm)
    assert wait_for(lambda: api.call("VM.get_current_operations", vm), 20) == {
        task: "clean_shutdown"}
    kill9_and_wait(host, "xapi")
    api2 = Api(host)
    # the restarted xapi cancelled xenopsd's task of the lost operation,
    # which would otherwise hold the VM's queue for its whole timeout
    assert wait_for(lambda: not pending_xenopsd_tasks(host), timeout=10)
    rec = consistent(api2, host, vm)
    assert rec["power_state"] == "Running", rec["power_state"]
    assert "hard_shutdown" in rec["allowed_operations"]
    api2.call("VM.hard_shutdown", vm)
    consistent(api2, host, vm)
    api2.call("VM.destroy", vm)


def test_kill9_xenopsd_while_vms_run(api, host):
    vm = install(api, "steady")
    api.call("VM.start", vm, False, False)
    before = api.call("VM.get_record", vm)
    kill9_and_wait(host, "xenopsd")
    rec = consistent(api, host, vm)
    assert (rec["power_state"], rec["domid"]) == ("Running", before["domid"])
    # xapi talks to the new xenopsd
    api.call("VM.clean_shutdown", vm)
    assert consistent(api, host, vm)["power_state"] == "Halted"
    api.call("VM.destroy", vm)


def test_kill9_xenopsd_during_an_operation(api, host):
    vm = install(api, "orphaned", {"sim_guest": "no-ack"})
    api.call("VM.start", vm, False, False)
    task = api.call("Async.VM.clean_shutdown", vm)
    assert wait_for(lambda: api.call("VM.get_current_operations", vm), 20)
    kill9_and_wait(host, "xenopsd")
    end = api.wait_task(task)
    # The guest never acknowledges, so the shutdown cannot have finished:
    # it fails with the daemon (unreachable), or against the new one, which
    # does not know the old task. Either way it is not left in progress.
    assert end["status"] == "failure", end
    assert end["error_info"][0] in ("INTERNAL_ERROR", "HANDLE_INVALID"), end
    cancel_xenopsd_tasks(host)
    rec = consistent(api, host, vm)
    if rec["power_state"] != "Halted":
        api.call("VM.hard_shutdown", vm)
        consistent(api, host, vm)
    assert len([r for r in api.call("VM.get_all") if r == vm]) == 1
    api.call("VM.destroy", vm)


def test_kill9_xenstored_while_vms_run(api, host):
    """A new xenstored starts empty: xenopsd writes every running domain's
    tree again, its devices' too, and the guests come back to it, so a
    clean shutdown still goes through the guest."""
    vm = install(api, "configured")
    net = api.call("network.get_all")[0]
    api.call("VIF.create", {"device": "0", "network": net, "VM": vm, "MAC": "", "MTU": "1500",
                            "other_config": {}, "qos_algorithm_type": "",
                            "qos_algorithm_params": {}})
    api.call("VM.start", vm, False, False)
    domid = int(api.call("VM.get_domid", vm))
    dom = "/local/domain/%d" % domid
    assert wait_for(lambda: xenstore(host).exists(dom + "/data/os_name"), 10)
    kill9_and_wait(host, "xenstored")

    def rewritten():
        try:
            xs = xenstore(host)
            return (xs.read(dom + "/vm") == ("/vm/" + api.call("VM.get_uuid", vm)).encode() and
                    xs.exists(dom + "/device/vif/0/backend") and
                    xs.exists(dom + "/data/os_name"))
        except (OSError, XsError):
            return False

    assert wait_for(rewritten, timeout=30, step=0.2), "the domain's tree was not rewritten"
    rec = consistent(api, host, vm)
    assert (rec["power_state"], int(rec["domid"])) == ("Running", domid)
    # the guest answers control/shutdown again: no fallback to hard
    xenopsd_task = xenopsd(host, "VM.shutdown", rec["uuid"], 20)
    st = wait_for(lambda: (lambda s: s if s["state"] != "pending" else None)(
        xenopsd(host, "TASK.stat", xenopsd_task)), timeout=15)
    assert st and st["state"] == "completed", st
    assert consistent(api, host, vm)["power_state"] == "Halted"
    api.call("VM.destroy", vm)


def test_kill9_xapi_during_a_device_operation(api, host):
    """A VIF.plug in flight when xapi dies leaves nothing listed on the VIF
    (which would also keep every VM operation out)."""
    vm = install(api, "plugging")
    net = api.call("network.get_all")[0]
    vif = api.call("VIF.create", {"device": "0", "network": net, "VM": vm, "MAC": "",
                                  "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                                  "qos_algorithm_params": {}})
    api.call("VM.start", vm, False, False)
    api.call("VIF.unplug", vif)
    xo_pid = daemon_pid(host, "xenopsd")
    os.kill(xo_pid, signal.SIGSTOP)  # the plug waits on xenopsd
    try:
        api.call("Async.VIF.plug", vif)
        assert wait_for(lambda: api.call("VIF.get_current_operations", vif), 10)
        kill9_xapi = daemon_pid(host, "xapi")
        os.kill(kill9_xapi, signal.SIGKILL)
    finally:
        os.kill(xo_pid, signal.SIGCONT)

    def restarted():
        try:
            return daemon_pid(host, "xapi") != kill9_xapi and host.wait_api(1)
        except AssertionError:
            return False

    assert wait_for(restarted, timeout=40, step=0.2)
    api2 = Api(host)
    assert api2.call("VIF.get_current_operations", vif) == {}
    rec = consistent(api2, host, vm)
    assert rec["power_state"] == "Running"
    api2.call("VM.hard_shutdown", vm)
    api2.call("VM.destroy", vm)
