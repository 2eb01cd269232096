/*
 * http_harness.c - the handler, the raw socket client and the server
 * set-ups shared by the HTTP server tests (see http_harness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_harness.h"

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 31 + i / 977) & 0xff);
}

bool send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    int64_t deadline = now_ms() + WAIT_MS;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int64_t left = deadline - now_ms();
            if (left > 0 && poll(&pfd, 1, (int)left) >= 0)
                continue;
        }
        return false;
    }
    return true;
}

void send_str(int fd, const char *s)
{
    assert_true(send_all(fd, s, strlen(s)));
}

void join_within(pthread_t t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_MS / 1000;
    assert_int_equal(pthread_timedjoin_np(t, NULL, &ts), 0);
}

int tcp_socket_to(int port, int *rc)
{
    return tcp_socket_from(NULL, port, rc);
}

int tcp_socket_from(const char *source, int port, int *rc)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (source) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        assert_int_equal(inet_pton(AF_INET, source, &src.sin_addr), 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
    return fd;
}

/* --- what the handler saw --- */

struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

void seen_reset(void)
{
    pthread_mutex_lock(&seen.lock);
    seen.small_rc = seen.write_rc = seen.end_rc = 99;
    seen.again_rc[0] = seen.again_rc[1] = 99;
    buf_reset(&seen.pending);
    seen.target[0] = '\0';
    seen.taken_fd_flags = -1;
    seen.connects = 0;
    seen.blocked = seen.release = 0;
    seen.big_rc = 99;
    seen.big_writes = 0;
    pthread_mutex_unlock(&seen.lock);
}

int seen_int(const int *field)
{
    pthread_mutex_lock(&seen.lock);
    int v = *field;
    pthread_mutex_unlock(&seen.lock);
    return v;
}

void seen_set(int *field, int v)
{
    pthread_mutex_lock(&seen.lock);
    *field = v;
    pthread_mutex_unlock(&seen.lock);
}

int seen_wait(const int *field, int from)
{
    int64_t give_up = now_ms() + WAIT_MS;
    int v;
    while ((v = seen_int(field)) == from && now_ms() < give_up)
        sleep_ms(5);
    return v;
}

int http_harness_teardown(void **state)
{
    buf_free(&seen.pending);
    return 0;
}

/* --- the handler --- */

static void reply_text(struct http_req *r, int status, const char *text)
{
    http_reply(r, status, "text/plain", text, strlen(text));
}

static void handle_echo(struct http_req *r)
{
    struct buf body = BUF_INIT;
    int rc = http_req_read_body_all(r, &body, 8u << 20);
    if (rc != 0) {
        reply_text(r, rc == -2 ? 413 : 400, "bad body\n");
        buf_free(&body);
        return;
    }
    char cl[32];
    snprintf(cl, sizeof(cl), "%" PRId64, http_req_content_length(r));
    http_reply_header(r, "X-Method", http_req_method(r));
    http_reply_header(r, "X-Path", http_req_path(r));
    http_reply_header(r, "X-Query", http_req_query(r));
    http_reply_header(r, "X-CL", cl);
    http_reply_header(r, "X-Peer", http_req_peer(r));
    http_reply_header(r, "X-Unix", http_req_is_unix(r) ? "1" : "0");
    http_reply(r, 200, "application/octet-stream", body.data, body.len);
    buf_free(&body);
}

/* The pointer is taken before the body (and its trailers) is read. */
static void handle_trailer(struct http_req *r)
{
    const char *before = http_req_header(r, "X-Before");
    struct buf body = BUF_INIT;
    int rc = http_req_read_body_all(r, &body, 1 << 20);
    struct buf out = BUF_INIT;
    buf_printf(&out, "%d|%s|%s", rc, before ? before : "(none)", body.data ? body.data : "");
    reply_text(r, 200, out.data);
    buf_free(&out);
    buf_free(&body);
}

