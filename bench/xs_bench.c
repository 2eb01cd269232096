/*
 * xs_bench.c - load generator for xenstored (bench/xenstore-bench runs it).
 *
 *   xs_bench verify SOCK                       every lib/xs_client call, checked
 *   xs_bench read|write SOCK CLIENTS SECONDS   ops/s and latency, CLIENTS in flight
 *   xs_bench txn SOCK WRITERS SECONDS disjoint|overlap   commits/s and conflicts
 *   xs_bench fill SOCK NODES                   writes NODES nodes, pipelined
 *
 * read/write/fill run on one thread with epoll over raw-frame connections,
 * each with a fixed number of requests in flight (1 for read/write, as
 * redis-benchmark -c N without -P), so that the load generator is not what
 * is measured. txn uses one thread per writer with lib/xs_client, because
 * a transaction is a conversation. Every mode checks what came back.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "xs_client.h"

#define BENCH_KEYS 1000
#define BENCH_MAX_DEPTH 64
#define BENCH_HDR sizeof(struct xsd_sockmsg)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int die(const char *what, const struct xs_error *e)
{
    fprintf(stderr, "xs_bench: %s: %s\n", what, e ? e->name : strerror(errno));
    exit(1);
}

/* ---- the epoll engine ------------------------------------------------ */

enum bench_op { OP_READ, OP_WRITE, OP_FILL };

struct bconn {
    int fd;
    uint32_t next_id;
    unsigned inflight;
    uint64_t sent_at[BENCH_MAX_DEPTH]; /* ring, by req_id: replies come in order */
    size_t in_len;
    char in[65536];
};

struct engine {
    enum bench_op op;
    unsigned depth;
    uint64_t to_send; /* requests left to send (fill), or UINT64_MAX */
    uint64_t deadline_ns;
    uint64_t done, errors, seq;
    uint32_t *lat_us; /* one per completed request (read/write) */
    size_t nlat, caplat;
};

static int bench_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die(path, NULL);
    return fd;
}

/* The next request of the run, into frame; returns its length. */
static size_t engine_request(struct engine *e, struct bconn *c, char *frame)
{
    char *p = frame + BENCH_HDR;
    uint64_t n = e->seq++;
    int len;
    uint32_t type;
    if (e->op == OP_READ) {
        type = XS_READ;
        len = sprintf(p, "/bench/rw/k%" PRIu64, (n * 7919) % BENCH_KEYS) + 1;
    } else if (e->op == OP_WRITE) {
        type = XS_WRITE;
        len = sprintf(p, "/bench/rw/k%" PRIu64, (n * 7919) % BENCH_KEYS) + 1;
        memcpy(p + len, "xyz", 3); /* redis-benchmark's default 3-byte value */
        len += 3;
    } else {
        type = XS_WRITE;
        len = sprintf(p, "/bench/fill/d%" PRIu64 "/n%" PRIu64, n / 1000, n % 1000) + 1;
        len += sprintf(p + len, "value-%" PRIu64, n);
    }
    struct xsd_sockmsg h = {type, c->next_id++, 0, (uint32_t)len};
    memcpy(frame, &h, BENCH_HDR);
    return BENCH_HDR + (size_t)len;
}

static void engine_fill_window(struct engine *e, struct bconn *c)
{
    char frames[BENCH_MAX_DEPTH][BENCH_HDR + 256];
    struct iovec iov[BENCH_MAX_DEPTH];
    int n = 0;
    uint64_t t = now_ns();
    while (c->inflight < e->depth && e->to_send > 0 && t < e->deadline_ns) {
        c->sent_at[c->next_id % BENCH_MAX_DEPTH] = t;
        iov[n].iov_base = frames[n];
        iov[n].iov_len = engine_request(e, c, frames[n]);
        n++;
        c->inflight++;
        if (e->to_send != UINT64_MAX)
            e->to_send--;
    }
    if (n == 0)
        return;
    /* Blocking socket: a short write only happens on error. */
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    size_t want = 0;
    for (int i = 0; i < n; i++)
        want += iov[i].iov_len;
    if (sendmsg(c->fd, &m, MSG_NOSIGNAL) != (ssize_t)want)
        die("send", NULL);
}

