"""Every class of schema/xenapi.json against a live host, generated from the
schema when the tests are collected.

For each class with get_all_records: the record maps (get_all_records and
get_all_records_where), get_all, and the errors of get_record/get_by_uuid
on unknown handles. For each in-database class: every getter, on an
existing object where there is one and on an unknown ref. For each class
with an implicit create (a record argument): create with a value of the
right type in every field that has no default, then the record, every
getter, every setter (a new value, then a wrongly typed one), every map
field's add_to_/remove_from_, tags, get_by_name_label, relations and
destroy. A sample of classes goes over JSON-RPC (urllib) as well; the rest
uses XML-RPC (xmlrpc.client, allow_none=False).

Every request has a socket timeout and every test a SIGALRM deadline.
"""

import itertools
import json
import os
import re
import signal
import urllib.request
import xmlrpc.client

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
with open(os.path.join(REPO, "schema", "xenapi.json"), encoding="utf-8") as _f:
    SCHEMA = json.load(_f)

RPC_TIMEOUT = 10  # seconds, per request
TEST_TIMEOUT = 120  # seconds, per test
NULL_REF = "OpaqueRef:NULL"
BOGUS_REF = "OpaqueRef:00000000-dead-beef-0000-000000000000"
BOGUS_UUID = "00000000-dead-beef-0000-000000000000"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INT_RE = re.compile(r"^-?[0-9]+$")
DATETIME_RE = re.compile(r"^[0-9]{8}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$")

CLASSES = {c["name"]: c for c in SCHEMA["classes"]}
ENUMS = {}
for _c in SCHEMA["classes"]:
    for _e in _c["enums"]:
        ENUMS.setdefault(_e["name"], _e["values"])
# (ref class, ref field) -> (set class, set field): the database keeps them in step.
RELATIONS = {(r[0], r[1]): (r[2], r[3]) for r in SCHEMA["relations"]}


def messages(cls, kind):
    """The implicit messages of one kind (get_field, add_to, ...) of a class."""
    return [m for m in CLASSES[cls]["messages"] if m["implicit"] == kind]


def has(cls, kind):
    return bool(messages(cls, kind))


def field(cls, name):
    return next(f for f in CLASSES[cls]["fields"] if f["name"] == name)


def classes_with(kind):
    return [c for c in CLASSES if has(c, kind)]


def fields_with(kind, classes):
    """(class, field) for every implicit message of this kind in classes."""
    return [(c, m["field"]) for c in classes for m in messages(c, kind)]


ALL_RECORDS = classes_with("get_all_records")
IN_DB = [c for c in CLASSES if CLASSES[c]["in_database"]]
CREATE = classes_with("create")
JSON_SAMPLE = [c for c in ("pool", "host", "VM", "network", "VDI", "secret", "VM_appliance")
               if c in CLASSES]


# --- types ---------------------------------------------------------------

def parse_type(t):
    """The datamodel's notation -> a tuple: ('string',), ('ref', cls),
    ('enum', name), ('set', elem), ('map', key, value), ('option', elem),
    ('record', cls)."""
    t = t.strip()
    if t.endswith(" set"):
        return ("set", parse_type(t[:-4]))
    if t.endswith(" option"):
        return ("option", parse_type(t[:-7]))
    if t.endswith(" map"):
        inner = t[:-4].strip()
        assert inner[0] == "(" and inner[-1] == ")", t
        inner = inner[1:-1]
        depth = 0
        for i, ch in enumerate(inner):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and inner.startswith(" -> ", i):
                return ("map", parse_type(inner[:i]), parse_type(inner[i + 4:]))
        raise AssertionError("unparsable map type %r" % t)
    if t.endswith(" ref"):
        return ("ref", t[:-4])
    if t.endswith(" record"):
        return ("record", t[:-7])
    if t.startswith("enum "):
        return ("enum", t[5:])
    assert t in ("string", "int", "float", "bool", "datetime"), t
    return (t,)