/* Reads the body in small pieces and answers "<bytes> <checksum>". */
static void handle_sum(struct http_req *r)
{
    char tmp[4000];
    uint64_t total = 0, sum = 0;
    for (;;) {
        ssize_t n = http_req_read_body(r, tmp, sizeof(tmp));
        if (n < 0) {
            reply_text(r, 400, "read error\n");
            return;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++, total++)
            sum = sum * 31 + (unsigned char)tmp[i];
    }
    char out[64];
    snprintf(out, sizeof(out), "%" PRIu64 " %" PRIu64, total, sum);
    reply_text(r, 200, out);
}

static void handle_small(struct http_req *r)
{
    struct buf body = BUF_INIT;
    int rc = http_req_read_body_all(r, &body, 8);
    seen_set(&seen.small_rc, rc);
    if (rc == -2)
        reply_text(r, 413, "too big\n");
    else
        http_reply(r, rc == 0 ? 200 : 400, "text/plain", body.data, body.len);
    buf_free(&body);
}

static void handle_stream(struct http_req *r, int64_t len)
{
    char xs[300];
    memset(xs, 'x', sizeof(xs));
    http_reply_start(r, 200, "text/plain", len);
    http_reply_write(r, "hello", 5);
    http_reply_write(r, "", 0); /* must not end a chunked body */
    http_reply_write(r, xs, sizeof(xs));
    http_reply_end(r);
}

static void handle_block(struct http_req *r)
{
    seen_set(&seen.blocked, 1);
    seen_wait(&seen.release, 0);
    reply_text(r, 200, "unblocked");
}

/* A request that proved a session, as xapi's front door marks one. */
static void handle_trust(struct http_req *r)
{
    http_req_trust(r);
    reply_text(r, 200, "trusted");
}

/* Streams up to 64 MiB, until a write fails. */
static void handle_big(struct http_req *r)
{
    char piece[16384];
    memset(piece, 'B', sizeof(piece));
    http_reply_start(r, 200, "application/octet-stream", -1);
    int rc = 0, writes = 0;
    while (rc == 0 && writes < 4096) {
        rc = http_reply_write(r, piece, sizeof(piece));
        writes++;
    }
    pthread_mutex_lock(&seen.lock);
    seen.big_rc = rc;
    seen.big_writes = writes;
    pthread_mutex_unlock(&seen.lock);
    http_reply_end(r);
}

/* Takes the socket, answers the CONNECT itself, then echoes raw bytes
 * (first those that came with the request) until the client shuts down. */
static void handle_connect(struct http_req *r)
{
    struct buf pending = BUF_INIT;
    char target[128];
    snprintf(target, sizeof(target), "%s", http_req_path(r));
    int fd = http_req_take_socket(r, &pending);
    int flags = fcntl(fd, F_GETFL);
    bool ok =
        send_all(fd, "HTTP/1.1 200 OK\r\n\r\n", 19) && send_all(fd, pending.data, pending.len);
    char tmp[8192];
    while (ok) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, WAIT_MS) <= 0)
            break;
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break;
        ok = send_all(fd, tmp, (size_t)n);
    }
    close(fd);
    pthread_mutex_lock(&seen.lock);
    buf_append(&seen.pending, pending.data, pending.len);
    snprintf(seen.target, sizeof(seen.target), "%s", target);
    seen.taken_fd_flags = flags;
    seen.connects++;
    pthread_mutex_unlock(&seen.lock);
    buf_free(&pending);
}

/* Breaks its own Content-Length, one way and the other. */
static void handle_overrun(struct http_req *r)
{
    http_reply_start(r, 200, "text/plain", 5);
    seen_set(&seen.write_rc, http_reply_write(r, "0123456789", 10));
    http_reply_end(r);
}

static void handle_underrun(struct http_req *r)
{
    http_reply_start(r, 200, "text/plain", 10);
    http_reply_write(r, "01234", 5);
    seen_set(&seen.end_rc, http_reply_end(r));
}

