"""The start-up sync (dbsync): the objects a new host starts with (host
facts, metrics and CPUs, the control domain, the internal network, roles,
templates), and that restarting xapi refreshes them without duplicating
anything."""

import hashlib
import os
import uuid

import pytest

from conftest import ok

TEMPLATES = [
    "Other install media",
    "Debian Bookworm 12",
    "Debian Bullseye 11",
    "Ubuntu Jammy Jellyfish 22.04",
    "Ubuntu Noble Numbat 24.04",
    "Rocky Linux 9",
    "CentOS Stream 9",
    "Windows 10 (64-bit)",
    "Windows 11",
    "Windows Server 2022 (64-bit)",
]
CHAIN = ["read-only", "vm-operator", "vm-admin", "vm-power-admin", "pool-operator", "pool-admin"]
ROLES = CHAIN + ["client-cert"]
COUNTED = ["host", "pool", "VM", "VM_metrics", "console", "host_metrics", "host_cpu", "network",
           "role"]


class Api:
    def __init__(self, host):
        self.proxy = host.proxy()
        self.session = host.login()

    def __call__(self, method, *args):
        fn = self.proxy
        for part in method.split("."):
            fn = getattr(fn, part)
        return ok(fn(self.session, *args))


@pytest.fixture(scope="module")
def api(host):
    return Api(host)


def this_host(api):
    return api("session.get_this_host", api.session)


def truthy(v):
    return v is True or v == "true" or v == "1"


def test_host_facts(api):
    h = this_host(api)
    rec = api("host.get_record", h)
    assert rec["name_label"] and rec["hostname"]
    assert rec["address"] == "127.0.0.1"
    assert int(rec["API_version_major"]) == 2
    sv = rec["software_version"]
    for key in ("product_version", "product_version_text", "xapi", "xapi_build", "date",
                "platform_name", "platform_version", "hostname", "build_number", "git_id",
                "linux", "xencenter_min", "xencenter_max", "network_backend", "db_schema"):
        assert sv.get(key), (key, sv)
    assert sv["product_brand"] == "cxapi"  # unless xapi.conf says otherwise
    assert sv["linux"] == os.uname().release
    assert sv["xencenter_min"] == "%s.%s" % (rec["API_version_major"], rec["API_version_minor"])
    assert sv["git_id"] in sv["build_number"]
    assert "xen" not in sv  # no hypervisor here to give a version
    assert rec["sched_policy"] == "credit"
    assert rec["capabilities"], rec["capabilities"]
    info = rec["cpu_info"]
    for key in ("cpu_count", "socket_count", "vendor", "speed", "modelname", "family", "model",
                "stepping", "flags", "features"):
        assert key in info, (key, info)
    assert int(info["cpu_count"]) == os.cpu_count()
    assert int(info["socket_count"]) >= 1
    assert rec["edition"] == "xcp-ng"
    assert rec["license_params"].get("expiry")
    assert isinstance(rec["bios_strings"], dict) and "bios-vendor" in rec["bios_strings"]
    assert rec["iscsi_iqn"].startswith("iqn.")
    oc = rec["other_config"]
    assert float(oc["agent_start_time"]) > 0 and float(oc["boot_time"]) > 0
    assert float(oc["boot_time"]) <= float(oc["agent_start_time"])
    assert int(rec["memory_overhead"]) >= 0


def test_host_metrics(api):
    h = this_host(api)
    m = api("host.get_metrics", h)
    rec = api("host_metrics.get_record", m)
    assert int(rec["memory_total"]) > 0
    assert rec["live"] is True


def test_host_cpus(api):
    h = this_host(api)
    cpus = api("host.get_host_CPUs", h)
    assert len(cpus) == os.cpu_count()
    recs = [api("host_cpu.get_record", c) for c in cpus]
    assert sorted(int(r["number"]) for r in recs) == list(range(os.cpu_count()))
    for r in recs:
        assert r["host"] == h
        assert "vendor" in r and "flags" in r and "modelname" in r
        assert float(r["utilisation"]) == 0.0
    assert len(api("host_cpu.get_all")) == os.cpu_count()


def test_pool_master(api):
    pools = api("pool.get_all")
    assert len(pools) == 1
    assert api("pool.get_master", pools[0]) == this_host(api)


def test_control_domain(api):
    h = this_host(api)
    dom0 = api("host.get_control_domain", h)
    rec = api("VM.get_record", dom0)
    assert rec["is_control_domain"] is True
    assert rec["is_a_template"] is False
    assert int(rec["domid"]) == 0
    assert rec["resident_on"] == h
    assert rec["power_state"] == "Running"
    hostname = api("host.get_hostname", h)
    assert rec["name_label"] == "Control domain on host: " + hostname
    assert int(rec["VCPUs_max"]) == os.cpu_count()
    assert int(rec["memory_static_max"]) > 0
    assert dom0 in api("host.get_resident_VMs", h)
    metrics = api("VM_metrics.get_record", rec["metrics"])
    assert int(metrics["memory_actual"]) > 0
    assert int(metrics["VCPUs_number"]) == os.cpu_count()
    assert len(rec["consoles"]) == 1
    console = api("console.get_record", rec["consoles"][0])
    assert console["protocol"] == "rfb"
    assert console["VM"] == dom0
    assert console["location"].endswith("/console?ref=" + rec["consoles"][0])
    control = [r for r in api("VM.get_all_records").values() if r["is_control_domain"]]
    assert len(control) == 1


