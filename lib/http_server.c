/*
 * http_server.c - the HTTP/1.1 server's listeners: TCP and Unix-domain
 * sockets, an acceptor thread each, and one thread per connection running
 * http_conn.c. Keeps the list of open connections so that stop can end
 * them, and refuses connections over max_connections with a 503.
 */
#include "http_internal.h"
#include "clock.h"
#include "hostdir.h"
#include "list.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define HS_MAX_LISTENERS 8
/* At a stop, how long handlers may go on writing their replies. */
#define HS_STOP_GRACE_MS 2000

struct hs_listener {
    int fd;
    bool is_unix;
    bool running; /* its acceptor thread was started */
    pthread_t thread;
    struct http_server *server;
};

struct hs_conn_slot {
    struct http_conn_slot conn; /* fd -1 once a handler took it */
    bool evicted;               /* shut down to make room (under the lock) */
    struct list_node node;      /* in http_server.conns */
};

#define HS_SLOT(n) LIST_ENTRY(n, struct hs_conn_slot, node)

struct http_server {
    struct http_server_opts opts;
    struct hs_listener listeners[HS_MAX_LISTENERS];
    int n_listeners;
    int port;
    atomic_bool stopping;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t idle; /* conns became empty */
    struct list conns;   /* the open connections, under lock */
};

/* --- the server --- */

struct hs_conn_arg {
    struct http_server *s;
    struct hs_conn_slot slot;
    char peer[INET6_ADDRSTRLEN + 16];
    bool is_unix;
};

static void *hs_conn_thread(void *arg)
{
    struct hs_conn_arg *c = arg;
    struct http_server *s = c->s;
    bool close_it = http_conn_serve(&s->opts, c->slot.conn.fd, c->peer, c->is_unix, &c->slot.conn);
    pthread_mutex_lock(&s->lock); /* closed under the lock: stop may be shutting it down */
    if (close_it)
        close(c->slot.conn.fd);
    list_remove(&s->conns, &c->slot.node);
    if (list_empty(&s->conns))
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
    free(c);
    return NULL;
}

static void hs_peer_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, len, "unix");
    }
}

static void hs_refuse(int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 20\r\nConnection: close\r\n\r\n"
                               "too many connections";
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
    (void)n;
    close(fd);
}

/* Called with the lock held when every slot is taken: closes the
 * connection idle the longest between two requests, so that idle
 * keep-alives cannot lock new clients out. False if none is idle. */
static bool hs_evict_idle(struct http_server *s)
{
    struct hs_conn_slot *oldest = NULL;
    int64_t since = 0;
    for (struct list_node *n = list_first(&s->conns); n; n = list_next(&s->conns, n)) {
        struct hs_conn_slot *c = HS_SLOT(n);
        int64_t t = atomic_load(&c->conn.idle_since);
        if (t > 0 && c->conn.fd >= 0 && !c->evicted && (!oldest || t < since)) {
            oldest = c;
            since = t;
        }
    }
    if (!oldest)
        return false;
    oldest->evicted = true;
    shutdown(oldest->conn.fd, SHUT_RDWR);
    return true;
}

/* Connections being closed to make room; they still hold their slots
 * for a moment. Called with the lock held. */
static int hs_evicted(const struct http_server *s)
{
    int n = 0;
    for (const struct list_node *c = list_first(&s->conns); c; c = list_next(&s->conns, c))
        n += HS_SLOT(c)->evicted;
    return n;
}

static void *hs_accept_thread(void *arg)
{
    struct hs_listener *l = arg;
    struct http_server *s = l->server;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (!atomic_load(&s->stopping)) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                usleep(10000); /* out of descriptors: let connections finish */
                continue;
            }
            break; /* the listener was shut down */
        }
        if (l->is_unix && !hostdir_sock_same_user(fd)) {
            close(fd); /* another user: no answer at all */
            continue;
        }
        pthread_mutex_lock(&s->lock);
        int max = s->opts.max_connections, active = (int)list_length(&s->conns);
        bool full = active >= max && active - hs_evicted(s) >= max;
        if (atomic_load(&s->stopping) || (full && !hs_evict_idle(s))) {
            pthread_mutex_unlock(&s->lock);
            hs_refuse(fd);
            continue;
        }
        struct hs_conn_arg *c = xcalloc(1, sizeof(*c));
        c->s = s;
        c->slot.conn.fd = fd;
        c->slot.conn.lock = &s->lock;
        c->is_unix = l->is_unix;
        hs_peer_text(&ss, c->peer, sizeof(c->peer));
        list_push_front(&s->conns, &c->slot.node);
        pthread_t t;
        if (pthread_create(&t, &attr, hs_conn_thread, c) != 0) {
            list_remove(&s->conns, &c->slot.node);
            pthread_mutex_unlock(&s->lock);
            hs_refuse(fd);
            free(c);
            continue;
        }
        pthread_mutex_unlock(&s->lock);
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

struct http_server *http_server_new(const struct http_server_opts *opts)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    s->opts = *opts;
    http_opts_defaults(&s->opts);
    pthread_mutex_init(&s->lock, NULL);
    clock_cond_init(&s->idle);
    list_init(&s->conns);
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
    s->listeners[s->n_listeners].fd = fd;
    s->listeners[s->n_listeners].is_unix = is_unix;
    s->listeners[s->n_listeners].server = s;
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
    for (int i = 0; i < s->n_listeners; i++) {
        if (pthread_create(&s->listeners[i].thread, NULL, hs_accept_thread, &s->listeners[i]) !=
            0) {
            http_server_stop(s);
            return -1;
        }
        s->listeners[i].running = true;
    }
    return 0;
}

void http_server_stop(struct http_server *s)
{
    if (atomic_exchange(&s->stopping, true))
        return;
    for (int i = 0; i < s->n_listeners; i++)
        shutdown(s->listeners[i].fd, SHUT_RDWR);
    for (int i = 0; i < s->n_listeners; i++) {
        if (s->listeners[i].running) /* not if never started */
            pthread_join(s->listeners[i].thread, NULL);
        s->listeners[i].running = false;
        close(s->listeners[i].fd);
    }
    s->n_listeners = 0;
    pthread_mutex_lock(&s->lock);
    /* Idle connections read the end of their input and close; a handler
     * still writing its reply finishes it, for up to HS_STOP_GRACE_MS.
     * Then every connection is cut. */
    for (struct list_node *n = list_first(&s->conns); n; n = list_next(&s->conns, n))
        if (HS_SLOT(n)->conn.fd >= 0)
            shutdown(HS_SLOT(n)->conn.fd, SHUT_RD);
    int64_t until = clock_now_ms() + HS_STOP_GRACE_MS;
    while (!list_empty(&s->conns) && clock_cond_wait_until(&s->idle, &s->lock, until))
        ;
    for (struct list_node *n = list_first(&s->conns); n; n = list_next(&s->conns, n))
        if (HS_SLOT(n)->conn.fd >= 0)
            shutdown(HS_SLOT(n)->conn.fd, SHUT_RDWR);
    while (!list_empty(&s->conns))
        pthread_cond_wait(&s->idle, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    if (s->started)
        http_server_stop(s);
    for (int i = 0; i < s->n_listeners; i++)
        close(s->listeners[i].fd);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->idle);
    free(s);
}
