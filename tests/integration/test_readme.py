"""README.md's "Your first VM" block, run as written against a fresh host:
the documented way to install and start a VM must keep working."""

import os
import re
import subprocess
import sys

from conftest import BUILD, REPO
from test_vm_lifecycle_harness import Api, vm_host


def readme_block(heading, lang="python"):
    """The first ```lang block after the heading `## heading`."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    start = text.index("## " + heading + "\n")
    m = re.compile(r"```" + lang + r"\n(.*?)```", re.S).search(text, start)
    assert m, "no %s block under %s" % (lang, heading)
    return m.group(1)


def test_first_vm_block_runs(host):
    vm_host(host)
    code = readme_block("Your first VM")
    assert "http://127.0.0.1:8080/" in code and "PASSWORD-FROM-make-run" in code
    code = code.replace("http://127.0.0.1:8080/", host.url)
    code = code.replace("PASSWORD-FROM-make-run", host.password)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert re.fullmatch(r"Running as domain [1-9][0-9]*", lines[0]), lines
    # the guest agent's report: a non-empty os_version map
    assert lines[1].startswith("{") and "'name'" in lines[1], lines

    api = Api(host)
    vms = api.call("VM.get_by_name_label", "my first VM")
    assert len(vms) == 1
    rec = api.call("VM.get_record", vms[0])
    assert rec["power_state"] == "Halted"
    assert rec["is_a_template"] is False
    assert rec["VBDs"] == [] and "disks" not in rec["other_config"]
    assert rec["current_operations"] == {}


def test_xe_block_runs(host, tmp_path):
    """The xe section's block, after the first VM's: run from a directory
    whose state/ is the host's, as from the checkout after make run."""
    script = readme_block("xe, the command line", "sh")
    assert "build-run/xe" in script and "PASSWORD-FROM-make-run" in script
    script = script.replace("build-run/xe", os.path.join(BUILD, "xe"))
    script = script.replace("-p 8080", "-p %d" % host.port)
    script = script.replace("PASSWORD-FROM-make-run", host.password)
    os.symlink(host.state, tmp_path / "state")
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, HOME=str(tmp_path)))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "name-label ( RW): my first VM" in out
    assert "\nme\nrunning\n" in out  # param-get, then power-state --minimal
    assert "reqd params     : " in out and "vm-selectors" in out
    vm = Api(host).call("VM.get_by_name_label", "my first VM")[0]
    assert Api(host).call("VM.get_power_state", vm) == "Halted"
