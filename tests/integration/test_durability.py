"""A write xapi acknowledged is there after kill -9, at any moment.

xapi runs directly (not under the supervisor, whose restart back-off
would make a kill loop slow); a client adds keys one after another while
the daemon is killed at a random moment, and after each restart every
acknowledged key must be present."""

import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import xmlrpc.client

from conftest import BUILD, free_port, run_cxapi

XAPI = os.path.join(BUILD, "xapi", "xapi")
ITERATIONS = 20


def start_xapi(state, port):
    log = open(os.path.join(state, "log", "direct.out"), "ab")
    p = subprocess.Popen([XAPI, "--state", state, "--port", str(port), "--address", "127.0.0.1"],
                         stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            s = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % port)
            r = s.session.login_with_password("root", "pw")
            if r["Status"] == "Success":
                return p, s, r["Value"]
        except OSError:
            pass
        time.sleep(0.05)
    p.kill()
    raise AssertionError("xapi did not come up")


def test_acknowledged_writes_survive_kill_9():
    base = tempfile.mkdtemp(prefix="cxapi-dur-")
    state = os.path.join(base, "state")
    port = free_port()
    # create the host, then stop the supervised daemons and drive xapi directly
    assert run_cxapi("start", "--state", state, "--port", str(port),
                     "--root-password", "pw").returncode == 0
    assert run_cxapi("stop", "--state", state).returncode == 0
    acked = []
    rng = random.Random(42)
    try:
        for it in range(ITERATIONS):
            p, s, sid = start_xapi(state, port)
            pool = s.pool.get_all(sid)["Value"][0]
            have = s.pool.get_other_config(sid, pool)["Value"]
            missing = [k for k in acked if k not in have]
            assert not missing, "iteration %d lost acknowledged writes: %s" % (it, missing)
            stop = threading.Event()

            def writer():
                client = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % port)
                n = 0
                while not stop.is_set() and n < 10000:
                    key = "k%d_%d" % (it, n)
                    try:
                        r = client.pool.add_to_other_config(sid, pool, key, str(n))
                    except (OSError, xmlrpc.client.ProtocolError):
                        return  # the daemon died mid-call: not acknowledged
                    if r["Status"] != "Success":
                        return
                    acked.append(key)
                    n += 1

            t = threading.Thread(target=writer)
            t.start()
            time.sleep(rng.uniform(0.05, 0.4))
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=10)
            stop.set()
            t.join(timeout=30)
            assert not t.is_alive()
        p, s, sid = start_xapi(state, port)
        pool = s.pool.get_all(sid)["Value"][0]
        have = s.pool.get_other_config(sid, pool)["Value"]
        assert [k for k in acked if k not in have] == []
        assert len(acked) > ITERATIONS  # the loop really wrote
        print("durability: %d acknowledged writes over %d kills" % (len(acked), ITERATIONS))
        p.terminate()
        p.wait(timeout=10)
        with open(os.path.join(state, "log", "direct.out"), errors="replace") as f:
            out = f.read()
        assert "Sanitizer" not in out and "runtime error:" not in out, out[-3000:]
    finally:
        shutil.rmtree(base, ignore_errors=True)


WRITERS = 16
BURST_KILLS = 8


def burst_writer(port, sid, pool, it, w, stop, acked, lock):
    """Writes until stop or the daemon dies: even writers add pool
    other-config keys (all on one object), odd ones create VMs; every
    acknowledged write is recorded."""
    client = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % port)
    n = 0
    while not stop.is_set() and n < 2000:
        key = "b%d_%d_%d" % (it, w, n)
        try:
            if w % 2 == 0:
                r = client.pool.add_to_other_config(sid, pool, key, "v")
            else:
                r = client.VM.create(sid, {"name_label": key, "memory_static_max": "1073741824",
                                           "memory_dynamic_max": "1073741824",
                                           "memory_dynamic_min": "1073741824",
                                           "memory_static_min": "1073741824",
                                           "VCPUs_max": "1", "VCPUs_at_startup": "1"})
        except (OSError, xmlrpc.client.ProtocolError):
            return  # the daemon died mid-call: not acknowledged
        if r["Status"] != "Success":
            return
        with lock:
            acked.append(key)
        n += 1


def missing_writes(s, sid, acked):
    pool = s.pool.get_all(sid)["Value"][0]
    have = set(s.pool.get_other_config(sid, pool)["Value"])
    records = s.VM.get_all_records(sid)["Value"]
    have.update(r["name_label"] for r in records.values())
    return [k for k in acked if k not in have]


def test_acknowledged_writes_of_16_writers_survive_kill_9():
    """Group commit: 16 clients write at once, so commits share flushes;
    xapi is killed mid-burst and every acknowledged write must be there,
    whichever batch carried it."""
    base = tempfile.mkdtemp(prefix="cxapi-dur16-")
    state = os.path.join(base, "state")
    port = free_port()
    assert run_cxapi("start", "--state", state, "--port", str(port),
                     "--root-password", "pw").returncode == 0
    assert run_cxapi("stop", "--state", state).returncode == 0
    acked, lock = [], threading.Lock()
    rng = random.Random(16)
    try:
        for it in range(BURST_KILLS):
            p, s, sid = start_xapi(state, port)
            missing = missing_writes(s, sid, acked)
            assert not missing, "kill %d lost %d acknowledged writes: %s" % (
                it, len(missing), missing[:10])
            pool = s.pool.get_all(sid)["Value"][0]
            stop = threading.Event()
            threads = [threading.Thread(target=burst_writer,
                                        args=(port, sid, pool, it, w, stop, acked, lock))
                       for w in range(WRITERS)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 0.6))
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=10)
            stop.set()
            for t in threads:
                t.join(timeout=30)
                assert not t.is_alive()
        p, s, sid = start_xapi(state, port)
        assert missing_writes(s, sid, acked) == []
        assert len(acked) > WRITERS * BURST_KILLS  # the bursts really wrote
        print("durability: %d acknowledged writes from %d writers over %d kills"
              % (len(acked), WRITERS, BURST_KILLS))
        p.terminate()
        p.wait(timeout=10)
        with open(os.path.join(state, "log", "direct.out"), errors="replace") as f:
            out = f.read()
        assert "Sanitizer" not in out and "runtime error:" not in out, out[-3000:]
    finally:
        shutil.rmtree(base, ignore_errors=True)
