"""External authentication against a directory server (auth_type LDAP),
tested against Debian's slapd, which the test starts on loopback with a
directory of its own: a reader (alice), an operator through a posixGroup
(bob), a member of a groupOfNames (dave) and a user with no subject
(carol).

It checks enabling (wrong bind credentials, an unreachable server), the
bind password kept out of the API's reach (a file of the host's own),
identifiers (entryUUID), details and groups, logins and their errors,
that a name cannot inject a filter, and the reader's and operator's
rights."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import failure, free_port, ok, own_host, wait_for
from test_vm_lifecycle_harness import Api, install

SUFFIX = "dc=cxapi,dc=test"
ADMIN_DN = "cn=admin," + SUFFIX
ADMIN_PW = "Ldap-admin-pw-2718"
PW = {"alice": "Alice-pw-1", "bob": "Bob-pw-2", "carol": "Carol-pw-3", "dave": "Dave-pw-4"}

CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{admin}"
rootpw {adminpw}
directory {dir}/db
access to attrs=userPassword by anonymous auth by * none
access to * by * read
"""


def person(uid, number):
    return ("dn: uid={uid},ou=people,{s}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
            "uid: {uid}\ncn: {cap} Example\nsn: Example\nuidNumber: {n}\ngidNumber: {n}\n"
            "homeDirectory: /home/{uid}\nuserPassword: {pw}\n\n").format(
                uid=uid, s=SUFFIX, cap=uid.capitalize(), n=number, pw=PW[uid])


LDIF = ("dn: {s}\nobjectClass: dcObject\nobjectClass: organization\no: cxapi\ndc: cxapi\n\n"
        "dn: ou=people,{s}\nobjectClass: organizationalUnit\nou: people\n\n"
        "dn: ou=groups,{s}\nobjectClass: organizationalUnit\nou: groups\n\n").format(s=SUFFIX) + \
    "".join(person(u, 5001 + i) for i, u in enumerate(sorted(PW))) + \
    ("dn: cn=operators,ou=groups,{s}\nobjectClass: posixGroup\ncn: operators\ngidNumber: 6001\n"
     "memberUid: bob\n\n"
     "dn: cn=admins,ou=groups,{s}\nobjectClass: groupOfNames\ncn: admins\n"
     "member: uid=dave,ou=people,{s}\n\n").format(s=SUFFIX)


@pytest.fixture(scope="module")
def slapd():
    for tool in ("/usr/sbin/slapd", "/usr/bin/ldapadd"):
        assert os.access(tool, os.X_OK), "%s missing: make test installs slapd and ldap-utils" % tool
    d = tempfile.mkdtemp(prefix="cxapi-slapd-")
    os.makedirs(os.path.join(d, "db"))
    with open(os.path.join(d, "slapd.conf"), "w") as f:
        f.write(CONF.format(dir=d, suffix=SUFFIX, admin=ADMIN_DN, adminpw=ADMIN_PW))
    port = free_port()
    uri = "ldap://127.0.0.1:%d/" % port
    log = open(os.path.join(d, "slapd.log"), "w")
    proc = subprocess.Popen(["/usr/sbin/slapd", "-h", uri, "-f", os.path.join(d, "slapd.conf"),
                             "-d", "0"], stdout=log, stderr=log)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return proc.poll() is not None  # stop waiting if it died
        assert wait_for(up, timeout=20) and proc.poll() is None, open(log.name).read()
        subprocess.run(["/usr/bin/ldapadd", "-x", "-H", uri, "-D", ADMIN_DN, "-w", ADMIN_PW],
                       input=LDIF, text=True, check=True, capture_output=True, timeout=30)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(d, ignore_errors=True)


def entry_uuid(uri, filt):
    out = subprocess.run(["/usr/bin/ldapsearch", "-x", "-LLL", "-H", uri, "-b", SUFFIX, filt,
                          "entryUUID"], text=True, check=True, capture_output=True,
                         timeout=30).stdout
    return [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("entryUUID:")]


def login(h, user, password):
    return h.proxy().session.login_with_password(user, password, "1.0", "ldap-test")


def subject_with(api, sid, role):
    subj = api.call("subject.create", {"subject_identifier": sid, "other_config": {}})
    refs = {r["name_label"]: ref for ref, r in api.call("role.get_all_records").items()}
    api.call("subject.remove_from_roles", subj, refs["pool-admin"])
    api.call("subject.add_to_roles", subj, refs[role])
    return subj


def call(h, session, method, *args):
    fn = h.proxy()
    for part in method.split("."):
        fn = getattr(fn, part)
    return fn(session, *args)