def ftype(cls, name):
    return parse_type(field(cls, name)["type"])


def wire_problems(t, v, json_rpc=False, where="value"):
    """Returns a list of problems with v as the wire form of type t."""
    k = t[0]
    bad = ["%s: %r is not a %s" % (where, v, "/".join(map(str, t)))]
    if k == "string":
        return [] if isinstance(v, str) else bad
    if k == "int":
        if json_rpc:
            return [] if isinstance(v, int) and not isinstance(v, bool) else bad
        return [] if isinstance(v, str) and INT_RE.match(v) else bad  # int64 as text
    if k == "float":
        return [] if isinstance(v, (float, int)) and not isinstance(v, bool) else bad
    if k == "bool":
        return [] if isinstance(v, bool) else bad
    if k == "datetime":
        text = v if json_rpc else getattr(v, "value", None)
        if not json_rpc and not isinstance(v, xmlrpc.client.DateTime):
            return bad
        return [] if isinstance(text, str) and DATETIME_RE.match(text) else bad
    if k == "ref":
        return [] if isinstance(v, str) and v.startswith("OpaqueRef:") else bad
    if k == "enum":
        return [] if isinstance(v, str) and v in ENUMS[t[1]] else bad
    if k == "set":
        if not isinstance(v, list):
            return bad
        return [p for i, x in enumerate(v)
                for p in wire_problems(t[1], x, json_rpc, "%s[%d]" % (where, i))]
    if k == "map":
        if not isinstance(v, dict):
            return bad
        out = []
        for key, x in v.items():
            if not isinstance(key, str):
                out.append("%s: key %r is not text" % (where, key))
            elif t[1][0] not in ("string", "float", "datetime"):
                out += wire_problems(t[1], key if t[1][0] != "int" or not json_rpc
                                     else int(key) if INT_RE.match(key) else key,
                                     json_rpc, "%s key" % where)
            out += wire_problems(t[2], x, json_rpc, "%s[%r]" % (where, key))
        return out
    if k == "option":
        return [] if v is None or v == "" else wire_problems(t[1], v, json_rpc, where)
    if k == "record":
        return [] if isinstance(v, dict) else bad
    return bad


def norm(t, v):
    """A canonical Python value, to compare what was sent with what comes back."""
    k = t[0]
    try:
        if k == "int":
            return int(v)
        if k == "float":
            return float(v)
        if k == "datetime":
            return v.value if isinstance(v, xmlrpc.client.DateTime) else str(v)
        if k == "set":
            return sorted((norm(t[1], x) for x in v), key=repr)
        if k == "map":
            return {str(norm(t[1], key)): norm(t[2], x) for key, x in v.items()}
        if k == "option":
            return None if v is None else norm(t[1], v)
    except (TypeError, ValueError, AttributeError):
        return ("unnormalisable", v)
    return v


DATETIMES = ("20240101T00:00:00Z", "20250202T01:02:03Z")


def first_value(t, refs, json_rpc=False):
    """The value create fills a field with: string "x", int 1, float 1.0,
    bool true, a datetime, a real ref of the class when there is one
    (else the null ref), the first enum value, [] and {}."""
    k = t[0]
    if k == "string":
        return "x"
    if k == "int":
        return 1 if json_rpc else "1"
    if k == "float":
        return 1.0
    if k == "bool":
        return True
    if k == "datetime":
        return DATETIMES[0] if json_rpc else xmlrpc.client.DateTime(DATETIMES[0])
    if k == "ref":
        return refs(t[1]) or NULL_REF
    if k == "enum":
        return ENUMS[t[1]][0]
    if k == "set":
        return []
    if k in ("map", "record"):
        return {}
    if k == "option":
        return first_value(t[1], refs, json_rpc)
    raise AssertionError(t)


def element(t, refs, json_rpc=False):
    """One non-empty element of type t, for sets and maps."""
    if t[0] == "string":
        return "cov-elem"
    return first_value(t, refs, json_rpc)


