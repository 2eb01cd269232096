/*
 * test_http_limits.c - the HTTP server's limits and deadlines: body and
 * header sizes, malformed requests, the io, header and idle timeouts (slow
 * clients), max_connections and max_per_address, and stop with
 * connections open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_harness.h"
#include "testutil.h"

/* io_timeout_ms: a client that stops reading, or stops sending its body. */
static void test_io_timeout(void **state)
{
    struct http_server_opts o = {.handler = handle, .io_timeout_ms = SHORT_MS};
    struct pair *p = pair_open_opts(&o);
    send_str(p->c.fd, "GET /big HTTP/1.1\r\n\r\n");
    assert_int_equal(seen_wait(&seen.big_rc, 99), -1);
    assert_true(seen_int(&seen.big_writes) < 4096);
    conn_read_to_eof(&p->c); /* what was sent, then the close */
    assert_true(p->c.in.len < (size_t)4096 * 16384);
    pair_close(p);

    /* A body that stops coming before the handler runs: 408. */
    p = pair_open_opts(&o);
    expect_fatal(&p->c, "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly ten b", 408);
    pair_close(p);

    /* One too big to buffer goes to the handler, whose read fails: its 400. */
    o.max_body_buffer = 4;
    p = pair_open_opts(&o);
    expect_fatal(&p->c, "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly ten b", 400);
    pair_close(p);
}

static void test_body_too_big(void **state)
{
    struct pair *p = pair_open();
    expect_reply(&p->c, "POST /small HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678", 200,
                 "12345678");
    assert_int_equal(seen_int(&seen.small_rc), 0);
    /* Content-Length over the limit: 413, and the close (the handler did not ask). */
    struct buf req = BUF_INIT;
    expect_fatal(
        &p->c,
        buf_set_padded(&req, "POST /small HTTP/1.1\r\nContent-Length: 100\r\n\r\n", 'b', 100, ""),
        413);
    buf_free(&req);
    assert_int_equal(seen_int(&seen.small_rc), -2);
    pair_close(p);

    /* Chunked, found too big while reading. */
    p = pair_open();
    expect_fatal(&p->c,
                 "POST /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n",
                 413);
    assert_int_equal(seen_int(&seen.small_rc), -2);
    pair_close(p);
}

static void test_malformed_400(void **state)
{
    static const char *bad[] = {
        "GARBAGE / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1 junk\r\n\r\n",
        "GET /\x01 HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET / HTTP/9.x\r\n\r\n",
        /* both lengths: a smuggling vector, refused */
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pair *p = pair_open();
        if (strstr(bad[i], "zz")) { /* a bad chunk size is found by the body reader */
            expect_reply(&p->c, bad[i], 400, NULL);
            expect_eof(&p->c);
        } else {
            expect_fatal(&p->c, bad[i], 400);
        }
        pair_close(p);
    }
    /* A good request, then a bad one on the same connection. */
    struct pair *p = pair_open();
    expect_hello(&p->c);
    expect_fatal(&p->c, "GET / HTTP/1.1\r\n: no-name\r\n\r\n", 400);
    pair_close(p);
}

/* A request with one header of n bytes (and a little more around it). */
static const char *fill_header(struct buf *req, size_t n)
{
    return buf_set_padded(req, "GET /hello HTTP/1.1\r\nX-Fill: ", 'f', n, "\r\n\r\n");
}

static void test_header_too_big_431(void **state)
{
    struct http_server_opts o = {.handler = handle, .max_header_bytes = 1024};
    struct buf req = BUF_INIT;
    struct pair *p = pair_open_opts(&o);
    expect_reply(&p->c, fill_header(&req, 500), 200, "hello"); /* well under */
    expect_fatal(&p->c, fill_header(&req, 2000), 431);
    pair_close(p);

    /* Many small headers add up. */
    p = pair_open_opts(&o);
    buf_reset(&req);
    buf_puts(&req, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 60; i++)
        buf_printf(&req, "X-H%d: abcdefghijklmnop\r\n", i);
    buf_puts(&req, "\r\n");
    expect_fatal(&p->c, req.data, 431);
    pair_close(p);

    /* The request line counts too. */
    p = pair_open_opts(&o);
    expect_fatal(&p->c, buf_set_padded(&req, "GET /", 'u', 2000, " HTTP/1.1\r\n\r\n"), 431);
    pair_close(p);

    /* The default limit is 16 KiB: 12 KB pass, 20 KB do not. */
    p = pair_open();
    expect_reply(&p->c, fill_header(&req, 12000), 200, "hello");
    pair_close(p);
    p = pair_open();
    expect_fatal(&p->c, fill_header(&req, 20000), 431);
    pair_close(p);
    buf_free(&req);
}

