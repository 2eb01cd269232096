"""A thin CLI protocol client in Python, written from the protocol's
description (docs/cli.md), sharing nothing with build/xe: the tests drive
POST /cli with it the way the upstream xe binary does, and inspect every
message the server sends.

    r = run(("127.0.0.1", port), ["vm-list", "username=root", "password=pw"])
    r.exit, r.stdout, r.stderr, r.messages

run() answers Prompt with `answer`, Load/HttpPut/HttpGet with Failed
unless `on_command` handles them, and ends at Exit.
"""

import socket
import struct

PREFIX = b"XenSource thin CLI protocol"
COMMAND, RESPONSE, BLOB = 9, 10, 11
PRINT, LOAD, PROMPT, EXIT = 0, 1, 3, 4
HTTP_GET, HTTP_PUT, ERROR, DEBUG, PRINT_STDERR, HTTP_CONNECT = 12, 13, 14, 15, 16, 17
OK, FAILED, WAIT = 5, 6, 18
CHUNK, END = 7, 8


def i32(n):
    return struct.pack("<i", n)


def frame(*parts):
    body = b"".join(parts)
    return i32(len(body)) + body


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return i32(len(b)) + b


def response(tag):
    return frame(i32(RESPONSE), i32(tag))


def chunk(n):
    return frame(i32(BLOB), i32(CHUNK), i32(n))


def end():
    return frame(i32(BLOB), i32(END))


def read_exact(sock, n):
    out = b""
    while len(out) < n:
        b = sock.recv(n - len(out))
        if not b:
            raise EOFError("connection closed after %d of %d bytes" % (len(out), n))
        out += b
    return out


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def int(self):
        (v,) = struct.unpack_from("<i", self.data, self.pos)
        self.pos += 4
        return v

    def str(self):
        n = self.int()
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8", "replace")


def read_message(sock):
    """One framed message: (kind, tag, fields)."""
    (n,) = struct.unpack("<i", read_exact(sock, 4))
    r = Reader(read_exact(sock, n))
    kind, tag = r.int(), r.int()
    fields = []
    if kind == COMMAND:
        if tag in (PRINT, DEBUG, LOAD, PRINT_STDERR, HTTP_CONNECT):
            fields = [r.str()]
        elif tag in (HTTP_GET, HTTP_PUT):
            fields = [r.str(), r.str()]
        elif tag == EXIT:
            fields = [r.int()]
        elif tag == ERROR:
            code = r.str()
            fields = [code, [r.str() for _ in range(r.int())]]
        elif tag != PROMPT:
            raise ValueError("unknown command tag %d" % tag)
    elif kind == BLOB and tag == CHUNK:
        fields = [r.int()]
    assert r.pos == len(r.data), "bytes left in message %d/%d" % (kind, tag)
    return kind, tag, fields


class Result:
    def __init__(self):
        self.exit = None
        self.stdout = ""
        self.stderr = ""
        self.messages = []
        self.server_version = None


def request(args, headers=None):
    body = "\n".join(args).encode()
    head = "POST /cli HTTP/1.0\r\nUser-agent: xe-cli/Unix/0.2\r\noriginator: cli\r\n"
    for k, v in (headers or {}).items():
        head += "%s: %s\r\n" % (k, v)
    head += "content-length: %d\r\n\r\n" % len(body)
    return head.encode() + body


def connect(where, timeout=30, source=None):
    if isinstance(where, str):
        s = socket.socket(socket.AF_UNIX)
    else:
        s = socket.socket(socket.AF_INET)
        if source:
            s.bind((source, 0))
    s.settimeout(timeout)
    s.connect(where)
    return s


def hello(sock):
    """Reads the server's hello and answers with ours: the server's version."""
    data = read_exact(sock, len(PREFIX) + 8)
    assert data[:len(PREFIX)] == PREFIX, data
    major, minor = struct.unpack("<ii", data[len(PREFIX):])
    sock.sendall(PREFIX + i32(0) + i32(2))
    return major, minor


def run(where, args, answer=None, on_command=None, timeout=30, source=None):
    """Runs one command line as xe would (from the address source, if
    given); the Result."""
    res = Result()
    with connect(where, timeout, source) as s:
        s.sendall(request(args))
        res.server_version = hello(s)
        while res.exit is None:
            kind, tag, fields = read_message(s)
            res.messages.append((kind, tag, fields))
            assert kind == COMMAND, (kind, tag)
            if tag == PRINT:
                res.stdout += fields[0] + "\n"
            elif tag == PRINT_STDERR:
                res.stderr += fields[0]
            elif tag == ERROR:
                res.stderr += "Error code: %s\nError parameters: %s\n" % (
                    fields[0], ", ".join(fields[1]))
            elif tag == EXIT:
                res.exit = fields[0]
            elif tag == PROMPT:
                data = (answer or "").encode()
                s.sendall(chunk(len(data)) + data + end())
            elif tag == DEBUG:
                pass
            elif on_command:
                on_command(s, tag, fields)
            else:
                s.sendall(response(FAILED))
    return res
