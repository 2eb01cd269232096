"""External authentication with the host's own accounts (auth_type PAM)
and RBAC for the users it lets in.

The test makes local accounts of its own (useradd; removed at the end):
a reader, an operator who gets the vm-operator role through a group, a
user whose subject will hold each of the six roles in turn, and one with
no subject. It checks what upstream's PAM plugin answers (u<uid>/g<gid>
identifiers), who may log in (SESSION_AUTHENTICATION_FAILED,
SESSION_AUTHORIZATION_FAILED, RBAC_PERMISSION_DENIED), every role against
a sample of messages, that a reader sees only its own session (records and
events), that a vm-operator can start and stop a VM but not destroy it,
and that disabling external authentication ends the users' sessions."""

import grp
import os
import pwd
import subprocess
import uuid

import pytest

from conftest import failure, ok, own_host
from test_vm_lifecycle_harness import Api, install

PREFIX = "cxt%s" % uuid.uuid4().hex[:6]  # names of this run's own
READER, OPERATOR, ROLLER, STRANGER = (PREFIX + s for s in ("read", "oper", "roll", "none"))
GROUP = PREFIX + "ops"
PASSWORD = "Pam-test-pw-31415"

# From the least to the most powerful, as upstream chains them.
ROLES = ["read-only", "vm-operator", "vm-admin", "vm-power-admin", "pool-operator", "pool-admin"]
# A sample of messages per class and the least role that may call each
# (upstream's datamodel). Called with a bogus ref (or argument), so that an
# allowed call fails on its argument and a refused one on RBAC; nothing
# changes either way.
BOGUS = "OpaqueRef:00000000-0000-0000-0000-000000000000"
SAMPLE = [
    ("VM.get_record", (BOGUS,), "read-only"),
    ("host.get_record", (BOGUS,), "read-only"),
    ("pool.get_record", (BOGUS,), "read-only"),
    ("task.get_record", (BOGUS,), "read-only"),
    ("VM.start", (BOGUS, False, False), "vm-operator"),
    ("VM.clean_shutdown", (BOGUS,), "vm-operator"),
    ("VM.destroy", (BOGUS,), "vm-admin"),
    ("VM.set_name_label", (BOGUS, "x"), "vm-admin"),
    ("network.destroy", (BOGUS,), "vm-admin"),
    ("VM.set_affinity", (BOGUS, BOGUS), "vm-power-admin"),
    ("VM.set_memory_limits", (BOGUS, "1", "1", "1", "1"), "vm-power-admin"),
    ("host.set_name_label", (BOGUS, "x"), "pool-operator"),
    ("pool.set_name_label", (BOGUS, "x"), "pool-operator"),
    ("secret.get_value", (BOGUS,), "pool-operator"),
    ("subject.destroy", (BOGUS,), "pool-admin"),
    ("role.get_by_uuid", ("nope",), "read-only"),
]


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def accounts():
    if os.geteuid() != 0:
        pytest.skip("making local accounts needs root")
    sh("groupadd", GROUP)
    made = []
    try:
        for user in (READER, OPERATOR, ROLLER, STRANGER):
            sh("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", user)
            made.append(user)
        sh("usermod", "-a", "-G", GROUP, OPERATOR)
        subprocess.run(["chpasswd"], input="".join("%s:%s\n" % (u, PASSWORD) for u in made),
                       text=True, check=True, timeout=60)
        yield
    finally:
        for user in made:
            subprocess.run(["userdel", user], capture_output=True, timeout=60)
        subprocess.run(["groupdel", GROUP], capture_output=True, timeout=60)


def login(h, user, password=PASSWORD):
    return h.proxy().session.login_with_password(user, password, "1.0", "pam-test")


def role_refs(api):
    return {r["name_label"]: ref for ref, r in api.call("role.get_all_records").items()}


def subject_for(api, sid, roles):
    """A subject for sid holding exactly roles (its default is pool-admin)."""
    subj = api.call("subject.create", {"subject_identifier": sid, "other_config": {}})
    refs = role_refs(api)
    for name in ROLES:
        if name in roles:
            r = api.raw("subject.add_to_roles", api.session, subj, refs[name])
        else:
            r = api.raw("subject.remove_from_roles", api.session, subj, refs[name])
        assert r["Status"] == "Success" or r["ErrorDescription"][0] in (
            "ROLE_ALREADY_EXISTS", "ROLE_NOT_FOUND"), r
    assert sorted(api.call("subject.get_roles", subj)) == sorted(refs[n] for n in roles)
    return subj


class User:
    """A session of an external user."""

    def __init__(self, h, name):
        self.proxy = h.proxy()
        r = self.proxy.session.login_with_password(name, PASSWORD, "1.0", "pam-test")
        self.session = ok(r)

    def raw(self, method, *args):
        fn = self.proxy
        for part in method.split("."):
            fn = getattr(fn, part)
        return fn(self.session, *args)