static void test_too_many_headers_431(void **state)
{
    struct buf req = BUF_INIT;
    for (int count = 100; count <= 101; count++) {
        struct pair *p = pair_open();
        buf_reset(&req);
        buf_puts(&req, "GET /header?x-h99 HTTP/1.1\r\n");
        for (int i = 0; i < count; i++)
            buf_printf(&req, "X-H%d: v%d\r\n", i, i);
        buf_puts(&req, "\r\n");
        if (count == 100)
            expect_reply(&p->c, req.data, 200, "v99");
        else
            expect_fatal(&p->c, req.data, 431);
        pair_close(p);
    }
    buf_free(&req);
}

static void test_slow_client_408(void **state)
{
    struct http_server_opts o = {.handler = handle, .header_timeout_ms = SHORT_MS};
    struct srv v;
    srv_start(&v, &o);
    struct conn slow = conn_tcp(v.port);
    const char *req = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: ";
    size_t i = 0;
    bool answered = false;
    /* One byte every 50 ms, for at most 20 s; the headers never end. */
    for (int64_t give_up = now_ms() + 2 * WAIT_MS; !answered && now_ms() < give_up; i++) {
        char ch = i < strlen(req) ? req[i] : 'a';
        if (send(slow.fd, &ch, 1, MSG_NOSIGNAL) != 1)
            break;
        if (i == 0) { /* with a request half-read, another client is served */
            struct conn fast = conn_tcp(v.port);
            expect_hello(&fast);
            conn_close(&fast);
        }
        struct pollfd pfd = {.fd = slow.fd, .events = POLLIN};
        answered = poll(&pfd, 1, 50) > 0;
    }
    struct resp r;
    read_resp(&slow, &r, false);
    assert_int_equal(r.status, 408);
    assert_string_equal(resp_hdr(&r, "Connection"), "close");
    resp_free(&r);
    conn_read_to_eof(&slow); /* bytes sent after the reply may linger; the close must come */
    conn_close(&slow);

    /* The same on a keep-alive connection's second request. */
    slow = conn_tcp(v.port);
    expect_hello(&slow);
    expect_fatal(&slow, "GET /hello HTTP/1.1\r\nX-Unfinished: ", 408);
    conn_close(&slow);
    srv_stop(&v);
}

static void test_idle_timeout(void **state)
{
    struct http_server_opts o = {
        .handler = handle, .idle_timeout_ms = SHORT_MS, .header_timeout_ms = SHORT_MS};
    struct srv v;
    srv_start(&v, &o);
    struct conn c = conn_tcp(v.port);
    expect_hello(&c);
    expect_eof(&c); /* quietly: nothing was asked */
    conn_close(&c);

    /* A connection that never sends a byte is dropped without a 408. */
    c = conn_unix(v.path);
    expect_eof(&c);
    conn_close(&c);

    srv_stop(&v);
}

