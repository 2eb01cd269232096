"""benchlib.py -- what the Python benchmarks share (standard library only):
an XML-RPC client with one keep-alive connection and one session, a VM
record for VM.create, percentiles, and the daemons' pids and memory."""

import functools
import os
import xmlrpc.client


class ApiError(Exception):
    def __init__(self, method, desc):
        Exception.__init__(self, "%s failed: %s" % (method, desc))
        self.method = method
        self.desc = desc
        self.code = desc[0] if isinstance(desc, list) and desc else str(desc)


class TimeoutTransport(xmlrpc.client.Transport):
    """Keep-alive HTTP/1.1 transport with a socket timeout."""

    def __init__(self, timeout):
        xmlrpc.client.Transport.__init__(self)
        self._timeout = timeout

    def make_connection(self, host):
        conn = xmlrpc.client.Transport.make_connection(self, host)
        conn.timeout = self._timeout
        return conn


class Client:
    """One keep-alive connection with one session; not shared between threads."""

    def __init__(self, url, password, originator, timeout=60.0):
        self.proxy = xmlrpc.client.ServerProxy(
            url, transport=TimeoutTransport(timeout), allow_none=True)
        self.session = self.call(
            "session.login_with_password", "root", password, "1.0", originator)

    def call(self, method, *args):
        fn = functools.reduce(getattr, method.split("."), self.proxy)
        r = fn(*args)
        if not isinstance(r, dict) or r.get("Status") != "Success":
            raise ApiError(method, r.get("ErrorDescription") if isinstance(r, dict) else r)
        return r.get("Value")

    def api(self, method, *args):
        return self.call(method, self.session, *args)

    def close(self):
        try:
            self.call("session.logout", self.session)
        except Exception:
            pass
        self.proxy("close")()


def vm_record(name, memory, static_min=None, description=""):
    """VM.create's argument: a halted HVM VM of memory bytes, one vCPU."""
    m = str(memory)
    return {
        "name_label": name, "name_description": description, "user_version": "1",
        "is_a_template": False,
        "memory_static_max": m, "memory_dynamic_max": m, "memory_dynamic_min": m,
        "memory_static_min": str(static_min if static_min is not None else memory),
        "VCPUs_max": "1", "VCPUs_at_startup": "1",
        "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
        "actions_after_crash": "restart",
        "PV_bootloader": "", "PV_kernel": "", "PV_ramdisk": "", "PV_args": "",
        "PV_bootloader_args": "", "PV_legacy_args": "",
        "HVM_boot_policy": "BIOS order", "HVM_boot_params": {}, "platform": {},
        "PCI_bus": "", "other_config": {}, "recommendations": "",
    }


def pct(vals, p):
    """Nearest-rank percentile."""
    s = sorted(vals)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def status_pids(run):
    """{daemon: pid} from the supervisor's RUNDIR/status."""
    pids = {}
    with open(os.path.join(run, "status")) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) > 0:
                pids[parts[0]] = int(parts[1])
    return pids


def proc_mem_kib(pid):
    """{"VmRSS": KiB, "VmHWM": KiB} of a process."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out