static void engine_reply(struct engine *e, struct bconn *c, const struct xsd_sockmsg *h)
{
    if (h->type == XS_WATCH_EVENT)
        return;
    if (h->type == XS_ERROR)
        e->errors++;
    uint64_t sent = c->sent_at[h->req_id % BENCH_MAX_DEPTH];
    c->inflight--;
    e->done++;
    if (e->op == OP_FILL)
        return;
    if (e->nlat == e->caplat) {
        e->caplat = e->caplat ? e->caplat * 2 : 1 << 16;
        e->lat_us = realloc(e->lat_us, e->caplat * sizeof(*e->lat_us));
        if (!e->lat_us)
            die("realloc", NULL);
    }
    e->lat_us[e->nlat++] = (uint32_t)((now_ns() - sent) / 1000);
}

static void engine_read(struct engine *e, struct bconn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        fprintf(stderr, "xs_bench: xenstored closed a connection\n");
        exit(1);
    }
    if (n < 0)
        return;
    c->in_len += (size_t)n;
    size_t off = 0;
    while (c->in_len - off >= BENCH_HDR) {
        struct xsd_sockmsg h;
        memcpy(&h, c->in + off, BENCH_HDR);
        if (h.len > XENSTORE_PAYLOAD_MAX) {
            fprintf(stderr, "xs_bench: oversized reply\n");
            exit(1);
        }
        if (c->in_len - off < BENCH_HDR + h.len)
            break;
        engine_reply(e, c, &h);
        off += BENCH_HDR + h.len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

/* Runs until the deadline, or until to_send requests are all answered. */
static void engine_run(struct engine *e, const char *sock, unsigned nconns)
{
    struct bconn *conns = calloc(nconns, sizeof(*conns));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || ep < 0)
        die("setup", NULL);
    for (unsigned i = 0; i < nconns; i++) {
        conns[i].fd = bench_connect(sock);
        conns[i].next_id = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    for (unsigned i = 0; i < nconns; i++)
        engine_fill_window(e, &conns[i]);
    uint64_t inflight = nconns;
    while (inflight > 0) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        for (int i = 0; i < n; i++) {
            struct bconn *c = evs[i].data.ptr;
            engine_read(e, c);
            engine_fill_window(e, c);
        }
        inflight = 0;
        for (unsigned i = 0; i < nconns; i++)
            inflight += conns[i].inflight;
    }
    for (unsigned i = 0; i < nconns; i++)
        close(conns[i].fd);
    close(ep);
    free(conns);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(struct engine *e, double p)
{
    if (!e->nlat)
        return 0;
    return e->lat_us[(size_t)(p * (double)(e->nlat - 1))] / 1000.0;
}

/* ---- modes -------------------------------------------------------------- */

static struct xs_client *open_or_die(const char *sock)
{
    struct xs_error err;
    struct xs_client *c = xs_client_open(sock, &err);
    if (!c)
        die(sock, &err);
    return c;
}

static int bench_rw(const char *sock, enum bench_op op, unsigned clients, double seconds)
{
    struct xs_client *setup = open_or_die(sock);
    struct xs_error err;
    uint32_t tx;
    char path[64];
    if (xs_transaction_start(setup, &tx, &err) < 0)
        die("transaction_start", &err);
    for (int i = 0; i < BENCH_KEYS; i++) {
        snprintf(path, sizeof(path), "/bench/rw/k%d", i);
        if (xs_write(setup, tx, path, "abc", 3, &err) < 0)
            die("write", &err);
    }
    if (xs_transaction_end(setup, tx, true, &err) < 0)
        die("transaction_end", &err);
    xs_client_close(setup);

    struct engine e = {.op = op, .depth = 1, .to_send = UINT64_MAX};
    uint64_t start = now_ns();
    e.deadline_ns = start + (uint64_t)(seconds * 1e9);
    engine_run(&e, sock, clients);
    double secs = (double)(now_ns() - start) / 1e9;
    qsort(e.lat_us, e.nlat, sizeof(*e.lat_us), cmp_u32);
    printf("%s clients=%u ops=%" PRIu64 " ops_per_s=%.0f p50_ms=%.3f p99_ms=%.3f errors=%" PRIu64
           "\n",
           op == OP_READ ? "read" : "write", clients, e.done, (double)e.done / secs,
           percentile_ms(&e, 0.50), percentile_ms(&e, 0.99), e.errors);
    free(e.lat_us);
    return e.errors ? 1 : 0;
}

static int bench_fill(const char *sock, uint64_t nodes)
{
    struct engine e = {.op = OP_FILL, .depth = 32, .to_send = nodes, .deadline_ns = UINT64_MAX};
    uint64_t start = now_ns();
    engine_run(&e, sock, 4);
    double secs = (double)(now_ns() - start) / 1e9;
    printf("fill nodes=%" PRIu64 " seconds=%.1f writes_per_s=%.0f errors=%" PRIu64 "\n", e.done,
           secs, (double)e.done / secs, e.errors);
    return e.errors ? 1 : 0;
}

struct writer {
    pthread_t th;
    const char *sock;
    int id;
    bool overlap;
    uint64_t deadline_ns;
    uint64_t commits, conflicts;
    const char *failed;
};

/* One device-setup-like transaction: read a counter, bump it, write two
 * nodes beside it. Disjoint writers each have their own counter; overlapping
 * ones share one, so all but one of each concurrent round conflict. */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct xs_client *c = open_or_die(w->sock);
    char dir[64], path[96], val[32];
    snprintf(dir, sizeof(dir), "/bench/txn/%s", w->overlap ? "shared" : "w");
    if (!w->overlap)
        snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "%d", w->id);
    while (now_ns() < w->deadline_ns) {
        struct xs_error err;
        uint32_t tx;
        char *v = NULL;
        if (xs_transaction_start(c, &tx, &err) < 0) {
            w->failed = "transaction_start";
            break;
        }
        snprintf(path, sizeof(path), "%s/counter", dir);
        long n = 0;
        if (xs_read(c, tx, path, &v, NULL, &err) == 0)
            n = strtol(v, NULL, 10);
        free(v);
        int len = snprintf(val, sizeof(val), "%ld", n + 1);
        bool ok = xs_write(c, tx, path, val, (size_t)len, &err) == 0;
        snprintf(path, sizeof(path), "%s/backend-%d/state", dir, w->id);
        ok = ok && xs_write(c, tx, path, "4", 1, &err) == 0;
        snprintf(path, sizeof(path), "%s/frontend-%d/state", dir, w->id);
        ok = ok && xs_write(c, tx, path, "4", 1, &err) == 0;
        if (!ok) {
            w->failed = "write";
            break;
        }
        if (xs_transaction_end(c, tx, true, &err) == 0)
            w->commits++;
        else if (err.errnum == EAGAIN)
            w->conflicts++;
        else {
            w->failed = "transaction_end";
            break;
        }
    }
    xs_client_close(c);
    return NULL;
}

