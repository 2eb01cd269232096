"""cxapi start/stop/status and the supervisor's restart of a dead xapi."""

import os
import re
import signal
import subprocess
import time

import pytest

from conftest import CXAPI, failure, make_host, run_cxapi, teardown_host, wait_for


def parse_status(out):
    """{daemon: {"pid": int, "state": str, "restarts": int}} from `cxapi status`,
    which must be in its documented form: a "supervisor pid N" line, the
    header DAEMON PID STATE RESTARTS UPTIME, then one row per daemon."""
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert lines and lines[0][:2] == ["supervisor", "pid"], out
    assert lines[1] == ["DAEMON", "PID", "STATE", "RESTARTS", "UPTIME"], out
    daemons = {}
    for cols in lines[2:]:
        assert len(cols) == 5 and cols[1].isdigit() and cols[3].isdigit(), out
        assert cols[4].endswith("s") and cols[4][:-1].isdigit(), out
        daemons[cols[0]] = {"pid": int(cols[1]), "state": cols[2], "restarts": int(cols[3])}
    return daemons


def xapi_status(host):
    r = host.status()
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    d = parse_status(r.stdout)
    assert "xapi" in d, r.stdout
    return d["xapi"], r.stdout


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive for our purposes
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def read_host_conf(host):
    with open(os.path.join(host.state, "host.conf")) as f:
        text = f.read()
    conf = {}
    for line in text.splitlines():
        m = re.match(r'\s*([\w.-]+)\s*=\s*"?(.*?)"?\s*$', line)
        if m:
            conf[m.group(1)] = m.group(2)
    return conf


def ensure_running(host):
    if host.status().returncode != 0:
        r = host.start()
        assert r.returncode == 0, (r.stdout, r.stderr)
    assert host.wait_api(30)


def test_status_lists_xapi_running(host):
    ensure_running(host)
    x, out = xapi_status(host)
    assert x["state"] == "running", out
    assert x["pid"] and pid_alive(x["pid"]), out
    with open("/proc/%d/cmdline" % x["pid"], "rb") as f:
        assert b"xapi" in f.read()


def test_host_conf_created(host):
    conf = read_host_conf(host)
    assert re.fullmatch(r"[0-9a-f-]{36}", conf.get("host-uuid", "")), conf
    # The root password is kept as /etc/shadow keeps it: a salted hash.
    assert conf.get("root-password-hash", "").startswith("$y$"), conf
    assert "root-password" not in conf, conf
    with open(os.path.join(host.state, "host.conf")) as f:
        assert host.password not in f.read()


def test_second_start_refused(host):
    ensure_running(host)
    before, _ = xapi_status(host)
    r = host.start()
    assert r.returncode != 0, ("second start succeeded", r.stdout, r.stderr)
    after, out = xapi_status(host)
    assert after["pid"] == before["pid"], out
    assert after["state"] == "running"
    assert host.wait_api(5)


def test_second_start_other_port_refused(host):
    ensure_running(host)
    from conftest import free_port, run_cxapi
    r = run_cxapi("start", "--state", host.state, "--port", str(free_port()),
                  "--root-password", host.password)
    assert r.returncode != 0, ("second start on another port succeeded", r.stdout, r.stderr)
    assert host.wait_api(5)


def test_kill9_xapi_restarted(host):
    ensure_running(host)
    before, _ = xapi_status(host)
    old_pid = before["pid"]
    session = host.login()
    os.kill(old_pid, signal.SIGKILL)

    def restarted():
        r = host.status()
        if r.returncode != 0:
            return None
        x = parse_status(r.stdout).get("xapi")
        if x and x["state"] == "running" and x["pid"] and x["pid"] != old_pid:
            return x
        return None

    new = wait_for(restarted, 30)
    assert new, "xapi not restarted within 30 s; status:\n%s" % host.status().stdout
    assert pid_alive(new["pid"])
    assert not pid_alive(old_pid)
    assert new["restarts"] == before["restarts"] + 1, (before, new)
    assert host.wait_api(30), "API does not answer after the restart"
    # sessions live in memory: the restarted xapi knows none of the old ones
    r = host.proxy().pool.get_all(session)
    assert failure(r) == ["SESSION_INVALID", session], r
    s = host.login()
    assert host.proxy().pool.get_all(s)["Status"] == "Success"


