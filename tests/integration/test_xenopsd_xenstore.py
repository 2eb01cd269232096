"""What xenopsd keeps in xenstore for a running VM, checked with Debian's
xenstore-ls against the layout Xen's toolstack writes; the simulated
guest agent's keys, written as the guest; and clean shutdown, reboot and
suspend through control/shutdown, with the fallback to hard."""

import os
import subprocess
import time
import uuid

from test_xenopsd_harness import (  # noqa: F401 (xo is a fixture)
    MiB, wait_for, xo)


def running_vm(xo, **kw):
    vm = xo.new_vm(**kw)
    xo.run("VM.start", vm, False)
    return vm, xo.stat(vm)["domid"]


def test_domain_layout(xo):
    vm, d = running_vm(xo, memory=512 * MiB, vcpus_max=4, vcpus=2, name="web")
    dom = xo.xs_ls("/local/domain/%d" % d)
    ro, guest = "n0,r%d" % d, "n%d" % d
    assert xo.xs_ls("/local/domain")[str(d)] == ("", ro)
    want = {
        "name": ("web", ro),
        "domid": (str(d), ro),
        "vm": ("/vm/" + vm, ro),
        "memory/static-max": (str(512 * 1024), ro),
        "memory/target": (str(512 * 1024), ro),
        "cpu/0/availability": ("online", ro),
        "cpu/1/availability": ("online", ro),
        "cpu/2/availability": ("offline", ro),
        "cpu/3/availability": ("offline", ro),
        "control": ("", guest),
        "control/shutdown": ("", guest),
        "control/platform-feature-multiprocessor-suspend": ("1", guest),
        "data": ("", guest),
        "attr": ("", guest),
        "device": ("", ro),
        "console/type": ("xenconsoled", ro),
        "console/limit": ("1048576", ro),
    }
    for key, (value, perms) in want.items():
        assert key in dom, (key, sorted(dom))
        assert dom[key] == (value, perms), (key, dom[key])
    vmdir = xo.xs_ls("/vm/" + vm)
    assert vmdir["uuid"] == (vm, ro)
    assert vmdir["name"] == ("web", ro)
    assert vmdir["domains/%d" % d] == ("/local/domain/%d" % d, ro)
    # Introduced: the domain has its own socket, where it is domain d.
    assert os.path.exists(os.path.join(xo.run_dir, "xenstored-domains", "%d.sock" % d))
    assert xo.xs_read("domid", domid=d) == str(d)
    xo.run("VM.shutdown", vm, None)


def test_device_trees(xo):
    vm, d = running_vm(xo)
    dom = xo.xs_ls("/local/domain/%d/device" % d)
    fe = "vbd/51712"  # xvda: 202 << 8
    be_path = "/local/domain/0/backend/vbd/%d/51712" % d
    assert dom[fe] == ("", "n%d,r0" % d)
    assert dom[fe + "/backend"][0] == be_path
    assert dom[fe + "/backend-id"][0] == "0"
    assert dom[fe + "/state"][0] == "4"
    assert dom[fe + "/virtual-device"][0] == "51712"
    assert dom[fe + "/device-type"][0] == "disk"
    be = xo.xs_ls(be_path)
    assert xo.xs_ls("/local/domain/0/backend/vbd/%d" % d)["51712"] == ("", "n0,r%d" % d)
    assert be["frontend"][0] == "/local/domain/%d/device/vbd/51712" % d
    assert be["frontend-id"][0] == str(d)
    assert be["params"][0] == "/dev/sim/%s-0" % vm
    assert be["mode"][0] == "w" and be["dev"][0] == "xvda"
    assert be["state"][0] == "4" and be["online"][0] == "1"
    assert dom["vif/0/backend"][0] == "/local/domain/0/backend/vif/%d/0" % d
    assert dom["vif/0/mac"][0] == "02:00:00:00:00:00"
    vif = xo.xs_ls("/local/domain/0/backend/vif/%d/0" % d)
    assert vif["bridge"][0] == "xenbr0" and vif["mtu"][0] == "1500"
    assert vif["frontend"][0] == "/local/domain/%d/device/vif/0" % d
    # A halted VM has no trees left.
    xo.run("VM.shutdown", vm, None)
    assert xo.xs_read("/local/domain/%d/name" % d) is None
    assert xo.xs_read(be_path + "/state") is None
    assert xo.xs_read("/local/domain/0/backend/vif/%d/0/state" % d) is None
    assert xo.xs_read("/vm/%s/uuid" % vm) is None
    assert not os.path.exists(os.path.join(xo.run_dir, "xenstored-domains", "%d.sock" % d))


def test_hotplug_trees(xo):
    vm, d = running_vm(xo, vbds=0, vifs=0)
    vbd = str(uuid.uuid4())
    xo.call("VBD.add", {"id": vbd, "vm": vm, "device": "xvdc", "position": 2, "type": "CD",
                        "mode": "RO"})
    devid = str(202 << 8 | 2 << 4)
    fe = "/local/domain/%d/device/vbd/%s" % (d, devid)
    be = "/local/domain/0/backend/vbd/%d/%s" % (d, devid)
    assert xo.xs_read(fe + "/state") is None
    xo.run("VBD.plug", vbd)
    assert xo.xs_read(fe + "/device-type") == "cdrom"
    assert xo.xs_read(be + "/mode") == "r" and xo.xs_read(be + "/removable") == "1"
    xo.run("VBD.unplug", vbd)
    assert xo.xs_read(fe + "/state") is None and xo.xs_read(be + "/state") is None
    xo.run("VM.shutdown", vm, None)


