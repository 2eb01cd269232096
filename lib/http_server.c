/*
 * http_server.c - the HTTP/1.1 server's listeners, event loop and threads.
 *
 * Every thread of the pool waits in epoll_wait on one epoll set holding
 * the listeners and every connection that waits for input, each armed
 * EPOLLONESHOT: an event goes to one thread, which then owns that
 * connection (leader/followers). It reads and parses what arrived
 * (http_conn_input); once a request is complete it runs the handler
 * itself, with no hand-off to another thread, and then parks the
 * connection again. A connection that is slow to send its request costs
 * memory only, never a thread.
 *
 * The pool follows demand: a thread about to run a handler starts
 * another when too few would be left waiting, so that handlers which
 * block (long polls, streams) never stop the loop; a thread that finds
 * too many waiting when its handler ends goes away.
 *
 * Ownership: a connection is owned by the thread that flips its parked
 * flag from true to false under the lock, which only a thread holding an
 * event for it does; the owner alone frees it. Others (the reaper, a new
 * connection needing room) only mark a parked connection and shut its
 * socket down, so that its next event tells the thread that takes it.
 *
 * Room: at most max_connections TCP connections, and as many on the
 * Unix sockets (root on this host is never locked out by the network),
 * and max_per_address from one source address. When the TCP connections
 * are all taken, a new one displaces the parked connection that has
 * waited longest, preferring any that never carried an authenticated
 * request (http_req_trust); it is refused with a 503 only if every
 * connection is busy in a handler, or trusted and mid-request.
 */
#include "http_internal.h"
#include "clock.h"
#include "hmap.h"
#include "hostdir.h"
#include "list.h"
#include "log.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define HS_MAX_LISTENERS 8
/* At a stop, how long handlers may go on writing their replies. */
#define HS_STOP_GRACE_MS 2000
/* Threads kept waiting for events: at least, and at most. */
#define HS_SPARE_MIN 2
#define HS_SPARE_MAX 16
/* How often the reaper looks for connections past their deadlines. */
#define HS_REAP_MS 250
/* Connections accepted per turn of a listener, before others get theirs. */
#define HS_ACCEPT_BATCH 64

/* What an epoll event points at: the first member of each. */
enum hs_kind { HS_LISTENER, HS_CONN, HS_WAKE };

struct hs_listener {
    enum hs_kind kind;
    int fd;
    bool is_unix;
};

struct hs_conn {
    enum hs_kind kind;
    struct http_conn_slot slot; /* fd -1 once a handler took it */
    struct http_req *r;
    struct list_node node; /* in http_server.conns */
    bool is_unix;
    /* Under the server's lock: */
    bool parked;                 /* armed in the epoll set, owned by no thread */
    bool expired;                /* past its deadline: its next event ends it */
    bool evicted;                /* closed to make room: its next event closes it */
    int64_t deadline;            /* while parked */
    int64_t since;               /* while parked: when its current wait began */
    char addr[INET6_ADDRSTRLEN]; /* source address, "" on a Unix socket */
};

#define HS_CONN(n) LIST_ENTRY(n, struct hs_conn, node)

struct http_server {
    struct http_server_opts opts;
    struct hs_listener listeners[HS_MAX_LISTENERS];
    int n_listeners;
    int port;
    int epfd, wakefd;
    enum hs_kind wake_kind; /* what the wake eventfd's events point at */
    atomic_bool stopping;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a thread ended, or the reaper should look */
    struct list conns;      /* every open connection */
    int n_conns[2];         /* TCP, Unix */
    struct hmap *per_addr;  /* source address -> connections, as intptr_t */
    int threads, waiting;   /* alive; of them, not running a handler */
    int max_threads;
    bool reaper_running;
    pthread_t reaper;
    int64_t refused_logged; /* clock_now_ms of the last refusal logged */
};

static void *hs_thread(void *arg);

/* --- threads --- */

/* Starts a thread of the pool; with the lock held. */
static bool hs_spawn(struct http_server *s)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    bool ok = pthread_create(&t, &attr, hs_thread, s) == 0;
    pthread_attr_destroy(&attr);
    if (ok) {
        s->threads++;
        s->waiting++;
    }
    return ok;
}

