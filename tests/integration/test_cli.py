"""xe against a live host: build/xe for every command, output compared
with text laid out by the upstream format (docs/cli.md), and the thin
CLI protocol driven by tests/integration/thincli.py, a client written
from the protocol's description that shares nothing with build/xe."""

import os
import socket
import subprocess
import threading
import time

import pytest

import thincli
from conftest import BUILD, ok, wait_for

XE = os.path.join(BUILD, "xe")


def xe(host, *args, local=False, stdin=None, timeout=60, env=None):
    """Runs build/xe: over TCP as root, or (local) on the host's socket."""
    if local:
        cmd = [XE, "--state", host.state] + list(args)
    else:
        cmd = [XE, "-s", "127.0.0.1", "-p", str(host.port), "--nossl", "-u", "root",
               "-pw", host.password] + list(args)
    e = dict(os.environ, HOME=host.state)  # no ~/.xe of the tester's
    e.pop("XE_EXTRA_ARGS", None)
    e.update(env or {})
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=e)


def proto(host, *args, **kw):
    return thincli.run(("127.0.0.1", host.port),
                       list(args) + ["username=root", "password=" + host.password], **kw)


def record(pairs):
    """One record as upstream's CLI lays it out: the keys padded to the
    longest key plus four (the first on the right, the others on the
    left), and two empty lines after it on the terminal."""
    width = 4 + max(len(k) for k, _ in pairs)
    lines = []
    for i, (k, v) in enumerate(pairs):
        key = k.ljust(width) if i == 0 else k.rjust(width)
        lines.append("%s: %s" % (key, v))
    return "\n".join(lines) + "\n\n\n"


@pytest.fixture(scope="module")
def api(host):
    p = host.proxy()
    return p, host.login()


def dom0(p, s):
    vms = ok(p.VM.get_all_records(s))
    return [(r, v) for r, v in vms.items() if v["is_control_domain"]][0]


def new_vm(p, s, name):
    ref = ok(p.VM.create(s, {
        "name_label": name, "memory_static_max": "1073741824",
        "memory_dynamic_max": "1073741824", "memory_dynamic_min": "1073741824",
        "memory_static_min": "536870912", "VCPUs_max": "1", "VCPUs_at_startup": "1"}))
    return ref, ok(p.VM.get_uuid(s, ref))


# --- the protocol -----------------------------------------------------

def test_protocol_version_print_and_exit(host, api):
    r = proto(host, "host-list", "params=uuid")
    assert r.server_version == (0, 2)
    assert r.exit == 0
    kinds = [(k, t) for k, t, _ in r.messages]
    assert kinds[-1] == (thincli.COMMAND, thincli.EXIT)
    assert all(t == thincli.PRINT for _, t in kinds[:-1])
    p, s = api
    host_uuid = ok(p.host.get_uuid(s, ok(p.session.get_this_host(s, s))))
    assert r.stdout == record([("uuid ( RO)", host_uuid)])


def test_protocol_error_message_for_a_code_without_text(host, api):
    """A code xe has no sentence for travels as the Error message."""
    r = proto(host, "vm-param-get", "uuid=nope", "param-name=name-label")
    assert r.exit == 1
    assert r.stderr.startswith("No object of this class has the uuid.\n")
    assert "type: VM\nuuid: nope\n" in r.stderr
    p, s = api
    vm = dom0(p, s)[1]["uuid"]
    r = proto(host, "vm-param-get", "uuid=" + vm, "param-name=no-such-field")
    assert r.exit == 1
    errors = [f for k, t, f in r.messages if t == thincli.ERROR]
    assert errors == [["Missing parameter", ["no-such-field"]]], r.messages
    r = proto(host, "vm-list", "no-such-field=1")
    assert (r.exit, r.stderr) == (1, "Error: Unknown field 'no-such-field'\n")


def test_protocol_prompt_yes_and_no(host, api):
    p, s = api
    ref, uuid = new_vm(p, s, "prompted")
    r = proto(host, "vm-uninstall", "uuid=" + uuid, answer="no")
    assert r.exit == 0
    assert any(t == thincli.PROMPT for _, t, _ in r.messages)
    assert "Type 'yes' to continue" in r.stdout and "Aborted (you typed: 'no')" in r.stdout
    assert ok(p.VM.get_uuid(s, ref)) == uuid
    r = proto(host, "vm-uninstall", "uuid=" + uuid, answer=" YES ")
    assert r.exit == 0, r.stderr
    assert "All objects destroyed" in r.stdout
    assert p.VM.get_uuid(s, ref)["ErrorDescription"][0] == "HANDLE_INVALID"


def test_protocol_over_the_unix_socket_needs_no_password(host):
    r = thincli.run(host.sock_path, ["vm-list", "params=power-state", "--minimal"])
    assert r.exit == 0
    assert r.stdout == "running\n"


def test_protocol_session_id_line(host, api):
    p, s = api
    r = thincli.run(("127.0.0.1", host.port),
                    ["session_id=" + s, "host-list", "params=name-label", "--minimal"])
    assert r.exit == 0, r.stderr
    assert r.stdout.strip() == ok(p.host.get_name_label(s, ok(p.session.get_this_host(s, s))))
    r = thincli.run(("127.0.0.1", host.port), ["session_id=OpaqueRef:bogus", "host-list"])
    assert r.exit == 1
    assert "SESSION_INVALID" not in r.stdout and "session" in r.stderr.lower()


# --- output as upstream prints it ---------------------------------------

def test_vm_list_default_fields(host, api):
    p, s = api
    ref, vm = dom0(p, s)
    _, uuid = new_vm(p, s, "listed one")
    r = xe(host, "vm-list")
    assert r.returncode == 0, r.stderr
    assert record([("uuid ( RO)", vm["uuid"]), ("name-label ( RW)", vm["name_label"]),
                   ("power-state ( RO)", "running")]) in r.stdout
    assert record([("uuid ( RO)", uuid), ("name-label ( RW)", "listed one"),
                   ("power-state ( RO)", "halted")]) in r.stdout
    # templates are not VMs to vm-list
    assert "Debian Bookworm 12" not in r.stdout


def test_vm_list_filters_and_params(host, api):
    p, s = api
    _, uuid = new_vm(p, s, "filtered")
    r = xe(host, "vm-list", "name-label=filtered", "params=name-label,uuid,is-a-template")
    assert r.returncode == 0, r.stderr
    assert r.stdout == record([("uuid ( RO)", uuid), ("name-label ( RW)", "filtered"),
                               ("is-a-template ( RW)", "false")])
    r = xe(host, "vm-list", "name-label=nothing-called-so")
    assert r.returncode == 0 and r.stdout == ""


