/*
 * http_server.c - the HTTP/1.1 server: acceptor threads, one thread per
 * connection, libhttp-parser underneath.
 *
 * A connection reads into one input buffer and feeds the parser only as
 * much as it has; the parser is paused at the end of every message, so
 * pipelined bytes stay in the buffer for the next request (or, after
 * CONNECT, for whoever takes the socket). Body bytes the parser hands over
 * go to a small pending buffer that http_req_read_body drains; more is read
 * from the socket only when the handler asks, so a body of any size streams
 * through a bounded amount of memory.
 *
 * Sockets are non-blocking and every wait is a poll() against a deadline:
 * the whole header block must arrive within header_timeout_ms, a body or a
 * response may stall at most io_timeout_ms, and an idle keep-alive
 * connection is closed after idle_timeout_ms.
 */
#include "http_server.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HS_MAX_LISTENERS 8
#define HS_MAX_HEADERS 100
#define HS_READ_CHUNK 65536

struct hs_listener {
    int fd;
    bool is_unix;
    pthread_t thread;
    struct http_server *server;
};

struct hs_conn_slot {
    int fd;
    struct hs_conn_slot *next, *prev;
};

struct http_server {
    struct http_server_opts opts;
    struct hs_listener listeners[HS_MAX_LISTENERS];
    int n_listeners;
    int port;
    atomic_bool stopping;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int active;
    struct hs_conn_slot conns; /* list head of open connections, for stop */
};

enum hs_hdr_state { HDR_NONE, HDR_FIELD, HDR_VALUE };

struct http_req {
    /* connection */
    int fd;
    bool is_unix;
    char peer[INET6_ADDRSTRLEN + 16];
    const struct http_server_opts *opts;
    struct buf in;
    size_t in_off;
    http_parser parser;
    bool dead; /* the connection cannot carry another request */
    bool taken;

    /* request */
    struct buf url;
    struct buf hdr; /* name\0value\0 pairs */
    size_t hdr_off[HS_MAX_HEADERS][2];
    int n_hdr;
    enum hs_hdr_state hdr_state;
    bool headers_too_big; /* over max_header_bytes or HS_MAX_HEADERS */
    bool headers_done;
    bool msg_done;
    bool keep_alive;
    bool expect_continue;
    const char *method;
    char *path, *query;
    int64_t content_length;
    struct buf body; /* parsed, not yet read */
    size_t body_off;

    /* response */
    struct buf reply_hdr;
    bool replied; /* status line sent */
    bool reply_done;
    bool reply_chunked;
    bool reply_close; /* connection ends with this response */
    bool close_after;
    int64_t reply_left; /* for Content-Length replies; -1 otherwise */
};

static int64_t hs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. 1 ready, 0
 * timeout, -1 error. */
static int hs_wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - hs_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (rc > 0)
            return (p.revents & (events | POLLHUP | POLLERR)) ? 1 : -1;
        if (rc == 0)
            continue;
        if (errno != EINTR)
            return -1;
    }
}

/* Writes all of data before the I/O deadline. 0 or -1. */
static int hs_send_all(struct http_req *r, const void *data, size_t len)
{
    const char *p = data;
    int64_t deadline = hs_now_ms() + r->opts->io_timeout_ms;
    while (len > 0) {
        ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            deadline = hs_now_ms() + r->opts->io_timeout_ms;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            hs_wait(r->fd, POLLOUT, deadline) > 0)
            continue;
        r->dead = true;
        return -1;
    }
    return 0;
}

/* Reads what is available into r->in, waiting until the deadline.
 * 1 got data, 0 peer closed, -1 timeout or error. */
static int hs_recv(struct http_req *r, int64_t deadline)
{
    if (r->in_off == r->in.len) {
        r->in.len = 0;
        r->in_off = 0;
    } else if (r->in_off > HS_READ_CHUNK) {
        memmove(r->in.data, r->in.data + r->in_off, r->in.len - r->in_off);
        r->in.len -= r->in_off;
        r->in_off = 0;
    }
    buf_reserve(&r->in, HS_READ_CHUNK);
    for (;;) {
        ssize_t n = recv(r->fd, r->in.data + r->in.len, HS_READ_CHUNK, 0);
        if (n > 0) {
            r->in.len += (size_t)n;
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && hs_wait(r->fd, POLLIN, deadline) > 0)
            continue;
        return -1;
    }
}

