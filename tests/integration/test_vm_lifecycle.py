"""The VM lifecycle through xapi and the real xenopsd (simulator backend):
xe vm-install's clone and provision, every transition of a VM with the
upstream error for each illegal one, allowed_operations at every step,
metrics and guest metrics, the events a watcher sees, conflicting
operations, and a JSON-RPC sample.

The host's xenopsd runs under the supervisor. An unreachable xenopsd is
covered by the unit tests (tests/unit/test_vm.c).
"""

import json
import os
import time

import pytest

from test_vm_lifecycle_harness import (NULL_REF, Api, Watcher, bad_power_state, install, template,
                                       vm_host, wait_for, xenstore)
from test_xenopsd_harness import XenopsdClient

# What each power state must allow and must not, among the operations of
# this step (upstream's rules).
ALLOWED = {
    "Halted": ({"start", "start_on", "clone", "copy", "destroy"},
               {"clean_shutdown", "hard_shutdown", "pause", "unpause", "suspend", "resume"}),
    "Running": ({"clean_shutdown", "hard_shutdown", "shutdown", "clean_reboot", "hard_reboot",
                 "pause", "suspend"},
                {"start", "unpause", "resume", "destroy", "clone"}),
    "Paused": ({"unpause", "hard_shutdown", "hard_reboot"},
               {"pause", "suspend", "clean_shutdown", "start", "destroy"}),
    "Suspended": ({"resume", "resume_on", "hard_shutdown"},
                  {"start", "pause", "suspend", "clean_shutdown", "destroy"}),
}

# Illegal calls in each state, with the states upstream names as expected.
ILLEGAL = {
    "Halted": [("VM.pause", (), {"running"}), ("VM.unpause", (), {"paused"}),
               ("VM.suspend", (), {"running"}), ("VM.clean_shutdown", (), {"running"}),
               ("VM.clean_reboot", (), {"running"}), ("VM.resume", (False, False), {"suspended"}),
               ("VM.hard_reboot", (), {"running", "paused"})],
    "Running": [("VM.start", (False, False), {"halted"}), ("VM.unpause", (), {"paused"}),
                ("VM.resume", (False, False), {"suspended"}), ("VM.destroy", (), {"halted"})],
    "Paused": [("VM.pause", (), {"running"}), ("VM.suspend", (), {"running"}),
               ("VM.clean_shutdown", (), {"running"}), ("VM.start", (False, False), {"halted"})],
    "Suspended": [("VM.start", (False, False), {"halted"}), ("VM.pause", (), {"running"}),
                  ("VM.suspend", (), {"running"}), ("VM.clean_reboot", (), {"running"}),
                  ("VM.unpause", (), {"paused"})],
}


@pytest.fixture(scope="module")
def api(host):
    vm_host(host)
    return Api(host)


def check_state(api, vm, state):
    """power_state, allowed/current operations, domid and resident_on agree
    with state, and each illegal call gets VM_BAD_POWER_STATE."""
    rec = api.call("VM.get_record", vm)
    assert rec["power_state"] == state, rec["power_state"]
    assert rec["current_operations"] == {}, rec["current_operations"]
    must, must_not = ALLOWED[state]
    allowed = set(rec["allowed_operations"])
    assert must <= allowed, (state, must - allowed)
    assert not (must_not & allowed), (state, must_not & allowed)
    live = state in ("Running", "Paused")
    host_ref = api.call("host.get_all")[0]
    assert rec["resident_on"] == (host_ref if live else NULL_REF), rec["resident_on"]
    assert (int(rec["domid"]) > 0) if live else (int(rec["domid"]) == -1), rec["domid"]
    for method, args, expected in ILLEGAL[state]:
        exp, actual = bad_power_state(api, vm, method, *args)
        assert set(exp.split(", ")) == expected, (method, exp)
        assert actual == state.lower(), (method, actual)
    return rec