static long read_counter(struct xs_client *c, const char *path)
{
    struct xs_error err;
    char *v;
    if (xs_read(c, 0, path, &v, NULL, &err) < 0)
        return 0;
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

static int bench_txn(const char *sock, unsigned nwriters, double seconds, bool overlap)
{
    struct xs_client *c = open_or_die(sock);
    struct xs_error err;
    xs_rm(c, 0, "/bench/txn", &err);
    struct writer *ws = calloc(nwriters, sizeof(*ws));
    uint64_t start = now_ns();
    for (unsigned i = 0; i < nwriters; i++) {
        ws[i] = (struct writer){.sock = sock, .id = (int)i, .overlap = overlap};
        ws[i].deadline_ns = start + (uint64_t)(seconds * 1e9);
        pthread_create(&ws[i].th, NULL, writer_main, &ws[i]);
    }
    uint64_t commits = 0, conflicts = 0;
    int rc = 0;
    for (unsigned i = 0; i < nwriters; i++) {
        pthread_join(ws[i].th, NULL);
        commits += ws[i].commits;
        conflicts += ws[i].conflicts;
        if (ws[i].failed) {
            fprintf(stderr, "xs_bench: writer %u: %s failed\n", i, ws[i].failed);
            rc = 1;
        }
    }
    double secs = (double)(now_ns() - start) / 1e9;
    /* No commit lost and none counted twice: the counters add up. */
    long counted = 0;
    char path[64];
    for (unsigned i = 0; i < (overlap ? 1 : nwriters); i++) {
        if (overlap)
            snprintf(path, sizeof(path), "/bench/txn/shared/counter");
        else
            snprintf(path, sizeof(path), "/bench/txn/w%u/counter", i);
        counted += read_counter(c, path);
    }
    if ((uint64_t)counted != commits) {
        fprintf(stderr, "xs_bench: %" PRIu64 " commits but the counters say %ld\n", commits,
                counted);
        rc = 1;
    }
    xs_client_close(c);
    free(ws);
    printf("txn %s writers=%u commits=%" PRIu64 " commits_per_s=%.0f conflicts_per_s=%.0f\n",
           overlap ? "overlap" : "disjoint", nwriters, commits, (double)commits / secs,
           (double)conflicts / secs);
    return rc;
}

/* ---- verify: every client call against the real daemon ------------------ */

static int verify_failures;

#define VERIFY(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "verify: line %d: %s\n", __LINE__, #cond);                             \
            verify_failures++;                                                                     \
        }                                                                                          \
    } while (0)

