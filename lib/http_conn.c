/*
 * http_conn.c - one HTTP/1.1 connection: parsing requests with
 * libhttp-parser, request bodies, responses, and handing the socket over.
 * http_server.c accepts connections and runs each here on its own thread.
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
#include "http_internal.h"
#include "clock.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HS_MAX_HEADERS 100
#define HS_READ_CHUNK 65536

enum hs_hdr_state { HDR_NONE, HDR_FIELD, HDR_VALUE };

struct http_req {
    /* connection */
    int fd;
    int fd_flags; /* as handed to us, restored for http_req_take_socket */
    bool is_unix;
    char peer[INET6_ADDRSTRLEN + 16];
    const struct http_server_opts *opts;
    struct buf in;
    size_t in_off;
    http_parser parser;
    bool dead;                   /* the connection cannot carry another request */
    struct http_conn_slot *slot; /* the server's, or NULL */
    bool taken;

    /* request */
    struct buf url;
    struct buf hdr; /* name\0value\0 pairs */
    size_t hdr_off[HS_MAX_HEADERS][2];
    int n_hdr;
    enum hs_hdr_state hdr_state;
    bool headers_too_big; /* over max_header_bytes or HS_MAX_HEADERS */
    int refused;          /* a status the headers earned (400, 501, 505), or 0 */
    struct http_head_scan head_scan;
    bool headers_done;
    bool msg_done;
    bool keep_alive;
    bool expect_continue;
    const char *method;
    char *path, *query;
    int64_t content_length;
    struct buf body; /* parsed, not yet read */
    size_t body_off;
    uint64_t body_total; /* body bytes parsed so far */
    uint64_t body_reach; /* what the body reaches with the chunk announced last */
    size_t body_max;     /* http_req_read_body_all's limit, or 0 */
    bool body_too_big;   /* a chunk announced more than body_max allows */

    /* response */
    struct buf reply_hdr;
    bool replied; /* status line sent */
    bool reply_done;
    bool reply_chunked;
    bool reply_close; /* connection ends with this response */
    bool close_after;
    int64_t reply_left; /* for Content-Length replies; -1 otherwise */
};

/* Waits until fd is ready for events or the deadline passes. 1 ready, 0
 * timeout, -1 error. */