def test_install_needs_storage(api):
    """A template's disk needs an SR; this host has none, and says so."""
    tpl = template(api, "Other install media")
    vm = api.call("VM.clone", tpl, "needs-a-disk")
    rec = api.call("VM.get_record", vm)
    assert rec["uuid"] != api.call("VM.get_uuid", tpl)
    assert rec["name_label"] == "needs-a-disk"
    assert rec["is_a_template"] is True and rec["is_default_template"] is False
    assert "disks" in rec["other_config"]
    err = api.fail("VM.provision", vm)
    assert err[0] == "DEFAULT_SR_NOT_FOUND", err
    assert api.call("VM.get_is_a_template", vm) is True
    assert api.fail("VM.start", vm, False, False) == ["VM_IS_TEMPLATE", vm]
    assert api.fail("VM.destroy", tpl)[0] == "VM_CANNOT_DELETE_DEFAULT_TEMPLATE"
    api.call("VM.destroy", vm)
    assert api.fail("VM.get_record", vm)[0] == "HANDLE_INVALID"


def test_walk_through_every_transition(api, host):
    vm = install(api, "walker")
    check_state(api, vm, "Halted")
    watcher = Watcher(host, vm)
    watcher.start()
    seen = ["Halted"]
    try:
        def step(method, args, state):
            api.call(method, vm, *args)
            if seen[-1] != state:
                seen.append(state)
                watcher.wait_state(state, len(seen))
            return check_state(api, vm, state)

        rec = step("VM.start", (False, False), "Running")
        metrics = api.call("VM_metrics.get_record", rec["metrics"])
        assert int(metrics["memory_actual"]) > 0, metrics
        assert int(metrics["VCPUs_number"]) == int(rec["VCPUs_at_startup"]), metrics
        step("VM.pause", (), "Paused")
        step("VM.unpause", (), "Running")
        step("VM.suspend", (), "Suspended")
        assert api.call("VM.get_guest_metrics", vm) == NULL_REF
        step("VM.resume", (False, False), "Running")
        domid = int(api.call("VM.get_domid", vm))
        step("VM.clean_reboot", (), "Running")
        rebooted = int(api.call("VM.get_domid", vm))
        assert rebooted != domid
        step("VM.hard_reboot", (), "Running")
        assert int(api.call("VM.get_domid", vm)) != rebooted
        step("VM.clean_shutdown", (), "Halted")
        step("VM.start", (False, False), "Running")
        step("VM.hard_shutdown", (), "Halted")
        step("VM.start", (True, False), "Paused")
        step("VM.shutdown", (), "Halted")
    finally:
        watcher.stop()
    assert watcher.states == ["Halted", "Running", "Paused", "Running", "Suspended", "Running",
                              "Halted", "Running", "Halted", "Paused", "Halted"], watcher.states
    # each start and reboot made a new domain; the watcher saw every one
    assert len([d for d in watcher.domids if d > 0]) >= 6, watcher.domids
    api.call("VM.destroy", vm)


def test_metrics_and_guest_metrics(api):
    vm = install(api, "measured")
    before = time.time()
    api.call("VM.start", vm, False, False)
    rec = api.call("VM.get_record", vm)
    m = api.call("VM_metrics.get_record", rec["metrics"])
    assert int(m["memory_actual"]) == int(rec["memory_target"]) or int(m["memory_actual"]) > 0, m
    start = time.mktime(time.strptime(str(m["start_time"]), "%Y%m%dT%H:%M:%SZ")) - time.timezone
    assert before - 5 <= start <= time.time() + 5, (m["start_time"], before)
    # the guest agent reports once the guest has booted
    gm_ref = wait_for(lambda: (lambda g: g if g != NULL_REF else None)(
        api.call("VM.get_guest_metrics", vm)), timeout=20)
    assert gm_ref, "no guest metrics after 20 s"
    gm = wait_for(lambda: (lambda g: g if g["os_version"] and g["networks"] else None)(
        api.call("VM_guest_metrics.get_record", gm_ref)), timeout=20)
    assert gm, api.call("VM_guest_metrics.get_record", gm_ref)
    assert gm["PV_drivers_version"], gm
    assert gm["PV_drivers_detected"] is True and gm["live"] is True, gm
    api.call("VM.hard_shutdown", vm)
    assert api.call("VM.get_guest_metrics", vm) == NULL_REF
    assert api.fail("VM_guest_metrics.get_record", gm_ref)[0] == "HANDLE_INVALID"
    assert int(api.call("VM_metrics.get_memory_actual", rec["metrics"])) == 0
    api.call("VM.destroy", vm)


