/*
 * test_xs_client.c - the xenstore client's framing against a fake daemon on
 * the other end of a socketpair: the bytes each call sends, how replies,
 * error replies and watch events are decoded, and what a peer that breaks
 * the protocol (truncated, oversized, misdirected frames) does to the
 * client. The real daemon is exercised by tests/integration.
 *
 * The peer is mostly the test itself: replies are queued on the socket
 * before the call, since the client reads whatever is there only after
 * sending, and the first request of a fresh client has req_id 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "buf.h"
#include "xs_client.h"

struct peer {
    struct xs_client *c;
    int fd; /* the daemon's end */
};

static int setup(void **state)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct peer *p = calloc(1, sizeof(*p));
    p->c = xs_client_adopt(sv[0]);
    p->fd = sv[1];
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct peer *p = *state;
    xs_client_close(p->c);
    if (p->fd >= 0)
        close(p->fd);
    free(p);
    return 0;
}

static void write_all(int fd, const void *data, size_t len)
{
    const char *d = data;
    while (len > 0) {
        ssize_t n = write(fd, d, len);
        assert_true(n > 0);
        d += n;
        len -= (size_t)n;
    }
}

/* Queues one frame from the daemon. */
static void peer_send(struct peer *p, uint32_t type, uint32_t req_id, const void *payload,
                      size_t len)
{
    struct xsd_sockmsg h = {type, req_id, 0, (uint32_t)len};
    write_all(p->fd, &h, sizeof(h));
    if (len)
        write_all(p->fd, payload, len);
}

#define PEER_SEND_STR(p, type, req_id, lit) peer_send(p, type, req_id, lit, sizeof(lit) - 1)

static void read_exact(int fd, void *out, size_t len)
{
    char *o = out;
    while (len > 0) {
        ssize_t n = read(fd, o, len);
        assert_true(n > 0);
        o += n;
        len -= (size_t)n;
    }
}

/* Reads the client's next request and checks every header field and the
 * payload byte for byte. */
static void peer_expect(struct peer *p, uint32_t type, uint32_t req_id, uint32_t tx,
                        const void *payload, size_t len)
{
    struct xsd_sockmsg h;
    read_exact(p->fd, &h, sizeof(h));
    assert_int_equal(h.type, type);
    assert_int_equal(h.req_id, req_id);
    assert_int_equal(h.tx_id, tx);
    assert_int_equal(h.len, len);
    char got[XENSTORE_PAYLOAD_MAX];
    read_exact(p->fd, got, len);
    assert_memory_equal(got, payload, len);
}

#define PEER_EXPECT_STR(p, type, req_id, tx, lit)                                                  \
    peer_expect(p, type, req_id, tx, lit, sizeof(lit) - 1)

/* Nothing more was sent by the client. */
static void peer_expect_silence(struct peer *p)
{
    struct pollfd pf = {.fd = p->fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 0), 0);
}

static void assert_xs_error(const struct xs_error *e, int errnum, const char *name)
{
    assert_int_equal(e->errnum, errnum);
    assert_string_equal(e->name, name);
}

static void test_read_encodes_and_decodes(void **state)
{
    struct peer *p = *state;
    static const char value[] = "va\0lue"; /* values are bytes, NULs included */
    peer_send(p, XS_READ, 1, value, sizeof(value) - 1);
    char *v = NULL;
    size_t len = 0;
    struct xs_error e;
    assert_int_equal(xs_read(p->c, 7, "/local/domain/1/name", &v, &len, &e), 0);
    PEER_EXPECT_STR(p, XS_READ, 1, 7, "/local/domain/1/name\0");
    assert_int_equal(len, 6);
    assert_memory_equal(v, value, 6);
    assert_int_equal(v[6], '\0');
    free(v);
}

