/*
 * http_conn.c - one HTTP/1.1 connection: reading and parsing its
 * requests with libhttp-parser, request bodies, running the handler and
 * handing the socket over. Responses are in http_reply.c.
 *
 * A connection is driven in steps, so that waiting for a client never
 * holds a thread: http_conn_input reads what the socket has without
 * waiting and parses it, and says whether it needs more input (the
 * caller waits: http_server.c parks it in its event loop, http_serve_fd
 * polls), or has a request for http_conn_handle. A small body is read
 * whole before the handler runs; one too large to buffer goes to the
 * handler after its first max_body_buffer bytes, and a PUT's (an
 * upload) at once; the handler streams the rest through
 * http_req_read_body.
 *
 * The parser is paused at the end of every message, so pipelined bytes
 * stay in the input buffer for the next request (or, after CONNECT, for
 * whoever takes the socket).
 *
 * Deadlines (http_conn_deadline): the headers must arrive within
 * header_timeout_ms of their first byte (of the connection, for its
 * first request); a buffered body within header_timeout_ms plus one
 * second per min_body_rate bytes, never stalling io_timeout_ms; the next
 * request of a keep-alive within idle_timeout_ms. A handler's own reads
 * and writes may stall at most io_timeout_ms.
 */
#include "http_internal.h"
#include "clock.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HS_READ_CHUNK 65536
/* What a connection reads at a time before its headers are done: a
 * parked connection costs about this much, not a whole chunk. */
#define HS_HEAD_CHUNK 4096
/* After an error reply, how long and how much input is dropped before
 * the close, so that the reply is not destroyed by a reset. */
#define HS_LINGER_MS 1000
#define HS_LINGER_BYTES (4 * 1024 * 1024)

/* Reads what the socket has into r->in: 1 got data, 0 the peer closed,
 * -1 error, -2 nothing there yet. */
