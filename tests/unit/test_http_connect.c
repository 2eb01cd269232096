/*
 * test_http_connect.c - the HTTP server's listeners and connections: the
 * server's lifecycle, listen errors and stale Unix sockets, TCP and Unix
 * clients side by side, many connections at once, a blocking handler, and
 * CONNECT handing the raw socket to the handler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http_harness.h"

static void test_server_lifecycle(void **state)
{
    const char *err = NULL;
    struct http_server_opts o = {.handler = handle};
    /* Never listening, never started. */
    http_server_free(http_server_new(&o));
    http_server_free(NULL);

    /* Listening but never started: stop and free must not wait on threads that never ran. */
    struct http_server *s = http_server_new(&o);
    assert_int_equal(http_server_listen_tcp(s, "127.0.0.1", 0, &err), 0);
    http_server_stop(s);
    http_server_free(s);

    s = http_server_new(&o);
    assert_int_equal(http_server_listen_tcp(s, "127.0.0.1", 0, &err), 0);
    http_server_free(s);

    /* Started and freed without an explicit stop. */
    s = http_server_new(&o);
    assert_int_equal(http_server_port(s), 0);
    assert_int_equal(http_server_listen_tcp(s, "127.0.0.1", 0, &err), 0);
    assert_int_equal(http_server_start(s), 0);
    struct conn c = conn_tcp(http_server_port(s));
    expect_hello(&c);
    http_server_free(s);
    expect_eof(&c);
    conn_close(&c);
}

