/*
 * http_internal.h - what http_server.c (listeners, threads) and
 * http_conn.c (one connection) share; not for other modules.
 */
#ifndef CX_HTTP_INTERNAL_H
#define CX_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
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

#endif