/* A thread is about to run a handler: keep enough others waiting. */
static void hs_busy(struct http_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->waiting--;
    while (s->waiting < HS_SPARE_MIN && s->threads < s->max_threads && !atomic_load(&s->stopping) &&
           hs_spawn(s))
        ;
    pthread_mutex_unlock(&s->lock);
}

/* A thread's handler ended. False when the thread should go away. */
static bool hs_unbusy(struct http_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->waiting++;
    bool keep = s->waiting <= HS_SPARE_MAX;
    pthread_mutex_unlock(&s->lock);
    return keep;
}

/* --- connections --- */

/* Arms fd for one event. 0, or -1 (ENOMEM, or the host's limit on
 * watches): then no event will ever come for it. */
static int hs_arm(struct http_server *s, int fd, int op, void *ptr)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = ptr};
    return epoll_ctl(s->epfd, op, fd, &ev);
}

/* A connection that cannot be armed would never be served, expired or
 * closed: take it back (nobody else can have it, as no event was armed)
 * and drop it. */
static void hs_unarmed(struct http_server *s, struct hs_conn *c);

/* Gives the connection back to the event loop until its next input. */
static void hs_park(struct http_server *s, struct hs_conn *c)
{
    pthread_mutex_lock(&s->lock);
    c->parked = true;
    c->deadline = http_conn_deadline(c->r);
    c->since = c->r->phase_start;
    pthread_mutex_unlock(&s->lock);
    /* Nobody can take it before it is armed: only an event gives it away. */
    if (hs_arm(s, c->slot.fd, EPOLL_CTL_MOD, c) < 0)
        hs_unarmed(s, c);
}

static void hs_addr_count(struct http_server *s, const char *addr, int delta)
{
    intptr_t n = (intptr_t)hmap_get(s->per_addr, addr) + delta;
    if (n > 0)
        hmap_put(s->per_addr, addr, (void *)n);
    else
        hmap_del(s->per_addr, addr);
}

/* The connection is finished: forgets it, and closes its socket unless
 * a handler took it. */
static void hs_drop(struct http_server *s, struct hs_conn *c)
{
    bool close_it = http_conn_free(c->r);
    pthread_mutex_lock(&s->lock); /* closed under the lock: others shut it down */
    if (close_it && c->slot.fd >= 0) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->slot.fd, NULL);
        close(c->slot.fd);
    }
    list_remove(&s->conns, &c->node);
    s->n_conns[c->is_unix]--;
    if (!c->is_unix)
        hs_addr_count(s, c->addr, -1);
    pthread_mutex_unlock(&s->lock);
    free(c);
}

static void hs_unarmed(struct http_server *s, struct hs_conn *c)
{
    log_warn("http", "dropping the connection of %s: cannot watch it: %s", c->r->peer,
             strerror(errno));
    pthread_mutex_lock(&s->lock);
    c->parked = false;
    pthread_mutex_unlock(&s->lock);
    hs_drop(s, c);
}

/* Serves an event of a connection. False when this thread should end. */
static bool hs_serve(struct http_server *s, struct hs_conn *c)
{
    pthread_mutex_lock(&s->lock);
    bool mine = c->parked, expired = c->expired, evicted = c->evicted;
    if (mine)
        c->parked = c->expired = false;
    pthread_mutex_unlock(&s->lock);
    if (!mine) /* a second event for one that another thread owns */
        return true;
    enum http_conn_next next = evicted   ? HC_CLOSE
                               : expired ? http_conn_expire(c->r)
                                         : http_conn_input(c->r);
    bool keep = true;
    while (next == HC_HANDLE) {
        hs_busy(s);
        next = http_conn_handle(c->r);
        keep = hs_unbusy(s) && keep;
    }
    if (next == HC_READ)
        hs_park(s, c);
    else
        hs_drop(s, c);
    return keep;
}

/* --- accepting --- */

/* The peer as text ("127.0.0.1:5555", "[::1]:80", "unix") for logs, and
 * its address alone, the key of the per-address count. An IPv4 client of
 * a dual-stack listener counts as its IPv4 address. */
