/*
 * http_internal.h - what the HTTP server's parts share; not for other
 * modules. http_server.c owns the listeners, the event loop and the
 * threads; http_conn.c reads and parses one connection's requests and
 * runs its handler; http_reply.c writes responses; http_head.c is the
 * strict reading of a request's head.
 */
#ifndef CX_HTTP_INTERNAL_H
#define CX_HTTP_INTERNAL_H

#include <http_parser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http_server.h"

#define HS_MAX_HEADERS 100

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
    int epfd; /* the server's epoll set, which fd leaves when taken */
    /* The connection carried a request that proved a session
     * (http_req_trust): it is the last to be closed to make room. */
    atomic_bool trusted;
};

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

/* --- one connection (http_conn.c) --- */

enum hs_hdr_state { HDR_NONE, HDR_FIELD, HDR_VALUE };

/* Where a connection is between handlers: the deadline of each phase is
 * in http_conn_deadline. */
enum hs_phase {
    PH_IDLE,   /* nothing of the next request read yet */
    PH_HEAD,   /* reading the request line and headers */
    PH_BODY,   /* headers done, buffering a small body for the handler */
    PH_LINGER, /* answered an error: dropping input until the client closes */
};

struct http_req {
    /* connection */
    int fd;
    int fd_flags; /* as handed to us, restored for http_req_take_socket */
    bool is_unix;
    char peer[INET6_ADDRSTRLEN + 16];
    struct http_server_opts opts;
    struct buf in;
    size_t in_off;
    http_parser parser;
    bool dead;                   /* the connection cannot carry another request */
    struct http_conn_slot *slot; /* the server's, or NULL */
    bool taken;
    bool served_one; /* a request was answered: the next wait is idle keep-alive */
    enum hs_phase phase;
    int64_t phase_start; /* clock_now_ms when the phase began */
    int64_t last_input;  /* clock_now_ms of the last bytes read */
    size_t lingered;     /* bytes dropped in PH_LINGER */

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
    bool streamed; /* its body goes to the handler unbuffered (opts.streams_body) */
    bool abort;    /* http_req_abort: end with a reset */
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
    bool no_wait;       /* sends give up rather than wait (answers from the event loop) */
    int64_t reply_left; /* for Content-Length replies; -1 otherwise */
};

/* What a connection needs next. */
enum http_conn_next {
    HC_READ,   /* input: wait until its socket is readable or its deadline */
    HC_HANDLE, /* a whole request (or one too big to buffer) awaits the handler */
    HC_CLOSE,  /* finished: free it and close the socket */
    HC_TAKEN,  /* a handler took the socket: free it, leave the socket */
};

/* A connection on fd (made non-blocking here); slot may be NULL. */
struct http_req *http_conn_new(const struct http_server_opts *opts, int fd, const char *peer,
                               bool is_unix, struct http_conn_slot *slot);
/* Reads what the socket has, without waiting, and parses it. */
enum http_conn_next http_conn_input(struct http_req *r);
/* Runs the handler on the request http_conn_input made ready, finishes
 * the response, then parses any input already read. May block as long
 * as the handler does. */
enum http_conn_next http_conn_handle(struct http_req *r);
/* When a connection waiting for input (HC_READ) is given up, in
 * clock_now_ms time. */
int64_t http_conn_deadline(const struct http_req *r);
/* Gives up on a connection past its deadline: 408 when a request was
 * under way (without waiting to send it), else a quiet close. */
enum http_conn_next http_conn_expire(struct http_req *r);
/* Frees the connection; true when the caller should close its socket. */
bool http_conn_free(struct http_req *r);

/* --- sending (http_reply.c) --- */

/* Waits until fd is ready for events or the deadline passes. 1 ready, 0
 * timeout, -1 error. */
int http_wait(int fd, short events, int64_t deadline);
/* Writes all of data before the I/O deadline (or at once, with no_wait).
 * 0, or -1 with the connection dead. */
int http_send_all(struct http_req *r, const void *data, size_t len);

#endif
