"""Shared harness of the VM lifecycle tests (test_vm_lifecycle*.py).

It holds no tests: its name only keeps it beside the modules that import
it.  What is here:

- Api: an XML-RPC client with a session of its own and a socket timeout;
  call() returns the Value or fails the test, fail() returns the
  ErrorDescription of a call that must fail.
- install(): xe vm-install's steps, VM.clone of a template, its disks
  dropped (this host has no storage yet), VM.provision.
- Watcher: an event.from loop on its own connection that records the
  distinct power states and domids of one VM, in order, so a test can
  wait until a state was seen and compare the whole sequence at the end.
- vm_host(): a host whose xenopsd answers; the tests are skipped when the
  supervisor does not run xenopsd.
- xenstore(): a dom0 connection to the host's xenstored, to act as the
  toolstack asking a guest to shut down or reboot.
"""

import os
import threading
import time
import pytest

from test_events import proxy as timed_proxy  # every call bounded in time
from test_xenstored_harness import XsConn

from conftest import wait_for

NULL_REF = "OpaqueRef:NULL"
TEMPLATE = "Debian Bookworm 12"


class Api:
    """One connection and one session; not shared between threads."""

    def __init__(self, host):
        self.host = host
        self.proxy = timed_proxy(host)
        self.session = self.raw("session.login_with_password", "root", host.password,
                                "1.0", "vm-lifecycle-tests")["Value"]

    def raw(self, method, *args):
        fn = self.proxy
        for part in method.split("."):
            fn = getattr(fn, part)
        return fn(*args)

    def call(self, method, *args):
        r = self.raw(method, self.session, *args)
        assert r["Status"] == "Success", "%s%r -> %r" % (method, args, r)
        return r["Value"]

    def fail(self, method, *args):
        r = self.raw(method, self.session, *args)
        assert r["Status"] == "Failure", "%s%r should fail: %r" % (method, args, r)
        return r["ErrorDescription"]

    def wait_task(self, task, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = self.call("task.get_record", task)
            if rec["status"] not in ("pending", "cancelling"):
                return rec
            time.sleep(0.05)
        raise AssertionError("task %s still pending after %s s" % (task, timeout))


def template(api, name=TEMPLATE):
    refs = [r for r in api.call("VM.get_by_name_label", name)
            if api.call("VM.get_is_a_template", r)]
    assert refs, "no template %r" % name
    return refs[0]


def install(api, name, other_config=None):
    """A VM from the template, as xe vm-install makes it, without disks."""
    vm = api.call("VM.clone", template(api), name)
    api.call("VM.remove_from_other_config", vm, "disks")
    for k, v in (other_config or {}).items():
        api.call("VM.add_to_other_config", vm, k, v)
    api.call("VM.provision", vm)
    assert api.call("VM.get_is_a_template", vm) is False
    return vm


def bad_power_state(api, vm, method, *args):
    """The VM_BAD_POWER_STATE [vm, expected, actual] of an illegal call."""
    err = api.fail(method, vm, *args)
    assert err[0] == "VM_BAD_POWER_STATE" and err[1] == vm, (method, err)
    assert len(err) == 4, err
    return err[2], err[3]


def xenopsd_running(host):
    return os.path.exists(os.path.join(host.run, "xenopsd.sock"))


def vm_host(host):
    """The module's host, once its xenopsd answers."""
    if not wait_for(lambda: xenopsd_running(host), timeout=5):
        pytest.skip("this build's supervisor does not run xenopsd")
    return host


def xenstore(host):
    return XsConn(os.path.join(host.run, "xenstored.sock"))


class Watcher(threading.Thread):
    """Follows one VM through event.from; records its distinct power
    states (and domids) in the order the events carried them."""

    def __init__(self, host, vm):
        super().__init__(daemon=True)
        self.api = Api(host)
        self.vm = vm
        self.cv = threading.Condition()
        self.states, self.domids, self.mods = [], [], 0
        self.stop_flag = False
        self.error = None
        first = self.api.call("event.from", ["vm"], "", 0.0)
        self.token = first["token"]
        rec = self.api.call("VM.get_record", vm)
        self._note(rec)

    def _note(self, snap):
        with self.cv:
            if not self.states or self.states[-1] != snap["power_state"]:
                self.states.append(snap["power_state"])
            domid = int(snap["domid"])
            if not self.domids or self.domids[-1] != domid:
                self.domids.append(domid)
            self.cv.notify_all()

    def run(self):
        try:
            while not self.stop_flag:
                r = self.api.call("event.from", ["vm"], self.token, 1.0)
                self.token = r["token"]
                for ev in r["events"]:
                    if ev["ref"] == self.vm and ev["operation"] == "mod":
                        with self.cv:
                            self.mods += 1
                        self._note(ev["snapshot"])
        except Exception as e:  # reported by stop()
            self.error = e

    def wait_state(self, state, count, timeout=20):
        """Until `state` is the last one seen and the sequence is `count`
        long: the watcher saw this very transition."""
        with self.cv:
            ok = self.cv.wait_for(
                lambda: len(self.states) >= count and self.states[-1] == state, timeout)
        assert ok, "watcher saw %r, waiting for %s as #%d" % (self.states, state, count)

    def stop(self):
        self.stop_flag = True
        self.join(10)
        assert not self.is_alive(), "watcher did not stop"
        assert self.error is None, self.error