static void hs_peer_text(const struct sockaddr_storage *ss, char *out, size_t len, char *addr)
{
    addr[0] = '\0';
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], addr, INET6_ADDRSTRLEN);
            snprintf(out, len, "%s:%u", addr, ntohs(in6->sin6_port));
        } else {
            inet_ntop(AF_INET6, &in6->sin6_addr, addr, INET6_ADDRSTRLEN);
            snprintf(out, len, "[%s]:%u", addr, ntohs(in6->sin6_port));
        }
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, addr, INET6_ADDRSTRLEN);
        snprintf(out, len, "%s:%u", addr, ntohs(in->sin_port));
    } else {
        snprintf(out, len, "unix");
    }
}

static void hs_refuse(int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 20\r\nConnection: close\r\n\r\n"
                               "too many connections";
    ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL); /* non-blocking */
    (void)n;
    close(fd);
}

/* Every connection of a kind is taken: marks the parked one that has
 * waited longest for closing, untrusted ones first, and trusted ones only
 * between requests. With the lock held; false if none may go. */
static bool hs_evict(struct http_server *s, bool is_unix)
{
    struct hs_conn *best = NULL;
    for (struct list_node *n = list_first(&s->conns); n; n = list_next(&s->conns, n)) {
        struct hs_conn *c = HS_CONN(n);
        if (c->is_unix != is_unix || !c->parked || c->evicted || c->slot.fd < 0)
            continue;
        bool trusted = atomic_load(&c->slot.trusted);
        if (trusted && c->r->phase != PH_IDLE)
            continue;
        bool best_trusted = best && atomic_load(&best->slot.trusted);
        if (!best || (best_trusted && !trusted) ||
            (best_trusted == trusted && c->since < best->since))
            best = c;
    }
    if (!best)
        return false;
    best->evicted = true;
    shutdown(best->slot.fd, SHUT_RDWR); /* its next event closes it */
    return true;
}

/* Connections being closed to make room: they still count for a moment.
 * With the lock held. */
static int hs_evicting(const struct http_server *s, bool is_unix)
{
    int n = 0;
    for (const struct list_node *c = list_first(&s->conns); c; c = list_next(&s->conns, c))
        n += HS_CONN(c)->evicted && HS_CONN(c)->is_unix == is_unix;
    return n;
}

/* Whether a new connection from addr may be opened, making room if it
 * must. With the lock held. */
static bool hs_admit(struct http_server *s, bool is_unix, const char *addr)
{
    if (atomic_load(&s->stopping))
        return false;
    if (!is_unix && (intptr_t)hmap_get(s->per_addr, addr) >= s->opts.max_per_address)
        return false;
    int max = s->opts.max_connections, open = s->n_conns[is_unix];
    return open < max || open - hs_evicting(s, is_unix) < max || hs_evict(s, is_unix);
}

/* Logs refusals at most once a second, so that a flood cannot fill the log. */
static void hs_log_refusal(struct http_server *s, const char *peer, const char *addr)
{
    int64_t now = clock_now_ms();
    if (now - s->refused_logged < 1000)
        return;
    s->refused_logged = now;
    bool per_addr = *addr && (intptr_t)hmap_get(s->per_addr, addr) >= s->opts.max_per_address;
    log_warn("http", "refused a connection from %s: %s", peer,
             per_addr ? "too many from its address" : "every connection is in use");
}

/* Takes in one accepted socket: refuses it, or parks it for its first
 * request. */
static void hs_take(struct http_server *s, const struct hs_listener *l, int fd,
                    const struct sockaddr_storage *ss)
{
    if (l->is_unix && !hostdir_sock_same_user(fd)) {
        close(fd); /* another user: no answer at all */
        return;
    }
    char peer[INET6_ADDRSTRLEN + 16], addr[INET6_ADDRSTRLEN];
    hs_peer_text(ss, peer, sizeof(peer), addr);
    pthread_mutex_lock(&s->lock);
    if (!hs_admit(s, l->is_unix, addr)) {
        hs_log_refusal(s, peer, addr);
        pthread_mutex_unlock(&s->lock);
        hs_refuse(fd);
        return;
    }
    struct hs_conn *c = xcalloc(1, sizeof(*c));
    c->kind = HS_CONN;
    c->slot.fd = fd;
    c->slot.lock = &s->lock;
    c->slot.epfd = s->epfd;
    atomic_store(&c->slot.trusted, l->is_unix); /* root on this host */
    c->is_unix = l->is_unix;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    c->r = http_conn_new(&s->opts, fd, peer, l->is_unix, &c->slot);
    c->parked = true;
    c->deadline = http_conn_deadline(c->r);
    c->since = c->r->phase_start;
    list_push_front(&s->conns, &c->node);
    s->n_conns[l->is_unix]++;
    if (!l->is_unix)
        hs_addr_count(s, addr, 1);
    pthread_mutex_unlock(&s->lock);
    if (hs_arm(s, fd, EPOLL_CTL_ADD, c) < 0)
        hs_unarmed(s, c);
}