static void test_max_connections(void **state)
{
    struct http_server_opts o = {.handler = handle, .max_connections = 2};
    struct srv v;
    srv_start(&v, &o);
    /* Two connections that have not sent a byte hold both TCP slots: a
     * third displaces the one that has waited longest, and is served. */
    struct conn a = conn_tcp(v.port);
    sleep_ms(20);
    struct conn b = conn_tcp(v.port);
    sleep_ms(20);
    struct conn c = conn_tcp(v.port);
    expect_hello(&c);
    expect_eof(&a);
    conn_close(&a);
    expect_hello(&b);

    /* b proves a session, then c waits for its next request: a new client
     * displaces c, though b has waited longer. */
    expect_reply(&b, "GET /trust HTTP/1.1\r\n\r\n", 200, "trusted");
    sleep_ms(20);
    expect_hello(&c);
    struct conn d = conn_tcp(v.port);
    expect_hello(&d);
    expect_eof(&c);
    conn_close(&c);
    expect_hello(&b);

    /* Connections whose handlers run are never displaced: 503. */
    send_str(b.fd, "GET /block HTTP/1.1\r\n\r\n");
    send_str(d.fd, "GET /block HTTP/1.1\r\n\r\n");
    seen_wait(&seen.blocked, 0);
    sleep_ms(50); /* both handlers run */
    c = conn_tcp(v.port);
    expect_close(&c, "GET /hello HTTP/1.1\r\n\r\n", 503, "too many connections");
    conn_close(&c);
    /* The Unix socket has slots of its own: root on the host gets in. */
    struct conn u = conn_unix(v.path);
    expect_hello(&u);
    conn_close(&u);
    seen_set(&seen.release, 1);
    expect_reply(&b, NULL, 200, "unblocked");
    expect_reply(&d, NULL, 200, "unblocked");
    conn_close(&b);
    conn_close(&d);
    srv_stop(&v);
}

static void test_max_per_address(void **state)
{
    struct http_server_opts o = {.handler = handle, .max_per_address = 2};
    struct srv v;
    srv_start(&v, &o);
    struct conn a = conn_tcp_from("127.0.0.2", v.port), b = conn_tcp_from("127.0.0.2", v.port);
    expect_hello(&a);
    struct conn c = conn_tcp_from("127.0.0.2", v.port);
    expect_close(&c, "GET /hello HTTP/1.1\r\n\r\n", 503, "too many connections");
    conn_close(&c);
    /* Another address is served, and a closed connection frees its place. */
    c = conn_tcp_from("127.0.0.3", v.port);
    expect_hello(&c);
    conn_close(&c);
    conn_close(&a);
    sleep_ms(50);
    a = conn_tcp_from("127.0.0.2", v.port);
    expect_hello(&a);
    expect_hello(&b);
    conn_close(&a);
    conn_close(&b);
    srv_stop(&v);
}

static void *stop_thread(void *arg)
{
    http_server_stop(arg);
    return NULL;
}

static void test_stop_with_idle_connections(void **state)
{
    struct srv v;
    srv_start(&v, NULL); /* default deadlines: minutes */
    struct conn idle_tcp = conn_tcp(v.port), idle_unix = conn_unix(v.path);
    expect_hello(&idle_tcp);
    expect_hello(&idle_unix);
    struct conn silent = conn_tcp(v.port);
    struct conn half = conn_tcp(v.port);
    send_str(half.fd, "GET /hello HTTP/1.1\r\nX-Half: ");
    struct conn body = conn_unix(v.path);
    send_str(body.fd, "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly some");
    sleep_ms(50); /* let the server pick them up */

    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_thread, v.s), 0);
    join_within(t);

    expect_eof(&idle_tcp);
    expect_eof(&idle_unix);
    expect_eof(&silent);
    expect_eof(&half);
    conn_read_to_eof(&body); /* may or may not get a 400 first */
    conn_close(&idle_tcp);
    conn_close(&idle_unix);
    conn_close(&silent);
    conn_close(&half);
    conn_close(&body);

    /* Nothing listens any more. */
    int rc;
    close(tcp_socket_to(v.port, &rc));
    assert_int_not_equal(rc, 0);
    srv_stop(&v); /* a second stop is a no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_timeout),
        cmocka_unit_test(test_body_too_big),
        cmocka_unit_test(test_malformed_400),
        cmocka_unit_test(test_header_too_big_431),
        cmocka_unit_test(test_too_many_headers_431),
        cmocka_unit_test(test_slow_client_408),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_max_per_address),
        cmocka_unit_test(test_stop_with_idle_connections),
    };
    return cmocka_run_group_tests(tests, NULL, http_harness_teardown);
}
