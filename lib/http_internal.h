/*
 * http_internal.h - what http_server.c (listeners, threads) and
 * http_conn.c (one connection) share; not for other modules.
 */
#ifndef CX_HTTP_INTERNAL_H
#define CX_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "http_server.h"

/* Fills in the documented defaults for zero fields. */
void http_opts_defaults(struct http_server_opts *o);
/* Serves fd until the connection ends; returns false when a handler took
 * the socket, true when the caller should close it. While the connection
 * waits for the next request of a keep-alive, *idle_since (if not NULL)
 * holds when it began (clock_now_ms), else 0: the server may close the
 * oldest idle connection to make room for a new one. */
bool http_conn_serve(const struct http_server_opts *opts, int fd, const char *peer, bool is_unix,
                     _Atomic int64_t *idle_since);

#endif