/* A listener has connections waiting: takes a batch, then re-arms it. */
static void hs_accept(struct http_server *s, struct hs_listener *l)
{
    for (int i = 0; i < HS_ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd >= 0) {
            hs_take(s, l, fd, &ss);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            usleep(10000); /* out of descriptors: let connections finish */
        break;
    }
    if (!atomic_load(&s->stopping) && hs_arm(s, l->fd, EPOLL_CTL_MOD, l) < 0)
        log_error("http", "cannot watch a listener any more: %s", strerror(errno));
}

/* --- the event loop --- */

static void *hs_thread(void *arg)
{
    struct http_server *s = arg;
    for (;;) {
        struct epoll_event ev;
        int n = epoll_wait(s->epfd, &ev, 1, -1);
        if (atomic_load(&s->stopping))
            break; /* what it got is closed by the stop */
        if (n < 1)
            continue;
        enum hs_kind *kind = ev.data.ptr;
        if (*kind == HS_LISTENER)
            hs_accept(s, (struct hs_listener *)kind);
        else if (*kind == HS_CONN && !hs_serve(s, (struct hs_conn *)kind))
            break;
    }
    pthread_mutex_lock(&s->lock);
    s->threads--;
    s->waiting--;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Ends the parked connections past their deadlines, four times a second. */
static void *hs_reaper(void *arg)
{
    struct http_server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stopping)) {
        clock_cond_wait_until(&s->changed, &s->lock, clock_now_ms() + HS_REAP_MS);
        int64_t now = clock_now_ms();
        for (struct list_node *n = list_first(&s->conns); n; n = list_next(&s->conns, n)) {
            struct hs_conn *c = HS_CONN(n);
            if (c->parked && !c->expired && !c->evicted && c->deadline <= now) {
                c->expired = true;
                shutdown(c->slot.fd, SHUT_RD); /* its next event ends it */
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

struct http_server *http_server_new(const struct http_server_opts *opts)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->opts = *opts;
    http_opts_defaults(&s->opts);
    s->epfd = s->wakefd = -1;
    s->wake_kind = HS_WAKE;
    /* At most one handler per connection, and the spares beside them. */
    s->max_threads = 2 * s->opts.max_connections + HS_SPARE_MAX;
    pthread_mutex_init(&s->lock, NULL);
    clock_cond_init(&s->changed);
    list_init(&s->conns);
    s->per_addr = hmap_new();
    return s;
}

static int hs_add_listener(struct http_server *s, int fd, bool is_unix, const char **err)
{
    if (s->n_listeners == HS_MAX_LISTENERS) {
        close(fd);
        *err = "too many listeners";
        return -1;
    }
    if (listen(fd, 1024) < 0) {
        close(fd);
        *err = "listen failed";
        return -1;
    }
    s->listeners[s->n_listeners].kind = HS_LISTENER;
    s->listeners[s->n_listeners].fd = fd;
    s->listeners[s->n_listeners].is_unix = is_unix;
    s->n_listeners++;
    return 0;
}

int http_server_listen_tcp(struct http_server *s, const char *addr, int port, const char **err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(addr && *addr ? addr : "::", service, &hints, &res) != 0 || !res) {
        *err = "bad listen address";
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        *err = "socket failed";
        return -1;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (res->ai_family == AF_INET6 && !(addr && *addr)) /* "all" means IPv4 too */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
        *err = errno == EADDRINUSE ? "address already in use" : "bind failed";
        freeaddrinfo(res);
        close(fd);
        return -1;
    }
    freeaddrinfo(res);
    if (s->port == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        s->port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                          : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return hs_add_listener(s, fd, false, err);
}

int http_server_listen_unix(struct http_server *s, const char *path, const char **err)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sun.sun_path)) {
        *err = "socket path too long";
        return -1;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = "socket failed";
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        /* Stale only if nobody answers: never steal a live server's socket. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        bool live = probe >= 0 &&
                    (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN);
        if (probe >= 0)
            close(probe);
        if (live) {
            close(fd);
            *err = "socket path in use";
            return -1;
        }
        unlink(path); /* stale, from a previous run */
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        *err = errno == EADDRINUSE ? "socket path in use" : "bind failed";
        close(fd);
        return -1;
    }
    if (chmod(path, 0600) < 0) { /* its owner only, whatever the umask */
        *err = "cannot set the socket's mode";
        unlink(path);
        close(fd);
        return -1;
    }
    return hs_add_listener(s, fd, true, err);
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