def test_second_conflicting_operation_refused(api):
    """While a clean shutdown waits for a guest that never answers, a
    second operation gets OTHER_OPERATION_IN_PROGRESS; cancelling the first
    leaves the VM running with nothing in progress."""
    vm = install(api, "stubborn", {"sim_guest": "no-ack"})
    api.call("VM.start", vm, False, False)
    task = api.call("Async.VM.clean_shutdown", vm)
    busy = wait_for(lambda: api.call("VM.get_current_operations", vm), timeout=20)
    assert busy == {task: "clean_shutdown"}, busy
    assert api.call("VM.get_allowed_operations", vm) == []
    for method, args in (("VM.hard_shutdown", ()), ("VM.clean_shutdown", ()),
                         ("VM.pause", ()), ("VM.suspend", ())):
        err = api.fail(method, vm, *args)
        assert err == ["OTHER_OPERATION_IN_PROGRESS", "VM", vm, "clean_shutdown", task], \
            (method, err)
    second = api.wait_task(api.call("Async.VM.hard_reboot", vm))
    assert second["status"] == "failure"
    assert second["error_info"][0] == "OTHER_OPERATION_IN_PROGRESS", second
    # nor may it become a template meanwhile
    err = api.fail("VM.set_is_a_template", vm, True)
    assert err == ["VM_BAD_POWER_STATE", vm, "halted", "running"], err
    api.call("task.cancel", task)
    rec = api.wait_task(task)
    assert rec["status"] == "cancelled", rec
    assert rec["error_info"][0] == "TASK_CANCELLED", rec
    assert api.call("VM.get_current_operations", vm) == {}
    assert api.call("VM.get_power_state", vm) == "Running"
    assert "hard_shutdown" in api.call("VM.get_allowed_operations", vm)
    api.call("VM.hard_shutdown", vm)
    api.call("VM.destroy", vm)


def test_async_progress_and_result(api):
    vm = install(api, "async")
    task = api.call("Async.VM.start", vm, False, False)
    rec = api.wait_task(task)
    assert rec["status"] == "success" and float(rec["progress"]) == 1.0, rec
    assert api.call("VM.get_power_state", vm) == "Running"
    rec = api.wait_task(api.call("Async.VM.pause", vm))
    assert rec["status"] == "success", rec
    rec = api.wait_task(api.call("Async.VM.pause", vm))
    assert rec["status"] == "failure" and rec["error_info"][0] == "VM_BAD_POWER_STATE", rec
    api.call("VM.hard_shutdown", vm)
    api.call("VM.destroy", vm)


def test_not_enough_memory(api):
    vm = install(api, "huge")
    api.call("VM.set_memory_limits", vm, str(1 << 20), str(1 << 50), str(1 << 50), str(1 << 50))
    host_ref = api.call("host.get_all")[0]
    err = api.fail("VM.assert_can_boot_here", vm, host_ref)
    assert err[0] == "HOST_NOT_ENOUGH_FREE_MEMORY" and err[1] == str(1 << 50), err
    err = api.fail("VM.start", vm, False, False)
    assert err[0] == "HOST_NOT_ENOUGH_FREE_MEMORY" and len(err) == 3, err
    assert int(err[1]) >= 1 << 50 and int(err[2]) < 1 << 50, err
    check_state(api, vm, "Halted")
    api.call("VM.destroy", vm)


