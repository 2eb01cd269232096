"""What a host keeps is its own: the state directory and every directory in
it 0700, every file and socket 0600, whatever the umask `cxapi start` ran
under, and also when an earlier start (or a careless operator) left them
open."""

import os
import stat
import subprocess

import pytest

from conftest import CXAPI, PASSWORD, make_host, ok, teardown_host


def start_under_umask(host, mask):
    def set_mask():
        os.umask(mask)
    return subprocess.run([CXAPI, "start", "--state", host.state, "--port", str(host.port),
                           "--root-password", PASSWORD],
                          capture_output=True, text=True, timeout=60, preexec_fn=set_mask)


def loose_entries(top):
    """Every entry under top (top included) whose mode is not the private one."""
    bad = []
    for root, dirs, files in os.walk(top):
        for name in [None] + dirs + files:
            path = root if name is None else os.path.join(root, name)
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                want = 0o700
            elif stat.S_ISREG(st.st_mode) or stat.S_ISSOCK(st.st_mode):
                want = 0o600
            else:
                continue
            if mode != want:
                bad.append((path, oct(mode)))
    return bad


def kinds(top):
    found = set()
    for root, _, files in os.walk(top):
        for name in files:
            m = os.lstat(os.path.join(root, name)).st_mode
            found.add("socket" if stat.S_ISSOCK(m) else "file" if stat.S_ISREG(m) else "other")
    return found


@pytest.mark.parametrize("mask", [0o000, 0o077])
def test_state_is_private_under_any_umask(mask):
    base, host = make_host("cxapi-modes-")
    try:
        os.chmod(host.state, 0o777)  # as an operator's mkdir under umask 000 would
        os.chmod(os.path.join(host.state, "xapi.conf"), 0o666)
        r = start_under_umask(host, mask)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert host.wait_api(), "API did not come up"
        s = host.login()  # the database has been written
        ok(host.proxy().VM.get_all(s))
        names = set(os.listdir(host.state))
        assert {"xapi.db", "host.conf", "xapi.conf", "log", "run"} <= names, names
        assert {"socket", "file"} <= kinds(host.state)
        assert os.path.exists(os.path.join(host.state, "run", "xapi.sock"))
        assert loose_entries(host.state) == []
        # A restart under the same umask keeps it so (files made anew, logs reopened).
        assert host.stop().returncode == 0
        r = start_under_umask(host, mask)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert host.wait_api()
        assert loose_entries(host.state) == []
    finally:
        msgs = teardown_host(base, host)
        assert not msgs, msgs