static void handle_twice(struct http_req *r)
{
    reply_text(r, 200, "first");
    seen_set(&seen.again_rc[0], http_reply(r, 200, "text/plain", "second", 6));
    seen_set(&seen.again_rc[1], http_reply_start(r, 200, "text/plain", 3));
}

static void handle_hello(struct http_req *r)
{
    http_reply_header(r, "X-Test", "yes");
    reply_text(r, 200, "hello");
}

/* Answers the value of the header named by the query. */
static void handle_header(struct http_req *r)
{
    const char *v = http_req_header(r, http_req_query(r));
    reply_text(r, 200, v ? v : "(none)");
}

/* Answers nothing: the server answers 500. */
static void handle_noreply(struct http_req *r)
{
}

static void handle_stream_chunked(struct http_req *r)
{
    handle_stream(r, -1);
}

static void handle_stream_len(struct http_req *r)
{
    handle_stream(r, 305);
}

/* Returns without http_reply_end. */
static void handle_halfway(struct http_req *r)
{
    http_reply_start(r, 200, "text/plain", -1);
    http_reply_write(r, "abc", 3);
}

static const struct route {
    const char *path;
    void (*fn)(struct http_req *r);
} routes[] = {
    {"/hello", handle_hello},           {"/header", handle_header},
    {"/trailer", handle_trailer},       {"/sum", handle_sum},
    {"/small", handle_small},           {"/noreply", handle_noreply},
    {"/stream", handle_stream_chunked}, {"/stream-len", handle_stream_len},
    {"/overrun", handle_overrun},       {"/underrun", handle_underrun},
    {"/twice", handle_twice},           {"/block", handle_block},
    {"/trust", handle_trust},           {"/big", handle_big},
    {"/halfway", handle_halfway},
};

void handle(struct http_req *r, void *ctx)
{
    if (strcmp(http_req_method(r), "CONNECT") == 0) {
        handle_connect(r);
        return;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(http_req_path(r), routes[i].path) == 0) {
            routes[i].fn(r);
            return;
        }
    }
    handle_echo(r);
}

/* --- the client side --- */

int conn_fill(struct conn *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int rc;
    do {
        rc = poll(&p, 1, WAIT_MS);
    } while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return -1;
    buf_reserve(&c->in, 65536);
    ssize_t n;
    do {
        n = recv(c->fd, c->in.data + c->in.len, 65536, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    c->in.len += (size_t)n;
    c->in.data[c->in.len] = '\0';
    return 1;
}

size_t conn_avail(const struct conn *c)
{
    return c->in.len - c->off;
}

void conn_need(struct conn *c, size_t n)
{
    while (conn_avail(c) < n) {
        int rc = conn_fill(c);
        if (rc != 1)
            fail_msg("wanted %zu bytes, have %zu, then %s", n, conn_avail(c),
                     rc == 0 ? "EOF" : "timeout");
    }
}

void conn_expect(struct conn *c, const void *want, size_t len)
{
    conn_need(c, len);
    assert_memory_equal(c->in.data + c->off, want, len);
    c->off += len;
}

/* Index just past the next "\r\n"-terminated line (or "\r\n\r\n" block). */
static size_t conn_until(struct conn *c, const char *delim)
{
    for (;;) {
        const char *s = c->in.data ? c->in.data + c->off : NULL;
        const char *e = s ? memmem(s, conn_avail(c), delim, strlen(delim)) : NULL;
        if (e)
            return (size_t)(e - c->in.data) + strlen(delim);
        int rc = conn_fill(c);
        if (rc != 1)
            fail_msg("waiting for %s: %s after \"%.*s\"", delim[2] ? "headers" : "a line",
                     rc == 0 ? "EOF" : "timeout", (int)conn_avail(c), s ? s : "");
    }
}

void conn_read_to_eof(struct conn *c)
{
    int rc;
    while ((rc = conn_fill(c)) == 1)
        ;
    if (rc != 0)
        fail_msg("connection not closed within %d ms", WAIT_MS);
}

void expect_eof(struct conn *c)
{
    size_t had = c->in.len;
    conn_read_to_eof(c);
    if (c->in.len != had)
        fail_msg("unexpected bytes before EOF: \"%s\"", c->in.data + had);
}

struct conn conn_fd(int fd)
{
    struct conn c = {.fd = fd};
    return c;
}

struct conn conn_tcp(int port)
{
    return conn_tcp_from(NULL, port);
}

struct conn conn_tcp_from(const char *source, int port)
{
    int rc;
    int fd = tcp_socket_from(source, port, &rc);
    assert_int_equal(rc, 0);
    return conn_fd(fd);
}

struct conn conn_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%.100s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    return conn_fd(fd);
}

void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
    c->off = 0;
}