def test_internal_network(api):
    nets = [r for r in api("network.get_all_records").values() if r["bridge"] == "xenapi"]
    assert len(nets) == 1
    assert nets[0]["name_label"] == "Host internal management network"
    assert nets[0]["other_config"]["is_host_internal_management_network"] == "true"


def test_templates(api):
    vms = api("VM.get_all_records")
    templates = {r["name_label"]: r for r in vms.values() if r["is_a_template"]}
    for name in TEMPLATES:
        assert name in templates, name
        t = templates[name]
        assert t["power_state"] == "Halted"
        assert t["is_default_template"] is True
        assert t["recommendations"].startswith("<restrictions>")
        assert 'field="memory-static-max"' in t["recommendations"]
        oc = t["other_config"]
        assert oc["default_template"] == "true"
        assert oc["install-methods"]
        assert oc["disks"].startswith("<provision>")
        assert t["HVM_boot_policy"] == "BIOS order"
        assert t["HVM_boot_params"]["order"]
        assert int(t["memory_static_min"]) <= int(t["memory_dynamic_min"]) \
            <= int(t["memory_dynamic_max"]) <= int(t["memory_static_max"])
        assert int(t["VCPUs_max"]) >= int(t["VCPUs_at_startup"]) >= 1
        assert t["name_description"]
    debian = templates["Debian Bookworm 12"]
    assert debian["other_config"]["linux_template"] == "true"
    assert int(debian["VCPUs_at_startup"]) == 2
    assert int(debian["memory_static_max"]) == 2 * 1024 ** 3
    assert 'bootable="true"' in debian["other_config"]["disks"]
    win = templates["Windows Server 2022 (64-bit)"]
    assert "linux_template" not in win["other_config"]
    assert win["platform"]["viridian"] == "true"
    assert int(win["memory_static_max"]) == 4 * 1024 ** 3


def test_roles(api):
    roles = api("role.get_all_records")
    by_name = {r["name_label"]: (ref, r) for ref, r in roles.items()}
    for name in ROLES:
        assert name in by_name, name
        ref, r = by_name[name]
        assert r["is_internal"] is False
        assert r["name_description"]
        # upstream's: pool-admin's is fixed, the others' the MD5 of the name
        want = ("0165f154-ba3e-034e-6b27-5d271af109ba" if name == "pool-admin" else
                str(uuid.UUID(bytes=hashlib.md5(name.encode()).digest())))
        assert r["uuid"] == want, name
        assert ref == "OpaqueRef:" + want, name
    refs = {name: by_name[name][0] for name in ROLES}
    for i, name in enumerate(CHAIN):
        subroles = by_name[name][1]["subroles"]
        assert sorted(subroles) == sorted(refs[n] for n in CHAIN[:i]), name
    assert by_name["client-cert"][1]["subroles"] == []
    assert api("role.get_by_uuid", by_name["pool-admin"][1]["uuid"]) == refs["pool-admin"]
    # A new subject's default role (the schema's) is pool-admin, which exists.
    subj = api("subject.create", {"subject_identifier": "u-test-default-role", "other_config": {}})
    assert api("subject.get_roles", subj) == [refs["pool-admin"]]
    assert "vm.destroy" in api("subject.get_permissions_name_label", subj)
    api("subject.destroy", subj)


def counts(api):
    return {cls: len(api(cls + ".get_all")) for cls in COUNTED}


def test_restart_duplicates_nothing(host, api):
    before = counts(api)
    h = this_host(api)
    dom0 = api("host.get_control_domain", h)
    templates = {r["name_label"]: ref for ref, r in api("VM.get_all_records").items()
                 if r["is_a_template"]}
    debian = templates["Debian Bookworm 12"]
    api("VM.set_name_description", debian, "edited by a user")
    api("VM.set_VCPUs_params", debian, {"weight": "512"})
    started = float(api("host.get_other_config", h)["agent_start_time"])

    r = host.stop()
    assert r.returncode == 0, r.stderr
    r = host.start()
    assert r.returncode == 0, r.stderr
    assert host.wait_api()
    api2 = Api(host)

    assert counts(api2) == before
    assert api2("host.get_control_domain", h) == dom0
    after = {r["name_label"]: ref for ref, r in api2("VM.get_all_records").items()
             if r["is_a_template"]}
    assert after == templates
    assert api2("VM.get_name_description", debian) == "edited by a user"
    assert api2("VM.get_VCPUs_params", debian) == {"weight": "512"}
    assert len(api2("host.get_host_CPUs", h)) == os.cpu_count()
    assert float(api2("host.get_other_config", h)["agent_start_time"]) >= started


def test_product_from_settings(host):
    """What the host says it is comes from xapi.conf, as upstream's from its
    inventory: a restart with other settings changes software_version."""
    conf = os.path.join(host.state, "xapi.conf")
    with open(conf) as f:
        saved = f.read()
    with open(conf, "a") as f:
        f.write("product-brand=XCP-ng\nproduct-version=8.3.1\nbuild-number=release/8.3/77\n")
    try:
        assert host.stop().returncode == 0
        assert host.start().returncode == 0
        assert host.wait_api()
        sv = Api(host)("host.get_software_version", this_host(Api(host)))
        assert sv["product_brand"] == "XCP-ng"
        assert sv["product_version"] == "8.3.1"
        assert sv["build_number"] == "release/8.3/77"
        assert sv["platform_name"] == "XCP"  # what was not set keeps its default
    finally:
        with open(conf, "w") as f:
            f.write(saved)
        assert host.stop().returncode == 0
        assert host.start().returncode == 0
        assert host.wait_api()
