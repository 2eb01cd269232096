/*
 * xs_client.c - xenstore client over a Unix socket (see xs_client.h).
 *
 * Received bytes go into one buffer that is framed in place; a frame that
 * is a WATCH_EVENT is copied to the event queue wherever it shows up, and
 * anything else must be the reply to the one request in flight. Any
 * violation of that (wrong req_id, wrong type, oversized frame) closes the
 * connection: after it no later reply could be trusted to be ours.
 */
#include "xs_client.h"
#include "buf.h"
#include "mem.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#define XS_HEADER_LEN sizeof(struct xsd_sockmsg)
#define XS_READ_CHUNK 65536

struct xs_event_node {
    struct xs_event_node *next;
    struct xs_watch_event ev;
};

struct xs_client {
    int fd;
    int timeout_ms;
    uint32_t next_req_id;
    struct buf in; /* received bytes; in.data + in_off is the first unframed one */
    size_t in_off;
    struct xs_event_node *head, *tail;
    size_t pending;
};

int xs_errno_of(const char *name)
{
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (strcmp(name, xsd_errors[i].errstring) == 0)
            return xsd_errors[i].errnum;
    return EINVAL;
}

static int fail(struct xs_error *err, int errnum, const char *name)
{
    if (err) {
        err->errnum = errnum;
        snprintf(err->name, sizeof(err->name), "%s", name);
    }
    return -1;
}

static int fail_errno(struct xs_error *err, int errnum)
{
    const char *name = strerrorname_np(errnum);
    return fail(err, errnum, name ? name : "EIO");
}

/* A local failure mid-conversation: the stream can no longer be trusted. */
static int fail_closed(struct xs_client *c, struct xs_error *err, int errnum)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return fail_errno(err, errnum);
}

struct xs_client *xs_client_open(const char *path, struct xs_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fail_errno(err, ENAMETOOLONG);
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_errno(err, errno);
        return NULL;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        fail_errno(err, e);
        return NULL;
    }
    return xs_client_adopt(fd);
}

struct xs_client *xs_client_adopt(int fd)
{
    struct xs_client *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->next_req_id = 1;
    return c;
}

static void event_node_free(struct xs_event_node *n)
{
    xs_watch_event_free(&n->ev);
    free(n);
}

void xs_client_close(struct xs_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    while (c->head) {
        struct xs_event_node *n = c->head;
        c->head = n->next;
        event_node_free(n);
    }
    buf_free(&c->in);
    free(c);
}

