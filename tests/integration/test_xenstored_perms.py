"""xenstored permissions: per node (owner, then r/w/b/n per domain),
enforced per connection's domain.  A simulated domain is a connection on
RUNDIR/xenstored-domains/N.sock (made on INTRODUCE) or one that sent
CONTROL "set-domain N"; it is denied what it may not read or write.
Harness: test_xenstored_harness.py.
"""

import pytest

from test_xenstored_harness import (  # noqa: F401 (xsd is a fixture)
    CONTROL, DIRECTORY, GET_PERMS, INTRODUCE, MKDIR, READ, RELEASE, RM, SET_PERMS, SET_TARGET,
    WRITE, XsConn, xsd, z)


def make_guest(xsd, dom):
    """The toolstack's part: the guest's home, owned by the guest."""
    with xsd.conn() as c:
        home = "/local/domain/%d" % dom
        c.mkdir(home)
        c.set_perms(home, ["n%d" % dom])
        c.mkdir(home + "/data")
        c.set_perms(home + "/data", ["n%d" % dom])
    return "/local/domain/%d" % dom


@pytest.fixture(scope="module")
def guests(xsd):
    homes = {dom: make_guest(xsd, dom) for dom in (5, 6)}
    with xsd.conn() as c:
        c.write("/vm/secret", "dom0 only")
        c.write("/shared/ro", "readable")
        c.set_perms("/shared/ro", ["n0", "r5"])
        c.write("/shared/wo", "writable")
        c.set_perms("/shared/wo", ["n0", "w5"])
        c.write("/shared/both", "both")
        c.set_perms("/shared/both", ["n0", "b5"])
        c.write("/shared/open", "everyone reads")
        c.set_perms("/shared/open", ["r0"])
        c.write("/shared/given", "owned by 5")
        c.set_perms("/shared/given", ["n5"])
    return homes


def test_guest_writes_its_own_data(xsd, guests):
    with xsd.domain_conn(5) as g:
        g.write("/local/domain/5/data/ip", "10.0.0.5")
        g.write("data/hostname", "guest5")  # relative: below its home
        assert g.read("/local/domain/5/data/hostname") == b"guest5"
        assert g.read("data/ip") == b"10.0.0.5"
        # New nodes belong to the guest, with the parent's list.
        assert g.get_perms("data/ip") == ["n5"]
    with xsd.conn() as c:
        assert c.read("/local/domain/5/data/ip") == b"10.0.0.5"


def test_inherited_permissions(xsd, guests):
    """As Xen: a new node takes its parent's list; a guest owns what it
    creates, while what dom0 writes below a guest's home stays the guest's."""
    with xsd.conn() as c:
        c.write("/local/domain/5/name", "guest5")
        assert c.get_perms("/local/domain/5/name") == ["n5"]
        c.write("/shared/dir", "")
        c.set_perms("/shared/dir", ["n0", "b5", "r6"])
    with xsd.domain_conn(5) as g:
        assert g.read("name") == b"guest5"
        g.write("/shared/dir/made-by-5", "v")
        assert g.get_perms("/shared/dir/made-by-5") == ["n5", "b5", "r6"]
    with xsd.domain_conn(6) as g6:
        assert g6.read("/shared/dir/made-by-5") == b"v"


def test_guest_denied_other_guest(xsd, guests):
    with xsd.domain_conn(5) as g:
        assert g.error_of(READ, z("/local/domain/6/data")) == "EACCES"
        assert g.error_of(WRITE, z("/local/domain/6/data/x") + b"v") == "EACCES"
        assert g.error_of(DIRECTORY, z("/local/domain/6")) == "EACCES"
        assert g.error_of(GET_PERMS, z("/local/domain/6")) == "EACCES"
        assert g.error_of(SET_PERMS, z("/local/domain/6", "n5")) == "EACCES"


def test_guest_denied_dom0_nodes(xsd, guests):
    with xsd.domain_conn(5) as g:
        assert g.error_of(READ, z("/vm/secret")) == "EACCES"
        assert g.error_of(WRITE, z("/vm/secret") + b"x") == "EACCES"
        assert g.error_of(WRITE, z("/vm/new") + b"x") == "EACCES"
        assert g.error_of(DIRECTORY, z("/")) == "EACCES"
        assert g.error_of(MKDIR, z("/vm/dir")) == "EACCES"
        assert g.error_of(RM, z("/vm/secret")) == "EACCES"
    with xsd.conn() as c:
        assert c.read("/vm/secret") == b"dom0 only"
        assert not c.exists("/vm/new")


def test_r_w_b_modes(xsd, guests):
    with xsd.domain_conn(5) as g:
        assert g.read("/shared/ro") == b"readable"
        assert g.error_of(WRITE, z("/shared/ro") + b"x") == "EACCES"
        assert g.error_of(READ, z("/shared/wo")) == "EACCES"
        g.write("/shared/wo", "written by 5")
        g.write("/shared/both", "both by 5")
        assert g.read("/shared/both") == b"both by 5"
        # The first entry is what domains not listed get.
        assert g.read("/shared/open") == b"everyone reads"
        assert g.error_of(WRITE, z("/shared/open") + b"x") == "EACCES"
    with xsd.domain_conn(6) as g6:
        assert g6.error_of(READ, z("/shared/ro")) == "EACCES"
        assert g6.read("/shared/open") == b"everyone reads"


