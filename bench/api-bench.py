#!/usr/bin/python3
"""api-bench.py -- API-level measurements against a running cxapi host.

Python 3 standard library only. Called by bench/http-bench, but it can be
run by hand against any host:

    bench/api-bench.py --url http://127.0.0.1:PORT/ --password PW \\
        [--state STATEDIR] writes      # (a) durable writes/s, (b) event latency
    bench/api-bench.py --url ... --state STATEDIR rss   # (c) RSS with 10,000 VMs

writes: creates VMs (VM.create, each committed to SQLite with fsync before
        the reply) until --vms VM records exist: the first --single-writes
        from one client, the rest from --clients concurrent clients, and
        prints writes/s for both. Then measures event latency: a watcher
        thread long-polls event.from(session, ["pool"], token, 5.0) on its own
        connection while the main thread alternates
        pool.add_to_other_config / pool.remove_from_other_config on another
        connection; --samples writes, p50/p99 in ms.
rss:    prints xapi's VmRSS, creates VMs from --clients clients until
        --rss-vms VM records exist, and prints VmRSS (and VmHWM) again.

"VMs" counts every VM record (VM.get_all), including the control domain
and templates the host is born with.

Human-readable lines go to stderr; one "APIBENCH key=value ..." line per
measurement goes to stdout for http-bench to parse. Exit status 0 unless
the host cannot be reached or VM creation fails.
"""

import argparse
import http.client
import os
import sys
import threading
import time
import urllib.parse
import xmlrpc.client

from benchlib import ApiError, Client, pct, proc_mem_kib, status_pids, vm_record

LAT_KEY = "bench-event-latency"


def say(msg):
    print("api-bench: " + msg, file=sys.stderr, flush=True)


def result(**kv):
    print("APIBENCH " + " ".join("%s=%s" % (k, v) for k, v in kv.items()), flush=True)


# ---------------------------------------------------------------- (a) writes

_name_counter = [0]
_name_lock = threading.Lock()


def next_name():
    with _name_lock:
        _name_counter[0] += 1
        return "bench-vm-%d" % _name_counter[0]


def create_vms(args, n, clients):
    """Create n VMs from `clients` concurrent connections; returns seconds."""
    if n <= 0:
        return 0.0
    per = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    per = [p for p in per if p > 0]
    conns = [Client(args.url, args.password, "api-bench") for _ in per]
    errors = []
    start_gate = threading.Barrier(len(per) + 1)

    def worker(c, count):
        try:
            start_gate.wait(30)
            for _ in range(count):
                c.api("VM.create", vm_record(next_name(), 1 << 30, static_min=512 << 20))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(c, k), daemon=True)
               for c, k in zip(conns, per)]
    for t in threads:
        t.start()
    start_gate.wait(30)
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    for c in conns:
        c.close()
    if errors:
        raise errors[0]
    return dt


def vm_count(c):
    return len(c.api("VM.get_all"))


def grow(args, c, target, clients, label):
    have = vm_count(c)
    n = target - have
    if n <= 0:
        say("%s: %d VMs already exist (target %d), nothing to create" % (label, have, target))
        return 0, 0.0
    say("%s: creating %d VMs from %d client(s) (%d exist)" % (label, n, clients, have))
    dt = create_vms(args, n, clients)
    rate = n / dt if dt > 0 else 0.0
    say("%s: %d VM.create in %.2f s = %.0f writes/s" % (label, n, dt, rate))
    return n, rate