def test_minimal_escapes_commas_and_backslashes(host, api):
    p, s = api
    ref, _ = new_vm(p, s, "a,b\\c")
    ok(p.VM.add_to_other_config(s, ref, "cli-test", "minimal"))
    r = xe(host, "vm-list", "other-config:cli-test=minimal", "params=name-label", "--minimal")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "a\\,b\\\\c\n"
    r = xe(host, "template-list", "--minimal")
    uuids = r.stdout.strip().split(",")
    assert len(uuids) > 3 and all(len(u) == 36 for u in uuids)


def test_vm_param_list_layout(host, api):
    p, s = api
    ref, uuid = new_vm(p, s, "param-listed")
    ok(p.VM.add_to_other_config(s, ref, "k1", "v1"))
    ok(p.VM.add_to_other_config(s, ref, "k2", "v2"))
    ok(p.VM.add_tags(s, ref, "blue"))
    r = xe(host, "vm-param-list", "uuid=" + uuid)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    keys = [l.split(": ", 1)[0] for l in lines if ": " in l]
    width = max(len(k) for k in keys)
    assert all(len(k) == width for k in keys)  # padded to one column
    assert lines[0] == "uuid ( RO)".ljust(width) + ": " + uuid
    def line(k, v):
        return k.rjust(width) + ": " + v
    for want in [line("name-label ( RW)", "param-listed"),
                 line("power-state ( RO)", "halted"),
                 line("memory-static-max ( RW)", "1073741824"),
                 line("other-config (MRW)", "k1: v1; k2: v2"),
                 line("tags (SRW)", "blue"),
                 line("HVM-shadow-multiplier ( RW)", "1.000"),
                 line("ha-always-run ( RW) [DEPRECATED]", "false"),
                 line("resident-on ( RO)", "<not in database>")]:
        assert want in lines, want
    # the longest key sets the width: 4 more than it
    assert width == 4 + max(len(k.strip()) for k in keys)
    assert r.stdout.endswith("\n\n\n")


def test_host_param_get_with_a_map_key(host, api):
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    ok(p.host.add_to_other_config(s, h, "cli-key", "cli value"))
    uuid = ok(p.host.get_uuid(s, h))
    r = xe(host, "host-param-get", "uuid=" + uuid, "param-name=other-config",
           "param-key=cli-key")
    assert (r.returncode, r.stdout) == (0, "cli value\n"), r.stderr
    r = xe(host, "host-param-get", "uuid=" + uuid, "param-name=other-config",
           "param-key=absent")
    assert r.returncode == 1 and "absent" in r.stderr
    r = xe(host, "host-param-get", "uuid=" + uuid, "param-name=name-label")
    assert r.stdout == ok(p.host.get_name_label(s, h)) + "\n"


def test_param_set_add_remove_clear(host, api):
    p, s = api
    ref, uuid = new_vm(p, s, "settable")
    r = xe(host, "vm-param-set", "uuid=" + uuid, "name-label=renamed",
           "other-config:colour=green", "memory-static-max=2GiB", "VCPUs-max=2")
    assert r.returncode == 0, r.stderr
    rec = ok(p.VM.get_record(s, ref))
    assert rec["name_label"] == "renamed"
    assert rec["other_config"]["colour"] == "green"
    assert rec["memory_static_max"] == str(2 << 30) and rec["VCPUs_max"] == "2"
    assert xe(host, "vm-param-set", "uuid=" + uuid, "other-config:colour=red").returncode == 0
    assert ok(p.VM.get_other_config(s, ref))["colour"] == "red"
    assert xe(host, "vm-param-add", "uuid=" + uuid, "param-name=tags",
              "param-key=t1").returncode == 0
    assert xe(host, "vm-param-add", "uuid=" + uuid, "param-name=other-config",
              "a=1", "b=2").returncode == 0
    assert ok(p.VM.get_tags(s, ref)) == ["t1"]
    assert ok(p.VM.get_other_config(s, ref)) == {"colour": "red", "a": "1", "b": "2"}
    assert xe(host, "vm-param-remove", "uuid=" + uuid, "param-name=other-config",
              "param-key=a").returncode == 0
    r = xe(host, "vm-param-remove", "uuid=" + uuid, "param-name=tags", "param-key=nope")
    assert r.returncode == 1 and "Error: " in r.stderr
    assert xe(host, "vm-param-clear", "uuid=" + uuid, "param-name=other-config").returncode == 0
    assert xe(host, "vm-param-clear", "uuid=" + uuid,
              "param-name=name-description").returncode == 0
    rec = ok(p.VM.get_record(s, ref))
    assert rec["other_config"] == {} and rec["name_description"] == ""
    for bad, why in [("power-state=running", "read-only"), ("VCPUs-max=many", "integer"),
                     ("is-a-template=maybe", "true or false"), ("tags=x", "set")]:
        r = xe(host, "vm-param-set", "uuid=" + uuid, bad)
        assert r.returncode == 1 and why in r.stderr, (bad, r.stderr)


# --- explicit commands ---------------------------------------------------

def test_vm_install_start_shutdown_clone_uninstall(host, api):
    p, s = api
    # a template with disks needs an SR, and this host has none yet
    r = xe(host, "vm-install", "template=Debian Bookworm 12", "new-name-label=installed")
    assert r.returncode == 1
    assert r.stderr.startswith("The pool has no default SR, or it is gone.\n")
    assert xe(host, "vm-list", "name-label=installed").stdout == ""  # nothing left behind
    # a template of the operator's own, without disks
    tpl = ok(p.VM.clone(s, ok(p.VM.get_by_name_label(s, "Other install media"))[0], "diskless"))
    ok(p.VM.remove_from_other_config(s, tpl, "disks"))
    r = xe(host, "vm-install", "template=diskless", "new-name-label=installed")
    assert r.returncode == 0, r.stderr
    uuid = r.stdout.strip()
    ref = ok(p.VM.get_by_uuid(s, uuid))
    assert ok(p.VM.get_is_a_template(s, ref)) is False
    assert xe(host, "vm-start", "vm=installed").returncode == 0
    assert ok(p.VM.get_power_state(s, ref)) == "Running"
    r = xe(host, "vm-list", "uuid=" + uuid, "params=power-state", "--minimal")
    assert r.stdout == "running\n"
    r = xe(host, "vm-start", "vm=installed")
    assert r.returncode == 1
    assert "The VM is not in the power state the operation needs." in r.stderr
    assert "vm: " + uuid in r.stderr  # a ref in an error is shown as its uuid
    assert xe(host, "vm-pause", "uuid=" + uuid).returncode == 0
    assert xe(host, "vm-unpause", "uuid=" + uuid).returncode == 0
    assert xe(host, "vm-shutdown", "vm=" + uuid, "--force").returncode == 0
    assert ok(p.VM.get_power_state(s, ref)) == "Halted"
    r = xe(host, "vm-clone", "vm=installed", "new-name-label=cloned",
           "new-name-description=a copy")
    assert r.returncode == 0, r.stderr
    clone = ok(p.VM.get_by_uuid(s, r.stdout.strip()))
    assert ok(p.VM.get_name_description(s, clone)) == "a copy"
    r = xe(host, "vm-uninstall", "vm=cloned", "--force")
    assert r.returncode == 0 and "All objects destroyed" in r.stdout, r.stderr
    assert p.VM.get_uuid(s, clone)["ErrorDescription"][0] == "HANDLE_INVALID"


