/*
 * loop.c - the epoll loop, listening sockets and signals. Each turn reads
 * what is ready and handles whole frames, then flushes every connection
 * that got output (replies, and events caused by other connections), then
 * frees the connections doomed during the turn. Level-triggered: a
 * connection that is paused (too much unread output) drops EPOLLIN.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "mem.h"
#include "ops.h"

#define LOOP_EVENTS 256
#define LOOP_RESUME_BYTES (64 * 1024)

static int loop_ctl(struct xsd *x, int op, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    return epoll_ctl(x->epfd, op, fd, &ev);
}

struct xsd_listener *xsd_listen(struct xsd *x, const char *path, uint16_t dom, bool privileged,
                                bool readonly)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_error(NULL, "socket path too long: %s", path);
        return NULL;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    unlink(path); /* stale: a live xenstored on this run dir would hold our lock */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
        listen(fd, 512) < 0) {
        log_error(NULL, "cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct hostdir_sock own;
    hostdir_sock_note(path, &own);
    struct xsd_listener *l = xcalloc(1, sizeof(*l));
    *l = (struct xsd_listener){.kind = XSD_LISTENER,
                               .own = own,
                               .fd = fd,
                               .dom = dom,
                               .privileged = privileged,
                               .readonly = readonly,
                               .path = xstrdup(path)};
    if (x->epfd >= 0)
        loop_ctl(x, EPOLL_CTL_ADD, fd, EPOLLIN, l);
    return l;
}

/* Closes at once but frees later: a RELEASE handled in this batch of
 * epoll events may close a listener whose own event comes later in the
 * same batch, and that event still points at it. */
void xsd_listener_close(struct xsd *x, struct xsd_listener *l)
{
    if (!l || l->closed)
        return;
    close(l->fd);
    l->fd = -1;
    hostdir_sock_remove(l->path, &l->own); /* not one that took the path over */
    l->closed = true;
    l->next = x->closed_listeners;
    x->closed_listeners = l;
}

void xsd_listeners_free_closed(struct xsd *x)
{
    while (x->closed_listeners) {
        struct xsd_listener *l = x->closed_listeners;
        x->closed_listeners = l->next;
        free(l->path);
        free(l);
    }
}

/* Why a new connection cannot be taken, or NULL: the daemon's cap, or,
 * on guest d's socket (d NULL for dom0's), the guest's own cap or the
 * part of the daemon's kept for dom0. */
static const char *loop_refusal(const struct xsd *x, const struct xsd_domain *d)
{
    size_t open = list_length(&x->conns);
    if (open >= x->max_conns)
        return "the daemon's connections are all taken";
    if (!d)
        return NULL;
    size_t reserve = x->max_conns / 4 < XSD_DOM0_RESERVE ? x->max_conns / 4 : XSD_DOM0_RESERVE;
    if (d->conns >= XSD_DOMAIN_CONNS)
        return "the domain holds as many connections as it may";
    if (x->guest_conns + reserve >= x->max_conns)
        return "the rest is kept for dom0";
    return NULL;
}

/* One line per second at most, however many are refused. */
static void loop_log_refusal(struct xsd *x, const struct xsd_listener *l, const char *why)
{
    int64_t now = clock_now_ms();
    x->refused_unlogged++;
    if (now - x->refused_log_ms < 1000)
        return;
    log_warn(NULL, "refused %llu connection(s) (latest on domain %u's socket): %s",
             (unsigned long long)x->refused_unlogged, l->dom, why);
    x->refused_log_ms = now;
    x->refused_unlogged = 0;
}

static void loop_accept(struct xsd *x, struct xsd_listener *l)
{
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (!hostdir_sock_same_user(fd)) { /* dom0's sockets give dom0's rights */
            loop_log_refusal(x, l, "a client of another user");
            close(fd);
            continue;
        }
        struct xsd_domain *d = l->privileged ? NULL : xsd_domain(x, l->dom);
        const char *why = loop_refusal(x, d);
        if (why) {
            loop_log_refusal(x, l, why);
            close(fd);
            continue;
        }
        struct xsd_conn *c = xsd_conn_new(x, fd, l->dom, l->privileged, l->readonly);
        if (d) {
            c->guest_of = l->dom;
            d->conns++;
            x->guest_conns++;
        }
        c->events = EPOLLIN;
        if (loop_ctl(x, EPOLL_CTL_ADD, fd, EPOLLIN, c) < 0)
            xsd_conn_doom(x, c, strerror(errno));
    }
}