int http_server_start(struct http_server *s)
{
    s->started = true;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->epfd < 0 || s->wakefd < 0)
        return -1;
    /* Level-triggered and never read: once written, it wakes every thread. */
    struct epoll_event wake = {.events = EPOLLIN, .data.ptr = &s->wake_kind};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wakefd, &wake) < 0)
        return -1;
    for (int i = 0; i < s->n_listeners; i++) {
        int fd = s->listeners[i].fd;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        hs_arm(s, fd, EPOLL_CTL_ADD, &s->listeners[i]);
    }
    pthread_mutex_lock(&s->lock);
    bool ok = true;
    for (int i = 0; i < HS_SPARE_MIN && ok; i++)
        ok = hs_spawn(s);
    s->reaper_running = ok && pthread_create(&s->reaper, NULL, hs_reaper, s) == 0;
    pthread_mutex_unlock(&s->lock);
    if (!s->reaper_running) {
        http_server_stop(s);
        return -1;
    }
    return 0;
}

/* Shuts down the sockets of the connections whose handlers run; with the
 * lock held. */
static void hs_shutdown_busy(struct http_server *s, int how)
{
    for (struct list_node *n = list_first(&s->conns); n; n = list_next(&s->conns, n))
        if (!HS_CONN(n)->parked && HS_CONN(n)->slot.fd >= 0)
            shutdown(HS_CONN(n)->slot.fd, how);
}

void http_server_stop(struct http_server *s)
{
    if (atomic_exchange(&s->stopping, true) || !s->started)
        return;
    /* No new connections from now on: a client is refused at once rather
     * than left in the backlog, and a new server may take the socket's
     * path. Closed at the end: a thread may be in accept4 on it. */
    for (int i = 0; i < s->n_listeners; i++)
        shutdown(s->listeners[i].fd, SHUT_RDWR);
    if (s->wakefd >= 0) {
        uint64_t one = 1;
        ssize_t n = write(s->wakefd, &one, sizeof(one));
        (void)n;
    }
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->changed); /* the reaper */
    /* Waiting threads end at once. A handler still writing its reply
     * finishes it, for up to HS_STOP_GRACE_MS; reading, it sees the end
     * of its input. Then every connection is cut. */
    hs_shutdown_busy(s, SHUT_RD);
    int64_t until = clock_now_ms() + HS_STOP_GRACE_MS;
    while (s->threads > 0 && clock_cond_wait_until(&s->changed, &s->lock, until))
        ;
    hs_shutdown_busy(s, SHUT_RDWR);
    while (s->threads > 0)
        pthread_cond_wait(&s->changed, &s->lock);
    pthread_mutex_unlock(&s->lock);
    if (s->reaper_running)
        pthread_join(s->reaper, NULL);
    s->reaper_running = false;
    /* No thread is left: what is still open is parked, or was being
     * served when its thread saw the stop. */
    while (!list_empty(&s->conns))
        hs_drop(s, HS_CONN(list_first(&s->conns)));
    for (int i = 0; i < s->n_listeners; i++)
        close(s->listeners[i].fd);
    s->n_listeners = 0;
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    http_server_stop(s);
    for (int i = 0; i < s->n_listeners; i++)
        close(s->listeners[i].fd);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->wakefd >= 0)
        close(s->wakefd);
    hmap_free(s->per_addr);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
    free(s);
}