def test_guest_agent(xo):
    vm, d = running_vm(xo, memory=256 * MiB)
    st = wait_for(lambda: (lambda s: s if s["guest"]["last_updated"] else None)(xo.stat(vm)), 10)
    assert st, "the guest agent wrote nothing"
    g = st["guest"]
    assert g["pv_drivers_version"] == {"major": "8", "minor": "4", "micro": "0", "build": "1"}
    assert g["os_version"]["distro"] == "debian" and g["os_version"]["major"] == "12"
    ip = g["networks"]["0/ip"]
    assert g["networks"]["0/ipv4/0"] == ip
    parts = [int(p) for p in ip.split(".")]
    assert parts[0] == 10 and all(0 <= p <= 255 for p in parts) and parts[3] > 0
    assert g["memory"] == {"total": str(256 * 1024), "free": str(192 * 1024)}
    assert abs(g["last_updated"] - time.time()) < 60
    # Written by the guest itself: the nodes it made are its own.
    dom = xo.xs_ls("/local/domain/%d" % d)
    for key in ("data/os_distro", "data/meminfo_total", "attr/PVAddons/MajorVersion",
                "attr/vif/0/ipv4/0", "control/feature-poweroff"):
        assert dom[key][1] == "n%d" % d, (key, dom[key])
    # The guest may write its data/ but not the toolstack's keys.
    assert xo.xs("xenstore-write", "data/x", "1", domid=d, check=False).returncode == 0
    bad = xo.xs("xenstore-write", "memory/target", "1", domid=d, check=False)
    assert bad.returncode != 0
    assert xo.xs_read("/local/domain/%d/memory/target" % d) == str(256 * 1024)
    # The address is the same at every boot.
    xo.run("VM.reboot", vm, 10)
    assert wait_for(lambda: xo.stat(vm)["guest"]["networks"].get("0/ip"), 10) == ip
    xo.run("VM.shutdown", vm, None)
    assert xo.stat(vm)["guest"]["last_updated"] == 0


def test_no_agent_no_guest_info(xo):
    vm, d = running_vm(xo, guest="none")
    time.sleep(0.5)
    assert xo.stat(vm)["guest"]["last_updated"] == 0
    assert xo.xs_read("/local/domain/%d/data/os_name" % d) is None
    xo.run("VM.shutdown", vm, None)


def test_clean_shutdown_goes_through_control_shutdown(xo):
    vm, d = running_vm(xo)
    wait_for(lambda: xo.xs_read("/local/domain/%d/control/feature-poweroff" % d), 10)
    # Watch the key as dom0: the request, then the guest's acknowledgement.
    watch = subprocess.Popen(["xenstore-watch", "-n", "3",
                              "/local/domain/%d/control/shutdown" % d],
                             env=xo.xs_env(), stdout=subprocess.PIPE, text=True)
    time.sleep(0.2)
    t0 = time.monotonic()
    task = xo.call("VM.shutdown", vm, 30)
    assert xo.task(task)["state"] == "completed"
    assert time.monotonic() - t0 < 5, "the guest's acknowledgement was not used"
    assert xo.power(vm) == "Halted"
    assert xo.xs_read("/local/domain/%d/name" % d) is None
    out, _ = watch.communicate(timeout=10)
    # The first fire is the watch's own; then the request and its clearing.
    assert out.split() == ["/local/domain/%d/control/shutdown" % d] * 3, out


def test_clean_shutdown_falls_back_to_hard(xo):
    vm, d = running_vm(xo, guest="no-ack")
    wait_for(lambda: xo.xs_read("/local/domain/%d/data/os_name" % d), 10)
    t0 = time.monotonic()
    xo.run("VM.shutdown", vm, 1)
    took = time.monotonic() - t0
    assert 1 <= took < 5, took
    assert xo.power(vm) == "Halted"
    # Reboot likewise: a new domain after the timeout.
    xo.run("VM.start", vm, False)
    d1 = xo.stat(vm)["domid"]
    t0 = time.monotonic()
    xo.run("VM.reboot", vm, 1)
    assert 1 <= time.monotonic() - t0 < 5
    st = xo.stat(vm)
    assert st["power_state"] == "Running" and st["domid"] != d1
    # Suspend has no fallback: it fails and the VM runs on.
    assert xo.task_error("VM.suspend", vm, "/tmp/never.img") == [
        "VM_FAILED_SUSPEND_ACKNOWLEDGMENT", vm]
    assert xo.power(vm) == "Running"
    assert xo.xs_read("/local/domain/%d/control/shutdown" % st["domid"]) == ""
    xo.run("VM.shutdown", vm, None)


def test_guest_initiated_poweroff_and_reboot(xo):
    """Writing control/shutdown directly (not through xenopsd) makes the
    guest leave on its own; xenopsd follows, as Xen's on_poweroff and
    on_reboot actions do."""
    vm, d = running_vm(xo)
    wait_for(lambda: xo.stat(vm)["guest"]["last_updated"], 10)
    xo.xs("xenstore-write", "/local/domain/%d/control/shutdown" % d, "reboot")
    st = wait_for(lambda: (lambda s: s if s["domid"] not in (d, -1) else None)(xo.stat(vm)), 10)
    assert st and st["power_state"] == "Running", st
    d2 = st["domid"]
    wait_for(lambda: xo.stat(vm)["guest"]["last_updated"], 10)
    xo.xs("xenstore-write", "/local/domain/%d/control/shutdown" % d2, "poweroff")
    assert wait_for(lambda: xo.power(vm) == "Halted", 10)
    # Halted on disk first, then the domain goes.
    assert wait_for(lambda: xo.xs_read("/local/domain/%d/name" % d2) is None, 10)