def test_ldap_users_and_roles(slapd):
    uri = slapd
    with own_host("cxapi-ldap-", "") as h:
        root = Api(h)
        pool = root.call("pool.get_all")[0]
        host = root.call("host.get_all")[0]
        config = {"uri": uri, "base_dn": SUFFIX, "bind_dn": ADMIN_DN, "bind_password": ADMIN_PW}

        # Enabling checks the service and the credentials first.
        bad = dict(config, bind_password="wrong")
        assert root.fail("pool.enable_external_auth", pool, bad, "", "LDAP")[:2] == \
            ["POOL_AUTH_ENABLE_FAILED_WRONG_CREDENTIALS", host]
        gone = dict(config, uri="ldap://127.0.0.1:%d/" % free_port())
        assert root.fail("pool.enable_external_auth", pool, gone, "", "LDAP")[:2] == \
            ["POOL_AUTH_ENABLE_FAILED", host]
        assert root.call("host.get_external_auth_type", host) == ""
        root.call("pool.enable_external_auth", pool, config, "directory", "LDAP")

        # The bind password is out of the API's reach: not in the host's
        # record, nor in a secret a pool-operator could read, but in a file
        # of the host's own.
        stored = root.call("host.get_external_auth_configuration", host)
        assert "bind_password" not in stored and ADMIN_PW not in str(stored), stored
        assert all(ADMIN_PW != r["value"] for r in root.call("secret.get_all_records").values())
        private = os.path.join(h.state, "external-auth.conf")
        assert os.stat(private).st_mode & 0o777 == 0o600
        with open(private) as f:
            assert ADMIN_PW in f.read()

        # Identifiers are entryUUIDs; details; groups of both kinds.
        (alice_sid,) = entry_uuid(uri, "(uid=alice)")
        (ops_sid,) = entry_uuid(uri, "(cn=operators)")
        (admins_sid,) = entry_uuid(uri, "(cn=admins)")
        assert root.call("auth.get_subject_identifier", "alice") == alice_sid
        assert root.call("auth.get_subject_identifier", "operators") == ops_sid
        info = root.call("auth.get_subject_information_from_identifier", alice_sid)
        assert info["subject-name"] == "alice" and info["subject-is-group"] == "false", info
        assert info["subject-displayname"] == "Alice Example"
        assert root.call("auth.get_subject_information_from_identifier",
                         ops_sid)["subject-is-group"] == "true"
        bob_sid = root.call("auth.get_subject_identifier", "bob")
        assert root.call("auth.get_group_membership", bob_sid) == [ops_sid]
        dave_sid = root.call("auth.get_subject_identifier", "dave")
        assert root.call("auth.get_group_membership", dave_sid) == [admins_sid]
        assert root.fail("auth.get_subject_identifier", "nobody") == ["SUBJECT_CANNOT_BE_RESOLVED"]
        # A name is a value, never part of the filter.
        assert root.fail("auth.get_subject_identifier", "*") == ["SUBJECT_CANNOT_BE_RESOLVED"]
        assert failure(login(h, "alice)(uid=*", PW["alice"]))[0] == \
            "SESSION_AUTHENTICATION_FAILED"

        # Logins and their errors.
        # The client learns nothing of the directory: the same answer for a
        # wrong password and for a name that does not exist.
        assert failure(login(h, "alice", "wrong")) == \
            ["SESSION_AUTHENTICATION_FAILED", "alice", "Authentication failure"]
        assert failure(login(h, "nobody", "x")) == \
            ["SESSION_AUTHENTICATION_FAILED", "nobody", "Authentication failure"]
        assert failure(login(h, "alice", ""))[0] == "SESSION_AUTHENTICATION_FAILED"
        time.sleep(1.5)  # four failures from this address: the throttle bars it a second
        assert failure(login(h, "carol", PW["carol"]))[0] == "SESSION_AUTHORIZATION_FAILED"
        subject_with(root, alice_sid, "read-only")
        subject_with(root, ops_sid, "vm-operator")
        ro = ok(login(h, "alice", PW["alice"]))
        op = ok(login(h, "bob", PW["bob"]))

        vm = install(root, "ldap-vm")
        assert ok(call(h, ro, "VM.get_name_label", vm)) == "ldap-vm"
        assert failure(call(h, ro, "VM.set_name_label", vm, "x"))[:2] == \
            ["RBAC_PERMISSION_DENIED", "vm.set_name_label"]
        assert failure(call(h, ro, "session.get_record", root.session))[0] == "HANDLE_INVALID"
        ok(call(h, op, "VM.start", vm, False, False))
        ok(call(h, op, "VM.hard_shutdown", vm))
        assert failure(call(h, op, "VM.destroy", vm))[0] == "RBAC_PERMISSION_DENIED"

        # Off: sessions end, the password's file goes.
        root.call("pool.disable_external_auth", pool, {})
        assert failure(call(h, ro, "VM.get_name_label", vm))[0] == "SESSION_INVALID"
        assert not os.path.exists(private)
        assert failure(login(h, "alice", PW["alice"]))[0] == "SESSION_AUTHENTICATION_FAILED"
