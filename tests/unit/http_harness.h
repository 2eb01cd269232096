/*
 * http_harness.h - what the HTTP server tests share: a handler with one
 * route per behaviour under test (and a record of what it saw), a raw
 * socket client with response readers, and the two ways to run the server:
 * http_serve_fd on one end of a socketpair, or a real server listening on
 * 127.0.0.1 and a Unix socket.
 *
 * Clients are single-threaded (cmocka asserts only on the main thread);
 * "eventually" means within WAIT_MS, far beyond anything expected.
 */
#ifndef CX_TEST_HTTP_HARNESS_H
#define CX_TEST_HTTP_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "http_server.h"

#define WAIT_MS 10000
#define SHORT_MS 300 /* the header/idle deadlines under test */

int64_t now_ms(void);
void sleep_ms(int ms);
/* The byte at offset i of the test pattern bodies are made of. */
unsigned char pattern(size_t i);
/* Sends all of data (the fd may be blocking or not); false if the peer is gone. */
bool send_all(int fd, const void *data, size_t len);
void send_str(int fd, const char *s);
/* Waits (boundedly) for a thread to end. */
void join_within(pthread_t t);
/* A TCP socket to 127.0.0.1:port; *rc is connect()'s result. */
int tcp_socket_to(int port, int *rc);
/* The same from a source address of the caller's choosing (127.0.0.2). */
int tcp_socket_from(const char *source, int port, int *rc);

/* --- what the handler saw (written by server threads, under lock) --- */

struct seen {
    pthread_mutex_t lock;
    int small_rc;       /* http_req_read_body_all in /small */
    int write_rc;       /* /overrun */
    int end_rc;         /* /underrun */
    int again_rc[2];    /* /twice: a second http_reply, then http_reply_start */
    struct buf pending; /* CONNECT: bytes handed over with the socket */
    char target[128];   /* CONNECT: http_req_path */
    int taken_fd_flags; /* CONNECT: fcntl(F_GETFL) of the socket handed over */
    int connects;       /* CONNECT handlers finished */
    int blocked;        /* /block is waiting */
    int release;        /* /block may answer */
    int big_rc;         /* /big: the http_reply_write that ended it */
    int big_writes;     /* /big: how many writes were made */
};

extern struct seen seen;

void seen_reset(void);
/* Reads or sets a field of seen (asserting with the lock held would leave it held). */
int seen_int(const int *field);
void seen_set(int *field, int v);
/* Waits (up to WAIT_MS) for a field to differ from `from`; returns its value. */
int seen_wait(const int *field, int from);
/* The group teardown: frees what seen holds. */
int http_harness_teardown(void **state);

/* Routes: /hello, /header?<name>, /trailer, /sum, /small, /noreply, /stream,
 * /stream-len, /overrun, /underrun, /twice, /block, /trust, /big, /halfway, CONNECT,
 * and anything else echoes the body with X-Method, X-Path, X-Query, X-CL,
 * X-Peer and X-Unix headers. */
void handle(struct http_req *r, void *ctx);

/* --- the client side --- */

struct conn {
    int fd;
    struct buf in;
    size_t off; /* consumed */
};

struct conn conn_fd(int fd);
struct conn conn_tcp(int port);
struct conn conn_tcp_from(const char *source, int port);
struct conn conn_unix(const char *path);
void conn_close(struct conn *c);
/* Reads more. 1 got bytes, 0 EOF (or reset), -1 nothing within WAIT_MS. */
int conn_fill(struct conn *c);
size_t conn_avail(const struct conn *c);
/* Waits for n unconsumed bytes. */
void conn_need(struct conn *c, size_t n);
/* Expects exactly these next bytes and consumes them. */
void conn_expect(struct conn *c, const void *want, size_t len);
/* Reads everything up to the close; fails if the peer stays open WAIT_MS. */
void conn_read_to_eof(struct conn *c);
/* The server closes the connection and sends nothing more. */
void expect_eof(struct conn *c);

struct resp {
    int status;
    char *head; /* status line and headers, up to and including the blank line */
    struct buf body;
    struct buf raw; /* the body as framed on the wire */
    char val[1024];
};

void resp_free(struct resp *r);
/* A response header's value (the last one read is overwritten), or NULL. */
const char *resp_hdr(struct resp *r, const char *name);
void assert_body(const struct resp *r, const char *want, size_t len);
#define assert_body_str(r, s) assert_body((r), (s), strlen(s))

void read_resp(struct conn *c, struct resp *r, bool is_head);
/* Sends req (unless NULL) and reads the response. */
void roundtrip(struct conn *c, const char *req, struct resp *r);
/* One request (or, req NULL, none: only the response), and the status and
 * body (unless NULL) expected. */
void expect_reply(struct conn *c, const char *req, int status, const char *body);
/* The same, and the value of the Connection header. */
void expect_reply_conn(struct conn *c, const char *req, int status, const char *body,
                       const char *connection);
/* The same with "Connection: close", and then the close. */
void expect_close(struct conn *c, const char *req, int status, const char *body);
#define expect_fatal(c, req, status) expect_close((c), (req), (status), NULL)
/* GET /hello, answered "hello". */
void expect_hello(struct conn *c);
/* Three pipelined requests in one write, answered in order. */
void check_pipelining(struct conn *c);

/* --- http_serve_fd on a socketpair --- */

struct pair {
    struct conn c;
    int server_fd;
    pthread_t thread;
    struct http_server_opts opts;
};

struct pair *pair_open_opts(const struct http_server_opts *o);
struct pair *pair_open(void);
/* Hangs up and waits (boundedly) for http_serve_fd to return. */
void pair_close(struct pair *p);

/* --- a real server --- */

struct srv {
    struct http_server *s;
    int port;
    char dir[64];
    char path[128];
};

/* o NULL: the defaults, with handle. */
void srv_start(struct srv *v, const struct http_server_opts *o);
void srv_stop(struct srv *v);

#endif
