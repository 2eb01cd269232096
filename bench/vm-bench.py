#!/usr/bin/python3
"""vm-bench.py -- VM lifecycle on the simulator (Python 3 stdlib only).

    bench/vm-bench.py BUILD_DIR [--vms 1000] [--cycles 200] [--clients 8]
                      [--vm-memory MiB] [--boot-ms MS] [--max-pending N] [--keep]

Starts its own host (BUILD_DIR/cxapi start, throwaway state dir, free
127.0.0.1 port), with xenopsd's simulated host sized to hold --vms VMs of
--vm-memory MiB (STATE/xenopsd.conf: sim-memory), and measures:

1. --cycles times VM.start then VM.clean_shutdown of one VM (VM.create'd
   with --vm-memory) over one keep-alive XML-RPC connection: p50/p99 of
   each call. Between the two it waits for the guest agent (the VM's
   guest_metrics appear, sim-boot-ms after the start): a clean shutdown
   is acknowledged by that agent, so without the wait it would time the
   boot as well. That wait is reported too.
2. VM.create --vms VMs, then Async.VM.start of all of them from --clients
   threads (one connection each), awaited through event.from on "task"
   (a poll of task.get_status for any not seen finished): wall time from
   the first Async call to the last task's success. Together the clients
   keep at most --max-pending tasks in flight: xapi refuses more than 200
   pending tasks (TOO_MANY_PENDING_TASKS), as upstream does.
   Also the CPU seconds xapi, xenopsd and xenstored used meanwhile.
3. VmRSS (and VmHWM) of xapi, xenopsd and xenstored with those VMs
   running (pids from RUNDIR/status).

Then `cxapi stop` (always, via try/finally) and the state dir is removed.
A compact table goes to stdout; progress to stderr. Exit 1 on failure.
"""

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import ApiError, Client, pct, proc_mem_kib, status_pids, vm_record

PASSWORD = "benchpw"
MIB = 1 << 20


def say(msg):
    print("vm-bench: " + msg, file=sys.stderr, flush=True)