void resp_free(struct resp *r)
{
    free(r->head);
    buf_free(&r->body);
    buf_free(&r->raw);
    memset(r, 0, sizeof(*r));
}

const char *resp_hdr(struct resp *r, const char *name)
{
    size_t nlen = strlen(name);
    const char *line = strstr(r->head, "\r\n") + 2;
    while (*line && strncmp(line, "\r\n", 2) != 0) {
        const char *eol = strstr(line, "\r\n");
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            snprintf(r->val, sizeof(r->val), "%.*s", (int)(eol - v), v);
            return r->val;
        }
        line = eol + 2;
    }
    return NULL;
}

void assert_body(const struct resp *r, const char *want, size_t len)
{
    if (r->body.len != len || (len && memcmp(r->body.data, want, len) != 0))
        fail_msg("body \"%.*s\" (%zu bytes), wanted \"%.*s\" (%zu)", (int)r->body.len,
                 r->body.data ? r->body.data : "", r->body.len, (int)len, want, len);
}

static void read_chunked(struct conn *c, struct resp *r)
{
    for (;;) {
        size_t eol = conn_until(c, "\r\n");
        char *end;
        unsigned long n = strtoul(c->in.data + c->off, &end, 16);
        assert_true(end == c->in.data + eol - 2); /* no extensions from us */
        buf_append(&r->raw, c->in.data + c->off, eol - c->off);
        c->off = eol;
        if (n == 0)
            break;
        conn_need(c, n + 2);
        buf_append(&r->body, c->in.data + c->off, n);
        assert_memory_equal(c->in.data + c->off + n, "\r\n", 2);
        buf_append(&r->raw, c->in.data + c->off, n + 2);
        c->off += n + 2;
    }
    for (;;) { /* trailers (none from us) and the blank line */
        size_t eol = conn_until(c, "\r\n");
        buf_append(&r->raw, c->in.data + c->off, eol - c->off);
        bool blank = eol - c->off == 2;
        c->off = eol;
        if (blank)
            break;
    }
}

void read_resp(struct conn *c, struct resp *r, bool is_head)
{
    memset(r, 0, sizeof(*r));
    size_t end = conn_until(c, "\r\n\r\n");
    r->head = strndup(c->in.data + c->off, end - c->off);
    c->off = end;
    if (sscanf(r->head, "HTTP/1.1 %d ", &r->status) != 1)
        fail_msg("bad status line: %s", r->head);
    if (is_head || r->status == 204 || r->status == 304 || r->status / 100 == 1)
        return;
    const char *te = resp_hdr(r, "Transfer-Encoding");
    if (te) {
        assert_string_equal(te, "chunked");
        read_chunked(c, r);
        return;
    }
    const char *cl = resp_hdr(r, "Content-Length");
    if (cl) {
        size_t n = strtoul(cl, NULL, 10);
        conn_need(c, n);
        buf_append(&r->body, c->in.data + c->off, n);
        c->off += n;
    } else {
        conn_read_to_eof(c);
        buf_append(&r->body, c->in.data + c->off, conn_avail(c));
        c->off = c->in.len;
    }
    buf_append(&r->raw, r->body.data, r->body.len);
}