def test_pam_users_and_roles(accounts):
    with own_host("cxapi-pam-", "max-sessions=20\n") as h:
        root = Api(h)
        pool = root.call("pool.get_all")[0]
        host = root.call("host.get_all")[0]
        # Off: other users cannot log in at all, and auth.* says so.
        assert failure(login(h, READER))[0] == "SESSION_AUTHENTICATION_FAILED"
        assert root.fail("auth.get_subject_identifier", READER) == ["AUTH_IS_DISABLED"]
        assert root.fail("pool.enable_external_auth", pool, {}, "", "NIS")[0] == \
            "AUTH_UNKNOWN_TYPE"

        root.call("pool.enable_external_auth", pool, {}, "host-accounts", "PAM")
        assert root.call("host.get_external_auth_type", host) == "PAM"
        assert root.fail("pool.enable_external_auth", pool, {}, "", "PAM") == \
            ["POOL_AUTH_ALREADY_ENABLED", host]
        assert root.fail("host.enable_external_auth", host, {}, "", "PAM") == \
            ["AUTH_ALREADY_ENABLED", "PAM", "host-accounts"]

        # Upstream's PAM identifiers, details and groups.
        reader_sid = root.call("auth.get_subject_identifier", READER)
        assert reader_sid == "u%d" % pwd.getpwnam(READER).pw_uid
        group_sid = root.call("auth.get_subject_identifier", GROUP)
        assert group_sid == "g%d" % grp.getgrnam(GROUP).gr_gid
        info = root.call("auth.get_subject_information_from_identifier", reader_sid)
        assert info["subject-name"] == READER and info["subject-is-group"] == "false"
        assert root.call("auth.get_subject_information_from_identifier",
                         group_sid)["subject-is-group"] == "true"
        operator_sid = root.call("auth.get_subject_identifier", OPERATOR)
        assert group_sid in root.call("auth.get_group_membership", operator_sid)
        assert root.fail("auth.get_subject_identifier", PREFIX + "nobody") == \
            ["SUBJECT_CANNOT_BE_RESOLVED"]

        # Who may log in: right password but no subject; wrong password.
        r = failure(login(h, READER))
        assert r[0] == "SESSION_AUTHORIZATION_FAILED" and r[1] == READER, r
        assert failure(login(h, READER, "wrong"))[0] == "SESSION_AUTHENTICATION_FAILED"
        # A subject without roles: RBAC_PERMISSION_DENIED, as upstream.
        subject_for(root, reader_sid, [])
        assert failure(login(h, READER))[:1] == ["RBAC_PERMISSION_DENIED"]
        assert failure(login(h, STRANGER))[0] == "SESSION_AUTHORIZATION_FAILED"

        # The reader: reads everything it may, writes nothing, sees no
        # other session.
        readers = root.call("subject.get_by_uuid",
                            [s["uuid"] for s in root.call("subject.get_all_records").values()
                             if s["subject_identifier"] == reader_sid][0])
        root.call("subject.add_to_roles", readers, role_refs(root)["read-only"])
        ro = User(h, READER)
        vm = install(root, "rbac-vm")
        assert ok(ro.raw("VM.get_record", vm))["name_label"] == "rbac-vm"
        assert failure(ro.raw("VM.set_name_label", vm, "mine")) == \
            ["RBAC_PERMISSION_DENIED", "vm.set_name_label", "No permission in user session"]
        me = ok(ro.raw("session.get_record", ro.session))
        assert me["is_local_superuser"] is False and me["auth_user_name"] == READER
        assert me["auth_user_sid"] == reader_sid and me["subject"] == readers
        # Only root changes the root password.
        assert failure(ro.raw("session.change_password", PASSWORD, "x"))[0] == \
            "RBAC_PERMISSION_DENIED"
        root_uuid = root.call("session.get_uuid", root.session)
        assert failure(ro.raw("session.get_by_uuid", root_uuid))[0] == "UUID_INVALID"
        assert failure(ro.raw("session.get_record", root.session))[0] == "HANDLE_INVALID"
        assert failure(ro.raw("secret.get_all_records"))[0] == "RBAC_PERMISSION_DENIED"
        events = ok(ro.raw("event.from", ["session", "vm", "secret"], "", 0.0))["events"]
        sessions = {e["ref"] for e in events if e["class"] == "session"}
        assert sessions == {ro.session}, sessions
        assert any(e["class"] == "vm" for e in events)
        root.call("secret.create", {"value": "hidden", "other_config": {}})
        events = ok(ro.raw("event.from", ["secret"], "", 0.0))["events"]
        assert events == [], events

        # The operator, through its group: starts and stops, cannot destroy.
        subject_for(root, group_sid, ["vm-operator"])
        op = User(h, OPERATOR)
        assert ok(op.raw("VM.start", vm, False, False)) == ""
        assert ok(op.raw("VM.get_power_state", vm)) == "Running"
        assert ok(op.raw("VM.hard_shutdown", vm)) == ""
        assert failure(op.raw("VM.destroy", vm))[:2] == ["RBAC_PERMISSION_DENIED", "vm.destroy"]
        assert failure(op.raw("VM.set_name_label", vm, "x"))[0] == "RBAC_PERMISSION_DENIED"
        # Whose sessions live, and ending those of a group, as upstream.
        live = root.call("session.get_all_subject_identifiers")
        assert {reader_sid, operator_sid, group_sid} <= set(live), live
        root.call("session.logout_subject_identifier", group_sid)
        assert failure(op.raw("VM.get_power_state", vm))[0] == "SESSION_INVALID"
        assert ok(ro.raw("VM.get_power_state", vm)) == "Halted"
        assert group_sid not in root.call("session.get_all_subject_identifiers")

        # Every role against the sample.
        roller_sid = root.call("auth.get_subject_identifier", ROLLER)
        roller = None
        for i, role in enumerate(ROLES):
            if roller:
                root.call("subject.destroy", roller)
            roller = subject_for(root, roller_sid, [role])
            u = User(h, ROLLER)
            for method, args, least in SAMPLE:
                r = u.raw(method, *args)
                denied = r.get("Status") == "Failure" and \
                    r["ErrorDescription"][0] == "RBAC_PERMISSION_DENIED"
                assert denied == (i < ROLES.index(least)), (role, method, r)

        # A pool-admin (the roller's last role) sees other users' sessions;
        # a reader does not.
        admin = User(h, ROLLER)
        ok(admin.raw("session.get_record", root.session))

        # Roles follow the subjects at once: a role removed is gone from
        # the session, and a subject removed ends its users' sessions.
        refs = role_refs(root)
        root.call("subject.remove_from_roles", readers, refs["read-only"])
        root.call("subject.add_to_roles", readers, refs["vm-operator"])
        assert ok(ro.raw("VM.get_power_state", vm)) == "Halted"  # vm-operator reads too
        ok(ro.raw("VM.start", vm, False, False))
        ok(ro.raw("VM.hard_shutdown", vm))
        root.call("subject.destroy", roller)
        assert failure(admin.raw("pool.get_all"))[0] == "SESSION_INVALID"

        # However often a user logs in, root's sessions are not evicted to
        # make room (max-sessions is 20 here).
        for i in range(30):
            ok(h.proxy().session.login_with_password(READER, PASSWORD, "1.0", "flood-%d" % i))
        assert root.call("pool.get_all") == [pool]

        # Off again: the users' sessions end and they cannot log in.
        root.call("pool.disable_external_auth", pool, {})
        assert root.call("host.get_external_auth_type", host) == ""
        assert failure(ro.raw("VM.get_record", vm))[0] == "SESSION_INVALID"
        assert failure(login(h, READER))[0] == "SESSION_AUTHENTICATION_FAILED"
        assert root.fail("host.disable_external_auth", host, {}) == ["AUTH_IS_DISABLED"]