def test_stop_status_restart_same_identity(host):
    ensure_running(host)
    conf_before = read_host_conf(host)
    s = host.login()
    p = host.proxy()
    host_ref = p.session.get_this_host(s, s)["Value"]
    pool_refs = p.pool.get_all(s)["Value"]
    x, out = xapi_status(host)
    xapi_pid = x["pid"]
    sup_pid = int(re.search(r"supervisor pid (\d+)", out).group(1))

    r = host.stop()
    assert r.returncode == 0, (r.stdout, r.stderr)
    r = host.status()
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert wait_for(lambda: not pid_alive(xapi_pid), 10), "xapi still alive after stop"
    assert wait_for(lambda: not pid_alive(sup_pid), 10), "supervisor alive after stop"
    with pytest.raises(OSError):
        host.login()

    # start again WITHOUT --root-password: same uuid, same password
    from conftest import run_cxapi
    r = run_cxapi("start", "--state", host.state, "--port", str(host.port))
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert conf_before["host-uuid"] in r.stdout, r.stdout
    # Only its hash is kept, so the password cannot be told again.
    assert "login: root / (the password set before" in r.stdout, r.stdout
    assert host.password not in r.stdout, r.stdout
    assert read_host_conf(host)["host-uuid"] == conf_before["host-uuid"]
    assert host.wait_api(30)
    s = host.login()  # same password
    p = host.proxy()
    assert p.session.get_this_host(s, s)["Value"] == host_ref
    assert p.pool.get_all(s)["Value"] == pool_refs
    x, out = xapi_status(host)
    assert x["state"] == "running" and x["pid"] != xapi_pid, out


def test_stop_twice_and_status_on_stopped(host):
    ensure_running(host)
    assert host.stop().returncode == 0
    assert host.status().returncode == 3
    r = host.stop()  # stopping a stopped host must not hang or crash
    assert r.returncode in (0, 3), (r.returncode, r.stdout, r.stderr)
    assert host.status().returncode == 3
    r = host.start()
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert host.wait_api(30)


def login_fails(h, password):
    r = h.proxy().session.login_with_password("root", password, "1.0", "t")
    return r.get("ErrorDescription", [None])[0] == "SESSION_AUTHENTICATION_FAILED"


