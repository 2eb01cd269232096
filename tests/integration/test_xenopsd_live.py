"""Live changes to a running domain and what a paused guest does:
VM.set_vcpus and VM.set_memory_dynamic_range reach xenstore, the backend
and the simulated guest, survive kill -9 of xenopsd and are refused in the
wrong power state; a paused guest answers no request until it runs."""

import time

from test_xenopsd_harness import (  # noqa: F401 (xo is a fixture)
    MiB, wait_for, xo)


def running_vm(xo, **kw):
    vm = xo.new_vm(**kw)
    xo.run("VM.start", vm, False)
    st = wait_for(lambda: (lambda s: s if s["guest"]["last_updated"] else None)(xo.stat(vm)), 10)
    assert st, "the guest did not boot"
    return vm, st["domid"]


def cpus_online(xo, d, n):
    return [xo.xs_read("/local/domain/%d/cpu/%d/availability" % (d, i)) for i in range(n)]


def test_set_vcpus(xo):
    vm, d = running_vm(xo, vcpus_max=4, vcpus=4)
    assert cpus_online(xo, d, 4) == ["online"] * 4
    xo.run("VM.set_vcpus", vm, 2)
    assert xo.stat(vm)["vcpus"] == 2
    assert cpus_online(xo, d, 4) == ["online", "online", "offline", "offline"]
    xo.run("VM.set_vcpus", vm, 3)
    assert xo.stat(vm)["vcpus"] == 3
    for bad in (0, 5):
        assert xo.task_error("VM.set_vcpus", vm, bad) == ["INVALID_VALUE", "vcpus", str(bad)]
    assert xo.stat(vm)["vcpus"] == 3
    # kept across a restart of xenopsd, in the domain and in its tree
    xo.restart(kill=True)
    st = xo.stat(vm)
    assert st["domid"] == d and st["vcpus"] == 3, st
    assert cpus_online(xo, d, 4) == ["online"] * 3 + ["offline"]
    # a new domain boots with what the VM has now
    xo.run("VM.reboot", vm, None)
    assert xo.stat(vm)["vcpus"] == 3
    xo.run("VM.shutdown", vm, None)
    assert xo.task_error("VM.set_vcpus", vm, 1) == ["VM_BAD_POWER_STATE", vm, "running",
                                                    "halted"]
    assert xo.error_of("VM.set_vcpus", vm, -1)[0] == "INVALID_VALUE"
    assert xo.error_of("VM.set_vcpus", vm, "2")[0] == "FIELD_TYPE_ERROR"
    assert xo.error_of("VM.set_vcpus", vm)[0] == "MESSAGE_PARAMETER_COUNT_MISMATCH"


def test_set_memory_dynamic_range(xo):
    vm, d = running_vm(xo, memory=512 * MiB)
    free = xo.call("HOST.stat")["memory_free"]
    xo.run("VM.set_memory_dynamic_range", vm, 128 * MiB, 384 * MiB)
    st = xo.stat(vm)
    assert st["memory_actual"] == 384 * MiB, st
    assert xo.xs_read("/local/domain/%d/memory/target" % d) == str(384 * 1024)
    # the guest's balloon follows, and its tools report the new size
    assert wait_for(lambda: xo.stat(vm)["guest"]["memory"].get("total") == str(384 * 1024), 10)
    # the reservation stays static_max: the domain may grow back
    assert xo.call("HOST.stat")["memory_free"] == free
    for lo, hi in ((256 * MiB, 128 * MiB), (128 * MiB, 1024 * MiB), (0, 128 * MiB)):
        assert xo.task_error("VM.set_memory_dynamic_range", vm, lo, hi)[0] == \
            "MEMORY_CONSTRAINT_VIOLATION"
    assert xo.stat(vm)["memory_actual"] == 384 * MiB
    xo.restart(kill=True)
    assert xo.stat(vm)["memory_actual"] == 384 * MiB
    assert xo.xs_read("/local/domain/%d/memory/target" % d) == str(384 * 1024)
    xo.run("VM.shutdown", vm, None)
    assert xo.task_error("VM.set_memory_dynamic_range", vm, MiB, MiB)[0] == "VM_BAD_POWER_STATE"
    for bad in ((vm, "1", MiB), (vm, MiB, None), (vm, -1, MiB)):
        assert xo.error_of("VM.set_memory_dynamic_range", *bad)[0] in (
            "FIELD_TYPE_ERROR", "INVALID_VALUE"), bad
    assert xo.error_of("VM.set_memory_dynamic_range", vm, MiB)[0] == \
        "MESSAGE_PARAMETER_COUNT_MISMATCH"


def test_paused_guest_answers_nothing(xo):
    vm, d = running_vm(xo)
    xo.run("VM.pause", vm)
    key = "/local/domain/%d/control/shutdown" % d
    xo.xs("xenstore-write", key, "poweroff")
    time.sleep(1)
    assert xo.power(vm) == "Paused"
    assert xo.xs_read(key) == "poweroff", "a paused guest acknowledged a request"
    # once it runs again it sees the request and goes
    xo.run("VM.unpause", vm)
    assert wait_for(lambda: xo.power(vm) == "Halted", 10)


def test_task_wait(xo):
    """TASK.wait blocks until the task ends (or its progress moves), at
    most the time asked, instead of the client polling."""
    vm = xo.new_vm(guest="no-ack")
    xo.run("VM.start", vm, False)
    task = xo.call("VM.shutdown", vm, 2)  # the guest never answers: 2 s, then hard
    st = xo.call("TASK.wait", task, 5000)  # returns on the first progress step
    t0 = time.monotonic()
    while st["state"] == "pending":
        st = xo.call("TASK.wait", task, 5000)
    waited = time.monotonic() - t0
    assert st["state"] == "completed" and waited < 4, (st, waited)
    t0 = time.monotonic()
    assert xo.call("TASK.wait", task, 5000)["state"] == "completed"
    assert time.monotonic() - t0 < 1, "a finished task made the caller wait"
    xo.call("TASK.destroy", task)
    assert xo.error_of("TASK.wait", task, 10) == ["HANDLE_INVALID", "task", task]
    assert xo.error_of("TASK.wait", task)[0] == "MESSAGE_PARAMETER_COUNT_MISMATCH"
    assert xo.error_of("TASK.wait", task, "x")[0] == "FIELD_TYPE_ERROR"
    # a pending task and a short wait: back after about that long
    xo.run("VM.start", vm, False)
    task = xo.call("VM.shutdown", vm, 30)
    xo.call("TASK.wait", task, 5000)  # its first progress step
    t0 = time.monotonic()
    assert xo.call("TASK.wait", task, 300)["state"] == "pending"
    assert 0.25 <= time.monotonic() - t0 < 3
    xo.call("TASK.cancel", task)
    assert xo.call("TASK.wait", task, 5000)["state"] == "failed"
    xo.call("TASK.destroy", task)
    xo.run("VM.shutdown", vm, None)


def test_task_list(xo):
    vm = xo.new_vm(guest="no-ack")
    xo.run("VM.start", vm, False)
    task = xo.call("VM.shutdown", vm, 30)
    assert task in xo.call("TASK.list")
    xo.call("TASK.cancel", task)
    assert xo.call("TASK.wait", task, 5000)["state"] == "failed"
    assert task not in xo.call("TASK.list")
    assert xo.error_of("TASK.list", 1)[0] == "MESSAGE_PARAMETER_COUNT_MISMATCH"
    xo.call("TASK.destroy", task)
    xo.run("VM.shutdown", vm, None)
