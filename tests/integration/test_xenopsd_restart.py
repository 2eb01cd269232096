"""xenopsd's state across its own restarts: VMs, devices and running
domains survive SIGTERM and kill -9, at rest and with operations in
flight, and what the files say, xenstore and the host's memory agree with
afterwards: no VM lost, none duplicated, no domain without an owner.
The supervisor's part is at the end: `cxapi start` runs xenopsd."""

import os
import random
import time
import uuid

from test_xenopsd_harness import (  # noqa: F401 (xo is a fixture)
    HOST_MEMORY, MiB, Xenopsd, wait_for, xo)


def snapshot(xo):
    vms = sorted(xo.call("VM.list"))
    return {vm: (lambda s: (s["power_state"], s["domid"]))(xo.stat(vm)) for vm in vms}


def assert_consistent(xo, memory=256 * MiB):
    """Every VM's domain is in xenstore and nothing else is; domids are
    unique; the host's free memory is what the running VMs leave."""
    snap = snapshot(xo)
    domids = [d for state, d in snap.values() if state in ("Running", "Paused")]
    for state, d in snap.values():
        assert (d > 0) == (state in ("Running", "Paused")), snap
    assert len(domids) == len(set(domids)), snap
    assert xo.xs_domids() == sorted(domids), (xo.xs_domids(), snap)
    for vm, (state, d) in snap.items():
        if d > 0:
            assert xo.xs_read("/local/domain/%d/vm" % d) == "/vm/" + vm
            assert xo.xs_read("/vm/%s/domains/%d" % (vm, d)) == "/local/domain/%d" % d
    free = xo.call("HOST.stat")["memory_free"]
    assert free == HOST_MEMORY - memory * len(domids), (free, snap)
    return snap


def test_restart_keeps_every_state(xo, tmp_path):
    vms = {s: xo.new_vm() for s in ("Halted", "Running", "Paused", "Suspended")}
    xo.run("VM.start", vms["Running"], False)
    xo.run("VM.start", vms["Paused"], True)
    xo.run("VM.start", vms["Suspended"], False)
    image = str(tmp_path / "img")
    xo.run("VM.suspend", vms["Suspended"], image)
    before = assert_consistent(xo)
    running = vms["Running"]
    wait_for(lambda: xo.stat(running)["guest"]["last_updated"], 10)
    guest = xo.stat(running)["guest"]
    for kill in (True, False):
        xo.restart(kill=kill)
        assert assert_consistent(xo) == before
        for state, vm in vms.items():
            assert xo.power(vm) == state
    # The running guest reports again, the same.
    assert wait_for(lambda: xo.stat(running)["guest"]["networks"], 10) == guest["networks"]
    # Devices are there, plugged as they were.
    d = xo.stat(running)["domid"]
    assert xo.xs_read("/local/domain/0/backend/vbd/%d/51712/state" % d) == "4"
    # And they all carry on.
    xo.run("VM.unpause", vms["Paused"])
    xo.run("VM.resume", vms["Suspended"], image)
    xo.run("VM.shutdown", running, 10)
    assert_consistent(xo)
    for vm in vms.values():
        if xo.power(vm) != "Halted":
            xo.run("VM.shutdown", vm, None)
        xo.call("VM.remove", vm)
    xo.restart()
    assert not set(vms.values()) & set(xo.call("VM.list"))


def test_restart_rewrites_a_lost_tree(xo):
    vm = xo.new_vm()
    xo.run("VM.start", vm, False)
    d = xo.stat(vm)["domid"]
    xo.kill9()
    # As if xenstored had lost it (or a crash had cut it short).
    xo.xs("xenstore-rm", "/local/domain/%d" % d)
    xo.xs("xenstore-rm", "/vm/" + vm)
    xo.start_xenopsd()
    assert xo.stat(vm)["domid"] == d
    assert xo.xs_read("/local/domain/%d/vm" % d) == "/vm/" + vm
    assert xo.xs_read("/local/domain/%d/device/vbd/51712/state" % d) == "4"
    assert wait_for(lambda: xo.xs_read("/local/domain/%d/data/os_name" % d), 10)
    xo.run("VM.shutdown", vm, 10)
    assert_consistent(xo)


def test_orphan_domains_are_removed(xo):
    """A domain in xenstore that no VM owns (a start cut short) goes."""
    xo.kill9()
    xo.xs("xenstore-write", "/local/domain/4000/name", "orphan",
          "/local/domain/4000/vm", "/vm/orphan", "/vm/orphan/uuid", "orphan")
    xo.start_xenopsd()
    assert 4000 not in xo.xs_domids()
    assert xo.xs_read("/vm/orphan/uuid") is None
    assert_consistent(xo)