static void test_ack_requests_encode(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    static const uint32_t types[] = {XS_WRITE,           XS_MKDIR,         XS_RM,
                                     XS_SET_PERMS,       XS_WATCH,         XS_UNWATCH,
                                     XS_TRANSACTION_END, XS_RESET_WATCHES, XS_SET_TARGET,
                                     XS_TRANSACTION_END};
    for (uint32_t i = 0; i < 10; i++)
        PEER_SEND_STR(p, types[i], i + 1, "OK\0");
    assert_int_equal(xs_write(p->c, 3, "/a/b", "hello", 5, &e), 0);
    assert_int_equal(xs_mkdir(p->c, 0, "/a/c", &e), 0);
    assert_int_equal(xs_rm(p->c, 0, "/a", &e), 0);
    const struct xs_perm perms[] = {{5, 'n'}, {0, 'r'}, {7, 'b'}};
    assert_int_equal(xs_set_perms(p->c, 0, "/a", perms, 3, &e), 0);
    assert_int_equal(xs_watch(p->c, "/a", "tok", &e), 0);
    assert_int_equal(xs_unwatch(p->c, "@releaseDomain", "t2", &e), 0);
    assert_int_equal(xs_transaction_end(p->c, 9, true, &e), 0);
    assert_int_equal(xs_reset_watches(p->c, &e), 0);
    assert_int_equal(xs_set_target(p->c, 4, 2, &e), 0);
    assert_int_equal(xs_transaction_end(p->c, 10, false, &e), 0);

    /* WRITE's value is not NUL-terminated: it runs to the end of the frame. */
    PEER_EXPECT_STR(p, XS_WRITE, 1, 3, "/a/b\0hello");
    PEER_EXPECT_STR(p, XS_MKDIR, 2, 0, "/a/c\0");
    PEER_EXPECT_STR(p, XS_RM, 3, 0, "/a\0");
    PEER_EXPECT_STR(p, XS_SET_PERMS, 4, 0, "/a\0n5\0r0\0b7\0");
    PEER_EXPECT_STR(p, XS_WATCH, 5, 0, "/a\0tok\0");
    PEER_EXPECT_STR(p, XS_UNWATCH, 6, 0, "@releaseDomain\0t2\0");
    PEER_EXPECT_STR(p, XS_TRANSACTION_END, 7, 9, "T\0");
    PEER_EXPECT_STR(p, XS_RESET_WATCHES, 8, 0, "\0");
    PEER_EXPECT_STR(p, XS_SET_TARGET, 9, 0, "4\0002\0");
    PEER_EXPECT_STR(p, XS_TRANSACTION_END, 10, 10, "F\0");
    peer_expect_silence(p);
}

static void test_domain_requests(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    PEER_SEND_STR(p, XS_INTRODUCE, 1, "OK\0");
    PEER_SEND_STR(p, XS_GET_DOMAIN_PATH, 2, "/local/domain/3\0");
    PEER_SEND_STR(p, XS_IS_DOMAIN_INTRODUCED, 3, "T\0");
    PEER_SEND_STR(p, XS_IS_DOMAIN_INTRODUCED, 4, "F\0");
    PEER_SEND_STR(p, XS_RELEASE, 5, "OK\0");
    assert_int_equal(xs_introduce(p->c, 3, 0x12345, 17, &e), 0);
    char *path;
    assert_int_equal(xs_get_domain_path(p->c, 3, &path, &e), 0);
    assert_string_equal(path, "/local/domain/3");
    free(path);
    bool yes = false;
    assert_int_equal(xs_is_domain_introduced(p->c, 3, &yes, &e), 0);
    assert_true(yes);
    assert_int_equal(xs_is_domain_introduced(p->c, 4, &yes, &e), 0);
    assert_false(yes);
    assert_int_equal(xs_release(p->c, 3, &e), 0);

    PEER_EXPECT_STR(p, XS_INTRODUCE, 1, 0, "3\00074565\00017\0");
    PEER_EXPECT_STR(p, XS_GET_DOMAIN_PATH, 2, 0, "3\0");
    PEER_EXPECT_STR(p, XS_IS_DOMAIN_INTRODUCED, 3, 0, "3\0");
    PEER_EXPECT_STR(p, XS_IS_DOMAIN_INTRODUCED, 4, 0, "4\0");
    PEER_EXPECT_STR(p, XS_RELEASE, 5, 0, "3\0");
}