def connect(url, timeout=120.0):
    return Client(url, PASSWORD, "vm-bench", timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_mem(pid):
    """VmRSS and VmHWM, MiB."""
    return {k: v / 1024.0 for k, v in proc_mem_kib(pid).items()}


def proc_cpu(pid):
    """utime + stime of a process, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_guest(c, vm, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.api("VM.get_guest_metrics", vm) != "OpaqueRef:NULL":
            return True
        time.sleep(0.002)
    return False


# ------------------------------------------------------------ (1) cycles

def phase_cycles(url, args):
    c = connect(url)
    vm = c.api("VM.create", vm_record("vm-bench-cycle", args.vm_memory * MIB, description="vm-bench"))
    starts, stops, boots = [], [], []
    for i in range(args.cycles):
        t0 = time.perf_counter()
        c.api("VM.start", vm, False, False)
        t1 = time.perf_counter()
        if not wait_guest(c, vm):
            raise RuntimeError("guest agent of %s did not report within 10 s" % vm)
        t2 = time.perf_counter()
        c.api("VM.clean_shutdown", vm)
        t3 = time.perf_counter()
        starts.append((t1 - t0) * 1e3)
        boots.append((t2 - t1) * 1e3)
        stops.append((t3 - t2) * 1e3)
    c.api("VM.destroy", vm)
    c.close()
    return starts, stops, boots


# ------------------------------------------------------- (2) mass start

def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:  # reported below
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def phase_create(url, args):
    k = args.clients
    vms = [[] for _ in range(k)]
    mem = args.vm_memory * MIB

    def work(i):
        c = connect(url)
        for j in range(i, args.vms, k):
            vms[i].append(c.api("VM.create", vm_record("vm-bench-%d" % j, mem, description="vm-bench")))
        c.close()

    t0 = time.perf_counter()
    run_threads(k, work)
    return vms, time.perf_counter() - t0


def phase_mass_start(url, args, vms):
    k = len(vms)
    total = sum(len(v) for v in vms)
    status = {}            # task ref -> status, from events (any task)
    tasks = []             # every submitted task
    lock = threading.Lock()
    cv = threading.Condition(lock)
    stop = threading.Event()

    w = connect(url)
    token = w.api("event.from", ["task"], "", 0.0)["token"]

    def count():
        ok, bad = 0, []
        for t in tasks:
            s = status.get(t)
            if s == "success":
                ok += 1
            elif s in ("failure", "cancelled"):
                bad.append(t)
        return ok, bad

    def watcher():
        nonlocal token
        while not stop.is_set():
            r = w.api("event.from", ["task"], token, 1.0)
            token = r["token"]
            with cv:
                for ev in r["events"]:
                    snap = ev.get("snapshot") or {}
                    if "status" in snap:
                        status[ev["ref"]] = snap["status"]
                cv.notify_all()

    wt = threading.Thread(target=watcher, daemon=True)
    wt.start()
    submit_done = [0.0]

    # xapi keeps at most 200 tasks pending (TOO_MANY_PENDING_TASKS beyond,
    # as upstream): each client keeps its share of them in flight, as a
    # well-behaved client does.
    limit = max(1, args.max_pending // k)

    def in_flight(mine):
        return sum(1 for t in mine if status.get(t) in (None, "pending"))

    def work(i):
        c = connect(url)
        mine = []
        for vm in vms[i]:
            with cv:
                waited = time.monotonic()
                while in_flight(mine) >= limit:
                    cv.wait(0.5)
                    if time.monotonic() - waited > 5:  # an event coalesced away
                        for t in mine:
                            if status.get(t) in (None, "pending"):
                                status[t] = c.api("task.get_status", t)
                        waited = time.monotonic()
            mine.append(c.api("Async.VM.start", vm, False, False))
        with cv:
            tasks.extend(mine)
            submit_done[0] = time.perf_counter()
            cv.notify_all()
        c.close()

    t0 = time.perf_counter()
    run_threads(k, work)
    t_submit = submit_done[0] - t0
    deadline = time.monotonic() + args.timeout
    with cv:
        while True:
            ok, bad = count()
            if ok + len(bad) >= total or time.monotonic() > deadline:
                break
            cv.wait(0.5)
            # A task may have finished before its ref was known and its event
            # coalesced away: ask directly for any still unknown after a while.
            if time.monotonic() - t0 > 5:
                unknown = [t for t in tasks if status.get(t) in (None, "pending")]
                if len(unknown) <= 50:
                    cv.release()
                    try:
                        p = connect(url)
                        for t in unknown:
                            s = p.api("task.get_status", t)
                            if s != "pending":
                                status[t] = s
                        p.close()
                    finally:
                        cv.acquire()
    t_all = time.perf_counter() - t0
    stop.set()
    wt.join(5)
    ok, bad = count()
    errs = []
    if bad:
        p = connect(url)
        errs = [p.api("task.get_error_info", t) for t in bad[:3]]
        p.close()
    return t_all, t_submit, ok, len(bad), errs


def running_count(url):
    c = connect(url)
    n = sum(1 for r in c.api("VM.get_all_records").values()
            if r["power_state"] == "Running" and not r["is_control_domain"])
    c.close()
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir")
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--vm-memory", type=int, default=64, help="MiB per VM")
    ap.add_argument("--boot-ms", type=int, default=None,
                    help="xenopsd sim-boot-ms (default: xenopsd's, 200)")
    ap.add_argument("--max-pending", type=int, default=192,
                    help="tasks the clients keep in flight together (xapi allows 200)")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds to wait for the mass start")
    ap.add_argument("--keep", action="store_true", help="keep the state dir")
    args = ap.parse_args()

    cxapi = os.path.join(args.build_dir, "cxapi")
    if not os.access(cxapi, os.X_OK):
        sys.exit("vm-bench: %s not found or not executable" % cxapi)
    tmp = tempfile.mkdtemp(prefix="vm-bench.")
    state = os.path.join(tmp, "state")
    os.makedirs(state)
    # Room for every VM plus the one cycled in (1) and 1 GiB spare.
    sim_mem = (args.vms + 1) * args.vm_memory * MIB + 1024 * MIB
    with open(os.path.join(state, "xenopsd.conf"), "w") as f:
        f.write("sim-memory = %d\n" % sim_mem)
        if args.boot_ms is not None:
            f.write("sim-boot-ms = %d\n" % args.boot_ms)
    port = free_port()
    url = "http://127.0.0.1:%d/" % port
    run = os.path.join(state, "run")
    rc = 1
    started = False
    try:
        say("starting host on port %d (sim-memory %d MiB)" % (port, sim_mem // MIB))
        started = True
        subprocess.run([cxapi, "start", "--state", state, "--port", str(port),
                        "--root-password", PASSWORD], check=True,
                       stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                connect(url, timeout=5).close()
                break
            except (OSError, http.client.HTTPException, ApiError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        c = connect(url)
        host = c.api("host.get_all")[0]
        hm = c.api("host.get_metrics", host)
        say("host memory_total %.0f MiB" % (
            int(c.api("host_metrics.get_memory_total", hm)) / MIB))
        c.close()
        pids = status_pids(run)
        rss0 = {n: proc_mem(p) for n, p in pids.items()}

        say("(1) %d x VM.start + VM.clean_shutdown" % args.cycles)
        starts, stops, boots = phase_cycles(url, args)

        say("(2) VM.create x %d from %d clients" % (args.vms, args.clients))
        vms, t_create = phase_create(url, args)
        say("    %.2f s (%.0f/s)" % (t_create, args.vms / t_create))
        say("(2) Async.VM.start x %d from %d clients" % (args.vms, args.clients))
        cpu0 = {n: proc_cpu(p) for n, p in status_pids(run).items()}
        t_all, t_submit, ok, nbad, errs = phase_mass_start(url, args, vms)
        cpu = {n: proc_cpu(p) - cpu0.get(n, 0.0) for n, p in status_pids(run).items()}
        say("    %d succeeded, %d failed in %.2f s (Async calls sent in %.2f s)%s" % (
            ok, nbad, t_all, t_submit, (" e.g. %r" % errs) if errs else ""))
        nrun = running_count(url)
        time.sleep(max(0.5, (args.boot_ms or 200) / 1000.0 + 0.3))  # agents up
        pids = status_pids(run)
        rss = {n: proc_mem(p) for n, p in pids.items()}

        print("VM lifecycle on the simulator (%d cycles; %d VMs of %d MiB, %d clients)" % (
            args.cycles, args.vms, args.vm_memory, args.clients))
        for label, v in (("VM.start", starts), ("VM.clean_shutdown", stops),
                         ("(guest agent up after start)", boots)):
            print("  %-30s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms" % (
                label, pct(v, 50), pct(v, 99), max(v)))
        print("  %-30s %.2f s (%.0f/s)" % ("VM.create x %d" % args.vms, t_create,
                                           args.vms / t_create))
        print("  %-30s %.2f s (calls sent in %.2f s); %d ok, %d failed; %d running" % (
            "Async.VM.start x %d" % args.vms, t_all, t_submit, ok, nbad, nrun))
        print("  %-30s %s (CPU s during the mass start; wall %.2f s)" % (
            "", ", ".join("%s %.2f" % (n, cpu[n]) for n in ("xapi", "xenopsd", "xenstored")
                          if n in cpu), t_all))
        for n in ("xapi", "xenopsd", "xenstored"):
            if n in rss:
                print("  %-30s VmRSS %7.1f MiB (%.1f at start)  VmHWM %7.1f MiB" % (
                    "%s, %d running" % (n, nrun), rss[n].get("VmRSS", 0),
                    rss0.get(n, {}).get("VmRSS", 0), rss[n].get("VmHWM", 0)))
        rc = 0 if (nbad == 0 and ok == args.vms) else 1
    except Exception as e:
        say("failed: %s" % e)
        rc = 1
    finally:
        if started:
            say("stopping host")
            r = subprocess.run([cxapi, "stop", "--state", state],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode != 0:
                say("warning: cxapi stop failed")
        if args.keep:
            say("state kept in %s" % state)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