def test_kill_while_waiting_for_a_guest(xo):
    vm = xo.new_vm(guest="no-ack")
    xo.run("VM.start", vm, False)
    d = xo.stat(vm)["domid"]
    task = xo.call("VM.shutdown", vm, 60)
    assert wait_for(lambda: xo.xs_read("/local/domain/%d/control/shutdown" % d) == "poweroff",
                    10)
    xo.kill9()
    xo.start_xenopsd()
    # The operation died with the process: the VM is as it was.
    assert xo.error_of("TASK.stat", task) == ["HANDLE_INVALID", "task", task]
    assert xo.stat(vm)["domid"] == d and xo.power(vm) == "Running"
    assert_consistent(xo)
    xo.run("VM.shutdown", vm, None)


def test_kill9_at_random_moments(xo):
    """Twelve kill -9s, each in the middle of a burst of operations on
    six VMs; after each restart the state is consistent and every VM is
    there once."""
    rnd = random.Random(6)
    vms = [xo.new_vm() for _ in range(6)]
    for round_ in range(12):
        for vm in vms:
            state = xo.power(vm)
            if state == "Halted":
                xo.call("VM.start", vm, rnd.random() < 0.3)
            elif state == "Paused":
                xo.call("VM.unpause", vm)
            else:
                xo.call(rnd.choice(["VM.shutdown", "VM.reboot"]),
                        vm, rnd.choice([None, 5]))
        time.sleep(rnd.random() * 0.05)
        xo.kill9()
        xo.start_xenopsd()
        snap = assert_consistent(xo)
        assert set(vms) <= set(snap), round_
    for vm in vms:
        if xo.power(vm) != "Halted":
            xo.run("VM.shutdown", vm, None)
    assert_consistent(xo)


def test_bad_state_file_is_set_aside(xo):
    vm = xo.new_vm()
    xo.kill9()
    path = os.path.join(xo.state, "xenopsd", vm + ".json")
    with open(path, "w") as f:
        f.write("{not json")
    xo.start_xenopsd()
    assert vm not in xo.call("VM.list")
    assert os.path.exists(path + ".bad")
    assert_consistent(xo)


def daemon_row(host, name):
    """(pid, state) of a daemon in `cxapi status`."""
    for line in host.status().stdout.splitlines():
        cols = line.split()
        if cols and cols[0] == name and len(cols) > 2 and cols[1].isdigit():
            return int(cols[1]), cols[2]
    return None


def test_cxapi_start_runs_xenopsd(host):  # noqa: F811 (host is a fixture)
    """Started between xenstored and xapi, and restarted after kill -9
    with its VMs intact."""
    x = Xenopsd(os.path.dirname(host.state))
    x.sock = os.path.join(host.run, "xenopsd.sock")
    x.run_dir = host.run
    x.xs_sock = os.path.join(host.run, "xenstored.sock")
    assert x.call("HOST.stat")["cpus"] >= 1
    pid, state = daemon_row(host, "xenopsd")
    assert state == "running"
    vm = x.new_vm(memory=64 * MiB)
    x.run("VM.start", vm, False)
    d = x.stat(vm)["domid"]
    os.kill(pid, 9)
    new = wait_for(lambda: (lambda r: r if r and r[0] != pid and r[1] == "running" else None)(
        daemon_row(host, "xenopsd")), 30)
    assert new, host.status().stdout

    def answers():
        try:
            return x.stat(vm)
        except OSError:
            return None
    st = wait_for(answers, 30)
    assert st and st["power_state"] == "Running" and st["domid"] == d, st
    x.run("VM.shutdown", vm, None)
    x.call("VM.remove", vm)


def test_unsaved_change_stops_xenopsd(xo):
    """A change xenopsd cannot save is not kept in memory alone: the call
    fails, xenopsd stops taking work and exits (its supervisor restarts
    it), and the restart finds what the files say: the VM, without the
    device whose save failed."""
    vm = xo.new_vm(vbds=0, vifs=0)
    vm_dir = os.path.join(xo.state, "xenopsd")
    os.rename(vm_dir, vm_dir + ".away")
    open(vm_dir, "w").close()  # a file where the directory was: no save succeeds
    dev = str(uuid.uuid4())
    try:
        e = xo.error_of("VBD.add", {"id": dev, "vm": vm, "device": "xvda", "position": 0,
                                    "mode": "RW", "type": "Disk", "backend": "/dev/sim/x"})
        assert e[0] == "INTERNAL_ERROR", e
        assert xo.proc.wait(30) == 1
    finally:
        os.remove(vm_dir)
        os.rename(vm_dir + ".away", vm_dir)
    xo.proc = None
    with open(os.path.join(xo.state, "log", "xenopsd.log"), errors="replace") as f:
        assert "memory and disk now differ" in f.read()
    xo.start_xenopsd()
    assert vm in xo.call("VM.list")
    assert xo.error_of("VBD.stat", dev)[0] == "HANDLE_INVALID"
