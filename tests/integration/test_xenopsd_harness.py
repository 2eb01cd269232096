"""Shared harness of the xenopsd integration tests (test_xenopsd*.py).

It holds no tests.  What is here:

- Xenopsd: build/xenstored/xenstored and build/xenopsd/xenopsd started
  directly in a temp dir (--state DIR --run DIR/run), so these tests need
  nothing else of the host.  call() speaks JSON-RPC 2.0 over HTTP on
  RUNDIR/xenopsd.sock with conftest's UnixHTTPConnection, as xapi does;
  kill9() and start_xenopsd() restart the daemon over the same state.
  Teardown stops both with SIGTERM, which must exit 0, and fails the
  module on any sanitizer report.
- xs_ls/xs_read/xs_write: Debian's xenstore-* tools through XENSTORED_PATH,
  as dom0 or, through RUNDIR/xenstored-domains/N.sock, as domain N.
- new_vm(): a VM registered with a fresh uuid, so tests sharing one
  daemon never meet.
"""

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import BUILD, SANITIZER_MARKERS, UnixHTTPConnection, wait_for

XENSTORED = os.path.join(BUILD, "xenstored", "xenstored")
XENOPSD = os.path.join(BUILD, "xenopsd", "xenopsd")
MiB = 1024 * 1024
HOST_MEMORY = 4096 * MiB
# The result of a method whose result is null (void): the XenAPI's JSON-RPC
# sends void as "" (lib/jsonrpc.c), and xenopsd.sock shares that codec.
VOID = ""


class RpcError(Exception):
    """A XenAPI error from xenopsd: .code and .params."""

    def __init__(self, code, params):
        super().__init__("%s %s" % (code, params))
        self.code = code
        self.params = params


class XenopsdClient:
    """JSON-RPC calls to a xenopsd socket."""

    def __init__(self, sock):
        self.sock = sock
        self.ids = itertools.count(1)  # next() is atomic: threads may call

    # --- JSON-RPC -------------------------------------------------------
    def raw(self, method, params, timeout=30):
        rid = next(self.ids)
        c = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params,
                               "id": rid})
            c.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            assert r.status == 200, (r.status, data)
            reply = json.loads(data)
            assert reply["id"] == rid
            return reply
        finally:
            c.close()

    def call(self, method, *params, timeout=30):
        reply = self.raw(method, list(params), timeout)
        if "error" in reply:
            e = reply["error"]
            raise RpcError(e["message"], e.get("data", []))
        return reply["result"]

    def error_of(self, method, *params):
        try:
            r = self.call(method, *params)
        except RpcError as e:
            return [e.code] + e.params
        raise AssertionError("%s%r answered %r" % (method, params, r))


