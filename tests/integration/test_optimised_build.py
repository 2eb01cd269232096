"""The build `make run` gives users (build-run/: optimised, assertions
kept, no sanitizers), started once by `make test` so that it cannot rot:
a host comes up, answers the API and maps no sanitizer runtime."""

import os

from conftest import REPO, make_host, ok, teardown_host

RUN_BUILD = os.environ.get("CXAPI_RUN_BUILD") or os.path.join(REPO, "build-run")
CXAPI_RUN = os.path.join(RUN_BUILD, "cxapi")


def daemon_pids(host):
    """{daemon: pid} from `cxapi status`."""
    r = host.status()
    assert r.returncode == 0, (r.stdout, r.stderr)
    pids = {}
    for line in r.stdout.splitlines()[2:]:
        cols = line.split()
        pids[cols[0]] = int(cols[1])
    return pids


def test_optimised_host_serves_without_sanitizers():
    assert os.access(CXAPI_RUN, os.X_OK), \
        "no optimised build at %s: `make test` builds it (make optimised)" % RUN_BUILD
    base, host = make_host("cxapi-opt-", binary=CXAPI_RUN)
    try:
        r = host.start()
        assert r.returncode == 0, (r.stdout, r.stderr)
        p = host.proxy()
        s = host.login()
        h = ok(p.session.get_this_host(s, s))
        assert ok(p.host.get_record(s, h))["uuid"]
        pids = daemon_pids(host)
        assert set(pids) == {"xenstored", "xenopsd", "xapi"}, pids
        for name, pid in pids.items():
            with open("/proc/%d/maps" % pid) as f:
                maps = f.read()
            assert "libasan" not in maps and "libubsan" not in maps, name
            assert os.path.realpath("/proc/%d/exe" % pid).startswith(
                os.path.realpath(RUN_BUILD)), (name, os.path.realpath("/proc/%d/exe" % pid))
    finally:
        msgs = teardown_host(base, host)
    assert not msgs, msgs