def test_xe_runs_as_the_logged_in_user(accounts):
    """xe's commands run with the user's roles: a reader lists, and its
    change is refused with RBAC_PERMISSION_DENIED, which a vm-operator
    may not do either, while the operator starts and stops a VM."""
    from test_cli import XE
    with own_host("cxapi-pam-xe-") as h:
        root = Api(h)
        pool = root.call("pool.get_all")[0]
        root.call("pool.enable_external_auth", pool, {}, "host-accounts", "PAM")
        subject_for(root, root.call("auth.get_subject_identifier", READER), ["read-only"])
        subject_for(root, root.call("auth.get_subject_identifier", OPERATOR), ["vm-operator"])
        vm = install(root, "xe-rbac")
        uuid = root.call("VM.get_uuid", vm)

        def xe(user, *args):
            return subprocess.run([XE, "-s", "127.0.0.1", "-p", str(h.port), "--nossl", "-u",
                                   user, "-pw", PASSWORD] + list(args),
                                  capture_output=True, text=True, timeout=60)

        r = xe(READER, "vm-list", "uuid=" + uuid, "params=name-label", "--minimal")
        assert (r.returncode, r.stdout) == (0, "xe-rbac\n"), r.stderr
        r = xe(READER, "vm-param-set", "uuid=" + uuid, "name-label=renamed")
        assert r.returncode == 1
        assert r.stderr.startswith("The session's roles do not allow this operation.\n")
        assert "vm.set_name_label" in r.stderr
        assert root.call("VM.get_name_label", vm) == "xe-rbac"
        r = xe(READER, "vm-start", "uuid=" + uuid)
        assert r.returncode == 1 and "vm.start" in r.stderr
        assert xe(OPERATOR, "vm-start", "uuid=" + uuid).returncode == 0
        assert root.call("VM.get_power_state", vm) == "Running"
        assert xe(OPERATOR, "vm-shutdown", "uuid=" + uuid, "--force").returncode == 0
        r = xe(OPERATOR, "vm-uninstall", "uuid=" + uuid, "--force")
        assert r.returncode == 1 and "vm.destroy" in r.stderr
        r = xe(OPERATOR, "vm-list", "uuid=" + uuid, "-pw", "wrong")
        assert r.returncode == 1 and r.stderr.startswith("Authentication failed")