class Xenopsd(XenopsdClient):
    def __init__(self, base, extra=()):
        self.base = base
        self.state = os.path.join(base, "state")
        self.run_dir = os.path.join(self.state, "run")
        XenopsdClient.__init__(self, os.path.join(self.run_dir, "xenopsd.sock"))
        self.xs_sock = os.path.join(self.run_dir, "xenstored.sock")
        self.extra = list(extra)
        self.xsd = None
        self.proc = None
        os.makedirs(self.state, exist_ok=True)

    # --- processes ------------------------------------------------------
    def _out(self, name):
        return open(os.path.join(self.base, name + ".out"), "ab")

    def start_xenstored(self):
        self.xsd = subprocess.Popen(
            [XENSTORED, "--state", self.state, "--run", self.run_dir],
            stdout=self._out("xenstored"), stderr=subprocess.STDOUT)
        assert wait_for(lambda: os.path.exists(self.xs_sock), 10), "xenstored did not start"

    def start_xenopsd(self, extra=()):
        args = [XENOPSD, "--state", self.state, "--run", self.run_dir,
                "--sim-memory", str(HOST_MEMORY), "--sim-boot-ms", "50",
                "--suspend-ack-ms", "2000", *self.extra, *extra]
        self.proc = subprocess.Popen(args, stdout=self._out("xenopsd"),
                                     stderr=subprocess.STDOUT)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("xenopsd exited with %d" % self.proc.returncode)
            try:
                self.call("HOST.stat")
                return True
            except (OSError, ConnectionError):
                return False
        assert wait_for(ready, 20, 0.05), "xenopsd did not answer"

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def restart(self, kill=True):
        if kill:
            self.kill9()
        else:
            self.stop_xenopsd()
        self.start_xenopsd()

    def stop_xenopsd(self):
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        self.proc = None
        return rc

    def stop(self):
        rcs = [self.stop_xenopsd()]
        if self.xsd is not None:
            self.xsd.send_signal(signal.SIGTERM)
            rcs.append(self.xsd.wait(30))
            self.xsd = None
        return rcs

    def sanitizer_reports(self):
        found = []
        for name in ("xenopsd.out", "xenstored.out"):
            try:
                text = open(os.path.join(self.base, name), errors="replace").read()
            except OSError:
                continue
            for m in SANITIZER_MARKERS:
                i = text.find(m)
                if i >= 0:
                    found.append("== %s ==\n%s" % (name, text[max(0, i - 200):i + 3000]))
                    break
        return found

    # --- tasks ----------------------------------------------------------
    def task(self, task_id, timeout=30):
        """Waits for the task to finish; returns its TASK.stat."""
        st = wait_for(lambda: (lambda s: s if s["state"] != "pending" else None)(
            self.call("TASK.stat", task_id)), timeout)
        assert st, "task %s still pending after %ss" % (task_id, timeout)
        return st

    def run(self, method, *params, timeout=30):
        """Calls a method that answers a task, waits; raises RpcError on failure."""
        st = self.task(self.call(method, *params), timeout)
        self.call("TASK.destroy", st["id"])
        if st["state"] == "failed":
            raise RpcError(st["error"][0], st["error"][1:])
        assert st["state"] == "completed" and st["progress"] == 1, st
        return st["result"]

    def task_error(self, method, *params):
        try:
            self.run(method, *params)
        except RpcError as e:
            return [e.code] + e.params
        raise AssertionError("%s%r succeeded" % (method, params))

    # --- objects --------------------------------------------------------
    def new_vm(self, memory=256 * MiB, guest=None, vbds=1, vifs=1, **fields):
        vm = {"id": str(uuid.uuid4()), "name": "vm-%d" % next(self.ids),
              "memory_static_max": memory, "memory_dynamic_max": memory,
              "memory_dynamic_min": memory, "vcpus_max": 2, "vcpus": 2, "hvm": False,
              "platform": {}, "other": {"sim_guest": guest} if guest else {}}
        vm.update(fields)
        assert self.call("VM.add", vm) == vm["id"]
        for i in range(vbds):
            self.call("VBD.add", {"id": str(uuid.uuid4()), "vm": vm["id"],
                                  "device": "xvd" + "abcdefgh"[i], "position": i, "mode": "RW",
                                  "type": "Disk", "backend": "/dev/sim/%s-%d" % (vm["id"], i)})
        for i in range(vifs):
            self.call("VIF.add", {"id": str(uuid.uuid4()), "vm": vm["id"], "position": i,
                                  "mac": "02:00:00:00:00:%02x" % i, "mtu": 1500,
                                  "bridge": "xenbr0"})
        return vm["id"]

    def stat(self, vm):
        return self.call("VM.stat", vm)

    def power(self, vm):
        return self.stat(vm)["power_state"]

    # --- xenstore -------------------------------------------------------
    def xs_env(self, domid=None):
        path = self.xs_sock if domid is None else os.path.join(
            self.run_dir, "xenstored-domains", "%d.sock" % domid)
        return dict(os.environ, XENSTORED_PATH=path)

    def xs(self, tool, *args, domid=None, check=True):
        r = subprocess.run([tool, *args], env=self.xs_env(domid), capture_output=True,
                           text=True, timeout=30)
        if check:
            assert r.returncode == 0, (tool, args, r.stderr)
        return r

    def xs_read(self, path, domid=None):
        r = self.xs("xenstore-read", path, domid=domid, check=False)
        return r.stdout.rstrip("\n") if r.returncode == 0 else None

    def xs_ls(self, path):
        """{relative path: (value, perms)} of the subtree at path, from xenstore-ls -f -p."""
        out = self.xs("xenstore-ls", "-f", "-p", path).stdout
        tree = {}
        for line in out.splitlines():
            key, _, rest = line.partition(" = ")
            value, _, perms = rest.rpartition("(")
            value = value.rstrip(" .")
            assert value.startswith('"') and value.endswith('"'), line
            tree[key[len(path):].lstrip("/")] = (value[1:-1], perms.rstrip(")"))
        return tree

    def xs_domids(self):
        r = self.xs("xenstore-list", "/local/domain", check=False)
        return sorted(int(d) for d in r.stdout.split() if d != "0")


def make_xenopsd(extra=()):
    base = tempfile.mkdtemp(prefix="cxapi-xo-")
    x = Xenopsd(base, extra)
    x.start_xenstored()
    x.start_xenopsd()
    return x


def finish_xenopsd(x):
    rcs = x.stop()
    reports = x.sanitizer_reports()
    msgs = []
    if any(rc != 0 for rc in rcs):
        msgs.append("daemons exited with %r on SIGTERM" % (rcs,))
    if reports:
        msgs.append("sanitizer report(s) in %s:\n%s" % (x.base, "\n".join(reports)))
    else:
        shutil.rmtree(x.base, ignore_errors=True)
    return msgs


@contextlib.contextmanager
def xenopsd_daemon(extra=()):
    """A xenopsd (and its xenstored) for the block; at its end they stop,
    and the test fails on a bad exit or a sanitizer report."""
    x = make_xenopsd(extra)
    try:
        yield x
    finally:
        msgs = finish_xenopsd(x)
        if msgs:
            pytest.fail("\n".join(msgs), pytrace=False)


@pytest.fixture(scope="module")
def xo():
    with xenopsd_daemon() as x:
        yield x