/* --- parser callbacks --- */

/* The request line and headers, as stored, must fit max_header_bytes. */
static int hs_check_size(struct http_req *r)
{
    if (r->url.len + r->hdr.len <= r->opts->max_header_bytes)
        return 0;
    r->headers_too_big = true;
    return 1;
}

static int hs_on_url(http_parser *p, const char *at, size_t len)
{
    struct http_req *r = p->data;
    buf_append(&r->url, at, len);
    return hs_check_size(r);
}

static int hs_on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_req *r = p->data;
    if (r->hdr_state != HDR_FIELD) {
        if (r->hdr_state == HDR_VALUE)
            buf_putc(&r->hdr, '\0');
        if (r->n_hdr == HS_MAX_HEADERS) {
            r->headers_too_big = true;
            return 1;
        }
        r->hdr_off[r->n_hdr][0] = r->hdr.len;
        r->hdr_state = HDR_FIELD;
    }
    buf_append(&r->hdr, at, len);
    return hs_check_size(r);
}

static int hs_on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_req *r = p->data;
    if (r->hdr_state != HDR_VALUE) {
        buf_putc(&r->hdr, '\0');
        r->hdr_off[r->n_hdr++][1] = r->hdr.len;
        r->hdr_state = HDR_VALUE;
    }
    buf_append(&r->hdr, at, len);
    return hs_check_size(r);
}

static int hs_on_headers_complete(http_parser *p)
{
    struct http_req *r = p->data;
    if (r->hdr_state == HDR_FIELD) { /* a name without a value */
        buf_putc(&r->hdr, '\0');
        r->hdr_off[r->n_hdr++][1] = r->hdr.len;
    }
    buf_putc(&r->hdr, '\0');
    buf_putc(&r->url, '\0');
    r->headers_done = true;
    r->keep_alive = http_should_keep_alive(p);
    r->method = http_method_str(p->method);
    r->content_length = (p->flags & F_CHUNKED)         ? -1
                        : (p->flags & F_CONTENTLENGTH) ? (int64_t)p->content_length
                                                       : 0;
    return 0;
}

static int hs_on_body(http_parser *p, const char *at, size_t len)
{
    struct http_req *r = p->data;
    buf_append(&r->body, at, len);
    return 0;
}