def other_value(t, current, refs, json_rpc=False):
    """A value of type t different from current (normalised) where the type
    allows one."""
    k = t[0]
    if k == "string":
        return "cov-y" if current != "cov-y" else "cov-z"
    if k == "int":
        n = current + 1 if isinstance(current, int) else 2
        return n if json_rpc else str(n)
    if k == "float":
        return (current if isinstance(current, float) else 0.0) + 1.5
    if k == "bool":
        return not current
    if k == "datetime":
        text = DATETIMES[1] if current != DATETIMES[1] else DATETIMES[0]
        return text if json_rpc else xmlrpc.client.DateTime(text)
    if k == "ref":
        real = refs(t[1], exclude=current)
        return real or NULL_REF
    if k == "enum":
        values = ENUMS[t[1]]
        return values[(values.index(current) + 1) % len(values)] if current in values \
            else values[0]
    if k == "set":
        return [element(t[1], refs, json_rpc)] if not current else []
    if k == "map":
        if current:
            return {}
        key = element(t[1], refs, json_rpc)
        return {str(key) if not isinstance(key, str) else key: element(t[2], refs, json_rpc)}
    if k == "option":
        return other_value(t[1], current, refs, json_rpc)
    raise AssertionError(t)


def wrong_value(t):
    """A value the server must refuse for type t (FIELD_TYPE_ERROR)."""
    k = t[0]
    if k in ("string", "ref", "datetime", "set", "record"):
        return {"not": "this type"} if k != "set" else "not-a-set"
    if k == "enum":
        return "no_such_enum_value"
    if k == "int":
        return "not-an-int"
    if k == "float":
        return "not-a-float"
    if k == "bool":
        return "maybe"
    if k == "map":
        return "not-a-map"
    if k == "option":
        return wrong_value(t[1])
    raise AssertionError(t)


# --- the host ------------------------------------------------------------

class TimeoutTransport(xmlrpc.client.Transport):
    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = RPC_TIMEOUT
        return conn


def show(args):
    return ", ".join("<session>" if i == 0 and isinstance(a, str) and a.startswith("OpaqueRef:")
                     else repr(a) for i, a in enumerate(args))


class Api:
    """One XML-RPC session on the test host, plus the objects the tests make."""

    def __init__(self, host):
        self.host = host
        self.proxy = xmlrpc.client.ServerProxy(host.url, allow_none=False,
                                               transport=TimeoutTransport())
        self.session = self.ok("session.login_with_password", "root", host.password, "1.0",
                               "test_schema_classes")
        self.made = {}  # class -> [refs] made by these tests and not destroyed
        self.shared = {}  # class -> the one object the per-field tests share
        self.names = itertools.count(1)

    def raw(self, method, *args):
        return getattr(self.proxy, method)(*args)

    def ok(self, method, *args):
        r = self.raw(method, *args)
        assert isinstance(r, dict) and r.get("Status") == "Success", \
            "%s(%s) -> %r" % (method, show(args), r)
        return r["Value"]

    def fail(self, method, *args):
        r = self.raw(method, *args)
        assert isinstance(r, dict) and r.get("Status") == "Failure", \
            "%s(%s) should fail, got %r" % (method, show(args), r)
        return r["ErrorDescription"]

    def call(self, method, *args):
        """ok() with the session as the first argument."""
        return self.ok(method, self.session, *args)

    def refs(self, cls, exclude=None):
        """A ref of an existing object of cls (not exclude), or None."""
        found = list(self.made.get(cls, []))
        if has(cls, "get_all"):
            found = self.call("%s.get_all" % cls) + found
        if cls == "session":
            found.insert(0, self.session)
        for r in found:
            if r != exclude:
                return r
        return None

    def create_args(self, cls):
        """The create record: a value in every field with no default that
        the caller may set (RW, RO/constructor), a unique name_label."""
        args = {}
        for f in CLASSES[cls]["fields"]:
            if f["qualifier"] == "RO/runtime":
                continue
            if f["name"] == "name_label":
                args["name_label"] = "cov-%s-%d" % (cls, next(self.names))
            elif "default" not in f:
                args[f["name"]] = first_value(parse_type(f["type"]), self.refs)
        return args

    def create(self, cls, args=None):
        args = self.create_args(cls) if args is None else args
        ref = self.call("%s.create" % cls, args)
        assert isinstance(ref, str) and ref.startswith("OpaqueRef:") and ref != NULL_REF, ref
        self.made.setdefault(cls, []).append(ref)
        return ref, args

    def forget(self, cls, ref):
        if ref in self.made.get(cls, []):
            self.made[cls].remove(ref)

    def shared_obj(self, cls):
        if cls not in self.shared:
            self.shared[cls] = self.create(cls)[0]
        return self.shared[cls]