def test_root_password_from_a_file_or_stdin_and_never_in_cmdline():
    """--root-password-file FILE (or - for standard input) gives the
    password off the command line; one given on it is overwritten in
    the supervisor's argv, which /proc/PID/cmdline shows to every user."""
    base, h = make_host("cxapi-pwfile-")
    try:
        pw_file = os.path.join(base, "pw")
        with open(pw_file, "w") as f:
            f.write("from-a-file-123\nignored second line\n")
        r = run_cxapi("start", "--state", h.state, "--port", str(h.port),
                      "--root-password-file", pw_file)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert wait_for(lambda: not login_fails(h, "from-a-file-123"), timeout=30)
        assert h.stop().returncode == 0
        r = subprocess.run([CXAPI, "start", "--state", h.state, "--port", str(h.port),
                            "--root-password-file", "-"], input="from-stdin-456\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert wait_for(lambda: not login_fails(h, "from-stdin-456"), timeout=30)
        assert login_fails(h, "from-a-file-123")
        assert h.stop().returncode == 0
        # Both ways at once, or an empty file: refused, nothing started.
        r = run_cxapi("start", "--state", h.state, "--port", str(h.port),
                      "--root-password", "x", "--root-password-file", pw_file)
        assert r.returncode == 2 and "not both" in r.stderr, (r.stdout, r.stderr)
        open(pw_file, "w").close()
        r = run_cxapi("start", "--state", h.state, "--port", str(h.port),
                      "--root-password-file", pw_file)
        assert r.returncode == 2 and "no password" in r.stderr, (r.stdout, r.stderr)
        # On the command line: the host takes it, no process shows it.
        secret = "cmdline-secret-789"
        r = run_cxapi("start", "--state", h.state, "--port", str(h.port),
                      "--root-password=" + secret)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert wait_for(lambda: not login_fails(h, secret), timeout=30)
        seen = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if h.state.encode() in cmd:
                seen.append(cmd)
                assert secret.encode() not in cmd, cmd
        assert any(b"start" in c for c in seen), seen  # the supervisor was looked at
    finally:
        msgs = teardown_host(base, h)
        assert not msgs, msgs


DAEMONS = ("xenstored", "xenopsd", "xapi")


def host_processes(h):
    """{name: [pid, ...]} of this host's daemons, and its supervisors, from
    every process's command line (argv[0] and --state)."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % pid) as f:
                if f.read().split(") ", 1)[1].split()[0] == "Z":
                    continue
        except (OSError, IndexError):
            continue
        if h.state.encode() not in argv:
            continue
        name = os.path.basename(argv[0].decode())
        if name == "cxapi":
            name = "supervisor"
        found.setdefault(name, []).append(int(pid))
    return found


def one_of_each(h):
    procs = host_processes(h)
    return all(len(procs.get(n, [])) == 1 for n in DAEMONS + ("supervisor",)), procs


@pytest.mark.parametrize("victims", [
    ("supervisor",), ("supervisor", "xapi"), ("supervisor", "xenstored"),
    ("supervisor", "xenopsd", "xapi"), ("supervisor", "xenstored", "xenopsd", "xapi"),
    ("xenstored",), ("xenopsd", "xapi"), ("xenstored", "xenopsd", "xapi"),
])
def test_sigkill_in_any_combination_leaves_one_of_each(victims):
    """After SIGKILL of some of a host's processes, `cxapi start` either
    serves with exactly one of each daemon (stopping what a killed
    supervisor left behind) or, while the supervisor lives, refuses
    clearly and the supervisor restores what was killed."""
    base, h = make_host("cxapi-kill-")
    try:
        r = h.start()
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert wait_for(lambda: one_of_each(h)[0], timeout=30), one_of_each(h)[1]
        before = host_processes(h)
        for v in victims:
            os.kill(before[v][0], signal.SIGKILL)
        assert wait_for(lambda: not any(pid_alive(before[v][0]) for v in victims), timeout=10)
        r = h.start()
        if "supervisor" in victims:
            assert r.returncode == 0, (r.stdout, r.stderr)
            assert "is up" in r.stdout
            survivors = [n for n in DAEMONS if n not in victims]
            for n in survivors:  # the orphans were stopped, not kept beside new ones
                assert not pid_alive(before[n][0]), n
        else:
            assert r.returncode != 0 and "already running" in r.stderr, (r.stdout, r.stderr)
        assert wait_for(lambda: one_of_each(h)[0], timeout=60), one_of_each(h)[1]
        assert wait_for(lambda: h.status().returncode == 0 and all(
            st["state"] == "running" for st in parse_status(h.status().stdout).values()),
            timeout=60), h.status().stdout
        assert h.wait_api()
    finally:
        msgs = teardown_host(base, h)
        assert not msgs, msgs


def test_stop_without_a_supervisor_stops_its_orphans():
    base, h = make_host("cxapi-kill-")
    try:
        assert h.start().returncode == 0
        assert wait_for(lambda: one_of_each(h)[0], timeout=30)
        os.kill(host_processes(h)["supervisor"][0], signal.SIGKILL)
        r = h.stop()
        assert r.returncode == 0 and "not running" in r.stdout, (r.stdout, r.stderr)
        assert wait_for(lambda: not host_processes(h), timeout=30), host_processes(h)
    finally:
        msgs = teardown_host(base, h)
        assert not msgs, msgs


def test_a_second_xenstored_on_a_run_dir_refuses(host):
    pids = host_processes(host)
    r = subprocess.run([os.path.join(os.path.dirname(CXAPI), "xenstored", "xenstored"),
                        "--state", host.state, "--run", host.run],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "already running" in r.stderr, (r.returncode, r.stderr)
    assert host_processes(host)["xenstored"] == pids["xenstored"]
    s = host.login()  # xenstored's socket is still the first one's: the host works
    assert s.startswith("OpaqueRef:")