/* Returns what read returned: > 0 for data handled. */
static ssize_t loop_read(struct xsd *x, struct xsd_conn *c)
{
    if (c->paused || c->eof)
        return 0;
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        xsd_conn_doom(x, c, strerror(errno));
    if (n == 0)
        c->eof = true; /* its replies still go out: see loop_flush */
    if (n <= 0)
        return n;
    c->in_len += (size_t)n;
    xsd_conn_process(x, c);
    return n;
}

/* EPOLLIN unless paused, EPOLLOUT while output waits. */
static void loop_interest(struct xsd *x, struct xsd_conn *c)
{
    uint32_t ev = (c->paused || c->eof ? 0 : EPOLLIN) | (c->out.len > c->out_off ? EPOLLOUT : 0);
    if (ev == c->events)
        return;
    c->events = ev;
    loop_ctl(x, EPOLL_CTL_MOD, c->fd, ev, c);
}

static void loop_mark_dirty(struct xsd *x, struct xsd_conn *c)
{
    if (!c->dirty) {
        c->dirty = true;
        c->next_dirty = x->dirty;
        x->dirty = c;
    }
}

static void loop_write(struct xsd *x, struct xsd_conn *c)
{
    while (c->out.len > c->out_off) {
        ssize_t n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            xsd_conn_doom(x, c, strerror(errno));
        if (n <= 0)
            break;
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out.len) {
        buf_reset(&c->out);
        c->out_off = 0;
    } else if (c->out_off > c->out.len / 2) {
        buf_consume(&c->out, c->out_off);
        c->out_off = 0;
    }
}

/* Resuming a paused connection handles its buffered frames, which may
 * dirty it again: the list is drained until nothing new comes. */
static void loop_flush(struct xsd *x)
{
    while (x->dirty) {
        struct xsd_conn *c = x->dirty;
        x->dirty = c->next_dirty;
        c->dirty = false;
        if (c->closing)
            continue;
        loop_write(x, c);
        if (c->paused && c->out.len - c->out_off < LOOP_RESUME_BYTES) {
            c->paused = false;
            xsd_conn_process(x, c);
        }
        if (c->eof && c->out.len == c->out_off)
            xsd_conn_doom(x, c, "closed by the client");
        if (!c->closing)
            loop_interest(x, c);
    }
}

static void loop_reap(struct xsd *x)
{
    for (struct list_node *n = list_first(&x->conns), *next; n && x->ndoomed; n = next) {
        next = list_next(&x->conns, n);
        if (XSD_CONN_OF(n)->closing)
            xsd_conn_free(x, XSD_CONN_OF(n));
    }
}

static void loop_signal(struct xsd *x)
{
    struct signalfd_siginfo si;
    while (read(x->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            daemon_reopen_log(x->daemon);
            continue;
        }
        log_info(NULL, "received %s: shutting down", strsignal((int)si.ssi_signo));
        x->stop = true;
    }
}

int xsd_loop_init(struct xsd *x, struct daemon *d)
{
    x->daemon = d;
    x->epfd = epoll_create1(EPOLL_CLOEXEC);
    x->sigfd = signalfd(-1, &d->signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (x->epfd < 0 || x->sigfd < 0)
        return -1;
    return loop_ctl(x, EPOLL_CTL_ADD, x->sigfd, EPOLLIN, &x->signals);
}

static void loop_dispatch(struct xsd *x, const struct epoll_event *ev)
{
    enum xsd_kind kind = *(enum xsd_kind *)ev->data.ptr;
    if (kind == XSD_SIGNALS) {
        loop_signal(x);
        return;
    }
    if (kind == XSD_LISTENER) {
        struct xsd_listener *l = ev->data.ptr;
        if (!l->closed)
            loop_accept(x, l);
        return;
    }
    struct xsd_conn *c = ev->data.ptr;
    if (c->closing)
        return;
    if (ev->events & EPOLLIN)
        loop_read(x, c);
    if (ev->events & (EPOLLHUP | EPOLLERR)) {
        /* Gone for good: do what it asked, since it cannot hear back. */
        while (!c->closing && loop_read(x, c) > 0)
            ;
        xsd_conn_doom(x, c, "hung up");
        return;
    }
    if (ev->events & EPOLLOUT || c->eof)
        loop_mark_dirty(x, c); /* the flush writes, resumes input, closes at eof */
}

int xsd_loop_run(struct xsd *x)
{
    struct epoll_event evs[LOOP_EVENTS];
    while (!x->stop) {
        int n = epoll_wait(x->epfd, evs, LOOP_EVENTS, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            log_error(NULL, "epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n; i++)
            loop_dispatch(x, &evs[i]);
        loop_flush(x);
        loop_reap(x);
        xsd_listeners_free_closed(x);
    }
    return 0;
}