def test_owner_has_full_access_and_may_set_perms(xsd, guests):
    with xsd.domain_conn(5) as g:
        assert g.read("/shared/given") == b"owned by 5"
        g.write("/shared/given", "changed by owner")
        g.set_perms("/shared/given", ["n5", "r6"])
        # Only dom0 may give a node away.
        assert g.error_of(SET_PERMS, z("/shared/given", "n6")) == "EPERM"
    with xsd.domain_conn(6) as g6:
        assert g6.read("/shared/given") == b"changed by owner"
        assert g6.error_of(SET_PERMS, z("/shared/given", "n6")) == "EACCES"


def test_guest_denied_privileged_operations(xsd, guests):
    with xsd.domain_conn(5) as g:
        assert g.error_of(INTRODUCE, z("9", "0", "0")) == "EACCES"
        assert g.error_of(RELEASE, z("6")) == "EACCES"
        assert g.error_of(SET_TARGET, z("5", "6")) == "EACCES"
        assert g.error_of(CONTROL, z("quota")) == "EACCES"
        # Asking is not privileged.
        assert g.get_domain_path(5) == b"/local/domain/5\0"
        assert g.is_introduced(0)


def test_guest_watch_only_sees_what_it_may_read(xsd, guests):
    with xsd.domain_conn(5) as g, xsd.conn() as c:
        g.watch("/local/domain/6", "spy")
        g.watch("/shared", "mine")
        g.drain_events()
        c.write("/local/domain/6/data/x", "hidden")
        c.write("/shared/ro", "readable again")
        evs = g.drain_events()
        assert evs == [("/shared/ro", "mine")], evs


def test_domain_socket_from_introduce(xsd):
    make_guest(xsd, 11)
    with xsd.conn() as c:
        c.introduce(11, 0x4242, 3)
    with XsConn(xsd.domain_sock(11)) as g:
        g.write("data/from-socket", "yes")
        assert g.error_of(READ, z("/vm/secret")) == "EACCES"
        assert g.error_of(CONTROL, z("quota")) == "EACCES"
        with xsd.conn() as c:
            assert c.read("/local/domain/11/data/from-socket") == b"yes"
            c.release(11)
        # Released: its connections end, as its ring would.
        assert g.is_closed()


def test_set_domain_is_one_way(xsd, guests):
    with xsd.domain_conn(5) as g:
        assert g.error_of(CONTROL, z("set-domain", "0")) == "EACCES"
        assert g.error_of(READ, z("/vm/secret")) == "EACCES"
    with xsd.ro_conn() as r:
        assert r.error_of(CONTROL, z("set-domain", "5")) in ("EROFS", "EINVAL", "EACCES")


def test_set_target_lets_device_model_act_for_guest(xsd, guests):
    make_guest(xsd, 7)
    with xsd.conn() as c:
        c.introduce(5)
        c.introduce(7)
        c.set_target(7, 5)
    with xsd.domain_conn(7) as dm:
        dm.write("/local/domain/5/data/from-dm", "1")
        assert dm.read("/local/domain/5/data/from-dm") == b"1"
        assert dm.error_of(READ, z("/local/domain/6/data")) == "EACCES"
    with xsd.conn() as c:
        c.release(7)
        c.release(5)


def test_permissions_in_transactions(xsd, guests):
    with xsd.domain_conn(5) as g:
        t = g.tx_start()
        assert g.error_of(WRITE, z("/vm/secret") + b"x", t) == "EACCES"
        assert g.error_of(READ, z("/local/domain/6/data"), t) == "EACCES"
        g.write("data/tx", "ok", t)
        g.tx_end(t)
        assert g.read("data/tx") == b"ok"


def test_tools_as_guest_agent(xsd, guests):
    """A guest agent using Debian's tools on the guest's socket: it writes
    data/, and is refused what its domain may not touch."""
    import subprocess
    with xsd.conn() as c:
        c.introduce(6)
    env = dict(xsd.env(), XENSTORED_PATH=xsd.domain_sock(6))

    def tool(*args):
        return subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=20)

    assert tool("xenstore-write", "data/agent-version", "1.2.3").returncode == 0
    assert tool("xenstore-read", "data/agent-version").stdout == "1.2.3\n"
    assert tool("xenstore-read", "/vm/secret").returncode != 0
    assert tool("xenstore-write", "/local/domain/5/data/x", "no").returncode != 0
    assert tool("xenstore-ls", "/local/domain/5").returncode != 0
    with xsd.conn() as c:
        assert c.read("/local/domain/6/data/agent-version") == b"1.2.3"
        assert not c.exists("/local/domain/5/data/x")
        c.release(6)
