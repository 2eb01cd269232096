"""xenopsd: regressions from a review.

- VM.remove racing VM.add of the same id never takes away the file of
  the VM that VM.add acknowledged;
- an operation whose new state cannot be written to the VM's file fails
  (INTERNAL_ERROR) and leaves the VM, its domain and devices as before;
- a suspend that the guest answers by powering off or rebooting is
  followed (halted, or a new domain) and fails;
- devices cannot be removed or moved while an operation on their VM runs
  or waits (it may be building a domain from them);
- the queued-operations bound is per VM: one stuck VM does not block the
  others;
- a device id that two VMs' files claim drops the device, not a VM;
- a REAP left queued on a removed VM is freed at SIGTERM (no leak).
"""

import contextlib
import glob
import json
import os
import threading
import time
import uuid

from test_xenopsd_harness import (  # noqa: F401 (xo is a fixture)
    MiB,
    RpcError,
    wait_for,
    xenopsd_daemon as daemon,
    xo,
)

import pytest


@contextlib.contextmanager
def vm_files_unwritable(x):
    """STATE/xenopsd replaced by a plain file: every write of a VM's file
    fails (ENOTDIR), whatever its temporary name; root ignores modes."""
    d = os.path.join(x.state, "xenopsd")
    os.rename(d, d + ".away")
    open(d, "w").close()
    try:
        yield
    finally:
        os.unlink(d)
        os.rename(d + ".away", d)


def vm_config(vm_id, memory=64 * MiB):
    return {"id": vm_id, "name": "x", "memory_static_max": memory,
            "memory_dynamic_max": memory, "memory_dynamic_min": memory, "vcpus_max": 1,
            "vcpus": 1, "hvm": False, "platform": {}, "other": {}}


def add_vbd(x, vm, device, position):
    vbd = str(uuid.uuid4())
    x.call("VBD.add", {"id": vbd, "vm": vm, "device": device, "position": position,
                       "mode": "RW", "type": "Disk", "backend": "/dev/sim/" + vbd})
    return vbd


def vbd_backend(x, domid, position):
    return x.xs_read("/local/domain/0/backend/vbd/%d/%d/params" % (domid, 202 << 8 | position << 4))


def failed_with(x, task, code):
    st = x.task(task)
    assert st["state"] == "failed" and st["error"][0] == code, st
    x.call("TASK.destroy", task)


# --- 1. VM.remove vs VM.add ----------------------------------------------------

