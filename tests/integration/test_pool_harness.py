"""tools/pool, the multi-host harness: three full hosts, each in its own
network namespace, reachable from the machine and from each other; kill
(a power cut), restart, exec and status; stop leaves no namespace, link
or process behind; and without root it refuses before making anything."""

import json
import os
import shutil
import subprocess
import tempfile
import xmlrpc.client

import pytest

from conftest import BUILD, REPO, sanitizer_reports

POOL = os.path.join(REPO, "tools", "pool")
PW = "harness-pw"


def pool(*args, timeout=180):
    return subprocess.run([POOL] + list(args), capture_output=True, text=True, timeout=timeout)


def reachable(address, timeout=5):
    s = xmlrpc.client.ServerProxy("http://%s:80/" % address)
    try:
        import socket
        old = socket.getdefaulttimeout()
        socket.setdefaulttimeout(timeout)
        try:
            return s.session.login_with_password("root", PW, "1.0", "harness")["Status"] == \
                "Success"
        finally:
            socket.setdefaulttimeout(old)
    except OSError:
        return False


def leftovers(ident):
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [l for l in (ns + links).splitlines() if "cxp" + ident in l]


@pytest.fixture
def pool_dir():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    d = tempfile.mkdtemp(prefix="cxapi-pool-")
    yield d
    if os.path.exists(os.path.join(d, "pool.json")):
        pool("stop", "--dir", d)
    shutil.rmtree(d, ignore_errors=True)


def test_three_hosts_kill_restart_stop(pool_dir):
    r = pool("start", "--dir", pool_dir, "--hosts", "3", "--root-password", PW, "--build", BUILD)
    assert r.returncode == 0, r.stderr
    lines = [l.split() for l in r.stdout.splitlines()]
    assert [l[0] for l in lines] == ["1", "2", "3"]
    addrs = [l[1] for l in lines]
    assert len(set(addrs)) == 3
    for l in lines:
        assert l[2] == "http://%s:80/" % l[1] and l[3] == os.path.join(pool_dir, "h" + l[0])
    for a in addrs:
        assert reachable(a), a
    with open(os.path.join(pool_dir, "pool.json")) as f:
        ident = json.load(f)["id"]
    # each host has its own address, and reaches the others
    r = pool("exec", "--dir", pool_dir, "2", "ip", "-o", "-4", "addr", "show", "eth0")
    assert addrs[1] + "/24" in r.stdout
    r = pool("exec", "--dir", pool_dir, "2", "python3", "-c",
             "import urllib.request; print(urllib.request.urlopen('http://%s/').status)"
             % addrs[2])
    assert r.stdout.strip() == "200", r.stderr
    # hosts are separate machines: different uuids
    uuids = set()
    for a in addrs:
        s = xmlrpc.client.ServerProxy("http://%s:80/" % a)
        sess = s.session.login_with_password("root", PW, "1.0", "harness")["Value"]
        uuids.add(s.host.get_uuid(sess, s.session.get_this_host(sess, sess)["Value"])["Value"])
    assert len(uuids) == 3
    # each knows its own address (management-address in its xapi.conf)
    for a in addrs:
        s = xmlrpc.client.ServerProxy("http://%s:80/" % a)
        sess = s.session.login_with_password("root", PW, "1.0", "harness")["Value"]
        assert s.host.get_address(sess, s.session.get_this_host(sess, sess)["Value"])["Value"] == a
    # a power cut of host 2, and its return
    assert pool("kill", "--dir", pool_dir, "2").returncode == 0
    assert not reachable(addrs[1], timeout=2)
    assert reachable(addrs[0]) and reachable(addrs[2])
    status = pool("status", "--dir", pool_dir).stdout.splitlines()
    assert [s.split()[-1] for s in status] == ["running", "stopped", "running"]
    r = pool("restart", "--dir", pool_dir, "2")
    assert r.returncode == 0, r.stderr
    assert reachable(addrs[1])
    # one pool per directory
    r = pool("start", "--dir", pool_dir, "--hosts", "1", "--build", BUILD)
    assert r.returncode == 1 and "has a pool already" in r.stderr
    assert pool("stop", "--dir", pool_dir).returncode == 0
    assert leftovers(ident) == []
    assert not os.path.exists(os.path.join(pool_dir, "pool.json"))
    for k in (1, 2, 3):
        assert not sanitizer_reports(os.path.join(pool_dir, "h%d" % k))


def test_refused_without_root_leaves_nothing(pool_dir):
    os.chmod(pool_dir, 0o777)
    r = subprocess.run(["runuser", "-u", "nobody", "--", POOL, "start", "--dir",
                        os.path.join(pool_dir, "p"), "--hosts", "2", "--build", BUILD],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "need root" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(pool_dir, "p"))
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "cxpprobe" not in ns


def test_xe_follows_host_is_slave_to_the_master(pool_dir):
    """A host whose pool.conf names a master answers HOST_IS_SLAVE with
    that address, and xe goes on to the master (on real hosts)."""
    r = pool("start", "--dir", pool_dir, "--hosts", "2", "--root-password", PW, "--build", BUILD)
    assert r.returncode == 0, r.stderr
    (a1, a2) = [l.split()[1] for l in r.stdout.splitlines()]
    s1 = xmlrpc.client.ServerProxy("http://%s:80/" % a1)
    sess = s1.session.login_with_password("root", PW, "1.0", "harness")["Value"]
    master_uuid = s1.host.get_uuid(sess, s1.session.get_this_host(sess, sess)["Value"])["Value"]
    with open(os.path.join(pool_dir, "h2", "pool.conf"), "w") as f:
        f.write("slave:%s\n" % a1)
    assert pool("restart", "--dir", pool_dir, "2").returncode == 0
    s2 = xmlrpc.client.ServerProxy("http://%s:80/" % a2)
    r = s2.session.login_with_password("root", PW, "1.0", "harness")
    assert r["ErrorDescription"] == ["HOST_IS_SLAVE", a1], r
    xe = [os.path.join(BUILD, "xe"), "-s", a2, "--nossl", "-u", "root", "-pw", PW]
    r = subprocess.run(xe + ["host-list", "params=uuid", "--minimal", "--debug"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == master_uuid + "\n"
    assert "trying its master %s" % a1 in r.stderr
    # a pool.conf that says something else stops the host from starting
    with open(os.path.join(pool_dir, "h2", "pool.conf"), "w") as f:
        f.write("boss\n")
    r = pool("restart", "--dir", pool_dir, "2")
    assert r.returncode == 1
    with open(os.path.join(pool_dir, "h2", "log", "xapi.log")) as f:
        assert "says neither" in f.read()
