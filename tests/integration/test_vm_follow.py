"""What xapi's follower of xenopsd must not lose: a change that lands
while an operation is ending (here the guest agent's first report, with a
guest that boots in 10 ms), and devices xenopsd plugged for an operation
that a kill -9 of xapi cut short."""

import os

import pytest

from conftest import make_host, teardown_host
from test_vm_lifecycle_harness import NULL_REF, Api, install, wait_for
from test_vm_lifecycle_restart import kill9_and_wait, xenopsd


@pytest.fixture(scope="module")
def fast_host():
    base, h = make_host()
    with open(os.path.join(h.state, "xenopsd.conf"), "w") as f:
        f.write("sim-boot-ms = 10\n")
    try:
        r = h.start()
        assert r.returncode == 0, r.stdout + r.stderr
        assert wait_for(lambda: os.path.exists(os.path.join(h.run, "xenopsd.sock")), 10)
        yield h
    finally:
        msgs = teardown_host(base, h)
        if msgs:
            pytest.fail("\n".join(msgs), pytrace=False)


def wired_vm(api, name, vifs=7, cds=12):
    """A VM with many devices: its start spends a while syncing them."""
    vm = install(api, name)
    net = api.call("network.get_all")[0]
    refs = [api.call("VIF.create", {"device": str(i), "network": net, "VM": vm, "MAC": "",
                                    "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                                    "qos_algorithm_params": {}}) for i in range(vifs)]
    for i in range(cds):
        api.call("VBD.create", {"VM": vm, "VDI": NULL_REF, "userdevice": str(i),
                                "bootable": False, "mode": "RO", "type": "CD", "empty": True,
                                "other_config": {}, "qos_algorithm_type": "",
                                "qos_algorithm_params": {}})
    return vm, refs


def test_report_during_an_operation_is_kept(fast_host):
    api = Api(fast_host)
    vm, _ = wired_vm(api, "quick")
    for _ in range(8):
        api.call("VM.start", vm, False, False)
        assert wait_for(lambda: api.call("VM.get_guest_metrics", vm) != NULL_REF, timeout=5), \
            "the guest's report was lost"
        api.call("VM.hard_shutdown", vm)
    api.call("VM.destroy", vm)


def test_kill9_xapi_during_start_keeps_devices(fast_host):
    api = Api(fast_host)
    vm, vifs = wired_vm(api, "cut-short")
    for delay in (0.0, 0.005, 0.01, 0.02):
        api.call("Async.VM.start", vm, False, False)
        if delay:
            wait_for(lambda: False, timeout=delay, step=delay)
        kill9_and_wait(fast_host, "xapi")
        api = Api(fast_host)

        def settled():
            if api.call("VM.get_current_operations", vm):
                return False
            ps = api.call("VM.get_power_state", vm)
            if ps != "Running":
                return ps == "Halted" and all(
                    not api.call("VIF.get_currently_attached", v) for v in vifs)
            for v in vifs:
                st = xenopsd(fast_host, "VIF.stat", api.call("VIF.get_uuid", v))
                attached = api.call("VIF.get_currently_attached", v)
                allowed = api.call("VIF.get_allowed_operations", v)
                if attached != st["plugged"] or ("unplug" in allowed) != attached:
                    return False
            return True

        assert wait_for(settled, timeout=20, step=0.2), "devices disagree with xenopsd"
        if api.call("VM.get_power_state", vm) == "Running":
            api.call("VM.hard_shutdown", vm)
    api.call("VM.destroy", vm)
