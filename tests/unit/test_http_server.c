/*
 * test_http_server.c - the HTTP/1.1 server's requests and responses, driven
 * by raw sockets (mostly one connection on a socketpair served by
 * http_serve_fd): framing both ways (Content-Length, chunked, HTTP/1.0
 * close-delimited), keep-alive and pipelining, HEAD, 100-continue, and
 * handlers that answer wrongly or not at all. The harness is in
 * http_harness.c; limits and deadlines are in test_http_limits.c,
 * listeners and CONNECT in test_http_connect.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_harness.h"
#include "testutil.h"

static void test_get_and_post(void **state)
{
    struct pair *p = pair_open();
    struct resp r;
    roundtrip(&p->c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_true(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_body_str(&r, "hello");
    assert_string_equal(resp_hdr(&r, "Content-Length"), "5");
    assert_string_equal(resp_hdr(&r, "Content-Type"), "text/plain");
    assert_string_equal(resp_hdr(&r, "Connection"), "keep-alive");
    assert_string_equal(resp_hdr(&r, "X-Test"), "yes");
    assert_null(resp_hdr(&r, "Transfer-Encoding"));
    resp_free(&r);

    roundtrip(&p->c,
              "POST /echo?a=1&b=2 HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world",
              &r);
    assert_int_equal(r.status, 200);
    assert_body_str(&r, "hello world");
    assert_string_equal(resp_hdr(&r, "X-Method"), "POST");
    assert_string_equal(resp_hdr(&r, "X-Path"), "/echo");
    assert_string_equal(resp_hdr(&r, "X-Query"), "a=1&b=2");
    assert_string_equal(resp_hdr(&r, "X-CL"), "11");
    assert_string_equal(resp_hdr(&r, "X-Peer"), "unix");
    assert_string_equal(resp_hdr(&r, "X-Unix"), "1");
    assert_string_equal(resp_hdr(&r, "Content-Type"), "application/octet-stream");
    resp_free(&r);

    /* A binary body with NULs, and an empty one. */
    const char req[] = "PUT /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\na\0b\0c";
    assert_true(send_all(p->c.fd, req, sizeof(req) - 1));
    read_resp(&p->c, &r, false);
    assert_string_equal(resp_hdr(&r, "X-Method"), "PUT");
    assert_body(&r, "a\0b\0c", 5);
    resp_free(&r);
    roundtrip(&p->c, "POST /echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    assert_string_equal(resp_hdr(&r, "Content-Length"), "0");
    assert_string_equal(resp_hdr(&r, "X-CL"), "0");
    resp_free(&r);
    pair_close(p);
}

static void test_query_split(void **state)
{
    static const struct {
        const char *target, *path, *query;
    } cases[] = {
        {"/echo", "/echo", ""},          {"/echo?", "/echo", ""},
        {"/a/b?x=y?z", "/a/b", "x=y?z"}, {"/e%20x?q=%41&r", "/e%20x", "q=%41&r"},
        {"/?only", "/", "only"},
    };
    struct pair *p = pair_open();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", cases[i].target);
        struct resp r;
        roundtrip(&p->c, req, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(resp_hdr(&r, "X-Path"), cases[i].path);
        assert_string_equal(resp_hdr(&r, "X-Query"), cases[i].query);
        assert_string_equal(resp_hdr(&r, "X-CL"), "0");
        resp_free(&r);
    }
    pair_close(p);
}