/* Reads path and compares it with want (NULL: must be absent). */
static bool verify_value(struct xs_client *c, uint32_t tx, const char *path, const char *want)
{
    struct xs_error err;
    char *v = NULL;
    size_t len = 0;
    int rc = xs_read(c, tx, path, &v, &len, &err);
    bool ok = want ? rc == 0 && len == strlen(want) && memcmp(v, want, len) == 0
                   : rc < 0 && err.errnum == ENOENT && strcmp(err.name, "ENOENT") == 0;
    free(v);
    return ok;
}

static bool verify_event(struct xs_client *c, const char *path, const char *token)
{
    struct xs_watch_event ev;
    struct xs_error err;
    if (xs_watch_next(c, &ev, 5000, &err) != 1)
        return false;
    bool ok = strcmp(ev.path, path) == 0 && strcmp(ev.token, token) == 0;
    if (!ok)
        fprintf(stderr, "verify: event %s %s, expected %s %s\n", ev.path, ev.token, path, token);
    xs_watch_event_free(&ev);
    return ok;
}

static void verify_nodes(struct xs_client *c)
{
    struct xs_error err;
    VERIFY(xs_write(c, 0, "/verify/a/b", "hello", 5, &err) == 0);
    VERIFY(verify_value(c, 0, "/verify/a/b", "hello"));
    VERIFY(verify_value(c, 0, "/verify/a", ""));
    VERIFY(xs_mkdir(c, 0, "/verify/m", &err) == 0);
    char **names;
    size_t n;
    VERIFY(xs_directory(c, 0, "/verify", &names, &n, &err) == 0 && n == 2);
    if (n == 2)
        VERIFY((strcmp(names[0], "a") == 0 && strcmp(names[1], "m") == 0) ||
               (strcmp(names[0], "m") == 0 && strcmp(names[1], "a") == 0));
    free(names);
    const struct xs_perm set[] = {{0, 'n'}, {5, 'r'}, {6, 'b'}};
    struct xs_perm *got;
    VERIFY(xs_set_perms(c, 0, "/verify/m", set, 3, &err) == 0);
    VERIFY(xs_get_perms(c, 0, "/verify/m", &got, &n, &err) == 0 && n == 3);
    for (size_t i = 0; i < n && i < 3; i++)
        VERIFY(got[i].domid == set[i].domid && got[i].mode == set[i].mode);
    free(got);
    VERIFY(xs_rm(c, 0, "/verify/a", &err) == 0);
    VERIFY(verify_value(c, 0, "/verify/a/b", NULL));
    VERIFY(xs_read(c, 0, "/verify/a", NULL, NULL, &err) < 0 && err.errnum == ENOENT);
    /* A listing over one payload comes through DIRECTORY_PART. */
    char path[128];
    uint32_t tx;
    VERIFY(xs_transaction_start(c, &tx, &err) == 0);
    for (int i = 0; i < 150; i++) {
        snprintf(path, sizeof(path), "/verify/big/child-%03d-padding-padding-padding-padding", i);
        VERIFY(xs_write(c, tx, path, "", 0, &err) == 0);
    }
    VERIFY(xs_transaction_end(c, tx, true, &err) == 0);
    VERIFY(xs_directory(c, 0, "/verify/big", &names, &n, &err) == 0 && n == 150);
    free(names);
}

