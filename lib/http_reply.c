/*
 * http_reply.c - the HTTP/1.1 server's responses: the status line and
 * headers, whole bodies (head and body in one system call), streamed
 * bodies with Content-Length or chunked, and HEAD. Every send waits at
 * most io_timeout_ms for the client to take more; answers sent from the
 * event loop (no_wait) never wait at all.
 */
#include "http_internal.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

int http_wait(int fd, short events, int64_t deadline)
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
int http_send_all(struct http_req *r, const void *data, size_t len)
{
    const char *p = data;
    int64_t deadline = clock_now_ms() + r->opts.io_timeout_ms;
    while (len > 0) {
        ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            deadline = clock_now_ms() + r->opts.io_timeout_ms;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !r->no_wait &&
            http_wait(r->fd, POLLOUT, deadline) > 0)
            continue;
        r->dead = true;
        return -1;
    }
    return 0;
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
    if (sent < head_len && http_send_all(r, (const char *)head + sent, head_len - sent) < 0)
        return -1;
    sent = sent > head_len ? sent - head_len : 0;
    return http_send_all(r, (const char *)body + sent, len - sent);
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

/* Whether s can stand in a header: no control character, so no CR or LF
 * that would end the header and start another (header injection). */
static bool hs_header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false;
    return true;
}

void http_reply_header(struct http_req *r, const char *name, const char *value)
{
    if (hs_header_safe(name) && hs_header_safe(value))
        buf_printf(&r->reply_hdr, "%s: %s\r\n", name, value);
}

void http_req_close_after(struct http_req *r)
{
    r->close_after = true;
}

void http_req_abort(struct http_req *r)
{
    r->abort = r->close_after = r->dead = true;
}

static void hs_head(struct http_req *r, struct buf *out, int status, const char *content_type,
                    int64_t content_length)
{
    bool http10 = r->parser.http_major == 1 && r->parser.http_minor == 0;
    /* an upload answered before its body is read: the client waiting for
     * a 100 Continue gets it first, or it would never send the body */
    if (r->streamed && r->expect_continue && !r->msg_done) {
        buf_puts(out, "HTTP/1.1 100 Continue\r\n\r\n");
        r->expect_continue = false;
    }
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
    if (content_type && !hs_header_safe(content_type))
        content_type = "application/octet-stream";
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
        rc = http_send_all(r, out.data, out.len);
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
    int rc = http_send_all(r, out.data, out.len);
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
        if (http_send_all(r, head, (size_t)n) < 0 || http_send_all(r, data, len) < 0 ||
            http_send_all(r, "\r\n", 2) < 0)
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
    return http_send_all(r, data, len);
}

int http_reply_end(struct http_req *r)
{
    if (!r->replied || r->reply_done)
        return -1;
    r->reply_done = true;
    if (r->reply_chunked && !hs_is_head(r))
        return http_send_all(r, "0\r\n\r\n", 5);
    if (r->reply_left > 0 && !hs_is_head(r)) {
        r->dead = true; /* fewer bytes than promised: only closing tells the client */
        return -1;
    }
    return 0;
}
