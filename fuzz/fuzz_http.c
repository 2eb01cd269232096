/*
 * fuzz_http.c - libFuzzer target for the HTTP server's connection loop. The
 * input is what a client sends on one connection: a helper thread writes it
 * to one end of a socketpair, shuts its sending side and then reads and
 * drops whatever comes back, while http_serve_fd serves the other end on
 * this thread. The handler touches every request accessor, reads the body
 * and answers with a small 200, so parsing, keep-alive, pipelining,
 * chunked bodies and draining all get exercised. Timeouts are short so that
 * an input the server waits on costs little.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

struct fuzz_client {
    int fd;
    const uint8_t *data;
    size_t size;
};

/* Sends the request bytes, half-closes, then drains the responses until
 * the server closes its end. */
static void *fuzz_client_run(void *arg)
{
    struct fuzz_client *c = arg;
    size_t off = 0;
    while (off < c->size) {
        ssize_t n = send(c->fd, c->data + off, c->size - off, MSG_NOSIGNAL);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            break; /* the server closed early: fine */
    }
    shutdown(c->fd, SHUT_WR);
    char tmp[65536];
    for (;;) {
        ssize_t n = recv(c->fd, tmp, sizeof(tmp), 0);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        break;
    }
    return NULL;
}

static size_t fuzz_len(const char *s)
{
    return s ? strlen(s) : 0;
}

static void fuzz_handler(struct http_req *req, void *ctx)
{
    const char *method = http_req_method(req);
    const char *path = http_req_path(req);
    const char *query = http_req_query(req);
    fuzz_check(method && path && query);
    size_t touched = fuzz_len(method) + fuzz_len(path) + fuzz_len(query);
    touched += fuzz_len(http_req_header(req, "Host"));
    touched += fuzz_len(http_req_header(req, "content-type"));
    touched += fuzz_len(http_req_header(req, "Transfer-Encoding"));
    touched += fuzz_len(http_req_peer(req));
    fuzz_check(http_req_is_unix(req));
    int64_t declared = http_req_content_length(req);
    fuzz_check(declared >= -1);

    struct buf body = BUF_INIT;
    int rc = http_req_read_body_all(req, &body, 1 << 16);
    fuzz_check(rc == 0 || rc == -1 || rc == -2);
    fuzz_check(body.len <= 1 << 16);
    /* After CONNECT or an upgrade the bytes belong to whoever takes the
     * socket, so the body may come up short; otherwise it is exact. */
    bool upgrade = strcmp(method, "CONNECT") == 0 || http_req_header(req, "Upgrade");
    if (rc == 0 && declared >= 0)
        fuzz_check(upgrade ? body.len <= (size_t)declared : body.len == (size_t)declared);
    buf_free(&body);
    *(size_t *)ctx += touched;

    http_reply_header(req, "Cache-Control", "no-cache");
    http_reply(req, 200, "text/plain", "ok\n", 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 0;
    struct fuzz_client client = {sv[1], data, size};
    pthread_t t;
    if (pthread_create(&t, NULL, fuzz_client_run, &client) != 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    size_t touched = 0;
    struct http_server_opts opts = {
        .handler = fuzz_handler,
        .ctx = &touched,
        .max_header_bytes = 4096,
        .header_timeout_ms = 200,
        .idle_timeout_ms = 200,
        .io_timeout_ms = 200,
    };
    http_serve_fd(&opts, sv[0], "unix", true); /* closes sv[0] */
    pthread_join(t, NULL);
    close(sv[1]);
    return 0;
}