void xs_client_set_timeout(struct xs_client *c, int ms)
{
    c->timeout_ms = ms > 0 ? ms : 0;
    /* A daemon that stops reading would otherwise block a send for ever. */
    struct timeval tv = {.tv_sec = c->timeout_ms / 1000, .tv_usec = (c->timeout_ms % 1000) * 1000};
    if (c->fd >= 0)
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int xs_client_fd(const struct xs_client *c)
{
    return c->fd;
}

size_t xs_watch_pending(const struct xs_client *c)
{
    return c->pending;
}

void xs_watch_event_free(struct xs_watch_event *ev)
{
    free(ev->path); /* token lives in the same block */
    ev->path = ev->token = NULL;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the socket is readable and appends what it holds. Returns
 * 1 if bytes came, 0 at the deadline (-1: none), -1 with *err. */
static int fill(struct xs_client *c, long long deadline, struct xs_error *err)
{
    if (c->in_off > 0) {
        buf_consume(&c->in, c->in_off);
        c->in_off = 0;
    }
    for (;;) {
        int wait = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            wait = left > 0 ? (int)(left > INT_MAX ? INT_MAX : left) : 0;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail_closed(c, err, errno);
        if (r == 0)
            return 0;
        buf_reserve(&c->in, XS_READ_CHUNK);
        ssize_t n = recv(c->fd, c->in.data + c->in.len, XS_READ_CHUNK, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return fail_closed(c, err, errno);
        if (n == 0)
            return fail_closed(c, err, EIO);
        c->in.len += (size_t)n;
        c->in.data[c->in.len] = '\0';
        return 1;
    }
}

/* The next whole frame: *h and its payload (valid until the next fill).
 * Returns 1, 0 if none came by the deadline, -1 with *err. */
static int frame_next(struct xs_client *c, struct xsd_sockmsg *h, const char **payload,
                      long long deadline, struct xs_error *err)
{
    for (;;) {
        size_t have = c->in.len - c->in_off;
        if (have >= XS_HEADER_LEN) {
            memcpy(h, c->in.data + c->in_off, XS_HEADER_LEN);
            if (h->len > XENSTORE_PAYLOAD_MAX)
                return fail_closed(c, err, EPROTO);
            if (have >= XS_HEADER_LEN + h->len) {
                *payload = c->in.data + c->in_off + XS_HEADER_LEN;
                c->in_off += XS_HEADER_LEN + h->len;
                return 1;
            }
        }
        int r = fill(c, deadline, err);
        if (r <= 0)
            return r;
    }
}

/* Queues a WATCH_EVENT: "path\0token\0" (anything after is ignored, as
 * libxenstore does). */
static int event_queue(struct xs_client *c, const char *p, size_t len, struct xs_error *err)
{
    const char *nul1 = memchr(p, '\0', len);
    const char *nul2 = nul1 ? memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - p)) : NULL;
    if (!nul2)
        return fail_closed(c, err, EPROTO);
    size_t used = (size_t)(nul2 + 1 - p);
    struct xs_event_node *n = xmalloc(sizeof(*n));
    n->next = NULL;
    n->ev.path = xmalloc(used);
    memcpy(n->ev.path, p, used);
    n->ev.token = n->ev.path + (nul1 + 1 - p);
    if (c->tail)
        c->tail->next = n;
    else
        c->head = n;
    c->tail = n;
    c->pending++;
    return 0;
}

/* Queues the watch events already read past a reply, so that
 * xs_watch_pending counts them: the socket will not become readable for
 * bytes that are already in our buffer. */
static void events_from_buffer(struct xs_client *c)
{
    for (;;) {
        size_t have = c->in.len - c->in_off;
        struct xsd_sockmsg h;
        if (have < XS_HEADER_LEN)
            return;
        memcpy(&h, c->in.data + c->in_off, XS_HEADER_LEN);
        if (h.type != XS_WATCH_EVENT || h.len > XENSTORE_PAYLOAD_MAX ||
            have < XS_HEADER_LEN + h.len)
            return;
        struct xs_error ignored;
        if (event_queue(c, c->in.data + c->in_off + XS_HEADER_LEN, h.len, &ignored) < 0)
            return; /* malformed: the connection is closed */
        c->in_off += XS_HEADER_LEN + h.len;
    }
}

static int send_all(struct xs_client *c, const struct xsd_sockmsg *h, const void *payload,
                    struct xs_error *err)
{
    struct iovec iov[2] = {{(void *)h, XS_HEADER_LEN}, {(void *)payload, h->len}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = h->len ? 2 : 1};
    while (m.msg_iovlen > 0) {
        ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail_closed(c, err, errno == EAGAIN ? ETIMEDOUT : errno);
        while (m.msg_iovlen > 0 && (size_t)n >= m.msg_iov->iov_len) {
            n -= (ssize_t)m.msg_iov->iov_len;
            m.msg_iov++;
            m.msg_iovlen--;
        }
        if (m.msg_iovlen > 0) {
            m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + n;
            m.msg_iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* An XS_ERROR payload: "ENAME\0". */
static int fail_daemon(struct xs_error *err, const char *p, size_t len)
{
    char name[sizeof(err->name)];
    size_t n = strnlen(p, len < sizeof(name) - 1 ? len : sizeof(name) - 1);
    for (size_t i = 0; i < n; i++)
        name[i] = p[i] > 0x20 && p[i] < 0x7f ? p[i] : '?';
    name[n] = '\0';
    return fail(err, xs_errno_of(name), name);
}

int xs_request(struct xs_client *c, uint32_t type, uint32_t tx, const void *payload, size_t len,
               char **reply, size_t *reply_len, struct xs_error *err)
{
    if (c->fd < 0)
        return fail_errno(err, ENOTCONN);
    if (len > XENSTORE_PAYLOAD_MAX)
        return fail_errno(err, E2BIG);
    struct xsd_sockmsg h = {type, c->next_req_id++, tx, (uint32_t)len};
    if (c->next_req_id == 0)
        c->next_req_id = 1; /* 0 is what watch events carry */
    if (send_all(c, &h, payload, err) < 0)
        return -1;
    long long deadline = c->timeout_ms > 0 ? now_ms() + c->timeout_ms : -1;
    for (;;) {
        struct xsd_sockmsg r;
        const char *p;
        int got = frame_next(c, &r, &p, deadline, err);
        if (got < 0)
            return -1;
        if (got == 0)
            return fail_closed(c, err, ETIMEDOUT);
        if (r.type == XS_WATCH_EVENT) {
            if (event_queue(c, p, r.len, err) < 0)
                return -1;
            continue;
        }
        if (r.req_id != h.req_id || (r.type != type && r.type != XS_ERROR))
            return fail_closed(c, err, EPROTO);
        if (r.type == XS_ERROR) {
            int rc = fail_daemon(err, p, r.len);
            events_from_buffer(c);
            return rc;
        }
        if (reply) {
            *reply = xmalloc(r.len + 1);
            memcpy(*reply, p, r.len);
            (*reply)[r.len] = '\0';
        }
        if (reply_len)
            *reply_len = r.len;
        events_from_buffer(c);
        return 0;
    }
}

/* A request whose payload is n NUL-terminated strings. */
static int request_strings(struct xs_client *c, uint32_t type, uint32_t tx, const char *const *strs,
                           size_t n, char **reply, size_t *reply_len, struct xs_error *err)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++)
        buf_append(&b, strs[i], strlen(strs[i]) + 1);
    int r = xs_request(c, type, tx, b.data, b.len, reply, reply_len, err);
    buf_free(&b);
    return r;
}

/* A request whose reply is only an acknowledgement ("OK"). */
static int request_ack(struct xs_client *c, uint32_t type, uint32_t tx, const char *const *strs,
                       size_t n, struct xs_error *err)
{
    return request_strings(c, type, tx, strs, n, NULL, NULL, err);
}

int xs_read(struct xs_client *c, uint32_t tx, const char *path, char **value, size_t *len,
            struct xs_error *err)
{
    return request_strings(c, XS_READ, tx, &path, 1, value, len, err);
}

int xs_write(struct xs_client *c, uint32_t tx, const char *path, const void *value, size_t len,
             struct xs_error *err)
{
    struct buf b = BUF_INIT;
    buf_append(&b, path, strlen(path) + 1);
    buf_append(&b, value, len);
    int r = xs_request(c, XS_WRITE, tx, b.data, b.len, NULL, NULL, err);
    buf_free(&b);
    return r;
}

int xs_mkdir(struct xs_client *c, uint32_t tx, const char *path, struct xs_error *err)
{
    return request_ack(c, XS_MKDIR, tx, &path, 1, err);
}

int xs_rm(struct xs_client *c, uint32_t tx, const char *path, struct xs_error *err)
{
    return request_ack(c, XS_RM, tx, &path, 1, err);
}

/* Splits len bytes of NUL-terminated strings into one block: the array
 * (NULL-terminated), then the strings. Returns the count, -1 if the last
 * string is not terminated. */
static long split_strings(const char *p, size_t len, char ***out)
{
    if (len > 0 && p[len - 1] != '\0')
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += p[i] == '\0';
    char **arr = xmalloc((n + 1) * sizeof(char *) + len);
    char *s = (char *)(arr + n + 1);
    if (len)
        memcpy(s, p, len);
    for (size_t i = 0; i < n; i++) {
        arr[i] = s;
        s += strlen(s) + 1;
    }
    arr[n] = NULL;
    *out = arr;
    return (long)n;
}

/* DIRECTORY_PART, for directories whose listing exceeds one payload:
 * "path\0offset\0" answers "generation\0names...", the last part ending
 * in an empty name. A changed generation means the node changed between
 * parts, so the listing starts over (as libxenstore does). */
static int directory_parts(struct xs_client *c, uint32_t tx, const char *path, struct buf *all,
                           struct xs_error *err)
{
    char gen[32] = "";
    for (int restarts = 0; restarts < 100;) {
        char off[24];
        snprintf(off, sizeof(off), "%zu", all->len);
        const char *args[] = {path, off};
        char *r;
        size_t rlen;
        if (request_strings(c, XS_DIRECTORY_PART, tx, args, 2, &r, &rlen, err) < 0)
            return -1;
        size_t glen = strnlen(r, rlen);
        if (glen == rlen || glen >= sizeof(gen)) {
            free(r);
            return fail_closed(c, err, EPROTO);
        }
        if (all->len > 0 && strcmp(gen, r) != 0) {
            free(r);
            buf_reset(all);
            restarts++;
            continue;
        }
        memcpy(gen, r, glen + 1);
        buf_append(all, r + glen + 1, rlen - glen - 1);
        free(r);
        if (all->len <= 1 || all->data[all->len - 2] == '\0') {
            if (all->len > 0)
                all->len--; /* the empty name that ends the list */
            return 0;
        }
    }
    return fail_errno(err, EAGAIN);
}

int xs_directory(struct xs_client *c, uint32_t tx, const char *path, char ***names, size_t *n,
                 struct xs_error *err)
{
    struct xs_error e;
    char *r = NULL;
    size_t rlen = 0;
    struct buf parts = BUF_INIT;
    const char *list;
    if (request_strings(c, XS_DIRECTORY, tx, &path, 1, &r, &rlen, &e) == 0) {
        list = r;
    } else if (e.errnum == E2BIG && c->fd >= 0) {
        if (directory_parts(c, tx, path, &parts, err) < 0) {
            buf_free(&parts);
            return -1;
        }
        list = parts.data;
        rlen = parts.len;
    } else {
        if (err)
            *err = e;
        return -1;
    }
    long got = split_strings(list ? list : "", rlen, names);
    free(r);
    buf_free(&parts);
    if (got < 0)
        return fail_closed(c, err, EPROTO);
    *n = (size_t)got;
    return 0;
}

/* "r5" -> {5, 'r'}; false unless exactly a mode letter and a domid. */
static bool perm_parse(const char *s, struct xs_perm *p)
{
    if (!strchr("nrwb", s[0]) || s[0] == '\0' || s[1] < '0' || s[1] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long d = strtoul(s + 1, &end, 10);
    if (*end || errno || d > UINT32_MAX)
        return false;
    p->mode = s[0];
    p->domid = (uint32_t)d;
    return true;
}

int xs_get_perms(struct xs_client *c, uint32_t tx, const char *path, struct xs_perm **perms,
                 size_t *n, struct xs_error *err)
{
    char *r;
    size_t rlen;
    if (request_strings(c, XS_GET_PERMS, tx, &path, 1, &r, &rlen, err) < 0)
        return -1;
    char **strs;
    long cnt = split_strings(r, rlen, &strs);
    free(r);
    if (cnt <= 0) {
        if (cnt == 0)
            free(strs);
        return fail_closed(c, err, EPROTO);
    }
    struct xs_perm *out = xmalloc((size_t)cnt * sizeof(*out));
    for (long i = 0; i < cnt; i++) {
        if (!perm_parse(strs[i], &out[i])) {
            free(strs);
            free(out);
            return fail_closed(c, err, EPROTO);
        }
    }
    free(strs);
    *perms = out;
    *n = (size_t)cnt;
    return 0;
}

int xs_set_perms(struct xs_client *c, uint32_t tx, const char *path, const struct xs_perm *perms,
                 size_t n, struct xs_error *err)
{
    struct buf b = BUF_INIT;
    buf_append(&b, path, strlen(path) + 1);
    for (size_t i = 0; i < n; i++) {
        buf_printf(&b, "%c%u", perms[i].mode, perms[i].domid);
        buf_append(&b, "", 1);
    }
    int r = xs_request(c, XS_SET_PERMS, tx, b.data, b.len, NULL, NULL, err);
    buf_free(&b);
    return r;
}

int xs_transaction_start(struct xs_client *c, uint32_t *tx, struct xs_error *err)
{
    const char *empty = "";
    char *r;
    if (request_strings(c, XS_TRANSACTION_START, 0, &empty, 1, &r, NULL, err) < 0)
        return -1;
    char *end;
    errno = 0;
    unsigned long id = strtoul(r, &end, 10);
    bool ok = r[0] >= '0' && r[0] <= '9' && *end == '\0' && !errno && id > 0 && id <= UINT32_MAX;
    free(r);
    if (!ok)
        return fail_closed(c, err, EPROTO);
    *tx = (uint32_t)id;
    return 0;
}

int xs_transaction_end(struct xs_client *c, uint32_t tx, bool commit, struct xs_error *err)
{
    const char *arg = commit ? "T" : "F";
    return request_ack(c, XS_TRANSACTION_END, tx, &arg, 1, err);
}

int xs_watch(struct xs_client *c, const char *path, const char *token, struct xs_error *err)
{
    const char *args[] = {path, token};
    return request_ack(c, XS_WATCH, 0, args, 2, err);
}

int xs_unwatch(struct xs_client *c, const char *path, const char *token, struct xs_error *err)
{
    const char *args[] = {path, token};
    return request_ack(c, XS_UNWATCH, 0, args, 2, err);
}

int xs_reset_watches(struct xs_client *c, struct xs_error *err)
{
    const char *empty = "";
    return request_ack(c, XS_RESET_WATCHES, 0, &empty, 1, err);
}

static void event_pop(struct xs_client *c, struct xs_watch_event *ev)
{
    struct xs_event_node *n = c->head;
    c->head = n->next;
    if (!c->head)
        c->tail = NULL;
    c->pending--;
    *ev = n->ev;
    free(n);
}

int xs_watch_next(struct xs_client *c, struct xs_watch_event *ev, int timeout_ms,
                  struct xs_error *err)
{
    if (timeout_ms < 0)
        timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : -1;
    long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
    while (!c->head) {
        if (c->fd < 0)
            return fail_errno(err, ENOTCONN);
        struct xsd_sockmsg h;
        const char *p;
        int got = frame_next(c, &h, &p, deadline, err);
        if (got <= 0)
            return got;
        if (h.type != XS_WATCH_EVENT) /* a reply nobody asked for */
            return fail_closed(c, err, EPROTO);
        if (event_queue(c, p, h.len, err) < 0)
            return -1;
    }
    event_pop(c, ev);
    return 1;
}

/* Formats unsigned numbers as the request strings the domain calls take. */
static int request_numbers(struct xs_client *c, uint32_t type, const uint64_t *nums, size_t n,
                           char **reply, struct xs_error *err)
{
    char text[4][24];
    const char *args[4];
    for (size_t i = 0; i < n && i < 4; i++) {
        snprintf(text[i], sizeof(text[i]), "%llu", (unsigned long long)nums[i]);
        args[i] = text[i];
    }
    return request_strings(c, type, 0, args, n, reply, NULL, err);
}

int xs_introduce(struct xs_client *c, uint32_t domid, uint64_t mfn, uint32_t port,
                 struct xs_error *err)
{
    const uint64_t nums[] = {domid, mfn, port};
    return request_numbers(c, XS_INTRODUCE, nums, 3, NULL, err);
}

int xs_release(struct xs_client *c, uint32_t domid, struct xs_error *err)
{
    const uint64_t nums[] = {domid};
    return request_numbers(c, XS_RELEASE, nums, 1, NULL, err);
}

int xs_get_domain_path(struct xs_client *c, uint32_t domid, char **path, struct xs_error *err)
{
    const uint64_t nums[] = {domid};
    return request_numbers(c, XS_GET_DOMAIN_PATH, nums, 1, path, err);
}

int xs_is_domain_introduced(struct xs_client *c, uint32_t domid, bool *introduced,
                            struct xs_error *err)
{
    const uint64_t nums[] = {domid};
    char *r;
    if (request_numbers(c, XS_IS_DOMAIN_INTRODUCED, nums, 1, &r, err) < 0)
        return -1;
    bool t = strcmp(r, "T") == 0, f = strcmp(r, "F") == 0;
    free(r);
    if (!t && !f)
        return fail_closed(c, err, EPROTO);
    *introduced = t;
    return 0;
}

int xs_set_target(struct xs_client *c, uint32_t domid, uint32_t target, struct xs_error *err)
{
    const uint64_t nums[] = {domid, target};
    return request_numbers(c, XS_SET_TARGET, nums, 2, NULL, err);
}

int xs_control(struct xs_client *c, const char *const *args, size_t nargs, char **reply,
               struct xs_error *err)
{
    return request_strings(c, XS_CONTROL, 0, args, nargs, reply, NULL, err);
}