static void test_listen_errors(void **state)
{
    const char *err = NULL;
    struct srv v;
    srv_start(&v, NULL);
    struct http_server_opts o = {.handler = handle};
    struct http_server *s = http_server_new(&o);

    assert_int_equal(http_server_listen_tcp(s, "not-an-address", 0, &err), -1);
    assert_non_null(err);
    err = NULL;
    assert_int_equal(http_server_listen_tcp(s, "127.0.0.1", v.port, &err), -1);
    assert_string_equal(err, "address already in use");

    char long_path[300];
    memset(long_path, 'p', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    err = NULL;
    assert_int_equal(http_server_listen_unix(s, long_path, &err), -1);
    assert_string_equal(err, "socket path too long");

    /* A live server's socket is not "stale": it must not be stolen. */
    err = NULL;
    assert_int_equal(http_server_listen_unix(s, v.path, &err), -1);
    assert_non_null(err);
    struct conn c = conn_unix(v.path);
    expect_hello(&c);
    conn_close(&c);

    /* A regular file in the way is left alone. */
    char file[160];
    snprintf(file, sizeof(file), "%s/file", v.dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    err = NULL;
    assert_int_equal(http_server_listen_unix(s, file, &err), -1);
    assert_non_null(err);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    unlink(file);

    /* A stale socket file (nobody listening) is replaced. */
    char stale[160];
    snprintf(stale, sizeof(stale), "%s/stale.sock", v.dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%.100s", stale);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);
    assert_int_equal(http_server_listen_unix(s, stale, &err), 0);
    assert_int_equal(http_server_start(s), 0);
    c = conn_unix(stale);
    expect_hello(&c);
    conn_close(&c);
    http_server_stop(s);
    http_server_free(s);
    unlink(stale);
    srv_stop(&v);
}

/* GET /echo on c: the handler's http_req_peer into peer, and http_req_is_unix. */
static void get_peer(struct conn *c, char *peer, size_t size, bool is_unix)
{
    struct resp r;
    roundtrip(c, "GET /echo HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    snprintf(peer, size, "%s", resp_hdr(&r, "X-Peer"));
    assert_string_equal(resp_hdr(&r, "X-Unix"), is_unix ? "1" : "0");
    resp_free(&r);
}

/* No address: all of them, IPv4 included. */
static void test_listen_all_addresses(void **state)
{
    struct http_server_opts o = {.handler = handle};
    const char *err = NULL;
    struct http_server *s = http_server_new(&o);
    assert_int_equal(http_server_listen_tcp(s, NULL, 0, &err), 0);
    assert_int_equal(http_server_start(s), 0);
    struct conn c = conn_tcp(http_server_port(s));
    char peer[128];
    get_peer(&c, peer, sizeof(peer), false);
    assert_non_null(strstr(peer, "127.0.0.1"));
    conn_close(&c);
    http_server_stop(s);
    http_server_free(s);
}

static void test_unix_and_tcp_listeners(void **state)
{
    struct srv v;
    srv_start(&v, NULL);
    struct conn u = conn_unix(v.path);
    char peer[128];
    get_peer(&u, peer, sizeof(peer), true);
    assert_string_equal(peer, "unix");
    check_pipelining(&u);

    struct conn t = conn_tcp(v.port);
    get_peer(&t, peer, sizeof(peer), false);
    assert_true(strncmp(peer, "127.0.0.1:", 10) == 0);
    assert_true(atoi(peer + 10) > 0);
    check_pipelining(&t);
    conn_close(&u);
    conn_close(&t);
    srv_stop(&v);
}

/* Several connections at once, requests interleaved across them. */
static void test_many_connections(void **state)
{
    enum { NCONN = 8, ROUNDS = 10 };
    struct srv v;
    srv_start(&v, NULL);
    struct conn c[NCONN];
    for (int i = 0; i < NCONN; i++)
        c[i] = i % 2 ? conn_unix(v.path) : conn_tcp(v.port);
    for (int round = 0; round < ROUNDS; round++) {
        char body[NCONN][32];
        for (int i = 0; i < NCONN; i++) {
            char req[512];
            int n = snprintf(body[i], sizeof(body[i]), "r%d-c%d", round, i);
            snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", n,
                     body[i]);
            send_str(c[i].fd, req);
        }
        for (int i = NCONN - 1; i >= 0; i--) {
            struct resp r;
            read_resp(&c[i], &r, false);
            assert_int_equal(r.status, 200);
            assert_body_str(&r, body[i]);
            resp_free(&r);
        }
    }
    for (int i = 0; i < NCONN; i++)
        conn_close(&c[i]);
    srv_stop(&v);
}

/* A handler that blocks stalls only its own connection. */
static void test_blocking_handler(void **state)
{
    struct srv v;
    srv_start(&v, NULL);
    struct conn a = conn_tcp(v.port);
    send_str(a.fd, "GET /block HTTP/1.1\r\n\r\n");
    assert_int_equal(seen_wait(&seen.blocked, 0), 1);

    struct conn b = conn_unix(v.path);
    expect_hello(&b);
    struct pollfd pfd = {.fd = a.fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0); /* still waiting */

    seen_set(&seen.release, 1);
    expect_reply(&a, NULL, 200, "unblocked");
    conn_close(&a);
    conn_close(&b);
    srv_stop(&v);
}

/* CONNECT on c: bytes sent with the request reach the handler as pending,
 * then raw bytes go both ways until the client shuts down. */
static void check_connect(struct conn *c)
{
    send_str(c->fd,
             "CONNECT vm-console:5900 HTTP/1.1\r\nHost: vm-console:5900\r\n\r\nEARLY\x01\x02");
    static const char want[] = "HTTP/1.1 200 OK\r\n\r\nEARLY\x01\x02";
    conn_expect(c, want, sizeof(want) - 1);

    for (int i = 0; i < 50; i++) {
        char ping[32];
        int n = snprintf(ping, sizeof(ping), "ping %d\r\n\r\nGET / HTTP/1.1\r\n", i);
        send_str(c->fd, ping);
        conn_expect(c, ping, (size_t)n);
    }

    /* 1 MiB, written and read back concurrently so neither side stalls. */
    const size_t total = 1u << 20;
    size_t sent = 0, start = c->off;
    char piece[16384];
    while (conn_avail(c) < total) {
        short ev = POLLIN | (sent < total ? POLLOUT : 0);
        struct pollfd pfd = {.fd = c->fd, .events = ev};
        assert_true(poll(&pfd, 1, WAIT_MS) > 0);
        if (pfd.revents & POLLOUT) {
            size_t n = total - sent < sizeof(piece) ? total - sent : sizeof(piece);
            for (size_t k = 0; k < n; k++)
                piece[k] = (char)pattern(sent + k);
            ssize_t w = send(c->fd, piece, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
        }
        if (pfd.revents & POLLIN)
            assert_int_equal(conn_fill(c), 1);
    }
    for (size_t k = 0; k < total; k++)
        if ((unsigned char)c->in.data[start + k] != pattern(k))
            fail_msg("echoed byte %zu differs", k);
    c->off += total;

    shutdown(c->fd, SHUT_WR);
    expect_eof(c);

    /* Once connects is counted the handler is done with seen. */
    assert_int_equal(seen_wait(&seen.connects, 0), 1);
    assert_string_equal(seen.target, "vm-console:5900");
    assert_int_equal(seen.pending.len, 7);
    assert_memory_equal(seen.pending.data, "EARLY\x01\x02", 7);
    /* handed over as a caller would expect a socket: blocking */
    assert_int_equal(seen.taken_fd_flags & O_NONBLOCK, 0);
}

static void test_connect_take_socket(void **state)
{
    struct pair *p = pair_open();
    check_connect(&p->c);
    pair_close(p);

    struct srv v;
    srv_start(&v, NULL);
    struct conn c = conn_tcp(v.port);
    check_connect(&c);
    conn_close(&c);
    seen_reset();
    c = conn_unix(v.path);
    check_connect(&c);
    conn_close(&c);
    srv_stop(&v);
}

/* A handler that takes its socket, closes it, and puts another socket
 * (one end of a socketpair) at the same number, as the next open would.
 * Then it watches that socket across the server's stop: the server must
 * not shut it down, as it is no connection of the server's any more. */
static struct {
    int other[2];
    int taken;
    bool ready, hung_up;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} reuse = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void handle_take_and_reuse(struct http_req *r, void *ctx)
{
    struct buf pending = BUF_INIT;
    int fd = http_req_take_socket(r, &pending);
    buf_free(&pending);
    close(fd);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, reuse.other), 0);
    assert_int_equal(dup2(reuse.other[0], fd), fd);
    pthread_mutex_lock(&reuse.lock);
    reuse.taken = fd;
    reuse.ready = true;
    pthread_cond_broadcast(&reuse.cond);
    pthread_mutex_unlock(&reuse.lock);
    /* Past the server's grace and its final shutdown of connections. */
    struct pollfd p = {.fd = reuse.other[1], .events = POLLIN};
    int n = poll(&p, 1, 3500);
    pthread_mutex_lock(&reuse.lock);
    reuse.hung_up = n > 0; /* EOF: someone shut the pair down */
    pthread_mutex_unlock(&reuse.lock);
    close(fd);
    close(reuse.other[0]);
    close(reuse.other[1]);
}

static void *stop_server(void *arg)
{
    http_server_stop(arg);
    return NULL;
}

static void test_stop_spares_a_reused_fd(void **state)
{
    const char *err = NULL;
    struct http_server_opts o = {.handler = handle_take_and_reuse};
    struct http_server *s = http_server_new(&o);
    assert_int_equal(http_server_listen_tcp(s, "127.0.0.1", 0, &err), 0);
    assert_int_equal(http_server_start(s), 0);
    struct conn c = conn_tcp(http_server_port(s));
    send_str(c.fd, "GET /take HTTP/1.1\r\nHost: x\r\n\r\n");
    pthread_mutex_lock(&reuse.lock);
    while (!reuse.ready)
        pthread_cond_wait(&reuse.cond, &reuse.lock);
    pthread_mutex_unlock(&reuse.lock);
    pthread_t t;
    pthread_create(&t, NULL, stop_server, s);
    join_within(t);
    assert_false(reuse.hung_up);
    http_server_free(s);
    conn_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_lifecycle),     cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_listen_all_addresses), cmocka_unit_test(test_unix_and_tcp_listeners),
        cmocka_unit_test(test_many_connections),     cmocka_unit_test(test_blocking_handler),
        cmocka_unit_test(test_connect_take_socket),  cmocka_unit_test(test_stop_spares_a_reused_fd),
    };
    return cmocka_run_group_tests(tests, NULL, http_harness_teardown);
}