static void test_header_lookup(void **state)
{
    struct pair *p = pair_open();
    const char *hdrs = "Host: t\r\nX-Custom-Thing: Value1\r\nx-lower: low\r\nX-Empty:\r\n"
                       "Content-type: text/odd\r\n\r\n";
    static const struct {
        const char *name, *want;
    } cases[] = {
        {"X-Custom-Thing", "Value1"},
        {"x-custom-thing", "Value1"},
        {"X-CUSTOM-THING", "Value1"},
        {"X-Lower", "low"},
        {"X-Empty", ""},
        {"content-TYPE", "text/odd"},
        {"X-Missing", "(none)"},
        {"X-Custom", "(none)"},
        {"host", "t"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[512];
        snprintf(req, sizeof(req), "GET /header?%s HTTP/1.1\r\n%s", cases[i].name, hdrs);
        expect_reply(&p->c, req, 200, cases[i].want);
    }
    pair_close(p);
}

static void test_keep_alive(void **state)
{
    struct pair *p = pair_open();
    for (int i = 0; i < 20; i++) {
        struct resp r;
        char req[256], body[32];
        if (i % 2 == 0) {
            roundtrip(&p->c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r);
            assert_body_str(&r, "hello");
            assert_string_equal(resp_hdr(&r, "X-Test"), "yes");
        } else {
            int n = snprintf(body, sizeof(body), "body-%d", i);
            snprintf(req, sizeof(req), "POST /echo?i=%d HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s",
                     i, n, body);
            roundtrip(&p->c, req, &r);
            assert_body_str(&r, body);
            /* the previous response's extra header is not carried over */
            assert_null(resp_hdr(&r, "X-Test"));
        }
        assert_int_equal(r.status, 200);
        assert_string_equal(resp_hdr(&r, "Connection"), "keep-alive");
        resp_free(&r);
    }
    /* "Connection: close" from the client ends it after the response. */
    expect_fatal(&p->c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n", 200);
    pair_close(p);
}

static void test_pipelining(void **state)
{
    struct pair *p = pair_open();
    check_pipelining(&p->c);
    check_pipelining(&p->c);
    /* A HEAD, a chunked POST and a 500 in one write. */
    send_str(p->c.fd,
             "HEAD /hello HTTP/1.1\r\n\r\n"
             "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
             "GET /noreply HTTP/1.1\r\n\r\n"
             "GET /hello HTTP/1.1\r\n\r\n");
    struct resp r;
    read_resp(&p->c, &r, true);
    assert_string_equal(resp_hdr(&r, "Content-Length"), "5");
    resp_free(&r);
    read_resp(&p->c, &r, false);
    assert_body_str(&r, "abc");
    resp_free(&r);
    read_resp(&p->c, &r, false);
    assert_int_equal(r.status, 500);
    resp_free(&r);
    read_resp(&p->c, &r, false);
    assert_body_str(&r, "hello");
    resp_free(&r);
    pair_close(p);
}

static void test_chunked_request_body(void **state)
{
    struct pair *p = pair_open();
    send_str(p->c.fd, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    send_str(p->c.fd, "5\r\nhello\r\n");
    sleep_ms(20);
    send_str(p->c.fd, "7;ext=1\r\n, world\r\n");
    send_str(p->c.fd, "0\r\n\r\n");
    struct resp r;
    read_resp(&p->c, &r, false);
    assert_int_equal(r.status, 200);
    assert_body_str(&r, "hello, world");
    assert_string_equal(resp_hdr(&r, "X-CL"), "-1");
    resp_free(&r);

    /* 300 KB in chunks of assorted sizes. */
    const size_t total = 300 * 1024;
    struct buf req = BUF_INIT, want = BUF_INIT;
    buf_puts(&req, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (size_t off = 0, i = 0; off < total; i++) {
        size_t n = (i * 37) % 4000 + 1;
        if (n > total - off)
            n = total - off;
        buf_printf(&req, "%zx\r\n", n);
        for (size_t k = 0; k < n; k++) {
            buf_putc(&req, (char)pattern(off + k));
            buf_putc(&want, (char)pattern(off + k));
        }
        buf_puts(&req, "\r\n");
        off += n;
    }
    buf_puts(&req, "0\r\n\r\n");
    assert_true(send_all(p->c.fd, req.data, req.len));
    read_resp(&p->c, &r, false);
    assert_int_equal(r.status, 200);
    assert_body(&r, want.data, want.len);
    resp_free(&r);
    buf_free(&req);
    buf_free(&want);
    expect_hello(&p->c);
    pair_close(p);
}

/* Trailers after a chunked body are not request headers: they must not
 * move or overflow the header table the handler already looked at. */
static void test_chunked_request_trailers(void **state)
{
    struct pair *p = pair_open();
    struct buf req = BUF_INIT;
    buf_set_padded(&req,
                   "POST /trailer HTTP/1.1\r\nX-Before: early-value\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\nX-Long-Trailer: ",
                   'x', 3000, "\r\n");
    for (int i = 0; i < 120; i++)
        buf_printf(&req, "X-T%d: v\r\n", i);
    buf_puts(&req, "\r\n");
    expect_reply(&p->c, req.data, 200, "0|early-value|abcde");
    buf_free(&req);
    expect_reply(&p->c, "GET /header?X-T1 HTTP/1.1\r\n\r\n", 200, "(none)");
    pair_close(p);
}

static void test_large_body_streamed(void **state)
{
    struct pair *p = pair_open();
    const size_t total = 3u << 20;
    uint64_t sum = 0;
    char hdr[128], piece[65536], want[64];
    snprintf(hdr, sizeof(hdr), "POST /sum HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", total);
    send_str(p->c.fd, hdr);
    for (size_t off = 0; off < total; off += sizeof(piece)) {
        for (size_t k = 0; k < sizeof(piece); k++) {
            piece[k] = (char)pattern(off + k);
            sum = sum * 31 + (unsigned char)piece[k];
        }
        assert_true(send_all(p->c.fd, piece, sizeof(piece)));
    }
    snprintf(want, sizeof(want), "%zu %" PRIu64, total, sum);
    expect_reply(&p->c, NULL, 200, want);
    pair_close(p);
}

/* A reply far larger than the socket takes at once: head and body go
 * out in one call while they fit, and the rest follows, in order, with
 * the connection still framed for the next request. */
static void test_large_reply_sent_whole(void **state)
{
    struct pair *p = pair_open();
    const size_t total = 2u << 20;
    char hdr[128];
    char *body = malloc(total);
    assert_non_null(body);
    for (size_t i = 0; i < total; i++)
        body[i] = (char)pattern(i);
    snprintf(hdr, sizeof(hdr), "POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", total);
    send_str(p->c.fd, hdr);
    assert_true(send_all(p->c.fd, body, total));
    struct resp r;
    read_resp(&p->c, &r, false);
    assert_int_equal(r.status, 200);
    assert_body(&r, body, total);
    resp_free(&r);
    expect_reply(&p->c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", 200, "hello");
    free(body);
    pair_close(p);
}

static void test_streamed_chunked_response(void **state)
{
    struct pair *p = pair_open();
    struct resp r;
    roundtrip(&p->c, "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_hdr(&r, "Transfer-Encoding"), "chunked");
    assert_null(resp_hdr(&r, "Content-Length"));
    assert_string_equal(resp_hdr(&r, "Connection"), "keep-alive");
    struct buf want = BUF_INIT;
    buf_set_padded(&want, "5\r\nhello\r\n12c\r\n", 'x', 300, "\r\n0\r\n\r\n");
    assert_int_equal(r.raw.len, want.len);
    assert_memory_equal(r.raw.data, want.data, want.len);
    assert_int_equal(r.body.len, 305);
    buf_free(&want);
    resp_free(&r);
    assert_int_equal(conn_avail(&p->c), 0);
    expect_hello(&p->c);

    /* The same writes with a Content-Length: no chunk framing. */
    roundtrip(&p->c, "GET /stream-len HTTP/1.1\r\n\r\n", &r);
    assert_string_equal(resp_hdr(&r, "Content-Length"), "305");
    assert_null(resp_hdr(&r, "Transfer-Encoding"));
    assert_int_equal(r.body.len, 305);
    assert_memory_equal(r.body.data, "hellox", 6);
    resp_free(&r);
    expect_hello(&p->c);
    pair_close(p);
}

/* Sends req and reads up to the close a response whose head holds the
 * header line given; returns what came after the head. */
static const char *read_to_close(struct pair *p, const char *req, const char *header_line)
{
    send_str(p->c.fd, req);
    conn_read_to_eof(&p->c);
    assert_non_null(strstr(p->c.in.data, header_line));
    return strstr(p->c.in.data, "\r\n\r\n") + 4;
}

/* A handler that breaks its own Content-Length: the connection is closed,
 * the only way to tell the client. */
static void test_content_length_mismatch(void **state)
{
    struct pair *p = pair_open();
    const char *body = read_to_close(p, "GET /overrun HTTP/1.1\r\n\r\n", "Content-Length: 5\r\n");
    assert_true(strlen(body) < 5);
    assert_int_equal(seen_int(&seen.write_rc), -1);
    pair_close(p);

    p = pair_open();
    body = read_to_close(p, "GET /underrun HTTP/1.1\r\n\r\n", "Content-Length: 10\r\n");
    assert_string_equal(body, "01234");
    assert_int_equal(seen_int(&seen.end_rc), -1);
    pair_close(p);
}

/* A streamed response the handler never ended: the close tells the client. */
static void test_reply_not_ended(void **state)
{
    struct pair *p = pair_open();
    const char *body =
        read_to_close(p, "GET /halfway HTTP/1.1\r\n\r\n", "Transfer-Encoding: chunked\r\n");
    assert_string_equal(body, "3\r\nabc\r\n");
    pair_close(p);
}

static void test_reply_twice(void **state)
{
    struct pair *p = pair_open();
    expect_reply(&p->c, "GET /twice HTTP/1.1\r\n\r\n", 200, "first");
    /* the next request is served once that handler has returned */
    expect_hello(&p->c);
    assert_int_equal(conn_avail(&p->c), 0);
    assert_int_equal(seen_int(&seen.again_rc[0]), -1);
    assert_int_equal(seen_int(&seen.again_rc[1]), -1);
    pair_close(p);
}

static void test_http10(void **state)
{
    /* No keep-alive: the connection closes after the response. */
    struct pair *p = pair_open();
    expect_close(&p->c, "GET /hello HTTP/1.0\r\n\r\n", 200, "hello");
    pair_close(p);

    /* A streamed reply of unknown length: no chunking, the close ends it. */
    p = pair_open();
    struct resp r;
    roundtrip(&p->c, "GET /stream HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_null(resp_hdr(&r, "Transfer-Encoding"));
    assert_null(resp_hdr(&r, "Content-Length"));
    assert_string_equal(resp_hdr(&r, "Connection"), "close");
    assert_int_equal(r.body.len, 305);
    assert_memory_equal(r.body.data, "hellox", 6);
    assert_int_equal(r.body.data[304], 'x');
    resp_free(&r);
    pair_close(p);

    /* HTTP/1.0 keep-alive holds, until a reply of unknown length. */
    p = pair_open();
    expect_reply_conn(&p->c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, "hello",
                      "keep-alive");
    expect_reply(&p->c,
                 "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
                 200, "ok");
    roundtrip(&p->c, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r);
    assert_string_equal(resp_hdr(&r, "Connection"), "close");
    assert_null(resp_hdr(&r, "Transfer-Encoding"));
    assert_int_equal(r.body.len, 305);
    resp_free(&r);
    pair_close(p);
}

/* The request line and headers are read strictly: a LF without its CR,
 * a version other than 1.0 and 1.1, or a Transfer-Encoding other than one
 * "chunked" is answered (400, 505, 501) and the connection closed, before
 * any handler runs. A body may hold bare LFs, and every request of a
 * connection is checked afresh. */
static void test_strict_request_head(void **state)
{
    static const struct {
        const char *req;
        int status;
    } bad[] = {
        {"GET /hello HTTP/1.1\nHost: t\n\n", 400},
        {"GET /hello HTTP/1.1\r\nHost: t\n\r\n", 400},
        {"GET /hello HTTP/1.1\r\nHost: t\r\nX-A: 1\n\r\n", 400},
        {"GET /hello HTTP/1.1\r\nHost: t\r\n\n", 400},
        {"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", 505},
        {"GET /hello HTTP/1.2\r\nHost: t\r\n\r\n", 505},
        {"GET /hello HTTP/0.9\r\nHost: t\r\n\r\n", 505},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
         "\r\n\r\n0\r\n\r\n",
         501},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
         "0\r\n\r\n",
         400},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pair *p = pair_open();
        expect_hello(&p->c); /* a good request first: the check is per request */
        expect_close(&p->c, bad[i].req, bad[i].status, NULL);
        pair_close(p);
    }
    struct pair *p = pair_open();
    expect_reply(&p->c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\na\nb\nc", 200, "a\nb\nc");
    expect_reply(
        &p->c, "POST /echo HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n3\r\na\nb\r\n0\r\n\r\n",
        200, "a\nb");
    expect_reply(&p->c, "\r\nGET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, "hello");
    pair_close(p);
}

/* A chunk whose size line alone takes the body past the handler's limit
 * (echo reads up to 8 MiB) is answered 413 at once: the data it
 * announces is never waited for. Chunks within the limit still add up
 * to it. */
static void test_chunk_over_limit_refused_at_its_size(void **state)
{
    struct pair *p = pair_open();
    expect_close(&p->c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000000\r\n", 413,
                 NULL);
    pair_close(p);
    p = pair_open();
    send_str(p->c.fd, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    char *piece = malloc((4u << 20) + 16);
    int n = sprintf(piece, "400000\r\n");
    memset(piece + n, 'x', 4u << 20);
    memcpy(piece + n + (4u << 20), "\r\n", 2);
    assert_true(send_all(p->c.fd, piece, (size_t)n + (4u << 20) + 2)); /* 4 MiB: fine */
    free(piece);
    expect_close(&p->c, "400001\r\n", 413, NULL); /* 4 MiB + 1 more: over 8 MiB */
    pair_close(p);
}

static void test_head(void **state)
{
    struct pair *p = pair_open();
    struct resp r;
    roundtrip(&p->c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_hdr(&r, "Content-Length"), "5");
    assert_string_equal(resp_hdr(&r, "Connection"), "keep-alive");
    resp_free(&r);
    /* Had a body been sent, it would be read here as the next status line. */
    expect_hello(&p->c);

    roundtrip(&p->c, "HEAD /stream HTTP/1.1\r\n\r\n", &r);
    assert_string_equal(resp_hdr(&r, "Transfer-Encoding"), "chunked");
    resp_free(&r);
    expect_hello(&p->c);

    roundtrip(&p->c, "HEAD /stream-len HTTP/1.1\r\n\r\n", &r);
    assert_string_equal(resp_hdr(&r, "Content-Length"), "305");
    resp_free(&r);
    expect_hello(&p->c);
    assert_int_equal(conn_avail(&p->c), 0);
    pair_close(p);
}

static void test_expect_continue(void **state)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct pair *p = pair_open();
    for (int round = 0; round < 2; round++) {
        send_str(p->c.fd, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                          "Content-Length: 4\r\n\r\n");
        /* The body is sent only once the server asks for it. */
        conn_expect(&p->c, cont, sizeof(cont) - 1);
        assert_int_equal(conn_avail(&p->c), 0);
        expect_reply_conn(&p->c, "data", 200, "data", "keep-alive");
    }
    /* HTTP/1.0 has no 100 Continue: the body comes anyway. */
    send_str(p->c.fd, "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n"
                      "Content-Length: 3\r\n\r\n");
    sleep_ms(50); /* the handler is waiting for the body by now */
    expect_reply(&p->c, "old", 200, "old");

    /* A client that sends the body straight away gets no 100. */
    expect_reply(&p->c,
                 "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nfast",
                 200, "fast");
    pair_close(p);

    /* A body too big to buffer (here over 16 bytes) is the handler's to
     * ask for. One that answers without reading: no 100, and since the
     * client holds its body back the connection cannot continue. */
    struct http_server_opts o = {.handler = handle, .max_body_buffer = 16};
    p = pair_open_opts(&o);
    expect_close(&p->c,
                 "POST /hello HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n", 200,
                 "hello");
    pair_close(p);

    /* Too big for the handler: 413 straight away, no 100. */
    p = pair_open_opts(&o);
    expect_fatal(
        &p->c, "POST /small HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n", 413);
    assert_int_equal(seen_int(&seen.small_rc), -2);
    pair_close(p);
}

static void test_no_reply_500(void **state)
{
    struct pair *p = pair_open();
    expect_reply_conn(&p->c, "GET /noreply HTTP/1.1\r\n\r\n", 500, "500 Internal Server Error\n",
                      "keep-alive");
    /* The body nobody read is skipped; the connection carries on. */
    expect_reply(&p->c, "POST /noreply HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 500,
                 NULL);
    expect_hello(&p->c);
    pair_close(p);
}

static void test_unread_body_drained(void **state)
{
    struct pair *p = pair_open();
    struct buf req = BUF_INIT;
    buf_set_padded(&req, "POST /hello HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 'z', 5000, "");
    expect_reply(&p->c, req.data, 200, "hello");
    expect_hello(&p->c);
    buf_free(&req);

    /* Too much to skip: the server gives up and closes. */
    expect_reply(&p->c, "POST /hello HTTP/1.1\r\nContent-Length: 4194304\r\n\r\n", 200, "hello");
    static char piece[65536];
    memset(piece, 'q', sizeof(piece));
    for (int i = 0; i < 64 && send_all(p->c.fd, piece, sizeof(piece)); i++)
        ;
    expect_eof(&p->c);
    pair_close(p);
}

static void test_status_text(void **state)
{
    assert_string_equal(http_status_text(200), "OK");
    assert_string_equal(http_status_text(404), "Not Found");
    assert_string_equal(http_status_text(408), "Request Timeout");
    assert_string_equal(http_status_text(413), "Payload Too Large");
    assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(http_status_text(503), "Service Unavailable");
    assert_string_equal(http_status_text(799), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_post),
        cmocka_unit_test(test_query_split),
        cmocka_unit_test(test_header_lookup),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_chunked_request_body),
        cmocka_unit_test(test_chunked_request_trailers),
        cmocka_unit_test(test_large_body_streamed),
        cmocka_unit_test(test_large_reply_sent_whole),
        cmocka_unit_test(test_strict_request_head),
        cmocka_unit_test(test_chunk_over_limit_refused_at_its_size),
        cmocka_unit_test(test_streamed_chunked_response),
        cmocka_unit_test(test_content_length_mismatch),
        cmocka_unit_test(test_reply_not_ended),
        cmocka_unit_test(test_reply_twice),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_no_reply_500),
        cmocka_unit_test(test_unread_body_drained),
        cmocka_unit_test(test_status_text),
    };
    return cmocka_run_group_tests(tests, NULL, http_harness_teardown);
}