static void verify_transactions(struct xs_client *a, struct xs_client *b)
{
    struct xs_error err;
    uint32_t ta, tb;
    VERIFY(xs_write(a, 0, "/verify/tx/counter", "0", 1, &err) == 0);
    VERIFY(xs_transaction_start(a, &ta, &err) == 0);
    VERIFY(xs_transaction_start(b, &tb, &err) == 0);
    VERIFY(verify_value(a, ta, "/verify/tx/counter", "0"));
    VERIFY(verify_value(b, tb, "/verify/tx/counter", "0"));
    VERIFY(xs_write(a, ta, "/verify/tx/counter", "1", 1, &err) == 0);
    VERIFY(xs_write(b, tb, "/verify/tx/counter", "1", 1, &err) == 0);
    VERIFY(xs_write(b, tb, "/verify/tx/only-b", "x", 1, &err) == 0);
    VERIFY(xs_transaction_end(a, ta, true, &err) == 0);
    VERIFY(xs_transaction_end(b, tb, true, &err) < 0 && err.errnum == EAGAIN &&
           strcmp(err.name, "EAGAIN") == 0);
    VERIFY(verify_value(a, 0, "/verify/tx/only-b", NULL));
    VERIFY(xs_transaction_start(a, &ta, &err) == 0);
    VERIFY(xs_write(a, ta, "/verify/tx/aborted", "x", 1, &err) == 0);
    VERIFY(xs_transaction_end(a, ta, false, &err) == 0);
    VERIFY(verify_value(a, 0, "/verify/tx/aborted", NULL));
    VERIFY(xs_transaction_end(a, ta, true, &err) < 0 && err.errnum == ENOENT);
}

static void verify_watches(struct xs_client *w, struct xs_client *c)
{
    struct xs_error err;
    VERIFY(xs_watch(w, "/verify/w", "tok", &err) == 0);
    VERIFY(verify_event(w, "/verify/w", "tok"));
    VERIFY(xs_write(c, 0, "/verify/w/x", "1", 1, &err) == 0);
    VERIFY(xs_write(c, 0, "/verify/w/y", "2", 1, &err) == 0);
    /* Events queued by a call's wait are handed out in order. */
    VERIFY(verify_value(w, 0, "/verify/w/y", "2"));
    VERIFY(verify_event(w, "/verify/w/x", "tok"));
    VERIFY(verify_event(w, "/verify/w/y", "tok"));
    VERIFY(xs_watch(w, "/verify/w", "tok", &err) < 0 && err.errnum == EEXIST);
    VERIFY(xs_unwatch(w, "/verify/w", "tok", &err) == 0);
    VERIFY(xs_write(c, 0, "/verify/w/z", "3", 1, &err) == 0);
    struct xs_watch_event ev;
    VERIFY(xs_watch_next(w, &ev, 200, &err) == 0);
    VERIFY(xs_watch(w, "/verify/w", "again", &err) == 0);
    VERIFY(verify_event(w, "/verify/w", "again"));
    VERIFY(xs_reset_watches(w, &err) == 0);
    VERIFY(xs_write(c, 0, "/verify/w/q", "4", 1, &err) == 0);
    VERIFY(xs_watch_next(w, &ev, 200, &err) == 0 && xs_watch_pending(w) == 0);
}