static void test_control(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    PEER_SEND_STR(p, XS_CONTROL, 1, "quota: 1000\0");
    const char *args[] = {"quota", "set", "nodes"};
    char *reply;
    assert_int_equal(xs_control(p->c, args, 3, &reply, &e), 0);
    assert_string_equal(reply, "quota: 1000");
    free(reply);
    PEER_EXPECT_STR(p, XS_CONTROL, 1, 0, "quota\0set\0nodes\0");
}

static void test_directory_and_perms_decode(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    PEER_SEND_STR(p, XS_DIRECTORY, 1, "vm\0domain\0backend\0");
    PEER_SEND_STR(p, XS_DIRECTORY, 2, ""); /* no children */
    PEER_SEND_STR(p, XS_GET_PERMS, 3, "b0\0r5\0n4294967295\0");
    char **names;
    size_t n;
    assert_int_equal(xs_directory(p->c, 0, "/local", &names, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "vm");
    assert_string_equal(names[1], "domain");
    assert_string_equal(names[2], "backend");
    assert_null(names[3]);
    free(names);
    assert_int_equal(xs_directory(p->c, 0, "/empty", &names, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(names[0]);
    free(names);
    struct xs_perm *perms;
    assert_int_equal(xs_get_perms(p->c, 0, "/local", &perms, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(perms[0].mode, 'b');
    assert_int_equal(perms[0].domid, 0);
    assert_int_equal(perms[1].mode, 'r');
    assert_int_equal(perms[1].domid, 5);
    assert_int_equal(perms[2].mode, 'n');
    assert_int_equal(perms[2].domid, UINT32_MAX);
    free(perms);
    PEER_EXPECT_STR(p, XS_DIRECTORY, 1, 0, "/local\0");
    PEER_EXPECT_STR(p, XS_DIRECTORY, 2, 0, "/empty\0");
    PEER_EXPECT_STR(p, XS_GET_PERMS, 3, 0, "/local\0");
}

/* A listing too big for one payload: DIRECTORY says E2BIG, then parts by
 * byte offset; a generation change in between starts over. */
static void test_directory_parts(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    PEER_SEND_STR(p, XS_ERROR, 1, "E2BIG\0");
    PEER_SEND_STR(p, XS_DIRECTORY_PART, 2, "7\0aa\0bb\0");
    PEER_SEND_STR(p, XS_DIRECTORY_PART, 3, "8\0xx\0"); /* changed: restart */
    PEER_SEND_STR(p, XS_DIRECTORY_PART, 4, "8\0aa\0bb\0");
    PEER_SEND_STR(p, XS_DIRECTORY_PART, 5, "8\0cc\0\0");
    char **names;
    size_t n;
    assert_int_equal(xs_directory(p->c, 0, "/big", &names, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "aa");
    assert_string_equal(names[1], "bb");
    assert_string_equal(names[2], "cc");
    assert_null(names[3]);
    free(names);
    PEER_EXPECT_STR(p, XS_DIRECTORY, 1, 0, "/big\0");
    PEER_EXPECT_STR(p, XS_DIRECTORY_PART, 2, 0, "/big\0000\0");
    PEER_EXPECT_STR(p, XS_DIRECTORY_PART, 3, 0, "/big\0006\0");
    PEER_EXPECT_STR(p, XS_DIRECTORY_PART, 4, 0, "/big\0000\0");
    PEER_EXPECT_STR(p, XS_DIRECTORY_PART, 5, 0, "/big\0006\0");
}

static void test_transaction_start(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    PEER_SEND_STR(p, XS_TRANSACTION_START, 1, "42\0");
    uint32_t tx = 0;
    assert_int_equal(xs_transaction_start(p->c, &tx, &e), 0);
    assert_int_equal(tx, 42);
    PEER_EXPECT_STR(p, XS_TRANSACTION_START, 1, 0, "\0");
}

static void test_error_replies(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    PEER_SEND_STR(p, XS_ERROR, 1, "ENOENT\0");
    PEER_SEND_STR(p, XS_ERROR, 2, "EAGAIN\0");
    PEER_SEND_STR(p, XS_ERROR, 3, "EQUOTA\0"); /* not in xs_wire.h's table */
    PEER_SEND_STR(p, XS_ERROR, 4, "EACCES\0");
    PEER_SEND_STR(p, XS_READ, 5, "still here");
    char *v = NULL;
    assert_int_equal(xs_read(p->c, 0, "/nope", &v, NULL, &e), -1);
    assert_xs_error(&e, ENOENT, "ENOENT");
    assert_null(v);
    assert_int_equal(xs_transaction_end(p->c, 3, true, &e), -1);
    assert_xs_error(&e, EAGAIN, "EAGAIN");
    assert_int_equal(xs_write(p->c, 0, "/q", "x", 1, &e), -1);
    assert_xs_error(&e, EINVAL, "EQUOTA");
    assert_int_equal(xs_mkdir(p->c, 0, "/p", &e), -1);
    assert_xs_error(&e, EACCES, "EACCES");
    /* A daemon error leaves the connection usable. */
    assert_int_equal(xs_read(p->c, 0, "/x", &v, NULL, &e), 0);
    assert_string_equal(v, "still here");
    free(v);
    assert_int_equal(xs_errno_of("E2BIG"), E2BIG);
    assert_int_equal(xs_errno_of("EPERM"), EPERM);
}

/* Events that arrive before, between and after replies are queued in
 * order, and no reply is mistaken for an event or the reverse. */
static void test_events_between_replies(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    PEER_SEND_STR(p, XS_WATCH_EVENT, 0, "/a\0tok\0");
    PEER_SEND_STR(p, XS_WATCH, 1, "OK\0");
    PEER_SEND_STR(p, XS_WATCH_EVENT, 0, "/a/b\0tok\0");
    PEER_SEND_STR(p, XS_WATCH_EVENT, 0, "/a/c\0tok\0");
    PEER_SEND_STR(p, XS_READ, 2, "v");
    assert_int_equal(xs_watch(p->c, "/a", "tok", &e), 0);
    /* At least the event before the reply; those read with it count too,
     * since the socket will not signal bytes already in the buffer. */
    assert_true(xs_watch_pending(p->c) >= 1);
    char *v;
    assert_int_equal(xs_read(p->c, 0, "/a/b", &v, NULL, &e), 0);
    assert_string_equal(v, "v");
    free(v);
    assert_int_equal(xs_watch_pending(p->c), 3);
    static const char *want[] = {"/a", "/a/b", "/a/c"};
    for (int i = 0; i < 3; i++) {
        struct xs_watch_event ev;
        assert_int_equal(xs_watch_next(p->c, &ev, 0, &e), 1);
        assert_string_equal(ev.path, want[i]);
        assert_string_equal(ev.token, "tok");
        xs_watch_event_free(&ev);
    }
    assert_int_equal(xs_watch_pending(p->c), 0);
    struct xs_watch_event ev;
    assert_int_equal(xs_watch_next(p->c, &ev, 0, &e), 0);
    assert_int_equal(xs_watch_next(p->c, &ev, 20, &e), 0);

    /* One arriving while nobody is calling makes the fd readable. */
    PEER_SEND_STR(p, XS_WATCH_EVENT, 0, "@releaseDomain\0rel\0extra\0");
    struct pollfd pf = {.fd = xs_client_fd(p->c), .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 1000), 1);
    assert_int_equal(xs_watch_next(p->c, &ev, -1, &e), 1);
    assert_string_equal(ev.path, "@releaseDomain");
    assert_string_equal(ev.token, "rel");
    xs_watch_event_free(&ev);
}

/* A daemon writing from its own thread, so that more than a socket
 * buffer's worth can be sent; one byte at a time when trickle is set. */
struct writer {
    int fd;
    bool trickle;
    struct buf bytes;
    pthread_t th;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    if (!w->trickle) {
        write_all(w->fd, w->bytes.data, w->bytes.len);
        return NULL;
    }
    for (size_t i = 0; i < w->bytes.len; i++) {
        write_all(w->fd, w->bytes.data + i, 1);
        usleep(200);
    }
    return NULL;
}

static void frame_append(struct buf *b, uint32_t type, uint32_t req_id, const void *payload,
                         size_t len)
{
    struct xsd_sockmsg h = {type, req_id, 0, (uint32_t)len};
    buf_append(b, &h, sizeof(h));
    buf_append(b, payload, len);
}

static void writer_start(struct writer *w)
{
    assert_int_equal(pthread_create(&w->th, NULL, writer_main, w), 0);
}

static void writer_join(struct writer *w)
{
    pthread_join(w->th, NULL);
    buf_free(&w->bytes);
}

static void test_event_flood_keeps_order(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    enum { N = 2000 };
    char path[64];
    struct writer w = {.fd = p->fd};
    for (int i = 0; i < N; i++) {
        int n = snprintf(path, sizeof(path), "/flood/%d%ct", i, '\0');
        frame_append(&w.bytes, XS_WATCH_EVENT, 0, path, (size_t)n + 1);
    }
    frame_append(&w.bytes, XS_RM, 1, "OK", 3);
    writer_start(&w);
    assert_int_equal(xs_rm(p->c, 0, "/flood", &e), 0);
    writer_join(&w);
    assert_int_equal(xs_watch_pending(p->c), N);
    for (int i = 0; i < N; i++) {
        struct xs_watch_event ev;
        assert_int_equal(xs_watch_next(p->c, &ev, 0, &e), 1);
        snprintf(path, sizeof(path), "/flood/%d", i);
        assert_string_equal(ev.path, path);
        xs_watch_event_free(&ev);
    }
}

/* Replies that break the protocol close the connection with EPROTO; every
 * later call says ENOTCONN. */
static void expect_closed_after(struct peer *p, int errnum, const char *name)
{
    struct xs_error e;
    char *v = NULL;
    assert_int_equal(xs_read(p->c, 0, "/x", &v, NULL, &e), -1);
    assert_xs_error(&e, errnum, name);
    assert_int_equal(xs_client_fd(p->c), -1);
    assert_int_equal(xs_read(p->c, 0, "/x", &v, NULL, &e), -1);
    assert_xs_error(&e, ENOTCONN, "ENOTCONN");
    struct xs_watch_event ev;
    assert_int_equal(xs_watch_next(p->c, &ev, 0, &e), -1);
    assert_xs_error(&e, ENOTCONN, "ENOTCONN");
}

static void test_wrong_req_id(void **state)
{
    struct peer *p = *state;
    PEER_SEND_STR(p, XS_READ, 99, "v");
    expect_closed_after(p, EPROTO, "EPROTO");
}

static void test_wrong_type(void **state)
{
    struct peer *p = *state;
    PEER_SEND_STR(p, XS_WRITE, 1, "OK\0");
    expect_closed_after(p, EPROTO, "EPROTO");
}

static void test_oversized_frame(void **state)
{
    struct peer *p = *state;
    struct xsd_sockmsg h = {XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1};
    write_all(p->fd, &h, sizeof(h));
    expect_closed_after(p, EPROTO, "EPROTO");
}

static void test_malformed_event(void **state)
{
    struct peer *p = *state;
    PEER_SEND_STR(p, XS_WATCH_EVENT, 0, "/path-without-token\0");
    expect_closed_after(p, EPROTO, "EPROTO");
}

static void test_malformed_replies(void **state)
{
    static const struct {
        uint32_t type;
        const char *payload;
        size_t len;
    } bad[] = {
        {XS_GET_PERMS, "x0\0", 3},
        {XS_GET_PERMS, "r\0", 2},
        {XS_GET_PERMS, "r1x\0", 4},
        {XS_GET_PERMS, "", 0},
        {XS_TRANSACTION_START, "abc\0", 4},
        {XS_TRANSACTION_START, "0\0", 2},
        {XS_IS_DOMAIN_INTRODUCED, "maybe\0", 6},
        {XS_DIRECTORY, "a\0b", 3},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct peer *p;
        void *st;
        setup(&st);
        p = st;
        peer_send(p, bad[i].type, 1, bad[i].payload, bad[i].len);
        struct xs_error e;
        int r = -2;
        struct xs_perm *perms;
        char **names;
        size_t n;
        uint32_t tx;
        bool yes;
        if (bad[i].type == XS_GET_PERMS)
            r = xs_get_perms(p->c, 0, "/a", &perms, &n, &e);
        else if (bad[i].type == XS_TRANSACTION_START)
            r = xs_transaction_start(p->c, &tx, &e);
        else if (bad[i].type == XS_IS_DOMAIN_INTRODUCED)
            r = xs_is_domain_introduced(p->c, 1, &yes, &e);
        else
            r = xs_directory(p->c, 0, "/a", &names, &n, &e);
        assert_int_equal(r, -1);
        assert_xs_error(&e, EPROTO, "EPROTO");
        teardown(&st);
    }
}

static void test_truncated_payload_then_eof(void **state)
{
    struct peer *p = *state;
    struct xsd_sockmsg h = {XS_READ, 1, 0, 10};
    write_all(p->fd, &h, sizeof(h));
    write_all(p->fd, "12345", 5);
    shutdown(p->fd, SHUT_WR);
    expect_closed_after(p, EIO, "EIO");
}

static void test_truncated_header_then_eof(void **state)
{
    struct peer *p = *state;
    struct xsd_sockmsg h = {XS_READ, 1, 0, 0};
    write_all(p->fd, &h, 8);
    shutdown(p->fd, SHUT_WR);
    expect_closed_after(p, EIO, "EIO");
}

static void test_truncated_frame_times_out(void **state)
{
    struct peer *p = *state;
    struct xsd_sockmsg h = {XS_READ, 1, 0, 10};
    write_all(p->fd, &h, sizeof(h));
    write_all(p->fd, "123", 3);
    xs_client_set_timeout(p->c, 50);
    expect_closed_after(p, ETIMEDOUT, "ETIMEDOUT");
}

static void test_peer_closed(void **state)
{
    struct peer *p = *state;
    close(p->fd);
    p->fd = -1;
    expect_closed_after(p, EPIPE, "EPIPE");
}

static void test_payload_too_big_is_local(void **state)
{
    struct peer *p = *state;
    struct xs_error e;
    char big[XENSTORE_PAYLOAD_MAX];
    memset(big, 'x', sizeof(big));
    assert_int_equal(xs_write(p->c, 0, "/a", big, sizeof(big), &e), -1);
    assert_xs_error(&e, E2BIG, "E2BIG");
    peer_expect_silence(p);
    /* Exactly the maximum goes out. */
    PEER_SEND_STR(p, XS_WRITE, 1, "OK\0");
    assert_int_equal(xs_write(p->c, 0, "/a", big, sizeof(big) - 3, &e), 0);
    struct xsd_sockmsg h;
    read_exact(p->fd, &h, sizeof(h));
    assert_int_equal(h.len, XENSTORE_PAYLOAD_MAX);
}

/* The daemon's bytes trickle in one at a time: frames are reassembled. */
static void test_fragmented_frames(void **state)
{
    struct peer *p = *state;
    struct writer w = {.fd = p->fd, .trickle = true};
    frame_append(&w.bytes, XS_WATCH_EVENT, 0, "/w\0tok", 7);
    frame_append(&w.bytes, XS_READ, 1, "hello", 5);
    writer_start(&w);
    struct xs_error e;
    char *v;
    size_t len;
    xs_client_set_timeout(p->c, 10000);
    assert_int_equal(xs_read(p->c, 0, "/w", &v, &len, &e), 0);
    writer_join(&w);
    assert_int_equal(len, 5);
    assert_string_equal(v, "hello");
    free(v);
    assert_int_equal(xs_watch_pending(p->c), 1);
}

static void test_open_missing_socket(void **state)
{
    struct xs_error e;
    assert_null(xs_client_open("/nonexistent/xenstored.sock", &e));
    assert_xs_error(&e, ENOENT, "ENOENT");
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    assert_null(xs_client_open(longpath, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_encodes_and_decodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_requests_encode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_and_perms_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_between_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_flood_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_req_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_event, setup, teardown),
        cmocka_unit_test(test_malformed_replies),
        cmocka_unit_test_setup_teardown(test_truncated_payload_then_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_header_then_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_frame_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_too_big_is_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragmented_frames, setup, teardown),
        cmocka_unit_test(test_open_missing_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
