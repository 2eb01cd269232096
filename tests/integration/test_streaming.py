"""Replies written from the database as they go out.

A reply larger than a chunk (64 KiB) goes out with chunked transfer
encoding, in XML-RPC and JSON-RPC alike, and reads back the same as the
records fetched one by one. A client that hangs up in the middle of one
leaves xapi serving: nothing is held (no lock: a write goes through at
once), and the next calls are answered."""

import json
import os
import socket
import struct
import threading
import xmlrpc.client

import pytest

from conftest import ok

VMS = 300  # about 2.5 MB of VM records: many chunks


@pytest.fixture(scope="module")
def vms(host):
    s = host.login()
    p = host.proxy()
    for i in range(VMS):
        ok(p.VM.create(s, {"name_label": "stream-%d" % i, "name_description": "<&>" * 20,
                           "memory_static_max": "1073741824", "memory_dynamic_max": "1073741824",
                           "memory_dynamic_min": "1073741824", "memory_static_min": "536870912",
                           "VCPUs_max": "1", "VCPUs_at_startup": "1",
                           "other_config": {"k%d" % j: "v" * 50 for j in range(10)}}))
    return s


def raw_request(host, body, path="/", content_type="text/xml"):
    data = body.encode()
    return ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (path, content_type, len(data))).encode() + data


def test_large_reply_is_chunked_and_complete(host, vms):
    s = vms
    body = xmlrpc.client.dumps((s,), "VM.get_all_records")
    status, headers, data = host.post("/", body, timeout=60)
    assert status == 200
    assert headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in headers
    records = ok(xmlrpc.client.loads(data)[0][0])
    assert sum(1 for r in records.values() if r["name_label"].startswith("stream-")) == VMS
    # each record as VM.get_record answers it
    p = host.proxy()
    for ref in list(records)[:20]:
        assert ok(p.VM.get_record(s, ref)) == records[ref]
    # JSON-RPC streams the same records
    status, headers, data = host.jsonrpc({"jsonrpc": "2.0", "method": "VM.get_all_records",
                                          "params": [s], "id": 7})
    assert status == 200 and headers.get("transfer-encoding") == "chunked"
    reply = json.loads(data)
    assert reply["id"] == 7 and set(reply["result"]) == set(records)


def test_small_reply_keeps_content_length(host, vms):
    status, headers, data = host.post("/", xmlrpc.client.dumps((vms,), "pool.get_all"))
    assert status == 200 and "content-length" in headers
    assert int(headers["content-length"]) == len(data)


def cut_off(host, request, after):
    """Sends request, reads `after` bytes of the reply, and resets the
    connection."""
    sock = socket.create_connection(("127.0.0.1", host.port), timeout=30)
    sock.sendall(request)
    got = 0
    while got < after:
        chunk = sock.recv(min(65536, after - got))
        if not chunk:
            break
        got += len(chunk)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    return got


def test_client_cut_off_mid_stream_leaves_xapi_serving(host, vms):
    s = vms
    xml = raw_request(host, xmlrpc.client.dumps((s,), "VM.get_all_records"))
    js = raw_request(host, json.dumps({"jsonrpc": "2.0", "method": "VM.get_all_records",
                                       "params": [s], "id": 1}), "/jsonrpc", "application/json")
    for i in range(20):
        assert cut_off(host, xml if i % 2 == 0 else js, 1000 + 7000 * i) > 0
    # concurrently: readers cut off while a writer writes
    errors = []

    def cutter():
        try:
            for i in range(5):
                cut_off(host, xml, 20000 * (i + 1))
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=cutter) for _ in range(4)]
    for t in threads:
        t.start()
    p = host.proxy()
    vm = ok(p.VM.get_by_name_label(s, "stream-0"))[0]
    for i in range(20):
        # a bounded wait: a writer stuck behind a dead reader's lock fails here
        body = xmlrpc.client.dumps((s, vm, "written while cut off %d" % i),
                                   "VM.set_name_description")
        status, _, data = host.post("/", body, timeout=30)
        assert status == 200
        ok(xmlrpc.client.loads(data)[0][0])
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    assert not errors, errors
    # and everything still answers, whole
    records = ok(p.VM.get_all_records(s))
    assert records[vm]["name_description"] == "written while cut off 19"
    assert ok(p.session.get_this_host(s, s))
    # the cuts did land in the middle of replies being streamed
    with open(os.path.join(host.state, "log", "xapi.log"), errors="replace") as f:
        assert "the reply broke off after its first chunk" in f.read()