def order_for_refs(classes):
    """The create classes ordered so that a class comes after those its
    constructor fields point at (cycles broken in schema order)."""
    deps = {c: {t[1] for f in CLASSES[c]["fields"] if f["qualifier"] != "RO/runtime"
                for t in [parse_type(f["type"])] if t[0] == "ref" and t[1] in classes
                and t[1] != c} for c in classes}
    out, seen = [], set()

    def visit(c, stack):
        if c in seen or c in stack:
            return
        for d in sorted(deps[c]):
            visit(d, stack | {c})
        seen.add(c)
        out.append(c)

    for c in classes:
        visit(c, frozenset())
    return out


@pytest.fixture(scope="module")
def api(host):
    a = Api(host)
    # One object per create class up front, so that refs can point at real objects.
    for cls in order_for_refs(CREATE):
        a.shared_obj(cls)
    return a


@pytest.fixture(autouse=True)
def deadline():
    def expired(signum, frame):
        raise TimeoutError("test took more than %d s" % TEST_TIMEOUT)

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def record_problems(cls, rec, json_rpc=False):
    """Every field of the class present (and nothing else), each of its type."""
    names = [f["name"] for f in CLASSES[cls]["fields"]]
    out = []
    if not isinstance(rec, dict):
        return ["record %r is not a struct" % (rec,)]
    missing = [n for n in names if n not in rec]
    extra = sorted(set(rec) - set(names))
    if missing:
        out.append("fields missing from the record: %s" % missing)
    if extra:
        out.append("fields not in the schema: %s" % extra)
    for f in CLASSES[cls]["fields"]:
        if f["name"] in rec:
            out += wire_problems(parse_type(f["type"]), rec[f["name"]], json_rpc,
                                 "%s.%s" % (cls, f["name"]))
    return out


# --- every class with get_all_records ------------------------------------

@pytest.mark.parametrize("cls", ALL_RECORDS)
def test_get_all_records(api, cls):
    recs = api.call("%s.get_all_records" % cls)
    assert isinstance(recs, dict), recs
    problems = []
    for ref, rec in recs.items():
        assert ref.startswith("OpaqueRef:"), ref
        problems += record_problems(cls, rec)
    assert not problems, "\n".join(problems)
    where = api.call("%s.get_all_records_where" % cls, "true")
    assert where == recs
    assert api.call("%s.get_all_records_where" % cls, "false") == {}
    if has(cls, "get_all"):
        refs = api.call("%s.get_all" % cls)
        assert isinstance(refs, list), refs
        assert sorted(refs) == sorted(recs), (refs, sorted(recs))
        assert len(set(refs)) == len(refs), refs


@pytest.mark.parametrize("cls", classes_with("get_record"))
def test_get_record_unknown_ref(api, cls):
    err = api.fail("%s.get_record" % cls, api.session, BOGUS_REF)
    assert err == ["HANDLE_INVALID", cls, BOGUS_REF]


@pytest.mark.parametrize("cls", classes_with("get_record"))
def test_get_record_parameter_count(api, cls):
    m = messages(cls, "get_record")[0]
    err = api.fail("%s.get_record" % cls, api.session)
    assert err == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "%s.get_record" % cls,
                   str(len(m["params"])), "1"]


