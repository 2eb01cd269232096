"""Xen Orchestra's connector, the npm `xen-api` package, against cxapi.

tests/interop/node holds package.json (xen-api pinned), its
package-lock.json and xo.test.mjs. They are copied to
$CXAPI_BUILD/interop-node and installed there with `npm ci` (skipped when
node_modules already matches the lock file), then xo.test.mjs runs against
this module's fresh host once per transport: auto (JSON-RPC first), JSON-RPC
forced and XML-RPC forced.

The npm registry is part of this project's environment: when node, npm or
the registry is missing the test fails, it does not skip.
"""

import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "node")
FILES = ("package.json", "package-lock.json", "xo.test.mjs")
INSTALL_TIMEOUT = 300  # seconds
RUN_TIMEOUT = 150  # seconds; the script bounds each of its steps to 30 s


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _tail(text, n=80):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = (text or "").splitlines()
    return "\n".join(lines[-n:])


@pytest.fixture(scope="module")
def node_dir(build_dir):
    """Returns $CXAPI_BUILD/interop-node with xen-api installed; fails with npm's output otherwise."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail("`%s` not found on PATH (scripts/install-deps installs it)" % tool,
                        pytrace=False)
    dest = os.path.join(build_dir, "interop-node")
    os.makedirs(dest, exist_ok=True)
    # the lock file npm ci leaves in node_modules tells whether it is current
    stamp = os.path.join(dest, "node_modules", ".package-lock.json")
    lock = _read(os.path.join(SRC, "package-lock.json"))
    current = (lock is not None and _read(os.path.join(dest, "package-lock.json")) == lock
               and _read(os.path.join(dest, "package.json")) ==
               _read(os.path.join(SRC, "package.json"))
               and os.path.isfile(os.path.join(dest, "node_modules", "xen-api", "package.json"))
               and os.path.isfile(stamp))
    for name in FILES:
        shutil.copyfile(os.path.join(SRC, name), os.path.join(dest, name))
    if not current:
        cmd = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        try:
            r = subprocess.run(cmd, cwd=dest, capture_output=True, text=True,
                               timeout=INSTALL_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            pytest.fail("`%s` in %s took over %d s (is the npm registry reachable?)\n%s\n%s"
                        % (" ".join(cmd), dest, INSTALL_TIMEOUT,
                           _tail(e.stdout),
                           _tail(e.stderr)),
                        pytrace=False)
        if r.returncode != 0:
            pytest.fail("`%s` in %s failed (rc=%d); the npm registry must be reachable "
                        "for this test\nstdout:\n%s\nstderr:\n%s"
                        % (" ".join(cmd), dest, r.returncode, _tail(r.stdout), _tail(r.stderr)),
                        pytrace=False)
    with open(os.path.join(dest, "node_modules", "xen-api", "package.json")) as f:
        assert '"version": "4.7.6"' in f.read(), "xen-api installed is not 4.7.6"
    return dest


@pytest.mark.parametrize("transport", ["auto", "json-rpc", "xml-rpc"])
def test_xen_orchestra_client(node_dir, host, transport):
    cmd = ["node", os.path.join(node_dir, "xo.test.mjs"), host.url, host.password, transport]
    try:
        r = subprocess.run(cmd, cwd=node_dir, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail("xo.test.mjs (%s) still running after %d s\nstdout:\n%s\nstderr:\n%s"
                    % (transport, RUN_TIMEOUT,
                       _tail(e.stdout),
                       _tail(e.stderr)),
                    pytrace=False)
    if r.returncode != 0:
        pytest.fail("xo.test.mjs (%s) exited %d\nstdout:\n%s\nstderr:\n%s"
                    % (transport, r.returncode, _tail(r.stdout), _tail(r.stderr)),
                    pytrace=False)
    assert "[%s] OK" % transport in r.stdout, r.stdout