def test_selectors_none_several_and_multiple(host, api):
    p, s = api
    new_vm(p, s, "twin")
    new_vm(p, s, "twin")
    r = xe(host, "vm-start", "vm=nobody-has-this-name")
    assert r.returncode == 1 and r.stderr == "Error: No matching VMs found\n"
    r = xe(host, "vm-start", "name-label=twin")
    assert r.returncode == 1 and "--multiple" in r.stderr
    assert xe(host, "vm-start", "name-label=twin", "--multiple").returncode == 0
    r = xe(host, "vm-list", "name-label=twin", "params=power-state", "--minimal")
    assert r.stdout == "running,running\n"
    assert xe(host, "vm-shutdown", "name-label=twin", "--multiple", "--force").returncode == 0
    # the control domain is never selected
    r = xe(host, "vm-shutdown", "is-control-domain=true", "--force")
    assert r.returncode == 1 and "No matching VMs" in r.stderr


def test_memory_limits_and_vif_disk_lists(host, api):
    p, s = api
    ref, uuid = new_vm(p, s, "limits")
    r = xe(host, "vm-memory-limits-set", "uuid=" + uuid, "static-min=256MiB",
           "static-max=2GiB", "dynamic-min=512MiB", "dynamic-max=1GiB")
    assert r.returncode == 0, r.stderr
    rec = ok(p.VM.get_record(s, ref))
    assert (rec["memory_static_min"], rec["memory_dynamic_max"]) == (str(256 << 20),
                                                                     str(1 << 30))
    net = ok(p.network.create(s, {"name_label": "cli-net"}))
    vif = ok(p.VIF.create(s, {"device": "0", "network": net, "VM": ref, "MAC": "",
                              "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                              "qos_algorithm_params": {}}))
    r = xe(host, "vm-vif-list", "uuid=" + uuid)
    assert r.returncode == 0, r.stderr
    assert ok(p.VIF.get_uuid(s, vif)) in r.stdout
    assert "network-name-label ( RO): cli-net" in r.stdout
    r = xe(host, "vm-disk-list", "uuid=" + uuid)
    assert (r.returncode, r.stdout) == (0, "")


def test_task_message_and_event_wait(host, api):
    p, s = api
    r = xe(host, "message-create", "name=CLI_TEST", "priority=3", "body=from xe",
           "host-uuid=" + ok(p.host.get_uuid(s, ok(p.session.get_this_host(s, s)))))
    assert r.returncode == 0, r.stderr
    r = xe(host, "message-list", "name=CLI_TEST", "params=body", "--minimal")
    assert r.stdout == "from xe\n"
    task = ok(p.task.create(s, "cli-task", "cancel me"))
    tuuid = ok(p.task.get_uuid(s, task))
    r = xe(host, "task-list", "uuid=" + tuuid, "params=status", "--minimal")
    assert r.stdout == "pending\n"
    # event-wait returns once a VM of that name exists
    out = {}
    t = threading.Thread(target=lambda: out.update(r=xe(host, "event-wait", "class=vm",
                                                          "name-label=awaited")))
    t.start()
    time.sleep(1.0)
    assert t.is_alive()
    new_vm(p, s, "awaited")
    t.join(30)
    assert not t.is_alive() and out["r"].returncode == 0, out
    # and at once when it already holds; /= negates
    assert xe(host, "event-wait", "class=vm", "name-label=awaited").returncode == 0
    assert xe(host, "event-wait", "class=vm", "name-label=awaited",
              "power-state=/=running").returncode == 0


def test_help(host):
    r = xe(host, "help")
    assert r.returncode == 0 and "vm-start" in r.stdout and "vm-param-list" not in r.stdout
    r = xe(host, "help", "--all")
    assert "vm-param-list" in r.stdout and "host-cpu-list" in r.stdout
    r = xe(host, "help", "vm-start")
    assert r.returncode == 0
    assert "reqd params     : \n" in r.stdout
    assert "optional params : force, on, paused, <vm-selectors>" in r.stdout
    r = xe(host, "help", "--all", "--minimal")
    assert "vm-start" in r.stdout.strip().split(",")


# --- errors ------------------------------------------------------------

def test_usage_errors(host):
    r = xe(host, "no-such-command")
    assert (r.returncode, r.stderr) == (1, "Unknown command: no-such-command\n"
                                           "For usage run: 'xe help'\n")
    r = xe(host, "vm-param-get", "uuid=x")
    assert r.returncode == 1
    assert r.stderr.startswith("Required parameter not found: param-name\n")
    r = xe(host, "vm-list", "-z", "1")
    assert r.returncode == 1 and "Unknown switch: -z" in r.stderr


def test_wrong_password_and_no_server(host):
    r = subprocess.run([XE, "-s", "127.0.0.1", "-p", str(host.port), "--nossl", "-u", "root",
                        "-pw", "wrong", "vm-list"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == "Authentication failed\nFor usage run: 'xe help'\n"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    r = subprocess.run([XE, "-s", "127.0.0.1", "-p", str(dead), "--nossl", "vm-list"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Unable to contact server" in r.stderr


def test_local_xe_needs_no_password(host, api):
    r = xe(host, "host-list", "params=uuid", "--minimal", local=True)
    assert r.returncode == 0, r.stderr
    p, s = api
    assert r.stdout.strip() == ok(p.host.get_uuid(s, ok(p.session.get_this_host(s, s))))
    r = subprocess.run([XE, "host-list", "--minimal"], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, XE_STATE=host.state, HOME=host.state))
    assert r.returncode == 0, r.stderr


def test_rc_file_and_extra_args(host):
    with open(os.path.join(host.state, ".xe"), "w") as f:
        f.write("server=127.0.0.1\nport=%d\nnossl=true\nusername=root\npassword=%s\n"
                % (host.port, host.password))
    env = dict(os.environ, HOME=host.state)
    r = subprocess.run([XE, "host-list", "--minimal"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    # the command line wins over ~/.xe, and XE_EXTRA_ARGS sits between
    env["XE_EXTRA_ARGS"] = "password=wrong"
    r = subprocess.run([XE, "host-list"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1 and "Authentication failed" in r.stderr
    r = subprocess.run([XE, "-pw", host.password, "host-list", "--minimal"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    os.unlink(os.path.join(host.state, ".xe"))


def test_password_file(host, tmp_path):
    pwf = tmp_path / "pw"
    pwf.write_text("root\n%s\n" % host.password)
    r = subprocess.run([XE, "-s", "127.0.0.1", "-p", str(host.port), "--nossl", "-pwf",
                        str(pwf), "host-list", "--minimal"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# --- malformed conversations ---------------------------------------------

def raw(host, data, read=True):
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as s:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
        return out


def still_serving(host):
    r = xe(host, "host-list", "params=uuid", "--minimal")
    return r.returncode == 0


def test_binary_garbage_and_a_bad_hello(host):
    garbage = bytes(range(256)) * 8
    req = b"POST /cli HTTP/1.0\r\ncontent-length: %d\r\n\r\n" % len(garbage) + garbage
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as s:
        s.sendall(req)
        major, _ = thincli.hello(s)
        assert major == 0
        kind, tag, fields = thincli.read_message(s)
        while tag != thincli.EXIT:
            kind, tag, fields = thincli.read_message(s)
        assert fields == [1]
    # a client whose hello is not the protocol's is dropped
    req = thincli.request(["vm-list"])
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as s:
        s.sendall(req)
        thincli.read_exact(s, len(thincli.PREFIX) + 8)
        s.sendall(b"GET / HTTP/1.1\r\n\r\n" + b"x" * 20)
        assert s.recv(100) == b""
    assert still_serving(host)


def test_ten_megabyte_command_line(host):
    """Refused from its length, before the body is read; and a body that
    says nothing of its length is cut off at the limit."""
    big = thincli.request(["vm-list"] + ["name-label=" + "x" * 1024] * 10240)
    head, body = big.split(b"\r\n\r\n", 1)
    assert len(body) > 10 << 20
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as s:
        s.sendall(head + b"\r\n\r\n")
        out = s.recv(4096)
    assert out.startswith(b"HTTP/1.1 413"), out[:100]
    chunked = head.replace(b"content-length: %d" % len(body), b"Transfer-Encoding: chunked")
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as s:
        s.sendall(chunked + b"\r\n\r\n")
        try:
            for i in range(0, len(body), 1 << 16):
                piece = body[i:i + (1 << 16)]
                s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = s.recv(4096)
    assert out.startswith(b"HTTP/1.1 413"), out[:100]
    assert still_serving(host)


def test_client_vanishes_mid_conversation(host):
    for cut in ("before-hello", "after-hello", "at-prompt"):
        args = ["vm-uninstall", "vm=nobody"] if cut != "at-prompt" else ["help"]
        with socket.create_connection(("127.0.0.1", host.port), timeout=10) as s:
            s.sendall(thincli.request(args + ["username=root", "password=x"]))
            if cut != "before-hello":
                thincli.hello(s)
    assert still_serving(host)


def test_unknown_tag_in_an_answer(host, api):
    p, s = api
    _, uuid = new_vm(p, s, "tagged")
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(thincli.request(["vm-uninstall", "uuid=" + uuid, "username=root",
                                      "password=" + host.password]))
        thincli.hello(sock)
        while True:
            kind, tag, _ = thincli.read_message(sock)
            if tag == thincli.PROMPT:
                break
        sock.sendall(thincli.frame(thincli.i32(11), thincli.i32(99)))  # Blob of tag 99
        rest = b""
        while True:
            b = sock.recv(4096)
            if not b:
                break
            rest += b
    assert ok(p.VM.get_uuid(s, ok(p.VM.get_by_uuid(s, uuid)))) == uuid  # not destroyed
    assert still_serving(host)


# --- uploads and downloads: blobs ----------------------------------------

def http_exchange(host, method, url, body=b""):
    """One HTTP/1.0 request on a new connection, as xe makes for HttpPut
    and HttpGet: (status, body). A PUT sends its body only once the
    response's head has come, as upstream's xe does."""
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as s:
        head = "%s %s HTTP/1.0\r\n" % (method, url)
        if method == "PUT":
            head += "Content-Length: %d\r\n" % len(body)
        s.sendall((head + "\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            b = s.recv(4096)
            assert b, data
            data += b
        status = int(data.split(b" ", 2)[1])
        rest = data.split(b"\r\n\r\n", 1)[1]
        if method == "PUT" and status == 200:
            s.sendall(body)
            s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(65536)
            if not b:
                break
            rest += b
        return status, rest


def test_protocol_http_put_and_get(host, api):
    """blob-put and blob-get through the protocol's HttpPut and HttpGet,
    answered by the test's own client."""
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    r = proto(host, "blob-create", "name=notes", "mime-type=text/plain",
              "host-uuid=" + ok(p.host.get_uuid(s, h)))
    assert r.exit == 0, r.stderr
    uuid = r.stdout.strip()
    payload = os.urandom(200000)
    seen = []

    def answer(sock, tag, fields):
        seen.append((tag, fields[0]))
        if tag == thincli.HTTP_PUT:
            status, _ = http_exchange(host, "PUT", fields[1], payload)
        else:
            status, body = http_exchange(host, "GET", fields[1])
            assert body == payload
        sock.sendall(thincli.response(thincli.OK if status == 200 else thincli.FAILED))

    r = proto(host, "blob-put", "uuid=" + uuid, "filename=/some/file", on_command=answer)
    assert r.exit == 0, r.stderr
    r = proto(host, "blob-get", "uuid=" + uuid, "filename=/other/file", on_command=answer)
    assert r.exit == 0, r.stderr
    assert seen == [(thincli.HTTP_PUT, "/some/file"), (thincli.HTTP_GET, "/other/file")]
    blob = ok(p.blob.get_by_uuid(s, uuid))
    assert ok(p.blob.get_size(s, blob)) == str(len(payload))
    assert ok(p.host.get_blobs(s, h)) == {"notes": blob}
    # a client that fails the upload fails the command
    r = proto(host, "blob-put", "uuid=" + uuid, "filename=/x")
    assert r.exit == 1 and "did not complete" in r.stderr


def test_xe_blob_put_and_get(host, api, tmp_path):
    p, s = api
    vm, vm_uuid = new_vm(p, s, "with-a-blob")
    r = xe(host, "blob-create", "name=icon", "mime-type=image/png", "vm-uuid=" + vm_uuid)
    assert r.returncode == 0, r.stderr
    uuid = r.stdout.strip()
    src, dst = tmp_path / "in.bin", tmp_path / "out.bin"
    src.write_bytes(os.urandom(3 << 20))
    assert xe(host, "blob-put", "uuid=" + uuid, "filename=%s" % src).returncode == 0
    assert xe(host, "blob-get", "uuid=" + uuid, "filename=%s" % dst).returncode == 0
    assert dst.read_bytes() == src.read_bytes()
    # xe writes only a file named on its command line, and never over one
    r = xe(host, "blob-get", "uuid=" + uuid, "filename=%s" % dst)
    assert r.returncode == 1
    blob = ok(p.blob.get_by_uuid(s, uuid))
    assert ok(p.blob.get_mime_type(s, blob)) == "image/png"
    r = xe(host, "vm-param-get", "uuid=" + vm_uuid, "param-name=blobs")
    assert r.stdout == "icon: %s\n" % uuid


def test_blob_http_access(host, api):
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    private = ok(p.host.create_new_blob(s, h, "private", "text/plain", False))
    public = ok(p.host.create_new_blob(s, h, "public", "text/plain", True))
    for b in (private, public):
        assert http_exchange(host, "PUT", "/blob?ref=%s&session_id=%s" % (b, s),
                             b"data of " + b.encode())[0] == 200
    assert http_exchange(host, "GET", "/blob?ref=" + private)[0] == 403
    assert http_exchange(host, "PUT", "/blob?ref=" + public, b"x")[0] == 403
    assert http_exchange(host, "GET", "/blob?ref=" + public) == (200, b"data of " +
                                                                 public.encode())
    assert http_exchange(host, "GET", "/blob?ref=OpaqueRef:none&session_id=" + s)[0] == 404
    # an upload that breaks off leaves the blob as it was
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(b"PUT /blob?ref=%s&session_id=%s HTTP/1.0\r\nContent-Length: 1000\r\n\r\n"
                     % (private.encode(), s.encode()))
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
        sock.sendall(b"partial")
    wait_for(lambda: ok(p.blob.get_size(s, private)) == str(len("data of ") + len(private)))
    status, body = http_exchange(host, "GET", "/blob?ref=%s&session_id=%s" % (private, s))
    assert (status, body) == (200, b"data of " + private.encode())
    ok(p.blob.destroy(s, private))
    assert "private" not in ok(p.host.get_blobs(s, h))


def test_progress_bar_on_a_terminal(host, api, tmp_path):
    """On a terminal, an upload or download of more than a MiB draws a
    bar on stderr; piped, it draws nothing (see the tests above)."""
    import pty
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    blob = ok(p.host.create_new_blob(s, h, "big", "", False))
    uuid = ok(p.blob.get_uuid(s, blob))
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(4 << 20))
    master, slave = pty.openpty()
    cmd = [XE, "-s", "127.0.0.1", "-p", str(host.port), "--nossl", "-u", "root", "-pw",
           host.password, "blob-put", "uuid=" + uuid, "filename=%s" % src]
    r = subprocess.run(cmd, stderr=slave, stdout=subprocess.PIPE, timeout=60)
    os.close(slave)
    seen = b""
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b:
            break
        seen += b
    os.close(master)
    assert r.returncode == 0
    assert b"] 100%" in seen and b"[#" in seen, seen[-200:]
    assert ok(p.blob.get_size(s, blob)) == str(4 << 20)


def test_bash_completion(host, api):
    """cli/xe-completion.bash, sourced into bash, completes commands,
    parameter names and values by asking the host."""
    from conftest import REPO
    p, s = api
    _, uuid = new_vm(p, s, "completed")
    script = r'''
source "%s/cli/xe-completion.bash"
comp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _xe; printf '%%s\n' "${COMPREPLY[@]}"; echo --; }
X=(%s --state %s)
comp "${X[@]}" vm-sta
comp "${X[@]}" vm-shutdown ""
comp "${X[@]}" vm-param-list uuid=%s
comp "${X[@]}" vm-start vm=comp
comp "${X[@]}" vm-param-get param-name=power
''' % (REPO, XE, host.state, uuid[:8], )
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    parts = r.stdout.split("--\n")
    assert parts[0].split() == ["vm-start"]
    assert parts[1].split() == ["force="]
    assert parts[2].split() == ["uuid=" + uuid]
    assert parts[3].strip() == "vm=completed"
    assert parts[4].split() == ["param-name=power-state"]


def test_install_puts_xe_and_its_completion_in_place(tmp_path):
    """The install rules make install runs (meson install), staged."""
    r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir",
                        str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    found = {os.path.relpath(os.path.join(d, f), tmp_path)
             for d, _, fs in os.walk(tmp_path) for f in fs}
    assert any(f.endswith("bin/xe") for f in found), found
    assert any(f.endswith("bash-completion/completions/xe") for f in found), found
    xe_bin = [os.path.join(tmp_path, f) for f in found if f.endswith("bin/xe")][0]
    r = subprocess.run([xe_bin, "-version"], capture_output=True, text=True, timeout=10)
    assert r.stdout == "ThinCLI protocol: 0.2\n"


# --- fixtures: the upstream layout, byte for byte ------------------------

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "cli")


def fixture(file_name, **values):
    with open(os.path.join(FIXTURES, file_name)) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace("{%s}" % k, v)
    assert "{" not in text, text
    return text


def test_fixtures(host, api):
    p, s = api
    ref, uuid = new_vm(p, s, "fixture vm")
    r = xe(host, "vm-list", "uuid=" + uuid)
    assert r.stdout == fixture("vm-list.txt", uuid=uuid, name="fixture vm", power="halted")
    pool = ok(p.pool.get_all(s))[0]
    prec = ok(p.pool.get_record(s, pool))
    master = ok(p.host.get_uuid(s, prec["master"]))
    r = xe(host, "pool-list")
    assert r.stdout == fixture("pool-list.txt", uuid=prec["uuid"], name=prec["name_label"],
                               description=prec["name_description"], master=master)
    r = xe(host, "vm-param-list", "uuid=no-such-vm")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == fixture("error-uuid-invalid.txt", uuid="no-such-vm")
    r = xe(host, "vm-param-get", "uuid=" + uuid, "param-name=not-a-field")
    assert r.stderr == fixture("error-missing-parameter.txt", name="not-a-field")
    ref2, _ = new_vm(p, s, "a,b\\c")
    ref3, _ = new_vm(p, s, "plain")
    for r_ in (ref2, ref3):
        ok(p.VM.add_to_other_config(s, r_, "fixture", "escaped"))
    # objects are listed in the order they were made
    r = xe(host, "vm-list", "other-config:fixture=escaped", "params=name-label", "--minimal")
    assert r.stdout == fixture("minimal-escaped.txt")
    ok(p.pool.add_to_other_config(s, pool, "fixture-key", "fixture value"))
    r = xe(host, "pool-param-get", "uuid=" + prec["uuid"], "param-name=other-config",
           "param-key=fixture-key")
    assert r.stdout == fixture("param-get-map-key.txt", value="fixture value")
    r = xe(host, "help", "vm-shutdown")
    assert r.stdout == fixture(
        "help-vm-shutdown.txt",
        description="Shuts the selected VMs down (--force: at once). The VMs are selected "
                    "by field=value (the pseudo-field vm matches a uuid or a name-label); where "
                    "several match, --multiple acts on all of them.")


def test_more_vm_commands(host, api):
    p, s = api
    ref, uuid = new_vm(p, s, "lifecycle")
    assert xe(host, "vm-start", "uuid=" + uuid).returncode == 0
    assert xe(host, "vm-reboot", "uuid=" + uuid, "--force").returncode == 0
    assert ok(p.VM.get_power_state(s, ref)) == "Running"
    r = xe(host, "vm-vcpu-hotplug", "uuid=" + uuid, "new-vcpus=1")
    assert r.returncode == 0, r.stderr
    assert xe(host, "vm-suspend", "uuid=" + uuid).returncode == 0
    assert ok(p.VM.get_power_state(s, ref)) == "Suspended"
    assert xe(host, "vm-resume", "uuid=" + uuid).returncode == 0
    assert ok(p.VM.get_power_state(s, ref)) == "Running"
    assert xe(host, "vm-reboot", "uuid=" + uuid).returncode == 0  # the simulated guest helps
    assert ok(p.VM.get_power_state(s, ref)) == "Running"
    assert xe(host, "vm-shutdown", "uuid=" + uuid).returncode == 0
    assert ok(p.VM.get_power_state(s, ref)) == "Halted"
    assert xe(host, "vm-start", "uuid=" + uuid).returncode == 0
    assert xe(host, "vm-shutdown", "uuid=" + uuid, "--force").returncode == 0
    r = xe(host, "vm-copy", "uuid=" + uuid, "new-name-label=copied")
    assert r.returncode == 0, r.stderr
    copy = ok(p.VM.get_by_uuid(s, r.stdout.strip()))
    assert ok(p.VM.get_name_label(s, copy)) == "copied"
    r = xe(host, "vm-copy", "uuid=" + uuid, "new-name-label=x", "sr-uuid=no-such-sr")
    assert r.returncode == 1 and "no SR has the uuid" in r.stderr


def test_host_pool_and_task_commands(host, api):
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    huuid = ok(p.host.get_uuid(s, h))
    r = xe(host, "host-param-list", "uuid=" + huuid)
    assert r.returncode == 0 and r.stdout.startswith("uuid ( RO)")
    assert "name-label ( RW): " + ok(p.host.get_name_label(s, h)) in r.stdout
    pool = ok(p.pool.get_all(s))[0]
    puuid = ok(p.pool.get_uuid(s, pool))
    assert xe(host, "pool-param-set", "uuid=" + puuid, "name-label=cli pool").returncode == 0
    assert ok(p.pool.get_name_label(s, pool)) == "cli pool"
    r = xe(host, "pool-param-get", "uuid=" + puuid, "param-name=name-label")
    assert r.stdout == "cli pool\n"
    task = ok(p.task.create(s, "cli-cancel", ""))
    tuuid = ok(p.task.get_uuid(s, task))
    r = xe(host, "task-cancel", "uuid=" + tuuid)
    assert r.returncode == 0, r.stderr
    assert ok(p.task.get_status(s, task)) == "cancelled"
    r = xe(host, "task-cancel", "uuid=no-such-task")
    assert r.returncode == 1 and "no task has the uuid" in r.stderr


def test_stop_ends_a_conversation_waiting_on_its_client():
    """xapi's stop does not wait for a person who never answers a Prompt."""
    from conftest import own_host
    with own_host("cxapi-cli-stop-") as h:
        p = h.proxy()
        s = h.login()
        _, uuid = new_vm(p, s, "never answered")
        sock = socket.create_connection(("127.0.0.1", h.port), timeout=30)
        sock.sendall(thincli.request(["vm-uninstall", "uuid=" + uuid, "username=root",
                                      "password=" + h.password]))
        thincli.hello(sock)
        while thincli.read_message(sock)[1] != thincli.PROMPT:
            pass
        t0 = time.monotonic()
        r = h.stop()
        assert r.returncode == 0, r.stderr
        assert time.monotonic() - t0 < 20
        assert sock.recv(100) == b""  # the host hung up
        sock.close()


def test_progress_of_a_long_call(host, api):
    """--progress runs the call as a task and draws its progress on the
    client's stderr, as upstream's does; the task is gone afterwards."""
    p, s = api
    ref, uuid = new_vm(p, s, "progressing")
    tasks_before = set(ok(p.task.get_all(s)))
    r = proto(host, "vm-start", "uuid=" + uuid, "--progress")
    assert r.exit == 0, r.stderr
    bars = [f[0] for k, t, f in r.messages if t == thincli.PRINT_STDERR]
    assert bars[0].startswith("\r   0% ") and bars[-2].startswith("\r 100% ")
    assert bars[-2].endswith("#" * 70) and bars[-1] == "\n"
    assert ok(p.VM.get_power_state(s, ref)) == "Running"
    assert set(ok(p.task.get_all(s))) == tasks_before
    r = proto(host, "vm-start", "uuid=" + uuid, "--progress")
    assert r.exit == 1 and "The VM is not in the power state" in r.stderr
    assert set(ok(p.task.get_all(s))) == tasks_before
    r = proto(host, "vm-clone", "uuid=" + uuid, "new-name-label=x", "--progress")
    assert r.exit == 1
    assert xe(host, "vm-shutdown", "uuid=" + uuid, "--force", "--progress").returncode == 0
    r = xe(host, "vm-clone", "uuid=" + uuid, "new-name-label=progress clone", "--progress")
    assert r.returncode == 0, r.stderr
    clone = ok(p.VM.get_by_uuid(s, r.stdout.strip()))
    assert ok(p.VM.get_name_label(s, clone)) == "progress clone"
    assert "100%" in r.stderr


# --- what the reviews found ----------------------------------------------

def test_concurrent_uploads_of_one_blob_do_not_mix(host, api):
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    blob = ok(p.host.create_new_blob(s, h, "raced", "text/plain", False))
    url = "/blob?ref=%s&session_id=%s" % (blob, s)
    socks = []
    for body in (b"A" * 100, b"B" * 10):
        sock = socket.create_connection(("127.0.0.1", host.port), timeout=10)
        sock.sendall(b"PUT %s HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % (url.encode(), len(body)))
        assert sock.recv(100).startswith(b"HTTP/1.1 200")
        socks.append((sock, body))
    socks[0][0].sendall(socks[0][1])  # A first, whole
    socks[0][0].shutdown(socket.SHUT_WR)
    socks[0][0].recv(100)
    socks[1][0].sendall(socks[1][1])
    socks[1][0].shutdown(socket.SHUT_WR)
    socks[1][0].recv(100)
    for sock, _ in socks:
        sock.close()
    status, data = http_exchange(host, "GET", url)
    assert status == 200 and data == b"B" * 10
    assert ok(p.blob.get_size(s, blob)) == "10"


def test_a_mime_type_cannot_inject_headers(host, api):
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    r = p.host.create_new_blob(s, h, "evil", "text/html\r\nSet-Cookie: x=1", True)
    assert r["ErrorDescription"][:2] == ["INVALID_VALUE", "mime_type"], r
    r = p.blob.create(s, "a\nb", True)
    assert r["ErrorDescription"][0] == "INVALID_VALUE", r


def test_uploads_say_their_length_and_pipes_are_chunked(host, api):
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    blob = ok(p.host.create_new_blob(s, h, "piped", "", False))
    url = "/blob?ref=%s&session_id=%s" % (blob, s)
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(b"PUT %s HTTP/1.0\r\n\r\n" % url.encode())
        assert sock.recv(100).startswith(b"HTTP/1.1 411")
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(b"PUT %s HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % (url.encode(), 1 << 30))
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    uuid = ok(p.blob.get_uuid(s, blob))
    data = "".join("line %d\n" % i for i in range(1000))
    r = xe(host, "blob-put", "uuid=" + uuid, "filename=/dev/stdin", stdin=data)
    assert r.returncode == 0, r.stderr
    assert ok(p.blob.get_size(s, blob)) == str(len(data))
    assert http_exchange(host, "GET", url) == (200, data.encode())


def test_a_client_not_saying_hello_is_dropped_and_cannot_crowd_others(host):
    silent = []
    for _ in range(40):  # more than one address may hold
        sock = socket.create_connection(("127.0.0.1", host.port), timeout=30)
        sock.sendall(thincli.request(["help"]))
        silent.append(sock)
    # the local socket, and another address, still get in
    assert xe(host, "help", local=True).returncode == 0
    r = thincli.run(("127.0.0.1", host.port), ["help"], source="127.0.0.2")
    assert r.exit == 0
    with pytest.raises(EOFError):  # but not the address that holds 40 already
        thincli.run(("127.0.0.1", host.port), ["help"])
    t0 = time.monotonic()
    for sock in silent:
        sock.settimeout(30)
        while True:
            try:
                if not sock.recv(4096):
                    break
            except ConnectionResetError:
                break
        sock.close()
    assert time.monotonic() - t0 < 25  # dropped after the hello's 10 s


def test_hello_sent_with_the_request(host):
    """A client that sends its hello without waiting for the host's."""
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(thincli.request(["help", "--minimal"]) + thincli.PREFIX +
                     thincli.i32(0) + thincli.i32(2))
        assert thincli.read_exact(sock, len(thincli.PREFIX) + 8).startswith(thincli.PREFIX)
        tags = []
        while not tags or tags[-1] != thincli.EXIT:
            tags.append(thincli.read_message(sock)[1])
    assert tags[-1] == thincli.EXIT


def test_vm_start_on_a_host_and_resume_on(host, api):
    p, s = api
    ref, uuid = new_vm(p, s, "placed")
    h = ok(p.session.get_this_host(s, s))
    r = xe(host, "vm-start", "vm=placed", "on=" + ok(p.host.get_name_label(s, h)))
    assert r.returncode == 0, r.stderr
    assert ok(p.VM.get_resident_on(s, ref)) == h
    assert xe(host, "vm-suspend", "uuid=" + uuid).returncode == 0
    r = xe(host, "vm-resume", "uuid=" + uuid, "on=" + ok(p.host.get_uuid(s, h)))
    assert r.returncode == 0, r.stderr
    assert ok(p.VM.get_power_state(s, ref)) == "Running"
    assert xe(host, "vm-shutdown", "uuid=" + uuid, "--force").returncode == 0


def test_secrets_stay_out_of_the_log(host):
    xe(host, "user-password-change", "old=oldsecretpw", "new=newsecretpw")
    xe(host, "vm-list", "url=http://u:urlsecret@x/")
    with open(os.path.join(host.state, "log", "xapi.log")) as f:
        log = f.read()
    for secret in ("oldsecretpw", "newsecretpw", "urlsecret", host.password):
        assert secret not in log


def test_upstream_details(host, api):
    p, s = api
    # --multiple: each failure on stdout, "operation failed on UUID: ...", exit 1
    _, u1 = new_vm(p, s, "multi")
    r2, u2 = new_vm(p, s, "multi")
    ok(p.VM.start(s, r2, False, False))
    r = xe(host, "vm-start", "name-label=multi", "--multiple")
    assert r.returncode == 1
    assert ("operation failed on %s: The VM is not in the power state the operation needs.\n"
            "vm: %s (multi)\nexpected: halted\nactual: running\n" % (u2, u2)) in r.stdout
    assert "operation failed on " + u1 not in r.stdout
    xe(host, "vm-shutdown", "name-label=multi", "--multiple", "--force")
    # booleans as upstream reads them
    assert xe(host, "vm-start", "name-label=multi", "multiple=yes").returncode == 0
    r = xe(host, "vm-shutdown", "name-label=multi", "multiple=1", "force=maybe")
    assert r.returncode == 1 and "must be true or false" in r.stderr
    assert xe(host, "vm-shutdown", "name-label=multi", "multiple=1", "force=y").returncode == 0
    # --minimal prints only the values
    ref, uuid = new_vm(p, s, "disked")
    r = xe(host, "vm-disk-list", "uuid=" + uuid, "--minimal")
    assert r.stdout == "\n"
    r = xe(host, "vm-param-set", "uuid=" + uuid, "VCPUs-max=0")
    assert (r.returncode, r.stderr) == (1, "A value given is not one the field accepts.\n"
                                           "field: VCPUs_max\nvalue: 0\n")
    # commands a class cannot have are not made
    assert xe(host, "host-cpu-param-set", "uuid=x").stderr.startswith("Unknown command")
    r = xe(host, "help", "vm-list")
    assert "database:" in r.stdout and "tags:contains" in r.stdout
    # an empty record: three newlines, as upstream
    r = xe(host, "vm-list", "uuid=" + uuid, "params=no-such-field")
    assert r.stdout == "\n\n\n"


def test_enums_as_upstream_shows_them(host, api):
    p, s = api
    ref = ok(p.VM.create(s, {
        "name_label": "enumerated", "memory_static_max": "1073741824",
        "memory_dynamic_max": "1073741824", "memory_dynamic_min": "1073741824",
        "memory_static_min": "536870912", "VCPUs_max": "1", "VCPUs_at_startup": "1",
        "actions_after_crash": "coredump_and_restart"}))
    uuid = ok(p.VM.get_uuid(s, ref))
    get = lambda name: xe(host, "vm-param-get", "uuid=" + uuid, "param-name=" + name).stdout
    assert get("actions-after-crash") == "Core dump and restart\n"
    assert get("actions-after-shutdown") == "Destroy\n"
    assert get("power-state") == "halted\n"
    r = xe(host, "console-list", "params=protocol", "--minimal")
    assert set(r.stdout.strip().split(",")) <= {"RFB", "VT100", "RDP"}, r.stdout
    task = ok(p.task.create(s, "enum-task", ""))
    r = xe(host, "task-list", "uuid=" + ok(p.task.get_uuid(s, task)), "params=status",
           "--minimal")
    assert r.stdout == "pending\n"


def test_mac_filters_ignore_case(host, api):
    p, s = api
    ref, uuid = new_vm(p, s, "mac")
    net = ok(p.network.create(s, {"name_label": "mac-net"}))
    vif = ok(p.VIF.create(s, {"device": "0", "network": net, "VM": ref, "MAC": "aa:bb:cc:00:11:22",
                              "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                              "qos_algorithm_params": {}}))
    r = xe(host, "vif-list", "MAC=AA:BB:CC:00:11:22", "--minimal")
    assert r.stdout == ok(p.VIF.get_uuid(s, vif)) + "\n"
    r = xe(host, "vm-list", "name-label=MAC", "--minimal")  # other fields keep their case
    assert r.stdout == "\n"


def test_older_map_key_syntax(host, api):
    """name-key=value, as upstream still takes beside name:key=value."""
    p, s = api
    ref, uuid = new_vm(p, s, "legacy")
    assert xe(host, "vm-param-set", "uuid=" + uuid, "other-config-legacy-key=v1").returncode == 0
    assert ok(p.VM.get_other_config(s, ref))["legacy-key"] == "v1"
    r = xe(host, "vm-list", "other-config-legacy-key=v1", "--minimal")
    assert r.stdout == uuid + "\n"


def test_second_review(host, api, tmp_path):
    p, s = api
    h = ok(p.session.get_this_host(s, s))
    blob = ok(p.host.create_new_blob(s, h, "expect", "", False))
    # a client that waits for 100 Continue gets it, then the upload is stored
    body = os.urandom(2 << 20)
    url = "/blob?ref=%s&session_id=%s" % (blob, s)
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(b"PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                     b"Expect: 100-continue\r\n\r\n" % (url.encode(), len(body)))
        head = sock.recv(200)
        assert head.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"), head
        assert b"Connection: close" in head
        sock.sendall(body)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass
    assert http_exchange(host, "GET", url) == (200, body)
    # an upload over the limit fails on the client's side too
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.truncate((256 << 20) + 1)
    uuid = ok(p.blob.get_uuid(s, blob))
    r = xe(host, "blob-put", "uuid=" + uuid, "filename=%s" % big)
    assert r.returncode == 1
    r = subprocess.run("head -c %d /dev/zero | %s --state %s blob-put uuid=%s filename=/dev/stdin"
                       % ((256 << 20) + 4096, XE, host.state, uuid), shell=True,
                       capture_output=True, text=True, timeout=120, env=dict(os.environ,
                                                                             HOME=host.state))
    assert r.returncode == 1, r.stderr
    assert http_exchange(host, "GET", url) == (200, body)
    # --minimal still shows failures
    ref, vuuid = new_vm(p, s, "minimal-failure")
    r2, _ = new_vm(p, s, "minimal-failure")
    ok(p.VM.start(s, r2, False, False))
    r = xe(host, "vm-start", "name-label=minimal-failure", "--multiple", "--minimal")
    assert r.returncode == 1 and "operation failed on" in r.stdout
    xe(host, "vm-shutdown", "name-label=minimal-failure", "--multiple", "--force")
    # a value as xe shows it can be given back: it reaches the API (whose
    # VM.set_domain_type is not built yet), where a wrong one does not
    r = xe(host, "vm-param-set", "uuid=" + vuuid, "domain-type=pv-in-pvh")
    assert r.stderr == ("The server does not implement this operation yet.\n"
                        "method: VM.set_domain_type\n"), r.stderr
    r = xe(host, "vm-param-set", "uuid=" + vuuid, "domain-type=pv-in-nothing")
    assert "must be one of the values" in r.stderr
    # a clone's description goes on every clone
    r = xe(host, "vm-clone", "name-label=minimal-failure", "--multiple",
           "new-name-label=cl", "new-name-description=every")
    assert r.returncode == 0, r.stderr
    for u in r.stdout.strip().split("\n"):
        assert ok(p.VM.get_name_description(s, ok(p.VM.get_by_uuid(s, u)))) == "every"


def test_a_hello_dribbled_byte_by_byte_is_cut_off(host):
    with socket.create_connection(("127.0.0.1", host.port), timeout=30) as sock:
        sock.sendall(thincli.request(["help"]))
        thincli.read_exact(sock, len(thincli.PREFIX) + 8)
        t0 = time.monotonic()
        hello = thincli.PREFIX + thincli.i32(0) + thincli.i32(2)
        try:
            for b in hello:
                sock.sendall(bytes([b]))
                time.sleep(0.5)
                if time.monotonic() - t0 > 20:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert time.monotonic() - t0 < 15  # cut off near the 10 s deadline