@pytest.mark.parametrize("cls", classes_with("get_by_uuid"))
def test_get_by_uuid_unknown(api, cls):
    err = api.fail("%s.get_by_uuid" % cls, api.session, BOGUS_UUID)
    assert err == ["UUID_INVALID", cls, BOGUS_UUID]


# --- getters on every in-database class ----------------------------------

@pytest.mark.parametrize("cls", IN_DB)
def test_getters(api, cls):
    """get_<field> on an existing object equals its record's field, and
    the getter of an unknown ref answers HANDLE_INVALID."""
    getters = messages(cls, "get_field")
    assert getters, "%s has no getters" % cls
    problems = []
    for m in getters:
        err = api.fail("%s.%s" % (cls, m["name"]), api.session, BOGUS_REF)
        if err != ["HANDLE_INVALID", cls, BOGUS_REF]:
            problems.append("%s.%s(unknown ref) -> %r" % (cls, m["name"], err))
    ref = api.refs(cls)
    if ref is not None:
        rec = api.call("%s.get_record" % cls, ref)
        problems += record_problems(cls, rec)
        for m in getters:
            got = api.call("%s.%s" % (cls, m["name"]), ref)
            if got != rec.get(m["field"]):
                problems.append("%s.%s(%s) -> %r, record has %r"
                                % (cls, m["name"], ref, got, rec.get(m["field"])))
        if has(cls, "get_by_uuid") and "uuid" in rec:
            assert UUID_RE.match(rec["uuid"]), rec["uuid"]
            got = api.call("%s.get_by_uuid" % cls, rec["uuid"])
            if got != ref:
                problems.append("%s.get_by_uuid(%s) -> %r, not %s" % (cls, rec["uuid"], got, ref))
    assert not problems, "\n".join(problems)


def test_existing_objects(api):
    """The objects a host starts with."""
    pools, hosts = api.call("pool.get_all"), api.call("host.get_all")
    assert len(pools) == 1 and len(hosts) == 1, (pools, hosts)
    assert api.call("pool.get_master", pools[0]) == hosts[0]
    assert api.call("session.get_this_host", api.session) == hosts[0]
    rec = api.call("session.get_record", api.session)
    assert rec["this_host"] == hosts[0]
    assert rec["auth_user_name"] == "root" and rec["is_local_superuser"] is True
    assert api.call("session.get_uuid", api.session) == rec["uuid"]


@pytest.mark.parametrize("cls", classes_with("get_by_name_label"))
def test_get_by_name_label(api, cls):
    assert api.call("%s.get_by_name_label" % cls, "cov-no-such-name") == []
    ref = api.create(cls)[0] if cls in CREATE else api.refs(cls)
    if ref is None:
        return  # no object of this class: the empty answer above is all there is
    label = api.call("%s.get_name_label" % cls, ref)
    found = api.call("%s.get_by_name_label" % cls, label)
    assert ref in found, (label, found)
    if cls in CREATE:
        assert found == [ref], (label, found)  # the label is unique


# --- every class with an implicit create ---------------------------------

def test_create_classes_listed():
    assert len(CREATE) == 14, CREATE


@pytest.mark.parametrize("cls", CREATE)
def test_create_takes_a_record(cls):
    m = messages(cls, "create")[0]
    assert [p["type"] for p in m["params"]] == ["session ref", "%s record" % cls], m["params"]
    assert m["result"] == "%s ref" % cls