static int hs_on_message_complete(http_parser *p)
{
    struct http_req *r = p->data;
    r->msg_done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings hs_settings = {
    .on_url = hs_on_url,
    .on_header_field = hs_on_header_field,
    .on_header_value = hs_on_header_value,
    .on_headers_complete = hs_on_headers_complete,
    .on_body = hs_on_body,
    .on_message_complete = hs_on_message_complete,
};

/* Feeds the unparsed input to the parser. 0, or -1 on a protocol error. */
static int hs_parse(struct http_req *r)
{
    if (r->in_off == r->in.len || r->msg_done)
        return 0;
    size_t n = http_parser_execute(&r->parser, &hs_settings, r->in.data + r->in_off,
                                   r->in.len - r->in_off);
    r->in_off += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (e != HPE_OK && e != HPE_PAUSED)
        return -1;
    /* After CONNECT or an upgrade the parser stops at the end of the
     * headers; what follows belongs to whoever takes the socket. */
    if (r->parser.upgrade && r->headers_done)
        r->msg_done = true;
    return 0;
}

/* --- request accessors --- */

const char *http_req_method(const struct http_req *r)
{
    return r->method;
}

const char *http_req_path(const struct http_req *r)
{
    return r->path;
}

const char *http_req_query(const struct http_req *r)
{
    return r->query;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    for (int i = 0; i < r->n_hdr; i++)
        if (strcasecmp(r->hdr.data + r->hdr_off[i][0], name) == 0)
            return r->hdr.data + r->hdr_off[i][1];
    return NULL;
}

int64_t http_req_content_length(const struct http_req *r)
{
    return r->content_length;
}

const char *http_req_peer(const struct http_req *r)
{
    return r->peer;
}

bool http_req_is_unix(const struct http_req *r)
{
    return r->is_unix;
}

/* --- request body --- */

ssize_t http_req_read_body(struct http_req *r, void *dst, size_t len)
{
    for (;;) {
        if (r->body_off < r->body.len) {
            size_t n = r->body.len - r->body_off;
            if (n > len)
                n = len;
            memcpy(dst, r->body.data + r->body_off, n);
            r->body_off += n;
            if (r->body_off == r->body.len)
                r->body.len = r->body_off = 0;
            return (ssize_t)n;
        }
        if (r->msg_done || r->parser.upgrade)
            return 0;
        if (r->dead)
            return -1;
        if (r->in_off < r->in.len) {
            if (hs_parse(r) < 0) {
                r->dead = true;
                return -1;
            }
            continue;
        }
        if (r->expect_continue) {
            r->expect_continue = false;
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (hs_send_all(r, cont, sizeof(cont) - 1) < 0)
                return -1;
        }
        if (hs_recv(r, hs_now_ms() + r->opts->io_timeout_ms) <= 0) {
            r->dead = true;
            return -1;
        }
    }
}

int http_req_read_body_all(struct http_req *r, struct buf *out, size_t max)
{
    if (r->content_length > 0 && (uint64_t)r->content_length > max) {
        r->close_after = true;
        return -2;
    }
    char tmp[16384];
    for (;;) {
        ssize_t n = http_req_read_body(r, tmp, sizeof(tmp));
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (out->len + (size_t)n > max) {
            r->close_after = true;
            return -2;
        }
        buf_append(out, tmp, (size_t)n);
    }
}

/* --- the response --- */

const char *http_status_text(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

void http_reply_header(struct http_req *r, const char *name, const char *value)
{
    buf_printf(&r->reply_hdr, "%s: %s\r\n", name, value);
}

void http_req_close_after(struct http_req *r)
{
    r->close_after = true;
}

static void hs_head(struct http_req *r, struct buf *out, int status, const char *content_type,
                    int64_t content_length)
{
    bool http10 = r->parser.http_major == 1 && r->parser.http_minor == 0;
    r->reply_close = r->close_after || !r->keep_alive || r->dead || (content_length < 0 && http10);
    r->reply_chunked = content_length < 0 && !http10;
    buf_printf(out, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
    if (content_type)
        buf_printf(out, "Content-Type: %s\r\n", content_type);
    if (content_length >= 0)
        buf_printf(out, "Content-Length: %" PRId64 "\r\n", content_length);
    else if (r->reply_chunked)
        buf_puts(out, "Transfer-Encoding: chunked\r\n");
    buf_puts(out, r->reply_close ? "Connection: close\r\n" : "Connection: keep-alive\r\n");
    buf_append(out, r->reply_hdr.data, r->reply_hdr.len);
    buf_puts(out, "\r\n");
    r->replied = true;
}

static bool hs_is_head(const struct http_req *r)
{
    return r->method && strcmp(r->method, "HEAD") == 0;
}

int http_reply(struct http_req *r, int status, const char *content_type, const void *body,
               size_t len)
{
    if (r->replied)
        return -1;
    struct buf out = BUF_INIT;
    hs_head(r, &out, status, content_type, (int64_t)len);
    if (!hs_is_head(r))
        buf_append(&out, body, len);
    int rc = hs_send_all(r, out.data, out.len);
    buf_free(&out);
    r->reply_done = true;
    return rc;
}

int http_reply_start(struct http_req *r, int status, const char *content_type,
                     int64_t content_length)
{
    if (r->replied)
        return -1;
    struct buf out = BUF_INIT;
    hs_head(r, &out, status, content_type, content_length);
    r->reply_left = content_length;
    int rc = hs_send_all(r, out.data, out.len);
    buf_free(&out);
    return rc;
}

int http_reply_write(struct http_req *r, const void *data, size_t len)
{
    if (!r->replied || r->reply_done || r->dead)
        return -1;
    if (len == 0 || hs_is_head(r))
        return 0;
    if (r->reply_chunked) {
        char head[32];
        int n = snprintf(head, sizeof(head), "%zx\r\n", len);
        if (hs_send_all(r, head, (size_t)n) < 0 || hs_send_all(r, data, len) < 0 ||
            hs_send_all(r, "\r\n", 2) < 0)
            return -1;
        return 0;
    }
    if (r->reply_left >= 0) {
        if ((uint64_t)r->reply_left < len) {
            r->dead = true; /* the handler broke its own Content-Length */
            return -1;
        }
        r->reply_left -= (int64_t)len;
    }
    return hs_send_all(r, data, len);
}

int http_reply_end(struct http_req *r)
{
    if (!r->replied || r->reply_done)
        return -1;
    r->reply_done = true;
    if (r->reply_chunked && !hs_is_head(r))
        return hs_send_all(r, "0\r\n\r\n", 5);
    if (r->reply_left > 0 && !hs_is_head(r)) {
        r->dead = true; /* fewer bytes than promised: only closing tells the client */
        return -1;
    }
    return 0;
}

int http_req_take_socket(struct http_req *r, struct buf *pending)
{
    if (r->body_off < r->body.len)
        buf_append(pending, r->body.data + r->body_off, r->body.len - r->body_off);
    if (r->in_off < r->in.len)
        buf_append(pending, r->in.data + r->in_off, r->in.len - r->in_off);
    r->body.len = r->body_off = 0;
    r->in.len = r->in_off = 0;
    r->taken = true;
    return r->fd;
}

/* --- the connection loop --- */

static void hs_reset(struct http_req *r)
{
    r->url.len = 0;
    r->hdr.len = 0;
    r->n_hdr = 0;
    r->hdr_state = HDR_NONE;
    r->headers_too_big = r->headers_done = r->msg_done = false;
    r->keep_alive = r->expect_continue = false;
    r->method = NULL;
    r->path = r->query = NULL;
    r->content_length = 0;
    r->body.len = r->body_off = 0;
    r->reply_hdr.len = 0;
    r->replied = r->reply_done = r->reply_chunked = r->reply_close = r->close_after = false;
    r->reply_left = -1;
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
}

/* Answers a request that never reached a handler, and ends the connection. */
static void hs_fail(struct http_req *r, int status)
{
    if (!r->dead) {
        r->close_after = true;
        char body[64];
        int n = snprintf(body, sizeof(body), "%d %s\n", status, http_status_text(status));
        r->keep_alive = false;
        http_reply(r, status, "text/plain", body, (size_t)n);
    }
    r->dead = true;
}

/* Reads until the headers are complete. 1 have a request, 0 the
 * connection ended (quietly or after an error reply). */
static int hs_read_headers(struct http_req *r, bool first)
{
    bool started = r->in_off < r->in.len;
    int64_t deadline =
        hs_now_ms() + (first || started ? r->opts->header_timeout_ms : r->opts->idle_timeout_ms);
    while (!r->headers_done) {
        if (r->in_off < r->in.len) {
            if (!started) { /* the first byte starts the header clock */
                started = true;
                deadline = hs_now_ms() + r->opts->header_timeout_ms;
            }
            if (hs_parse(r) < 0) {
                enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
                hs_fail(r, r->headers_too_big || e == HPE_HEADER_OVERFLOW ? 431 : 400);
                return 0;
            }
            if (r->headers_done)
                break;
        }
        int rc = hs_recv(r, deadline);
        if (rc > 0)
            continue;
        if (rc < 0 && started && hs_now_ms() >= deadline)
            hs_fail(r, 408);
        r->dead = true;
        return 0;
    }
    r->path = r->url.data;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    } else {
        r->query = r->url.data + r->url.len - 1; /* the terminating NUL: "" */
    }
    const char *expect = http_req_header(r, "Expect");
    r->expect_continue = expect && strcasecmp(expect, "100-continue") == 0;
    return 1;
}

/* Reads and drops what is left of a body the handler did not read, so the
 * connection can carry the next request; gives up (closing) on big ones. */
static void hs_drain(struct http_req *r)
{
    if (r->msg_done)
        return;
    r->expect_continue = false; /* the client may not send it at all */
    size_t dropped = 0;
    char tmp[16384];
    while (dropped < 1024 * 1024) {
        ssize_t n = http_req_read_body(r, tmp, sizeof(tmp));
        if (n <= 0) {
            if (n < 0)
                r->dead = true;
            return;
        }
        dropped += (size_t)n;
    }
    r->dead = true;
}

static void hs_apply_defaults(struct http_server_opts *o)
{
    if (!o->max_header_bytes)
        o->max_header_bytes = 16 * 1024;
    if (!o->header_timeout_ms)
        o->header_timeout_ms = 10000;
    if (!o->idle_timeout_ms)
        o->idle_timeout_ms = 300000;
    if (!o->io_timeout_ms)
        o->io_timeout_ms = 60000;
    if (!o->max_connections)
        o->max_connections = 800;
}

/* Serves fd until the connection ends; returns false when a handler took
 * the socket, true when the caller should close it. */
static bool hs_serve(const struct http_server_opts *opts_in, int fd, const char *peer, bool is_unix)
{
    struct http_server_opts opts = *opts_in;
    hs_apply_defaults(&opts);
    struct http_req *r = xcalloc(1, sizeof(*r));
    r->fd = fd;
    r->is_unix = is_unix;
    r->opts = &opts;
    snprintf(r->peer, sizeof(r->peer), "%s", peer ? peer : "?");
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (!is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    bool first = true;
    while (!r->dead) {
        hs_reset(r);
        if (!hs_read_headers(r, first))
            break;
        first = false;
        opts.handler(r, opts.ctx);
        if (r->taken)
            break;
        if (!r->replied)
            http_reply(r, 500, "text/plain", "500 Internal Server Error\n", 26);
        else if (!r->reply_done)
            r->dead = true; /* a half-sent response: only closing ends it */
        if (r->reply_close || r->parser.upgrade)
            r->dead = true;
        if (!r->dead)
            hs_drain(r);
    }
    bool taken = r->taken;
    buf_free(&r->in);
    buf_free(&r->url);
    buf_free(&r->hdr);
    buf_free(&r->body);
    buf_free(&r->reply_hdr);
    free(r);
    return !taken;
}

void http_serve_fd(const struct http_server_opts *opts, int fd, const char *peer, bool is_unix)
{
    if (hs_serve(opts, fd, peer, is_unix))
        close(fd);
}

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
    bool close_it = hs_serve(&s->opts, c->slot.fd, c->peer, c->is_unix);
    pthread_mutex_lock(&s->lock); /* closed under the lock: stop may be shutting it down */
    if (close_it)
        close(c->slot.fd);
    c->slot.prev->next = c->slot.next;
    c->slot.next->prev = c->slot.prev;
    if (--s->active == 0)
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
        pthread_mutex_lock(&s->lock);
        if (atomic_load(&s->stopping) || s->active >= s->opts.max_connections) {
            pthread_mutex_unlock(&s->lock);
            hs_refuse(fd);
            continue;
        }
        struct hs_conn_arg *c = xcalloc(1, sizeof(*c));
        c->s = s;
        c->slot.fd = fd;
        c->is_unix = l->is_unix;
        hs_peer_text(&ss, c->peer, sizeof(c->peer));
        c->slot.next = s->conns.next;
        c->slot.prev = &s->conns;
        s->conns.next->prev = &c->slot;
        s->conns.next = &c->slot;
        s->active++;
        pthread_t t;
        if (pthread_create(&t, &attr, hs_conn_thread, c) != 0) {
            c->slot.prev->next = c->slot.next;
            c->slot.next->prev = c->slot.prev;
            s->active--;
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
    hs_apply_defaults(&s->opts);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->conns.next = s->conns.prev = &s->conns;
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
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* stale, from a previous run */
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        *err = errno == EADDRINUSE ? "socket path in use" : "bind failed";
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
    for (int i = 0; i < s->n_listeners; i++) {
        if (pthread_create(&s->listeners[i].thread, NULL, hs_accept_thread, &s->listeners[i]) !=
            0) {
            s->n_listeners = i;
            http_server_stop(s);
            return -1;
        }
    }
    s->started = true;
    return 0;
}

void http_server_stop(struct http_server *s)
{
    if (atomic_exchange(&s->stopping, true))
        return;
    for (int i = 0; i < s->n_listeners; i++)
        shutdown(s->listeners[i].fd, SHUT_RDWR);
    for (int i = 0; i < s->n_listeners; i++) {
        pthread_join(s->listeners[i].thread, NULL);
        close(s->listeners[i].fd);
    }
    s->n_listeners = 0;
    pthread_mutex_lock(&s->lock);
    for (struct hs_conn_slot *c = s->conns.next; c != &s->conns; c = c->next)
        shutdown(c->fd, SHUT_RDWR);
    while (s->active > 0)
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
