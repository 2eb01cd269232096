/*
 * http_server.h - HTTP/1.1 server on TCP and Unix-domain sockets, with
 * libhttp-parser doing the parsing.
 *
 * Waiting for a client costs no thread: connections are read by an event
 * loop (epoll), and a handler runs only once its request is complete (a
 * body too large to buffer is streamed by the handler). A handler may
 * then block (long-polling event.from, streaming a disk image, a console
 * that becomes a raw byte stream after CONNECT) without stalling anyone
 * else: the pool of threads grows while handlers block, and shrinks
 * again. Handlers read the request body and write the response as
 * streams, so neither has to fit in memory. Keep-alive, Content-Length
 * and chunked bodies both ways, limits on header size and on connections
 * (in all, and per source address), and deadlines against slow clients
 * are handled here; handlers see whole requests.
 */
#ifndef CX_HTTP_SERVER_H
#define CX_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

struct http_server;
struct http_req;

/* Called once per request, on a thread of the server's pool. It must answer with
 * http_reply, or http_reply_start/write/end, or take the socket. If it
 * returns without doing any of these the server answers 500. */
typedef void (*http_handler_fn)(struct http_req *req, void *ctx);

struct http_server_opts {
    http_handler_fn handler;
    void *ctx;
    size_t max_header_bytes; /* request line + headers; 0 = 16 KiB; over it: 431 */
    int header_timeout_ms;   /* first byte to end of headers; 0 = 10 s; then 408 */
    int idle_timeout_ms;     /* wait for the next request on keep-alive; 0 = 300 s */
    int io_timeout_ms;       /* longest stall reading a body or writing; 0 = 60 s */
    int max_connections;     /* open at once, per kind (TCP, Unix); 0 = 4096 */
    int max_per_address;     /* TCP connections from one address; 0 = 256; over it: 503 */
    size_t max_body_buffer;  /* body read before the handler runs; 0 = 1 MiB */
    int min_body_rate;       /* bytes/s a buffered body must keep up; 0 = 1024 */
    /* Whether the handler streams this request's body from the start (an
     * upload, whose client may wait for the response's head before it
     * sends the body): then nothing of it is buffered first, and a body
     * the handler leaves unread ends the connection. NULL: none does. */
    bool (*streams_body)(void *ctx, const char *method, const char *path);
};

struct http_server *http_server_new(const struct http_server_opts *opts);
/* Listens on addr ("127.0.0.1", "::", "0.0.0.0", NULL = all) and port
 * (0 = any free port; see http_server_port). Returns 0, or -1 with *err. */
int http_server_listen_tcp(struct http_server *s, const char *addr, int port, const char **err);
/* Listens on a Unix-domain socket, replacing a stale socket file. */
int http_server_listen_unix(struct http_server *s, const char *path, const char **err);
/* The port of the first TCP listener, once listening. */
int http_server_port(const struct http_server *s);
/* Starts the event loop and accepts on every listener. */
int http_server_start(struct http_server *s);
/* Stops accepting, shuts every open connection down and waits for all
 * connection threads to finish. */
void http_server_stop(struct http_server *s);
void http_server_free(struct http_server *s);

/* --- the request --- */
const char *http_req_method(const struct http_req *r); /* "GET", "POST", "CONNECT", ... */
const char *http_req_path(const struct http_req *r); /* without the query; for CONNECT the target */
const char *http_req_query(const struct http_req *r); /* after '?', or "" */
/* Value of a header (case-insensitive name), or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);
/* Body length from Content-Length, or -1 when chunked or unknown. */
int64_t http_req_content_length(const struct http_req *r);
/* Peer as text ("127.0.0.1:5555", "unix"), for logs. */
const char *http_req_peer(const struct http_req *r);
bool http_req_is_unix(const struct http_req *r);

/* Reads up to len bytes of the body (Content-Length or chunked). Returns
 * bytes read, 0 at the end of the body, -1 on error/timeout (the connection
 * is then closed after the handler returns). */
ssize_t http_req_read_body(struct http_req *r, void *dst, size_t len);
/* Reads the whole body into out. Returns 0; -1 on error/timeout; -2 when
 * the body exceeds max (nothing more is read: answer 413, the connection
 * will be closed). A Content-Length, or a chunk's size line, that says
 * the body will exceed max gets -2 before any of the data is waited for. */
int http_req_read_body_all(struct http_req *r, struct buf *out, size_t max);

/* --- the response --- */
/* Adds a response header for the next reply (e.g. "Cache-Control", "no-cache"). */
void http_reply_header(struct http_req *r, const char *name, const char *value);
/* A whole response with Content-Length. Returns 0, or -1 if the client is gone. */
int http_reply(struct http_req *r, int status, const char *content_type, const void *body,
               size_t len);
/* A streamed response: content_length >= 0 sends Content-Length, -1 sends
 * chunked (or, for HTTP/1.0, closes the connection at the end). */
int http_reply_start(struct http_req *r, int status, const char *content_type,
                     int64_t content_length);
int http_reply_write(struct http_req *r, const void *data, size_t len);
int http_reply_end(struct http_req *r);
/* Closes the connection after this response even if the client asked to
 * keep it alive. */
void http_req_close_after(struct http_req *r);
/* Ends the connection with a reset once the handler returns, without
 * lingering: for a failed upload whose client had its response before
 * it sent the body, and must not take the close for success. */
void http_req_abort(struct http_req *r);
/* The request proved a session: the connection is the last to be closed
 * when a new one needs its place (see http_server.c). */
void http_req_trust(struct http_req *r);

/* Hands the raw socket to the caller (after CONNECT or an upgrade, once the
 * handler has sent its own response line, e.g. with http_reply_start and a
 * zero length, or by writing to the fd). Bytes already read past the
 * request are appended to pending. The server no longer touches the fd;
 * the caller closes it. Returns the fd. */
int http_req_take_socket(struct http_req *r, struct buf *pending);

/* The connection's socket, for watching whether the client hangs up
 * while a handler waits (epoll's EPOLLRDHUP): never read, write or close
 * it. -1 once the socket was taken. */
int http_req_watch_fd(const struct http_req *r);

/* Reason phrase for a status code ("OK", "Not Found", ...). */
const char *http_status_text(int status);

/*
 * Serves one already-connected socket on the calling thread until the
 * client closes it or a limit ends it, then closes fd: the same steps
 * the server's event loop takes, waiting with poll. Tests and the fuzz
 * target call it on a socketpair.
 */
void http_serve_fd(const struct http_server_opts *opts, int fd, const char *peer, bool is_unix);

#endif
