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
        process long-polls event.from(session, ["pool"], token, 5.0) on its own
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
import multiprocessing
import os
import queue
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

def now_ms():
    """CLOCK_MONOTONIC in ms: one clock for every process of the bench."""
    return time.clock_gettime(time.CLOCK_MONOTONIC) * 1000.0


def idle_watchers_main(url, password, n, ready, stop):
    """A process of n watchers of the VM class, each on its own connection,
    long-polling event.from while the latency is measured: they see
    nothing (only the pool changes), so they measure what waiting watchers
    cost xapi. A process of their own, so that their Python does not share
    a lock with the writer's or the measured watcher's."""
    errors = []

    def watch(client):
        try:
            # A token for now, without the whole VM class: from the pool.
            token = client.api("event.from", ["pool"], "", 0.0)["token"]
            ready.release()
            while not stop.is_set():
                token = client.api("event.from", ["VM"], token, 60.0)["token"]
        except Exception as e:  # counted below
            errors.append(e)
            ready.release()
        finally:
            client.close()

    threads = [threading.Thread(target=watch, args=(Client(url, password, "api-bench"),),
                                daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.exit(1 if errors else 0)


def watcher_main(url, password, pool, token, out, stop):
    """The measured watcher, in a process of its own: sends (arrival time,
    value of LAT_KEY) for every pool event; ("error", text) if it fails.
    The time is taken when the reply's last byte is read, before Python
    parses it."""
    client = Client(url, password, "api-bench")
    session = client.session
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        while not stop.is_set():
            body = xmlrpc.client.dumps((session, ["pool"], token, 5.0), "event.from")
            conn.request("POST", "/", body, {"Content-Type": "text/xml"})
            reply = conn.getresponse().read()
            t = now_ms()
            r = xmlrpc.client.loads(reply)[0][0]
            if r.get("Status") != "Success":
                raise ApiError("event.from", r.get("ErrorDescription"))
            r = r["Value"]
            token = r["token"]
            for ev in r["events"]:
                if ev.get("class") == "pool" and ev.get("ref") == pool:
                    snap = ev.get("snapshot") or {}
                    out.put((t, (snap.get("other_config") or {}).get(LAT_KEY)))
    except Exception as e:
        out.put(("error", str(e)))
    finally:
        conn.close()
        client.close()


def phase_events(args, c):
    name = "events" if args.watchers <= 1 else "events_w%d" % args.watchers
    pool = c.api("pool.get_all")[0]
    # Register: the first event.from (empty token) returns every pool object.
    try:
        token = c.api("event.from", ["pool"], "", 0.0)["token"]
    except ApiError as e:
        if e.code == "MESSAGE_METHOD_UNKNOWN":
            say("event latency: not available (event.from not implemented)")
            result(phase=name, available=0, reason="not_implemented")
        else:
            say("event latency: not available (%s)" % e)
            result(phase=name, available=0, reason="error")
        return
    # Start from a clean key: a leftover would make add_to_other_config fail.
    oc = c.api("pool.get_other_config", pool)
    if LAT_KEY in oc:
        c.api("pool.remove_from_other_config", pool, LAT_KEY)

    mp = multiprocessing.get_context("fork")
    stop = mp.Event()
    idle = None
    if args.watchers > 1:
        ready = mp.Semaphore(0)
        idle = mp.Process(target=idle_watchers_main,
                          args=(args.url, args.password, args.watchers - 1, ready, stop))
        idle.start()
        for _ in range(args.watchers - 1):
            ready.acquire(timeout=60)
    seen = mp.Queue()
    watcher = mp.Process(target=watcher_main,
                         args=(args.url, args.password, pool, token, seen, stop))
    watcher.start()
    time.sleep(0.3)  # let the watchers block in event.from

    from_send, from_reply, lost, error = [], [], 0, None
    present = False
    t_begin = time.perf_counter()
    for i in range(args.samples):
        if present:
            want = None
            t0 = now_ms()
            c.api("pool.remove_from_other_config", pool, LAT_KEY)
        else:
            want = str(i)
            t0 = now_ms()
            c.api("pool.add_to_other_config", pool, LAT_KEY, want)
        t1 = now_ms()
        present = not present
        got = None
        while got is None and error is None:
            try:
                when, val = seen.get(timeout=10.0)
            except queue.Empty:
                break
            if when == "error":
                error = val
            elif val == want:
                got = when
        if error is not None:
            break
        if got is None:
            lost += 1
            continue
        from_send.append(got - t0)
        from_reply.append(got - t1)
    elapsed = time.perf_counter() - t_begin

    stop.set()
    try:  # wake the watchers and leave other_config clean
        if present:
            c.api("pool.remove_from_other_config", pool, LAT_KEY)
        else:
            c.api("pool.add_to_other_config", pool, LAT_KEY, "stop")
            c.api("pool.remove_from_other_config", pool, LAT_KEY)
        if idle:  # a VM event ends the idle ones' calls
            c.api("event.inject", "VM", c.api("VM.get_all")[0])
    except Exception:
        pass
    watcher.join(10.0)
    if idle:
        idle.join(30.0)
        if idle.exitcode != 0 and error is None:
            error = "idle watchers failed (exit %s)" % idle.exitcode
    vms = vm_count(c)

    if error is not None and not from_send:
        say("event latency: not available (watcher failed: %s)" % error)
        result(phase=name, available=0, reason="error")
        return
    from_send.sort()
    from_reply.sort()
    n = len(from_send)
    say("event latency (%d samples, %d lost, %.1f s, %d watchers, %d VMs): from send p50 %.2f ms"
        " p99 %.2f ms max %.2f ms; from reply p50 %.2f ms p99 %.2f ms"
        % (n, lost, elapsed, args.watchers, vms, pct(from_send, 50), pct(from_send, 99),
           from_send[-1] if n else 0, pct(from_reply, 50), pct(from_reply, 99)))
    result(phase=name, available=1, samples=n, lost=lost, watchers=args.watchers, vms=vms,
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
    ap.add_argument("--watchers", type=int, default=1,
                    help="events: watchers in all (the others watch the VM class)")
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
