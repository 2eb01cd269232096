/*
 * http_internal.h - what http_server.c (listeners, threads) and
 * http_conn.c (one connection) share; not for other modules.
 */
#ifndef CX_HTTP_INTERNAL_H
#define CX_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_server.h"

/* Fills in the documented defaults for zero fields. */
void http_opts_defaults(struct http_server_opts *o);

/* What a server shares with a connection it serves. */
struct http_conn_slot {
    /* The socket; -1 once a handler has taken it (http_req_take_socket),
     * set under *lock: from then on its number is the handler's, which
     * may close it, and the server must not shut down whatever file the
     * number names next. */
    int fd;
    pthread_mutex_t *lock;
    /* While the connection waits for the next request of a keep-alive,
     * when it began (clock_now_ms), else 0: the server may close the
     * oldest idle connection to make room for a new one. */
    _Atomic int64_t idle_since;
};

/* Serves slot->fd until the connection ends; returns false when a handler
 * took the socket, true when the caller should close it. slot may be NULL
 * (a socket of the caller's own, nobody else shutting it down). */
bool http_conn_serve(const struct http_server_opts *opts, int fd, const char *peer, bool is_unix,
                     struct http_conn_slot *slot);

/* http_head.c: the strict reading of a request's line and headers. */

/* Where http_head_scan is in a request's line and headers: the byte
 * before, how much of the blank line that ends them was seen (4: all),
 * and whether anything but CR and LF came first. Zero for a new request. */
struct http_head_scan {
    char prev;
    int end;
    bool text;
};

/* Refuses a bare LF in the request line and headers: there, every LF
 * must follow a CR. Parsers that differ on it (libhttp-parser accepts
 * it) are how one request is read as two. Call with the bytes about to
 * be parsed, until the blank line that ends the headers; bytes after it
 * (a body) are not looked at. -1 on a bare LF. */
int http_head_scan(struct http_head_scan *s, const char *p, size_t n);

/* What complete headers earn before any handler sees them: 505 for a
 * version other than HTTP/1.0 and 1.1, 501 for a Transfer-Encoding other
 * than one "chunked", or 0. The headers are n name\0value\0 pairs at
 * the offsets off[i][0] and off[i][1] of hdr. */
int http_head_check(int major, int minor, const char *hdr, const size_t (*off)[2], int n);

#endif