void roundtrip(struct conn *c, const char *req, struct resp *r)
{
    if (req)
        send_str(c->fd, req);
    read_resp(c, r, req && strncmp(req, "HEAD ", 5) == 0);
}

void expect_reply_conn(struct conn *c, const char *req, int status, const char *body,
                       const char *connection)
{
    struct resp r;
    roundtrip(c, req, &r);
    assert_int_equal(r.status, status);
    if (body)
        assert_body_str(&r, body);
    if (connection)
        assert_string_equal(resp_hdr(&r, "Connection"), connection);
    resp_free(&r);
}

void expect_reply(struct conn *c, const char *req, int status, const char *body)
{
    expect_reply_conn(c, req, status, body, NULL);
}

void expect_hello(struct conn *c)
{
    expect_reply(c, "GET /hello HTTP/1.1\r\n\r\n", 200, "hello");
}

void expect_close(struct conn *c, const char *req, int status, const char *body)
{
    expect_reply_conn(c, req, status, body, "close");
    expect_eof(c);
}

void check_pipelining(struct conn *c)
{
    send_str(c->fd, "GET /echo?n=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                    "POST /echo?n=2 HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
                    "GET /echo?n=3 HTTP/1.1\r\nHost: t\r\n\r\n");
    static const char *bodies[] = {"", "second", ""};
    for (int i = 0; i < 3; i++) {
        struct resp r;
        char q[8];
        read_resp(c, &r, false);
        assert_int_equal(r.status, 200);
        snprintf(q, sizeof(q), "n=%d", i + 1);
        assert_string_equal(resp_hdr(&r, "X-Query"), q);
        assert_body_str(&r, bodies[i]);
        resp_free(&r);
    }
    assert_int_equal(conn_avail(c), 0);
}

/* --- http_serve_fd on a socketpair --- */

static void *pair_serve(void *arg)
{
    struct pair *p = arg;
    http_serve_fd(&p->opts, p->server_fd, "unix", true);
    return NULL;
}

struct pair *pair_open_opts(const struct http_server_opts *o)
{
    seen_reset();
    struct pair *p = calloc(1, sizeof(*p));
    p->opts = *o;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    p->c = conn_fd(sv[0]);
    p->server_fd = sv[1];
    assert_int_equal(pthread_create(&p->thread, NULL, pair_serve, p), 0);
    return p;
}

struct pair *pair_open(void)
{
    struct http_server_opts o = {.handler = handle};
    return pair_open_opts(&o);
}

void pair_close(struct pair *p)
{
    conn_close(&p->c);
    join_within(p->thread);
    free(p);
}

/* --- a real server --- */

void srv_start(struct srv *v, const struct http_server_opts *o)
{
    seen_reset();
    struct http_server_opts opts = {.handler = handle};
    if (o)
        opts = *o;
    const char *err = NULL;
    v->s = http_server_new(&opts);
    assert_int_equal(http_server_listen_tcp(v->s, "127.0.0.1", 0, &err), 0);
    v->port = http_server_port(v->s);
    assert_true(v->port > 0);
    snprintf(v->dir, sizeof(v->dir), "/tmp/cxhs-XXXXXX");
    assert_non_null(mkdtemp(v->dir));
    snprintf(v->path, sizeof(v->path), "%s/http.sock", v->dir);
    assert_int_equal(http_server_listen_unix(v->s, v->path, &err), 0);
    assert_int_equal(http_server_start(v->s), 0);
}

void srv_stop(struct srv *v)
{
    http_server_stop(v->s);
    http_server_free(v->s);
    unlink(v->path);
    rmdir(v->dir);
}