static void verify_domains(struct xs_client *c)
{
    struct xs_error err;
    bool in = true;
    char *path = NULL;
    VERIFY(xs_watch(c, "@introduceDomain", "intro", &err) == 0);
    VERIFY(verify_event(c, "@introduceDomain", "intro"));
    VERIFY(xs_is_domain_introduced(c, 61, &in, &err) == 0 && !in);
    VERIFY(xs_introduce(c, 61, 0x1234, 7, &err) == 0);
    VERIFY(verify_event(c, "@introduceDomain", "intro"));
    VERIFY(xs_is_domain_introduced(c, 61, &in, &err) == 0 && in);
    VERIFY(xs_get_domain_path(c, 61, &path, &err) == 0 && path &&
           strcmp(path, "/local/domain/61") == 0);
    free(path);
    VERIFY(xs_introduce(c, 62, 0, 0, &err) == 0);
    VERIFY(xs_set_target(c, 62, 61, &err) == 0);
    VERIFY(xs_release(c, 62, &err) == 0);
    VERIFY(xs_release(c, 61, &err) == 0);
    VERIFY(xs_release(c, 61, &err) < 0 && err.errnum == ENOENT);
    const char *args[] = {"quota"};
    char *reply = NULL;
    VERIFY(xs_control(c, args, 1, &reply, &err) == 0 && reply && strstr(reply, "nodes"));
    free(reply);
    const char *bad[] = {"no-such-command"};
    VERIFY(xs_control(c, bad, 1, NULL, &err) < 0 && err.errnum == EINVAL);
    VERIFY(xs_unwatch(c, "@introduceDomain", "intro", &err) == 0);
}

static int bench_verify(const char *sock)
{
    struct xs_client *a = open_or_die(sock), *b = open_or_die(sock);
    xs_client_set_timeout(a, 10000);
    xs_client_set_timeout(b, 10000);
    struct xs_error err;
    xs_rm(a, 0, "/verify", &err);
    verify_nodes(a);
    verify_transactions(a, b);
    verify_watches(a, b);
    verify_domains(b);
    VERIFY(xs_rm(a, 0, "/verify", &err) == 0);
    xs_client_close(a);
    xs_client_close(b);
    if (verify_failures) {
        printf("verify: %d failure(s)\n", verify_failures);
        return 1;
    }
    printf("verify: ok\n");
    return 0;
}

static double arg_double(const char *s)
{
    char *end;
    double d = strtod(s, &end);
    if (*end || d <= 0) {
        fprintf(stderr, "xs_bench: not a positive number: %s\n", s);
        exit(2);
    }
    return d;
}

int main(int argc, char **argv)
{
    const char *usage = "usage: xs_bench verify SOCK | read|write SOCK CLIENTS SECONDS |\n"
                        "       txn SOCK WRITERS SECONDS disjoint|overlap | fill SOCK NODES\n";
    if (argc >= 3 && strcmp(argv[1], "verify") == 0)
        return bench_verify(argv[2]);
    if (argc == 5 && (strcmp(argv[1], "read") == 0 || strcmp(argv[1], "write") == 0))
        return bench_rw(argv[2], argv[1][0] == 'r' ? OP_READ : OP_WRITE,
                        (unsigned)arg_double(argv[3]), arg_double(argv[4]));
    if (argc == 6 && strcmp(argv[1], "txn") == 0)
        return bench_txn(argv[2], (unsigned)arg_double(argv[3]), arg_double(argv[4]),
                         strcmp(argv[5], "overlap") == 0);
    if (argc == 4 && strcmp(argv[1], "fill") == 0)
        return bench_fill(argv[2], (uint64_t)arg_double(argv[3]));
    fputs(usage, stderr);
    return 2;
}