static int hs_wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - clock_now_ms();
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
static int hs_send_flags(struct http_req *r, const void *data, size_t len, int flags)
{
    const char *p = data;
    int64_t deadline = clock_now_ms() + r->opts->io_timeout_ms;
    while (len > 0) {
        ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL | flags);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            deadline = clock_now_ms() + r->opts->io_timeout_ms;
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

static int hs_send_all(struct http_req *r, const void *data, size_t len)
{
    return hs_send_flags(r, data, len, 0);
}

/* Writes head then body, in one system call (and one packet) when the
 * socket takes them whole: no copy of the body behind the head. 0 or -1. */
static int hs_send_two(struct http_req *r, const void *head, size_t head_len, const void *body,
                       size_t len)
{
    struct iovec iov[2] = {{(void *)head, head_len}, {(void *)body, len}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n;
    do
        n = sendmsg(r->fd, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    size_t sent = n > 0 ? (size_t)n : 0;
    if (sent < head_len && hs_send_flags(r, (const char *)head + sent, head_len - sent, 0) < 0)
        return -1;
    sent = sent > head_len ? sent - head_len : 0;
    return hs_send_all(r, (const char *)body + sent, len - sent);
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
            if (hs_send_all(r, cont, sizeof(cont) - 1) < 0)
                return -1;
        }
        if (hs_recv(r, clock_now_ms() + r->opts->io_timeout_ms) <= 0) {
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
    case 505:
        return "HTTP Version Not Supported";
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
    /* A client still holding its body back for a 100 Continue that will not
     * come can only end the request by closing. */
    if (r->expect_continue && !r->msg_done)
        r->reply_close = true;
    r->reply_chunked = content_length < 0 && !http10;
    /* No printf: every reply passes here. */
    buf_puts(out, "HTTP/1.1 ");
    buf_put_int64(out, status);
    buf_putc(out, ' ');
    buf_puts(out, http_status_text(status));
    buf_puts(out, "\r\n");
    if (content_type) {
        buf_puts(out, "Content-Type: ");
        buf_puts(out, content_type);
        buf_puts(out, "\r\n");
    }
    if (content_length >= 0) {
        buf_puts(out, "Content-Length: ");
        buf_put_int64(out, content_length);
        buf_puts(out, "\r\n");
    } else if (r->reply_chunked)
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
    int rc;
    if (hs_is_head(r)) {
        rc = hs_send_all(r, out.data, out.len);
    } else {
        rc = hs_send_two(r, out.data, out.len, body, len);
    }
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
        r->slot->fd = -1;
        pthread_mutex_unlock(r->slot->lock);
    }
    fcntl(r->fd, F_SETFL, r->fd_flags); /* blocking again, as the caller expects */
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
        clock_now_ms() + (first || started ? r->opts->header_timeout_ms : r->opts->idle_timeout_ms);
    while (!r->headers_done) {
        if (r->in_off < r->in.len) {
            if (!started) { /* the first byte starts the header clock */
                started = true;
                deadline = clock_now_ms() + r->opts->header_timeout_ms;
            }
            if (r->slot)
                atomic_store(&r->slot->idle_since, 0);
            if (hs_parse(r) < 0) {
                enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
                hs_fail(r, r->refused                                       ? r->refused
                           : r->headers_too_big || e == HPE_HEADER_OVERFLOW ? 431
                                                                            : 400);
                return 0;
            }
            if (r->headers_done)
                break;
        }
        int rc = hs_recv(r, deadline);
        if (rc > 0)
            continue;
        if (rc < 0 && started && clock_now_ms() >= deadline)
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
    /* An HTTP/1.0 client does not know 100 Continue: the expectation is ignored. */
    r->expect_continue = expect && strcasecmp(expect, "100-continue") == 0 &&
                         (r->parser.http_major > 1 || r->parser.http_minor > 0);
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
        o->max_connections = 800;
}

/* Closing a socket with unread input makes the kernel send a reset, which
 * can destroy the error reply still in flight to the client. So after
 * answering a request whose body we did not read (413, 400, ...), stop
 * sending, and read and drop what the client still sends for a moment. */
static void hs_linger(struct http_req *r)
{
    shutdown(r->fd, SHUT_WR);
    int64_t deadline = clock_now_ms() + 1000;
    char tmp[16384];
    size_t dropped = 0;
    while (dropped < 4 * 1024 * 1024 && hs_wait(r->fd, POLLIN, deadline) > 0) {
        ssize_t n = recv(r->fd, tmp, sizeof(tmp), 0);
        if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
            return;
        if (n > 0)
            dropped += (size_t)n;
    }
}

bool http_conn_serve(const struct http_server_opts *opts_in, int fd, const char *peer, bool is_unix,
                     struct http_conn_slot *slot)
{
    struct http_server_opts opts = *opts_in;
    http_opts_defaults(&opts);
    struct http_req *r = xcalloc(1, sizeof(*r));
    r->fd = fd;
    r->is_unix = is_unix;
    r->opts = &opts;
    r->slot = slot;
    snprintf(r->peer, sizeof(r->peer), "%s", peer ? peer : "?");
    r->fd_flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, r->fd_flags | O_NONBLOCK);
    if (!is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    bool first = true;
    while (!r->dead) {
        hs_reset(r);
        /* between two requests of a keep-alive, with nothing read yet */
        if (slot && !first && r->in_off == r->in.len)
            atomic_store(&slot->idle_since, clock_now_ms());
        bool got = hs_read_headers(r, first);
        if (slot)
            atomic_store(&slot->idle_since, 0);
        if (!got)
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
    if (!r->taken && r->replied && (!r->msg_done || r->in_off < r->in.len))
        hs_linger(r);
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
    if (http_conn_serve(opts, fd, peer, is_unix, NULL))
        close(fd);
}