def phase_writes(args, c):
    have = vm_count(c)
    need = args.vms - have
    n1 = min(args.single_writes, max(0, need) // 2)
    res = {}
    if n1 > 0:
        dt = create_vms(args, n1, 1)
        res["writes_1"] = "%.1f" % (n1 / dt)
        res["writes_1_n"] = n1
        say("durable writes: 1 client:  %d VM.create in %.2f s = %.0f writes/s"
            % (n1, dt, n1 / dt))
    n8 = args.vms - vm_count(c)
    if n8 > 0:
        dt = create_vms(args, n8, args.clients)
        res["writes_%d" % args.clients] = "%.1f" % (n8 / dt)
        res["writes_%d_n" % args.clients] = n8
        say("durable writes: %d clients: %d VM.create in %.2f s = %.0f writes/s"
            % (args.clients, n8, dt, n8 / dt))
    total = vm_count(c)
    res["clients"] = args.clients
    res["vms"] = total
    say("%d VMs exist" % total)
    result(phase="writes", **res)


# ---------------------------------------------------------------- (b) events

def phase_events(args, c):
    pool = c.api("pool.get_all")[0]
    watcher = Client(args.url, args.password, "api-bench")
    # Register: the first event.from (empty token) returns every pool object.
    try:
        first = watcher.api("event.from", ["pool"], "", 0.0)
    except ApiError as e:
        if e.code == "MESSAGE_METHOD_UNKNOWN":
            say("event latency: not available (event.from not implemented)")
            result(phase="events", available=0, reason="not_implemented")
        else:
            say("event latency: not available (%s)" % e)
            result(phase="events", available=0, reason="error")
        watcher.close()
        return
    token = first["token"]
    # Start from a clean key: a leftover would make add_to_other_config fail.
    oc = c.api("pool.get_other_config", pool)
    if LAT_KEY in oc:
        c.api("pool.remove_from_other_config", pool, LAT_KEY)

    seen = []  # (perf_counter at arrival, value of LAT_KEY or None)
    cond = threading.Condition()
    stop = threading.Event()
    werr = []

    def watch():
        nonlocal token
        try:
            while not stop.is_set():
                r = watcher.api("event.from", ["pool"], token, 5.0)
                now = time.perf_counter()
                token = r["token"]
                with cond:
                    for ev in r["events"]:
                        if ev.get("class") == "pool" and ev.get("ref") == pool:
                            snap = ev.get("snapshot") or {}
                            seen.append((now, (snap.get("other_config") or {}).get(LAT_KEY)))
                    cond.notify_all()
        except Exception as e:
            werr.append(e)
            with cond:
                cond.notify_all()

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    time.sleep(0.2)  # let the watcher block in event.from

    from_send, from_reply, lost = [], [], 0
    idx = 0
    present = False
    t_begin = time.perf_counter()
    for i in range(args.samples):
        if werr:
            break
        if present:
            want = None
            t0 = time.perf_counter()
            c.api("pool.remove_from_other_config", pool, LAT_KEY)
        else:
            want = str(i)
            t0 = time.perf_counter()
            c.api("pool.add_to_other_config", pool, LAT_KEY, want)
        t1 = time.perf_counter()
        present = not present
        deadline = t1 + 10.0
        got = None
        with cond:
            while got is None and not werr:
                while idx < len(seen):
                    when, val = seen[idx]
                    idx += 1
                    if val == want:
                        got = when
                        break
                if got is not None:
                    break
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                cond.wait(left)
        if got is None:
            lost += 1
            continue
        from_send.append((got - t0) * 1000.0)
        from_reply.append((got - t1) * 1000.0)
    elapsed = time.perf_counter() - t_begin

    stop.set()
    try:  # wake the watcher and leave other_config clean
        if present:
            c.api("pool.remove_from_other_config", pool, LAT_KEY)
        else:
            c.api("pool.add_to_other_config", pool, LAT_KEY, "stop")
            c.api("pool.remove_from_other_config", pool, LAT_KEY)
    except Exception:
        pass
    th.join(7.0)
    watcher.close()

    if werr and not from_send:
        e = werr[0]
        if isinstance(e, ApiError) and e.code == "MESSAGE_METHOD_UNKNOWN":
            say("event latency: not available (event.from not implemented)")
            result(phase="events", available=0, reason="not_implemented")
        else:
            say("event latency: not available (watcher failed: %s)" % e)
            result(phase="events", available=0, reason="error")
        return
    from_send.sort()
    from_reply.sort()
    n = len(from_send)
    say("event latency (%d samples, %d lost, %.1f s): from send p50 %.2f ms p99 %.2f ms max %.2f ms;"
        " from reply p50 %.2f ms p99 %.2f ms"
        % (n, lost, elapsed, pct(from_send, 50), pct(from_send, 99), from_send[-1] if n else 0,
           pct(from_reply, 50), pct(from_reply, 99)))
    result(phase="events", available=1, samples=n, lost=lost,
           send_p50_ms="%.3f" % pct(from_send, 50), send_p99_ms="%.3f" % pct(from_send, 99),
           send_max_ms="%.3f" % (from_send[-1] if n else 0),
           reply_p50_ms="%.3f" % pct(from_reply, 50), reply_p99_ms="%.3f" % pct(from_reply, 99))


# ---------------------------------------------------------------- (c) memory

def xapi_pid(state):
    pid = status_pids(os.path.join(state, "run")).get("xapi")
    if not pid:
        raise RuntimeError("no xapi in " + os.path.join(state, "run", "status"))
    return pid


def phase_rss(args, c):
    pid = xapi_pid(args.state)
    before = proc_mem_kib(pid)
    n0 = vm_count(c)
    say("xapi pid %d: VmRSS %.1f MiB (VmHWM %.1f MiB) with %d VMs"
        % (pid, before["VmRSS"] / 1024, before["VmHWM"] / 1024, n0))
    n, rate = grow(args, c, args.rss_vms, args.clients, "rss")
    n1 = vm_count(c)
    if xapi_pid(args.state) != pid:
        raise RuntimeError("xapi restarted during the run")
    after = proc_mem_kib(pid)
    say("xapi pid %d: VmRSS %.1f MiB (VmHWM %.1f MiB) with %d VMs"
        % (pid, after["VmRSS"] / 1024, after["VmHWM"] / 1024, n1))
    result(phase="rss", pid=pid, vms_before=n0, rss_before_kib=before["VmRSS"],
           hwm_before_kib=before["VmHWM"], vms=n1, rss_kib=after["VmRSS"],
           hwm_kib=after["VmHWM"], created=n, writes="%.1f" % rate)


def phase_rss0(args, c):
    pid = xapi_pid(args.state)
    m = proc_mem_kib(pid)
    n = vm_count(c)
    say("xapi pid %d: VmRSS %.1f MiB with %d VMs" % (pid, m["VmRSS"] / 1024, n))
    result(phase="rss0", pid=pid, vms=n, rss_kib=m["VmRSS"], hwm_kib=m["VmHWM"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--state", help="the host's state dir (for RUNDIR/status)")
    ap.add_argument("--vms", type=int, default=1000, help="writes: VM records to reach")
    ap.add_argument("--single-writes", type=int, default=300,
                    help="writes: how many of them one client creates (at most half)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--samples", type=int, default=200, help="event latency samples")
    ap.add_argument("--rss-vms", type=int, default=10000, help="rss: VM records to reach")
    ap.add_argument("phase", nargs="+", choices=["writes", "events", "rss", "rss0"])
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    if u.scheme != "http" or not u.hostname:
        ap.error("--url must be http://HOST:PORT/")
    if ("rss" in args.phase or "rss0" in args.phase) and not args.state:
        ap.error("rss needs --state")
    c = Client(args.url, args.password, "api-bench")
    # The name counter continues after existing bench VMs, so labels stay unique.
    _name_counter[0] = vm_count(c)
    for ph in args.phase:
        {"writes": phase_writes, "events": phase_events,
         "rss": phase_rss, "rss0": phase_rss0}[ph](args, c)
    c.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ApiError, OSError, RuntimeError, http.client.HTTPException,
            xmlrpc.client.Error) as e:
        say("error: %s" % e)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