def test_remove_racing_add_keeps_the_added_file(xo):
    vm = xo.new_vm(memory=64 * MiB, vbds=0, vifs=0)
    cfg = vm_config(vm)
    path = os.path.join(xo.state, "xenopsd", vm + ".json")
    for _ in range(80):  # the unfixed daemon lost the file within ~10 s
        stop = time.monotonic() + 0.25

        def remove():
            while time.monotonic() < stop:
                try:
                    xo.call("VM.remove", vm)
                except RpcError:
                    pass

        def add():
            while time.monotonic() < stop:
                xo.call("VM.add", cfg)

        threads = [threading.Thread(target=f) for f in (remove, remove, add, add)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        # Every call has been answered: a listed VM has its file.
        if vm in xo.call("VM.list"):
            assert os.path.exists(path), "VM.add acknowledged, its file is gone"
        xo.call("VM.add", cfg)
    xo.call("VM.remove", vm)


# --- 2. a state that cannot be saved ---------------------------------------------

def test_unsaved_state_fails_and_leaves_the_vm_as_before():
    with daemon() as x:
        vm = x.new_vm(memory=64 * MiB, vbds=1, vifs=0)
        free = x.call("HOST.stat")["memory_free"]
        with vm_files_unwritable(x):
            failed_with(x, x.call("VM.start", vm, False), "INTERNAL_ERROR")
            st = x.stat(vm)
            assert (st["power_state"], st["domid"]) == ("Halted", -1)
            assert x.call("HOST.stat")["memory_free"] == free
            assert x.xs_domids() == []
        x.run("VM.start", vm, False)
        domid = x.stat(vm)["domid"]
        spare = add_vbd(x, vm, "xvdc", 2)
        with vm_files_unwritable(x):
            # A hot plug that is not saved is taken out again.
            failed_with(x, x.call("VBD.plug", spare), "INTERNAL_ERROR")
            assert x.call("VBD.stat", spare)["plugged"] is False
            assert vbd_backend(x, domid, 2) is None
            # Nor is a shutdown or a pause: the domain stays, running.
            failed_with(x, x.call("VM.shutdown", vm, None), "INTERNAL_ERROR")
            failed_with(x, x.call("VM.pause", vm), "INTERNAL_ERROR")
            # Nor a live change: the domain and its tree keep the old values.
            failed_with(x, x.call("VM.set_vcpus", vm, 1), "INTERNAL_ERROR")
            failed_with(x, x.call("VM.set_memory_dynamic_range", vm, 32 * MiB, 32 * MiB),
                        "INTERNAL_ERROR")
            st = x.stat(vm)
            assert (st["vcpus"], st["memory_actual"]) == (2, 64 * MiB), st
            assert x.xs_read("/local/domain/%d/cpu/1/availability" % domid) == "online"
            assert x.xs_read("/local/domain/%d/memory/target" % domid) == str(64 * 1024)
            assert (st["power_state"], st["domid"]) == ("Running", domid)
            assert x.xs_domids() == [domid]
            assert vbd_backend(x, domid, 0) is not None
        # What the file says is what memory said: a restart agrees.
        x.restart()
        st = x.stat(vm)
        assert (st["power_state"], st["domid"]) == ("Running", domid)
        assert x.call("VBD.stat", spare)["plugged"] is False
        x.run("VM.shutdown", vm, None)


# --- 3. suspend answered otherwise -------------------------------------------------

@pytest.mark.parametrize("answer", ["poweroff", "reboot"])
def test_suspend_answered_by_another_shutdown_is_followed(answer):
    # The guest boots 3 s after the start: the test's answer overwrites the
    # suspend request before the guest reads it.
    with daemon(["--sim-boot-ms", "3000", "--suspend-ack-ms", "8000"]) as x:
        vm = x.new_vm(memory=64 * MiB, vbds=0, vifs=0)
        x.run("VM.start", vm, False)
        domid = x.stat(vm)["domid"]
        task = x.call("VM.suspend", vm, os.path.join(x.base, "image"))
        assert wait_for(lambda: x.xs_read("/local/domain/%d/control/shutdown" % domid)
                        == "suspend")
        x.xs("xenstore-write", "/local/domain/%d/control/shutdown" % domid, answer)
        st = x.task(task, 20)
        assert st["state"] == "failed", st
        assert st["error"][0] == "VM_FAILED_SUSPEND_ACKNOWLEDGMENT", st
        st = x.stat(vm)
        if answer == "poweroff":
            assert (st["power_state"], st["domid"]) == ("Halted", -1)
            assert x.xs_domids() == []
        else:
            assert st["power_state"] == "Running" and st["domid"] not in (-1, domid)
            assert x.xs_domids() == [st["domid"]]
            x.run("VM.shutdown", vm, None)
        assert not os.path.exists(os.path.join(x.base, "image"))


# --- 4. devices of a busy VM ----------------------------------------------------

def test_devices_stay_while_their_vm_is_busy(xo):
    vm = xo.new_vm(memory=16 * MiB, guest="no-ack", vbds=0, vifs=0)
    xo.run("VM.start", vm, False)
    vbd = add_vbd(xo, vm, "xvdb", 1)  # registered, not plugged
    cfg = {"id": vbd, "vm": vm, "device": "xvdb", "position": 1, "mode": "RW",
           "type": "Disk", "backend": "/dev/sim/other"}
    busy = xo.call("VM.shutdown", vm, 3600)  # a guest that never answers
    queued = xo.call("VM.pause", vm)
    err = xo.error_of("VBD.remove", vbd)
    assert err[0] == "OPERATION_NOT_ALLOWED", err
    # New settings in the same place are fine; another place is not.
    assert xo.call("VBD.add", cfg) == vbd
    err = xo.error_of("VBD.add", dict(cfg, device="xvdc", position=2))
    assert err[0] == "OPERATION_NOT_ALLOWED", err
    assert xo.call("VBD.stat", vbd)["device"] == "xvdb"
    xo.call("TASK.cancel", queued)
    xo.call("TASK.cancel", busy)
    failed_with(xo, busy, "TASK_CANCELLED")
    xo.call("VBD.remove", vbd)
    xo.run("VM.shutdown", vm, None)
    xo.call("VM.remove", vm)


# --- 5. queue bounds ------------------------------------------------------------

def test_queue_bound_is_per_vm(xo):
    stuck = xo.new_vm(memory=16 * MiB, guest="no-ack", vbds=0, vifs=0)
    other = xo.new_vm(memory=16 * MiB, vbds=0, vifs=0)
    xo.run("VM.start", stuck, False)
    busy = xo.call("VM.shutdown", stuck, 3600)
    assert wait_for(lambda: xo.call("TASK.stat", busy)["progress"] > 0)  # running
    queued = [xo.call("VM.pause", stuck) for _ in range(100)]
    err = xo.error_of("VM.pause", stuck)
    assert err == ["TOO_MANY_PENDING_TASKS"], err
    xo.run("VM.start", other, False)  # not held back by the stuck one
    for t in queued:
        xo.call("TASK.cancel", t)
        failed_with(xo, t, "TASK_CANCELLED")
    xo.call("TASK.cancel", busy)
    failed_with(xo, busy, "TASK_CANCELLED")
    for vm in (stuck, other):
        xo.run("VM.shutdown", vm, None)
        xo.call("VM.remove", vm)


# --- 6. a device two files claim --------------------------------------------------

def test_device_id_collision_drops_the_device_not_the_vm():
    with daemon() as x:
        a = x.new_vm(memory=64 * MiB, vbds=1, vifs=0)
        b = x.new_vm(memory=64 * MiB, vbds=1, vifs=0)
        for vm in (a, b):
            x.run("VM.start", vm, False)
        assert x.stop_xenopsd() == 0
        files = {vm: os.path.join(x.state, "xenopsd", vm + ".json") for vm in (a, b)}
        doc_a = json.load(open(files[a]))
        doc_b = json.load(open(files[b]))
        stolen = dict(doc_a["devices"][0])
        stolen["config"] = dict(stolen["config"], vm=b, device="xvdc", position=2)
        doc_b["devices"].append(stolen)
        json.dump(doc_b, open(files[b], "w"))
        x.start_xenopsd()
        assert sorted(x.call("VM.list")) == sorted([a, b])
        assert [x.power(vm) for vm in (a, b)] == ["Running", "Running"]
        assert glob.glob(os.path.join(x.state, "xenopsd", "*.bad")) == []
        x.call("VBD.stat", stolen["config"]["id"])  # one of them kept it
        for vm in (a, b):
            x.run("VM.shutdown", vm, None)


# --- 7. a REAP queued on a removed VM, at SIGTERM ------------------------------

def test_reap_queued_on_a_removed_vm_is_freed_at_stop():
    # One worker, and guests that boot 2 s after their first unpause: the
    # worker is kept busy while B's guest leaves on its own, so the REAP
    # waits behind B's hard shutdown, and then behind a stuck VM.
    with daemon(["--workers", "1", "--sim-boot-ms", "2000"]) as x:
        slow, stuck = (x.new_vm(memory=16 * MiB, guest="no-ack", vbds=0, vifs=0)
                       for _ in range(2))
        b = x.new_vm(memory=16 * MiB, vbds=0, vifs=0)
        for vm in (slow, stuck):
            x.run("VM.start", vm, False)
        x.run("VM.start", b, True)
        domid = x.stat(b)["domid"]
        x.xs("xenstore-write", "/local/domain/%d/control/shutdown" % domid, "poweroff")
        x.run("VM.unpause", b)  # the guest leaves in 2 s, by itself
        busy = x.call("VM.shutdown", slow, 3)
        assert wait_for(lambda: x.call("TASK.stat", busy)["progress"] > 0)
        hard = x.call("VM.shutdown", b, None)
        x.call("VM.shutdown", stuck, 3600)
        log = os.path.join(x.state, "log", "xenopsd.log")
        assert wait_for(lambda: "domain %d shut down by itself" % domid
                        in open(log, errors="replace").read(), 10)
        assert x.task(hard, 10)["state"] == "completed"
        x.call("VM.remove", b)  # its REAP stays queued: nobody runs it
    # finish_xenopsd (SIGTERM) fails the test on a leak report.


def test_sigterm_lets_a_reply_finish(tmp_path):
    """A reply larger than the socket's buffers, being written when
    SIGTERM comes, reaches the client whole: the stop cuts idle
    connections, not ones still writing."""
    import socket
    with daemon() as x:
        for i in range(8000):
            x.call("VM.add", {"id": str(uuid.uuid4()), "name": "v%d" % i,
                              "memory_static_max": MiB, "vcpus_max": 1, "vcpus": 1,
                              "hvm": False, "platform": {}, "other": {}})
        body = json.dumps({"jsonrpc": "2.0", "method": "UPDATES.get", "params": [0, 0],
                           "id": 1}).encode()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(x.sock)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        time.sleep(0.5)  # the handler fills the socket's buffers and waits
        x.proc.send_signal(15)
        s.settimeout(10)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, payload = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:100]
        reply = json.loads(payload)  # whole, or this raises
        assert len(reply["result"]["updates"]) >= 8000
        assert x.proc.wait(30) == 0
        x.proc = None