@pytest.mark.parametrize("cls", CREATE)
def test_create_then_record(api, cls):
    ref, args = api.create(cls)
    rec = api.call("%s.get_record" % cls, ref)
    problems = record_problems(cls, rec)
    for f in CLASSES[cls]["fields"]:
        t, name = parse_type(f["type"]), f["name"]
        if name in args:
            if norm(t, rec.get(name)) != norm(t, args[name]):
                problems.append("%s: sent %r, record has %r" % (name, args[name], rec.get(name)))
        elif "default" in f and f["qualifier"] != "RO/runtime":
            if norm(t, rec.get(name)) != norm(t, f["default"]):
                problems.append("%s: default %r, record has %r"
                                % (name, f["default"], rec.get(name)))
    assert not problems, "%s.create(%r):\n%s" % (cls, args, "\n".join(problems))
    assert UUID_RE.match(rec["uuid"]), rec["uuid"]
    assert api.call("%s.get_by_uuid" % cls, rec["uuid"]) == ref
    if has(cls, "get_all"):
        assert ref in api.call("%s.get_all" % cls)
    if has(cls, "get_all_records"):
        assert api.call("%s.get_all_records" % cls).get(ref) == rec
        where = 'field "uuid" = "%s"' % rec["uuid"]
        assert api.call("%s.get_all_records_where" % cls, where) == {ref: rec}
    # every getter agrees with the record
    for m in messages(cls, "get_field"):
        got = api.call("%s.%s" % (cls, m["name"]), ref)
        assert got == rec[m["field"]], (m["name"], got, rec[m["field"]])
    # relations: a ref to a real object shows up in that object's set
    for (rc, rf), (sc, sf) in RELATIONS.items():
        if rc == cls and args.get(rf, NULL_REF) != NULL_REF:
            back = api.call("%s.get_%s" % (sc, sf), args[rf])
            assert ref in back, "%s.%s = %s, but %s.%s = %r" % (cls, rf, args[rf], sc, sf, back)


@pytest.mark.parametrize("cls", CREATE)
def test_create_wrong_type(api, cls):
    err = api.fail("%s.create" % cls, api.session, "not-a-record")
    assert err == ["FIELD_TYPE_ERROR", "args"]


SETTERS = fields_with("set_field", CREATE)


@pytest.mark.parametrize("cls,name", SETTERS, ids=["%s.%s" % s for s in SETTERS])
def test_set_field(api, cls, name):
    assert field(cls, name)["qualifier"] == "RW"
    t = ftype(cls, name)
    ref = api.shared_obj(cls)
    before = api.call("%s.get_%s" % (cls, name), ref)
    new = other_value(t, norm(t, before), api.refs)
    assert api.call("%s.set_%s" % (cls, name), ref, new) in ("", None)
    got = api.call("%s.get_%s" % (cls, name), ref)
    assert norm(t, got) == norm(t, new), "set_%s(%r): get_%s -> %r" % (name, new, name, got)
    assert wire_problems(t, got) == []
    assert norm(t, api.call("%s.get_record" % cls, ref)[name]) == norm(t, new)


@pytest.mark.parametrize("cls,name", SETTERS, ids=["%s.%s" % s for s in SETTERS])
def test_set_field_wrong_type(api, cls, name):
    t = ftype(cls, name)
    ref = api.shared_obj(cls)
    before = api.call("%s.get_%s" % (cls, name), ref)
    bad = wrong_value(t)
    err = api.fail("%s.set_%s" % (cls, name), api.session, ref, bad)
    assert err == ["FIELD_TYPE_ERROR", "value"], "set_%s(%r) -> %r" % (name, bad, err)
    assert api.call("%s.get_%s" % (cls, name), ref) == before


@pytest.mark.parametrize("cls,name", SETTERS, ids=["%s.%s" % s for s in SETTERS])
def test_set_field_unknown_ref(api, cls, name):
    t = ftype(cls, name)
    err = api.fail("%s.set_%s" % (cls, name), api.session, BOGUS_REF,
                   first_value(t, api.refs))
    assert err == ["HANDLE_INVALID", cls, BOGUS_REF]


MAPS = fields_with("add_to", CREATE)