static int hs_recv_now(struct http_req *r)
{
    if (r->in_off == r->in.len) {
        r->in.len = 0;
        r->in_off = 0;
    } else if (r->in_off > HS_HEAD_CHUNK) {
        memmove(r->in.data, r->in.data + r->in_off, r->in.len - r->in_off);
        r->in.len -= r->in_off;
        r->in_off = 0;
    }
    size_t chunk = r->headers_done ? HS_READ_CHUNK : HS_HEAD_CHUNK;
    buf_reserve(&r->in, chunk);
    for (;;) {
        ssize_t n = recv(r->fd, r->in.data + r->in.len, chunk, 0);
        if (n > 0) {
            r->in.len += (size_t)n;
            r->last_input = clock_now_ms();
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? -2 : -1;
    }
}

/* hs_recv_now, waiting until the deadline: 1 data, 0 closed, -1 timeout
 * or error. For handlers reading a body. */
static int hs_recv(struct http_req *r, int64_t deadline)
{
    for (;;) {
        int rc = hs_recv_now(r);
        if (rc != -2)
            return rc;
        if (http_wait(r->fd, POLLIN, deadline) <= 0)
            return -1;
    }
}

/* --- parser callbacks --- */

/* The request line and headers, as stored, must fit max_header_bytes. */
static int hs_check_size(struct http_req *r)
{
    if (r->url.len + r->hdr.len <= r->opts.max_header_bytes)
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
    if (r->headers_done) /* trailers after a chunked body: not request headers */
        return 0;
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
    if (r->headers_done)
        return 0;
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
    r->refused = http_head_check(p->http_major, p->http_minor, r->hdr.data, r->hdr_off, r->n_hdr);
    if (r->refused)
        return -1; /* the parser stops with an error */
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
    r->body_total += len;
    r->expect_continue = false; /* the client did not wait for it */
    return 0;
}

/* A chunk that would take the body past its limit is refused from its
 * size line: the client is answered at once, not after it has sent
 * (and we have waited for) the data. */
static int hs_on_chunk_header(http_parser *p)
{
    struct http_req *r = p->data;
    r->body_reach = p->content_length > UINT64_MAX - r->body_total
                        ? UINT64_MAX
                        : r->body_total + p->content_length;
    if (r->body_max && r->body_reach > r->body_max) {
        r->body_too_big = true;
        return 1; /* the parser stops with an error */
    }
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
    .on_chunk_header = hs_on_chunk_header,
    .on_message_complete = hs_on_message_complete,
};

/* Feeds the unparsed input to the parser. 0, or -1 on a protocol error. */
static int hs_parse(struct http_req *r)
{
    if (r->in_off == r->in.len || r->msg_done)
        return 0;
    if (!r->headers_done &&
        http_head_scan(&r->head_scan, r->in.data + r->in_off, r->in.len - r->in_off) < 0) {
        r->refused = 400;
        return -1;
    }
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
            /* after the response's head, the client is sending already */
            if (!r->replied && http_send_all(r, cont, sizeof(cont) - 1) < 0)
                return -1;
        }
        if (hs_recv(r, clock_now_ms() + r->opts.io_timeout_ms) <= 0) {
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
    r->body_max = max;
    if (r->body_reach > max) { /* announced while the headers were read */
        r->close_after = true;
        return -2;
    }
    char tmp[16384];
    for (;;) {
        ssize_t n = http_req_read_body(r, tmp, sizeof(tmp));
        if (n < 0 && r->body_too_big) {
            r->close_after = true;
            return -2;
        }
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

int http_req_watch_fd(const struct http_req *r)
{
    return r->taken ? -1 : r->fd;
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
    if (r->slot) { /* the server lets go of the number before the handler may close it */
        pthread_mutex_lock(r->slot->lock);
        if (r->slot->epfd >= 0)
            epoll_ctl(r->slot->epfd, EPOLL_CTL_DEL, r->fd, NULL);
        r->slot->fd = -1;
        pthread_mutex_unlock(r->slot->lock);
    }
    fcntl(r->fd, F_SETFL, r->fd_flags); /* blocking again, as the caller expects */
    return r->fd;
}

void http_req_trust(struct http_req *r)
{
    if (r->slot)
        atomic_store(&r->slot->trusted, true);
}

/* --- the connection's steps --- */

static void hs_phase(struct http_req *r, enum hs_phase phase)
{
    r->phase = phase;
    r->phase_start = clock_now_ms();
}

static void hs_reset(struct http_req *r)
{
    r->url.len = 0;
    r->hdr.len = 0;
    r->n_hdr = 0;
    r->hdr_state = HDR_NONE;
    r->headers_too_big = r->headers_done = r->msg_done = r->streamed = r->abort = false;
    r->refused = 0;
    r->head_scan = (struct http_head_scan){0};
    r->keep_alive = r->expect_continue = false;
    r->method = NULL;
    r->path = r->query = NULL;
    r->content_length = 0;
    r->body.len = r->body_off = 0;
    r->body_total = r->body_reach = 0;
    r->body_max = 0;
    r->body_too_big = false;
    r->reply_hdr.len = 0;
    r->replied = r->reply_done = r->reply_chunked = r->reply_close = r->close_after = false;
    r->reply_left = -1;
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    hs_phase(r, PH_IDLE);
}

/* A connection waiting for its next request keeps small buffers: a
 * body's or a big header's room is given back. */
static void hs_shrink(struct http_req *r)
{
    if (r->in_off == r->in.len && r->in.cap > 2 * HS_HEAD_CHUNK)
        buf_free(&r->in);
    if (r->body.cap > HS_READ_CHUNK)
        buf_free(&r->body);
    r->in_off = r->in.len;
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

/* The connection is done. Closing a socket with unread input makes the
 * kernel send a reset, which can destroy the error reply still in flight
 * to the client. So after answering a request whose body we did not read
 * (413, 400, 408 ...), stop sending, and drop what the client still sends
 * for a moment (PH_LINGER, waiting like any other input). */
static enum http_conn_next hs_end(struct http_req *r)
{
    if (r->abort) { /* a reset, at once: the client must not take it for success */
        struct linger lg = {1, 0};
        setsockopt(r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        return HC_CLOSE;
    }
    if (!r->replied || (r->msg_done && r->in_off == r->in.len))
        return HC_CLOSE;
    shutdown(r->fd, SHUT_WR);
    hs_phase(r, PH_LINGER);
    r->lingered = 0;
    return HC_READ;
}

static enum http_conn_next hs_linger_input(struct http_req *r)
{
    char tmp[16384];
    while (r->lingered < HS_LINGER_BYTES) {
        ssize_t n = recv(r->fd, tmp, sizeof(tmp), 0);
        if (n > 0)
            r->lingered += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? HC_READ : HC_CLOSE;
    }
    return HC_CLOSE;
}

/* Once the headers are complete: the path and query, and whether the
 * client waits for a 100 Continue. */
static void hs_headers_ready(struct http_req *r)
{
    r->path = r->url.data;
    char *q = strchr(r->path, '?');
    if (q) {
        *q = '\0';
        r->query = q + 1;
    } else {
        r->query = r->url.data + r->url.len - 1; /* the terminating NUL: "" */
    }
    const char *expect = http_req_header(r, "Expect");
    /* An HTTP/1.0 client does not know 100 Continue: the expectation is ignored. */
    r->expect_continue = expect && strcasecmp(expect, "100-continue") == 0 &&
                         (r->parser.http_major > 1 || r->parser.http_minor > 0);
}

/* Whether the handler should run: the whole request is read, or more
 * of its body than is buffered before the handler sees it (the handler
 * streams it, or refuses it at once), or a body the handler streams from
 * the start (opts.streams_body: upstream's xe sends an upload's body only
 * once it has the response's head). */
static bool hs_ready(struct http_req *r)
{
    if (r->msg_done || r->parser.upgrade || r->streamed)
        return true;
    size_t max = r->opts.max_body_buffer;
    return r->body.len >= max || r->content_length > (int64_t)max || r->body_reach > max;
}

/* Parses the input read so far into the request. */
static enum http_conn_next hs_parse_step(struct http_req *r)
{
    if (r->phase == PH_IDLE && r->served_one)
        hs_phase(r, PH_HEAD);
    else if (r->phase == PH_IDLE) /* the first request's clock runs from the accept */
        r->phase = PH_HEAD;
    bool had_headers = r->headers_done;
    if (hs_parse(r) < 0) {
        enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
        hs_fail(r, r->refused                                       ? r->refused
                   : r->headers_too_big || e == HPE_HEADER_OVERFLOW ? 431
                                                                    : 400);
        return hs_end(r);
    }
    if (!r->headers_done)
        return HC_READ;
    if (!had_headers) {
        hs_headers_ready(r);
        hs_phase(r, PH_BODY);
        r->streamed = r->opts.streams_body &&
                      r->opts.streams_body(r->opts.ctx, http_method_str(r->parser.method), r->path);
    }
    if (hs_ready(r))
        return HC_HANDLE;
    if (r->expect_continue) { /* a body small enough to buffer: ask for it */
        r->expect_continue = false;
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (http_send_all(r, cont, sizeof(cont) - 1) < 0)
            return HC_CLOSE;
    }
    return HC_READ;
}

/* http_conn_input, with sends that do not wait. */
static enum http_conn_next hs_input(struct http_req *r)
{
    if (r->phase == PH_LINGER)
        return hs_linger_input(r);
    /* A few reads at most: a client streaming fast does not keep the
     * thread from others; its socket is still readable, so it is back. */
    for (int reads = 0;; reads++) {
        if (r->in_off < r->in.len) {
            enum http_conn_next next = hs_parse_step(r);
            if (next != HC_READ || r->phase == PH_LINGER)
                return next;
        }
        if (reads == 16)
            return HC_READ;
        int rc = hs_recv_now(r);
        if (rc == -2)
            return HC_READ;
        if (rc <= 0) { /* closed, or reset: nobody to answer */
            r->dead = true;
            return HC_CLOSE;
        }
    }
}

enum http_conn_next http_conn_input(struct http_req *r)
{
    r->no_wait = true;
    enum http_conn_next next = hs_input(r);
    r->no_wait = false;
    return next;
}

int64_t http_conn_deadline(const struct http_req *r)
{
    const struct http_server_opts *o = &r->opts;
    switch (r->phase) {
    case PH_IDLE:
        return r->phase_start + (r->served_one ? o->idle_timeout_ms : o->header_timeout_ms);
    case PH_HEAD:
        return r->phase_start + o->header_timeout_ms;
    case PH_BODY: {
        int64_t rate = r->phase_start + o->header_timeout_ms +
                       (int64_t)(r->body_total * 1000 / (uint64_t)o->min_body_rate);
        int64_t stall = r->last_input + o->io_timeout_ms;
        return rate < stall ? rate : stall;
    }
    case PH_LINGER:
        break;
    }
    return r->phase_start + HS_LINGER_MS;
}

enum http_conn_next http_conn_expire(struct http_req *r)
{
    if (r->phase != PH_HEAD && r->phase != PH_BODY)
        return HC_CLOSE; /* idle, or done lingering: quietly */
    r->no_wait = true;
    hs_fail(r, 408);
    r->no_wait = false;
    return hs_end(r);
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

enum http_conn_next http_conn_handle(struct http_req *r)
{
    for (;;) {
        r->opts.handler(r, r->opts.ctx);
        if (r->taken)
            return HC_TAKEN;
        if (!r->replied)
            http_reply(r, 500, "text/plain", "500 Internal Server Error\n", 26);
        else if (!r->reply_done)
            r->dead = true; /* a half-sent response: only closing ends it */
        if (r->reply_close || r->parser.upgrade)
            r->dead = true;
        if (r->streamed && !r->msg_done) /* an upload left unread is not drained */
            r->dead = true;
        if (!r->dead)
            hs_drain(r);
        if (r->dead)
            return hs_end(r);
        hs_reset(r);
        r->served_one = true;
        if (r->in_off == r->in.len) {
            hs_shrink(r);
            return HC_READ;
        }
        enum http_conn_next next = http_conn_input(r); /* pipelined */
        if (next != HC_HANDLE)
            return next;
    }
}

void http_opts_defaults(struct http_server_opts *o)
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
        o->max_connections = 4096;
    if (!o->max_per_address)
        o->max_per_address = 256;
    if (!o->max_body_buffer)
        o->max_body_buffer = 1024 * 1024;
    if (!o->min_body_rate)
        o->min_body_rate = 1024;
}

struct http_req *http_conn_new(const struct http_server_opts *opts, int fd, const char *peer,
                               bool is_unix, struct http_conn_slot *slot)
{
    struct http_req *r = xcalloc(1, sizeof(*r));
    r->fd = fd;
    r->is_unix = is_unix;
    r->opts = *opts;
    http_opts_defaults(&r->opts);
    r->slot = slot;
    snprintf(r->peer, sizeof(r->peer), "%s", peer ? peer : "?");
    r->fd_flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, r->fd_flags | O_NONBLOCK);
    if (!is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    r->last_input = clock_now_ms();
    hs_reset(r);
    return r;
}

bool http_conn_free(struct http_req *r)
{
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
    struct http_req *r = http_conn_new(opts, fd, peer, is_unix, NULL);
    enum http_conn_next next = HC_READ;
    for (;;) {
        if (next == HC_HANDLE) {
            next = http_conn_handle(r);
        } else if (next == HC_READ) {
            int rc = http_wait(fd, POLLIN, http_conn_deadline(r));
            next = rc > 0 ? http_conn_input(r) : rc == 0 ? http_conn_expire(r) : HC_CLOSE;
        } else {
            break;
        }
    }
    if (http_conn_free(r))
        close(fd);
}
