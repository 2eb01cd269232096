#!/usr/bin/env python3
"""xe-bench: the wall time of `xe vm-list` against the same listing made
through a Python XenAPI client (xmlrpc.client, which upstream's XenAPI.py
wraps): log in, VM.get_all_records, keep the VMs that are not templates,
print uuid, name-label and power-state as xe lays them out, log out.
Both run against the same host in the same run; each is timed --runs
times and the medians are compared (a ratio above 1: xe is faster).

Usage: xe-bench.py --xe BUILD/xe --port PORT --password PW [--runs 5]
Prints one line of JSON with the medians and the ratio.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
import xmlrpc.client


def layout(pairs):
    width = 4 + max(len(k) for k, _ in pairs)
    lines = [(k.ljust(width) if i == 0 else k.rjust(width)) + ": " + v
             for i, (k, v) in enumerate(pairs)]
    return "\n".join(lines) + "\n\n\n"


def python_listing(url, password):
    s = xmlrpc.client.ServerProxy(url)
    session = s.session.login_with_password("root", password, "1.0", "xe-bench")["Value"]
    recs = s.VM.get_all_records(session)["Value"]
    out = []
    for r in recs.values():
        if r["is_a_template"]:
            continue
        out.append(layout([("uuid ( RO)", r["uuid"]), ("name-label ( RW)", r["name_label"]),
                           ("power-state ( RO)", r["power_state"].lower())]))
    s.session.logout(session)
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xe", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    url = "http://127.0.0.1:%d/" % a.port
    cmd = [a.xe, "-s", "127.0.0.1", "-p", str(a.port), "--nossl", "-u", "root", "-pw",
           a.password, "vm-list"]
    xe_times, py_times = [], []
    xe_out = py_out = ""
    for _ in range(a.runs):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        xe_times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            sys.exit("xe-bench: xe vm-list failed: " + r.stderr)
        xe_out = r.stdout
        t0 = time.perf_counter()
        py_out = python_listing(url, a.password)
        py_times.append(time.perf_counter() - t0)
    vms = xe_out.count("uuid ( RO)")
    same = sorted(xe_out.split("\n\n\n")) == sorted(py_out.split("\n\n\n"))
    xe_ms = statistics.median(xe_times) * 1000
    py_ms = statistics.median(py_times) * 1000
    print(json.dumps({"vms": vms, "xe_ms": round(xe_ms, 1), "python_ms": round(py_ms, 1),
                      "ratio": round(py_ms / xe_ms, 2) if xe_ms else 0, "same_listing": same,
                      "runs": a.runs}))


if __name__ == "__main__":
    main()