@pytest.mark.parametrize("cls,name", MAPS, ids=["%s.%s" % s for s in MAPS])
def test_map_add_remove(api, cls, name):
    t = ftype(cls, name)
    add = next(m for m in messages(cls, "add_to") if m["field"] == name)
    remove = next(m for m in messages(cls, "remove_from") if m["field"] == name)
    assert [p["name"] for p in add["params"]] == ["session_id", "self", "key", "value"]
    assert [p["name"] for p in remove["params"]] == ["session_id", "self", "key"]
    ref = api.shared_obj(cls)
    uuid = api.call("%s.get_uuid" % cls, ref)
    key_t = parse_type(add["params"][2]["type"])
    key = "cov-key" if key_t[0] == "string" else first_value(key_t, api.refs)
    value, value2 = (element(t[2], api.refs), other_value(t[2], None, api.refs))
    getter = "%s.get_%s" % (cls, name)
    assert api.call("%s.%s" % (cls, remove["name"]), ref, key) in ("", None)  # start clean
    before = norm(t, api.call(getter, ref))
    assert api.call("%s.%s" % (cls, add["name"]), ref, key, value) in ("", None)
    got = norm(t, api.call(getter, ref))
    assert got == dict(before, **{str(norm(key_t, key)): norm(t[2], value)}), got
    err = api.fail("%s.%s" % (cls, add["name"]), api.session, ref, key, value2)
    assert err == ["MAP_DUPLICATE_KEY", cls, name, uuid, key], err
    assert norm(t, api.call(getter, ref)) == got  # unchanged by the refused add
    assert api.call("%s.%s" % (cls, remove["name"]), ref, key) in ("", None)
    assert norm(t, api.call(getter, ref)) == before
    err = api.fail("%s.%s" % (cls, add["name"]), api.session, BOGUS_REF, key, value)
    assert err == ["HANDLE_INVALID", cls, BOGUS_REF]


TAGS = [c for c in CREATE if has(c, "add")]


@pytest.mark.parametrize("cls", TAGS)
def test_tags(api, cls):
    ref = api.shared_obj(cls)
    add, remove = messages(cls, "add")[0]["name"], messages(cls, "remove")[0]["name"]
    assert (add, remove) == ("add_tags", "remove_tags")
    base = api.call("%s.get_tags" % cls, ref)
    assert api.call("%s.add_tags" % cls, ref, "cov-tag") in ("", None)
    assert api.call("%s.add_tags" % cls, ref, "cov-tag") in ("", None)  # no duplicate
    assert api.call("%s.get_tags" % cls, ref) == base + ["cov-tag"]
    assert api.call("%s.remove_tags" % cls, ref, "cov-tag") in ("", None)
    assert api.call("%s.get_tags" % cls, ref) == base
    assert api.call("%s.remove_tags" % cls, ref, "cov-tag") in ("", None)  # absent: no-op
    err = api.fail("%s.add_tags" % cls, api.session, BOGUS_REF, "cov-tag")
    assert err == ["HANDLE_INVALID", cls, BOGUS_REF]


@pytest.mark.parametrize("cls", CREATE)
def test_destroy(api, cls):
    ref, args = api.create(cls)
    uuid = api.call("%s.get_uuid" % cls, ref)
    assert api.call("%s.destroy" % cls, ref) in ("", None)
    api.forget(cls, ref)
    assert api.fail("%s.get_record" % cls, api.session, ref) == ["HANDLE_INVALID", cls, ref]
    assert api.fail("%s.get_uuid" % cls, api.session, ref) == ["HANDLE_INVALID", cls, ref]
    assert api.fail("%s.get_by_uuid" % cls, api.session, uuid) == ["UUID_INVALID", cls, uuid]
    if has(cls, "get_all"):
        assert ref not in api.call("%s.get_all" % cls)
    if has(cls, "get_all_records"):
        assert ref not in api.call("%s.get_all_records" % cls)
    for (rc, rf), (sc, sf) in RELATIONS.items():
        if rc == cls and args.get(rf, NULL_REF) != NULL_REF:
            back = api.call("%s.get_%s" % (sc, sf), args[rf])
            assert ref not in back, "%s destroyed, still in %s.%s: %r" % (ref, sc, sf, back)
    assert api.fail("%s.destroy" % cls, api.session, ref) == ["HANDLE_INVALID", cls, ref]


