"""XenAPI messages (alerts): create, query by object and by time, destroy,
kept across a restart of xapi (they are on disk)."""

import time
import xmlrpc.client

from conftest import ok


def test_message_lifecycle(host):
    s = host.proxy()
    sid = host.login()
    pool = ok(s.pool.get_all(sid))[0]
    pool_uuid = ok(s.pool.get_uuid(sid, pool))
    before = ok(s.message.get_all(sid))
    ref = ok(s.message.create(sid, "TEST_ALERT", "3", "Pool", pool_uuid, "hello"))
    rec = ok(s.message.get_record(sid, ref))
    assert rec["name"] == "TEST_ALERT"
    assert rec["priority"] == "3"  # XenAPI ints travel as strings in XML-RPC
    assert rec["cls"] == "Pool" and rec["obj_uuid"] == pool_uuid and rec["body"] == "hello"
    assert ref in ok(s.message.get_all(sid))
    assert len(ok(s.message.get_all(sid))) == len(before) + 1
    assert ok(s.message.get_by_uuid(sid, rec["uuid"])) == ref
    old = xmlrpc.client.DateTime("19700101T00:00:00Z")
    assert ref in ok(s.message.get_since(sid, old))
    assert ref in ok(s.message.get(sid, "Pool", pool_uuid, old))
    assert ref not in ok(s.message.get(sid, "VM", pool_uuid, old))
    future = xmlrpc.client.DateTime("20991231T00:00:00Z")
    assert ok(s.message.get_since(sid, future)) == {}
    where = ok(s.message.get_all_records_where(sid, 'field "name" = "TEST_ALERT"'))
    assert list(where) == [ref]
    ok(s.message.destroy(sid, ref))
    r = s.message.get_record(sid, ref)
    assert r["ErrorDescription"][:2] == ["HANDLE_INVALID", "message"]


def test_message_create_checks_the_object(host):
    s = host.proxy()
    sid = host.login()
    r = s.message.create(sid, "X", "1", "VM", "00000000-0000-0000-0000-000000000000", "")
    assert r["ErrorDescription"][0] == "UUID_INVALID"
    r = s.message.create(sid, "X", "1", "NotAClass", "x", "")
    assert r["ErrorDescription"] == ["FIELD_TYPE_ERROR", "cls"]


def test_messages_survive_restart(host):
    s = host.proxy()
    sid = host.login()
    pool_uuid = ok(s.pool.get_uuid(sid, ok(s.pool.get_all(sid))[0]))
    refs = [ok(s.message.create(sid, "KEEP_%d" % i, "2", "Pool", pool_uuid, ""))
            for i in range(3)]
    ok(s.message.destroy_many(sid, refs[:1]))
    host.stop()
    host.start()
    s = host.proxy()
    sid = host.login()
    now = ok(s.message.get_all(sid))
    assert refs[0] not in now and refs[1] in now and refs[2] in now