def test_settings_within_power_states(api):
    vm = install(api, "tuned")
    gib = 1 << 30
    err = api.fail("VM.set_memory_limits", vm, str(2 * gib), str(gib), str(gib), str(gib))
    assert err[0] == "MEMORY_CONSTRAINT_VIOLATION", err
    api.call("VM.set_memory_limits", vm, str(gib // 2), str(gib), str(gib), str(gib))
    api.call("VM.set_VCPUs_max", vm, "4")
    api.call("VM.set_VCPUs_at_startup", vm, "3")
    assert api.fail("VM.set_VCPUs_at_startup", vm, "5")[0] == "INVALID_VALUE"
    assert api.call("VM.get_allowed_VIF_devices", vm) == [str(i) for i in range(7)]
    api.call("VM.start", vm, False, False)
    m = api.call("VM_metrics.get_record", api.call("VM.get_metrics", vm))
    assert int(m["VCPUs_number"]) == 3, m
    assert api.fail("VM.set_VCPUs_max", vm, "8")[:4] == ["VM_BAD_POWER_STATE", vm, "halted",
                                                         "running"]
    assert api.fail("VM.set_memory_static_max", vm, str(2 * gib))[0] == "VM_BAD_POWER_STATE"
    api.call("VM.set_memory_dynamic_range", vm, str(gib // 2), str(gib))
    api.call("VM.hard_shutdown", vm)
    api.call("VM.destroy", vm)


def test_devices_plug_and_unplug(api):
    vm = install(api, "wired")
    net = api.call("network.get_all")[0]
    vif = api.call("VIF.create", {"device": "0", "network": net, "VM": vm, "MAC": "",
                                  "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                                  "qos_algorithm_params": {}})
    assert api.call("VIF.get_MAC", vif), "no MAC generated"
    assert api.call("VM.get_allowed_VIF_devices", vm) == [str(i) for i in range(1, 7)]
    vbd = api.call("VBD.create", {"VM": vm, "VDI": NULL_REF, "userdevice": "3", "bootable": False,
                                  "mode": "RO", "type": "CD", "empty": True, "other_config": {},
                                  "qos_algorithm_type": "", "qos_algorithm_params": {}})
    err = api.fail("VIF.plug", vif)
    assert err[:2] == ["VM_BAD_POWER_STATE", vm], err
    api.call("VM.start", vm, False, False)
    assert api.call("VIF.get_currently_attached", vif) is True
    assert api.call("VBD.get_currently_attached", vbd) is True
    assert api.fail("VIF.plug", vif) == ["DEVICE_ALREADY_ATTACHED", vif]
    err = api.fail("VIF.destroy", vif)
    assert err[0] == "OPERATION_NOT_ALLOWED", err
    api.call("VIF.unplug", vif)
    assert api.call("VIF.get_currently_attached", vif) is False
    assert "plug" in api.call("VIF.get_allowed_operations", vif)
    assert api.fail("VIF.unplug", vif) == ["DEVICE_ALREADY_DETACHED", vif]
    api.call("VIF.plug", vif)
    assert api.call("VIF.get_currently_attached", vif) is True
    api.call("VBD.unplug", vbd)
    assert api.call("VBD.get_currently_attached", vbd) is False
    api.call("VM.hard_shutdown", vm)
    assert api.call("VIF.get_currently_attached", vif) is False
    api.call("VIF.destroy", vif)
    api.call("VM.destroy", vm)
    assert api.fail("VBD.get_record", vbd)[0] == "HANDLE_INVALID"


# --- JSON-RPC -------------------------------------------------------------

def jsonrpc(host, method, *params):
    body = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}
    status, _, data = host.jsonrpc(body)
    assert status == 200, (status, data)
    return json.loads(data.decode("utf-8"))


def void(r):
    """A void call's success, in either of the forms JSON-RPC clients see."""
    assert "error" not in r and r["result"] in ("", None), r
    return True


def test_jsonrpc_sample(api, host):
    s = jsonrpc(host, "session.login_with_password", "root", host.password)["result"]
    tpl = template(api)
    vm = jsonrpc(host, "VM.clone", s, tpl, "json-vm")["result"]
    assert void(jsonrpc(host, "VM.remove_from_other_config", s, vm, "disks"))
    assert void(jsonrpc(host, "VM.provision", s, vm))
    assert void(jsonrpc(host, "VM.start", s, vm, False, False))
    r = jsonrpc(host, "VM.get_record", s, vm)["result"]
    assert r["power_state"] == "Running" and r["domid"] > 0, r
    e = jsonrpc(host, "VM.start", s, vm, False, False)["error"]
    assert e["message"] == "VM_BAD_POWER_STATE", e
    assert e["data"] == [vm, "halted", "running"], e
    assert void(jsonrpc(host, "VM.hard_shutdown", s, vm))
    e = jsonrpc(host, "VM.unpause", s, vm)["error"]
    assert [e["message"]] + e["data"] == ["VM_BAD_POWER_STATE", vm, "paused", "halted"], e
    assert void(jsonrpc(host, "VM.destroy", s, vm))



def test_host_memory_follows_xenopsd(api):
    """host_metrics.memory_total is the memory xenopsd's backend accounts;
    host.compute_free_memory follows the domains that hold it."""
    xo = XenopsdClient(os.path.join(api.host.run, "xenopsd.sock"))
    host_ref = api.call("host.get_all")[0]
    metrics = api.call("host.get_metrics", host_ref)
    st = xo.call("HOST.stat")
    assert wait_for(lambda: int(api.call("host_metrics.get_memory_total", metrics)) ==
                    st["memory_total"], timeout=10)

    def free():
        return int(api.call("host.compute_free_memory", host_ref))

    assert free() == xo.call("HOST.stat")["memory_free"]
    free_before = free()
    vm = install(api, "memory-user")
    api.call("VM.start", vm, False, False)
    assert free() == free_before - int(api.call("VM.get_memory_static_max", vm))
    assert free() == xo.call("HOST.stat")["memory_free"]
    api.call("VM.hard_shutdown", vm)
    assert free() == free_before
    api.call("VM.destroy", vm)


def test_live_vcpus_and_memory(api):
    """set_VCPUs_number_live and a running VM's dynamic range go through
    xenopsd: the domain, its xenstore keys and the metrics follow."""
    vm = install(api, "live")
    gib = 1 << 30
    api.call("VM.set_memory_limits", vm, str(gib // 4), str(gib), str(gib), str(gib))
    api.call("VM.set_VCPUs_max", vm, "4")
    api.call("VM.set_VCPUs_at_startup", vm, "4")
    assert api.fail("VM.set_VCPUs_number_live", vm, "2")[:4] == [
        "VM_BAD_POWER_STATE", vm, "running", "halted"]
    api.call("VM.start", vm, False, False)
    assert "changing_VCPUs_live" in api.call("VM.get_allowed_operations", vm)
    domid = int(api.call("VM.get_domid", vm))
    metrics = api.call("VM.get_metrics", vm)
    xs = xenstore(api.host)

    api.call("VM.set_VCPUs_number_live", vm, "2")
    assert int(api.call("VM_metrics.get_VCPUs_number", metrics)) == 2
    assert int(api.call("VM.get_VCPUs_at_startup", vm)) == 2
    assert [xs.read("/local/domain/%d/cpu/%d/availability" % (domid, i)) for i in range(4)] == \
        [b"online", b"online", b"offline", b"offline"]
    for bad in ("0", "5"):
        assert api.fail("VM.set_VCPUs_number_live", vm, bad) == ["INVALID_VALUE", "nvcpu", bad]
    assert api.call("VM.get_current_operations", vm) == {}

    api.call("VM.set_memory_dynamic_range", vm, str(gib // 2), str(3 * gib // 4))
    rec = api.call("VM.get_record", vm)
    assert (int(rec["memory_dynamic_min"]), int(rec["memory_dynamic_max"])) == (
        gib // 2, 3 * gib // 4)
    assert int(rec["memory_target"]) == 3 * gib // 4
    assert int(api.call("VM_metrics.get_memory_actual", metrics)) == 3 * gib // 4
    assert xs.read("/local/domain/%d/memory/target" % domid) == str(3 * gib // 4 // 1024).encode()
    err = api.fail("VM.set_memory_dynamic_range", vm, str(gib // 8), str(gib))
    assert err[0] == "MEMORY_CONSTRAINT_VIOLATION", err
    assert int(api.call("VM_metrics.get_memory_actual", metrics)) == 3 * gib // 4
    api.call("VM.set_memory_dynamic_max", vm, str(gib))
    assert int(api.call("VM_metrics.get_memory_actual", metrics)) == gib
    assert api.call("VM.get_current_operations", vm) == {}
    api.call("VM.hard_shutdown", vm)
    api.call("VM.destroy", vm)