# --- JSON-RPC, for a sample of classes -----------------------------------

class JsonRpc:
    def __init__(self, host):
        self.url = host.url.rstrip("/") + "/jsonrpc"
        self.ids = itertools.count(1)
        self.session = self.ok("session.login_with_password", "root", host.password)

    def raw(self, method, *params):
        req_id = next(self.ids)
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params),
                           "id": req_id}).encode("utf-8")
        req = urllib.request.Request(self.url, data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=RPC_TIMEOUT) as r:
            reply = json.loads(r.read().decode("utf-8"))
        assert reply.get("id") == req_id and reply.get("jsonrpc") == "2.0", reply
        return reply

    def ok(self, method, *params):
        r = self.raw(method, *params)
        assert "error" not in r and "result" in r, "%s(%s) -> %r" % (method, show(params), r)
        return r["result"]

    def fail(self, method, *params):
        r = self.raw(method, *params)
        assert "error" in r and "result" not in r, "%s(%s) should fail: %r" % (
            method, show(params), r)
        return [r["error"]["message"]] + list(r["error"].get("data", []))

    def call(self, method, *params):
        return self.ok(method, self.session, *params)


@pytest.fixture(scope="module")
def jsonrpc(host):
    return JsonRpc(host)


@pytest.mark.parametrize("cls", JSON_SAMPLE)
def test_jsonrpc_class(api, jsonrpc, cls):
    j = jsonrpc
    made = None
    if cls in CREATE:
        args = {}
        for f in CLASSES[cls]["fields"]:
            if f["qualifier"] != "RO/runtime" and "default" not in f:
                args[f["name"]] = first_value(parse_type(f["type"]), api.refs, json_rpc=True)
        made = j.call("%s.create" % cls, args)
        rec = j.call("%s.get_record" % cls, made)
        for name, value in args.items():
            t = ftype(cls, name)
            assert norm(t, rec[name]) == norm(t, value), (name, value, rec[name])
    recs = j.call("%s.get_all_records" % cls)
    assert isinstance(recs, dict) and recs, recs
    problems = []
    for ref, rec in recs.items():
        problems += record_problems(cls, rec, json_rpc=True)
    assert not problems, "\n".join(problems)
    assert sorted(j.call("%s.get_all" % cls)) == sorted(recs)
    assert j.call("%s.get_all_records_where" % cls, "true") == recs
    ref = made or sorted(recs)[0]
    assert j.call("%s.get_record" % cls, ref) == recs[ref]
    assert j.call("%s.get_uuid" % cls, ref) == recs[ref]["uuid"]
    assert j.call("%s.get_by_uuid" % cls, recs[ref]["uuid"]) == ref
    assert j.fail("%s.get_record" % cls, j.session, BOGUS_REF) == ["HANDLE_INVALID", cls,
                                                                  BOGUS_REF]
    assert j.fail("%s.get_by_uuid" % cls, j.session, BOGUS_UUID) == ["UUID_INVALID", cls,
                                                                    BOGUS_UUID]
    if made:
        for m in messages(cls, "set_field"):
            t = ftype(cls, m["field"])
            if t[0] in ("string", "int", "bool", "map"):
                new = other_value(t, norm(t, recs[made][m["field"]]), api.refs, json_rpc=True)
                j.call("%s.%s" % (cls, m["name"]), made, new)
                got = j.call("%s.get_%s" % (cls, m["field"]), made)
                assert norm(t, got) == norm(t, new), (m["name"], new, got)
                assert wire_problems(t, got, json_rpc=True) == []
                err = j.fail("%s.%s" % (cls, m["name"]), j.session, made, wrong_value(t))
                assert err == ["FIELD_TYPE_ERROR", "value"], (m["name"], err)
        j.call("%s.destroy" % cls, made)
        assert j.fail("%s.get_record" % cls, j.session, made) == ["HANDLE_INVALID", cls, made]
