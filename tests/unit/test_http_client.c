/*
 * test_http_client.c - the HTTP client against a real server: a tiny
 * raw-socket HTTP/1.1 responder on a thread (deliberately not lib's
 * http_server.c), on 127.0.0.1 or a Unix socket, that counts accepts so the
 * tests can prove the connection is reused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "http_client.h"

#define BIG_BODY_LEN (5u * 1024 * 1024)
/* Long past the client's timeout under test, short enough not to hang if it has none. */
#define SILENT_MS 3000

/* What the server answers; a zeroed struct is a plain 200 echo. */
struct reply {
    int status;           /* 0 = 200 */
    const char *headers;  /* extra header lines, each ending in CRLF */
    size_t big_len;       /* non-zero: a patterned body of this size instead of the echo */
    bool silent;          /* read requests, never answer; hang up after SILENT_MS */
    const char *interim;  /* sent before the status line, e.g. a 1xx response */
    bool no_content_type; /* omit the default Content-Type */
};

struct server {
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    struct reply reply;
    char url[64];
    char dir[64];
    char sock_path[108];

    pthread_mutex_t lock; /* guards what the server observed, below */
    int accepts;
    int requests;
    bool saw_expect;
    char req_content_type[128];
};

static unsigned char big_byte(size_t i)
{
    return (unsigned char)((i * 7 + i / 4096) & 0xff);
}

/* Waits for fd to be readable; false on timeout or once the test asks us to stop. */
static bool server_wait(struct server *s, int fd, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->stop_pipe[0], .events = POLLIN}};
    for (;;) {
        int n = poll(p, 2, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0 && !p[1].revents;
    }
}

static bool server_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void header_value(const char *v, const char *end, char *out, size_t size)
{
    while (v < end && *v == ' ')
        v++;
    size_t len = (size_t)(end - v) < size - 1 ? (size_t)(end - v) : size - 1;
    memcpy(out, v, len);
    out[len] = '\0';
}

/* Parses the header block; returns the Content-Length. */
static size_t server_parse_headers(struct server *s, const char *h, const char *end)
{
    size_t content_length = 0;
    const char *line = strstr(h, "\r\n") + 2;
    while (line < end) {
        const char *eol = strstr(line, "\r\n");
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            content_length = strtoul(line + 15, NULL, 10);
        pthread_mutex_lock(&s->lock);
        if (strncasecmp(line, "Expect:", 7) == 0)
            s->saw_expect = true;
        if (strncasecmp(line, "Content-Type:", 13) == 0)
            header_value(line + 13, eol, s->req_content_type, sizeof(s->req_content_type));
        pthread_mutex_unlock(&s->lock);
        line = eol + 2;
    }
    return content_length;
}

static bool server_reply(struct server *s, int fd, const char *req, const char *body,
                         size_t body_len)
{
    struct buf out = BUF_INIT;
    struct buf payload = BUF_INIT;
    const struct reply *r = &s->reply;

    if (r->big_len) {
        buf_reserve(&payload, r->big_len);
        for (size_t i = 0; i < r->big_len; i++)
            payload.data[i] = (char)big_byte(i);
        payload.len = r->big_len;
    } else {
        /* Echo "METHOD /path\n" then the request body. */
        buf_append(&payload, req, (size_t)(strstr(req, " HTTP/") - req));
        buf_putc(&payload, '\n');
        buf_append(&payload, body, body_len);
    }
    buf_puts(&out, r->interim ? r->interim : "");
    buf_printf(&out, "HTTP/1.1 %d Whatever\r\n", r->status ? r->status : 200);
    if (!r->no_content_type)
        buf_puts(&out, "Content-Type: text/plain\r\n");
    buf_puts(&out, r->headers ? r->headers : "");
    buf_printf(&out, "Content-Length: %zu\r\n\r\n", payload.len);
    buf_append(&out, payload.data, payload.len);
    bool ok = server_send(fd, out.data, out.len);
    buf_free(&out);
    buf_free(&payload);
    return ok;
}

/* Serves requests on one connection until the peer closes it. */
static void server_serve(struct server *s, int fd)
{
    struct buf in = BUF_INIT;
    char chunk[65536];

    /* A silent server has answered nothing, so a quiet spell ends the connection. */
    int timeout_ms = s->reply.silent ? SILENT_MS : -1;

    while (server_wait(s, fd, timeout_ms)) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            break;
        buf_append(&in, chunk, (size_t)n);
        char *end = strstr(in.data, "\r\n\r\n");
        if (!end)
            continue;
        size_t head_len = (size_t)(end - in.data) + 4;
        size_t body_len = server_parse_headers(s, in.data, end + 2);
        if (in.len < head_len + body_len)
            continue;
        pthread_mutex_lock(&s->lock);
        s->requests++;
        pthread_mutex_unlock(&s->lock);
        if (!s->reply.silent && !server_reply(s, fd, in.data, in.data + head_len, body_len))
            break;
        buf_consume(&in, head_len + body_len);
    }
    buf_free(&in);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    while (server_wait(s, s->listen_fd, -1)) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->lock);
        s->accepts++;
        pthread_mutex_unlock(&s->lock);
        server_serve(s, fd);
        close(fd);
    }
    return NULL;
}

static struct server *server_start(const struct reply *reply, bool unix_socket)
{
    struct server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    if (reply)
        s->reply = *reply;
    pthread_mutex_init(&s->lock, NULL);
    assert_int_equal(pipe(s->stop_pipe), 0);

    if (unix_socket) {
        strcpy(s->dir, "/tmp/cxapi-httpc-XXXXXX");
        assert_non_null(mkdtemp(s->dir));
        snprintf(s->sock_path, sizeof(s->sock_path), "%s/s", s->dir);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        strcpy(sa.sun_path, s->sock_path);
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_true(s->listen_fd >= 0);
        assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(sa);
        s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(s->listen_fd >= 0);
        assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl), 0);
        snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    }
    assert_int_equal(listen(s->listen_fd, 8), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    return s;
}

static void server_stop(struct server *s)
{
    assert_int_equal(write(s->stop_pipe[1], "x", 1), 1);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    if (s->sock_path[0]) {
        unlink(s->sock_path);
        rmdir(s->dir);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int server_accepts(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->accepts;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int server_requests(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->requests;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static bool server_saw_expect(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    bool saw = s->saw_expect;
    pthread_mutex_unlock(&s->lock);
    return saw;
}

static void server_req_content_type(struct server *s, char *out, size_t size)
{
    pthread_mutex_lock(&s->lock);
    snprintf(out, size, "%s", s->req_content_type);
    pthread_mutex_unlock(&s->lock);
}

/* A client that fails a broken test in seconds rather than hanging for 60. */
static struct http_client *client_for(struct server *s)
{
    struct http_client *c =
        s->sock_path[0] ? http_client_new(NULL, s->sock_path) : http_client_new(s->url, NULL);
    assert_non_null(c);
    http_client_set_timeout(c, 10000);
    return c;
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_post_tcp(void **state)
{
    struct server *s = server_start(NULL, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    int rc = http_client_post(c, "/jsonrpc", "application/json", "{\"a\":1}", 7, &resp, &err);
    assert_int_equal(rc, 0);
    assert_null(err);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.data, "POST /jsonrpc\n{\"a\":1}");
    assert_int_equal(resp.body.len, strlen("POST /jsonrpc\n{\"a\":1}"));
    assert_string_equal(resp.content_type, "text/plain");
    char sent_type[128];
    server_req_content_type(s, sent_type, sizeof(sent_type));
    assert_string_equal(sent_type, "application/json");

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

static void test_get(void **state)
{
    struct server *s = server_start(NULL, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_get(c, "/status?x=1", &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.data, "GET /status?x=1\n");
    assert_string_equal(resp.content_type, "text/plain");

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

/* The server accepts in a loop, so a second connection would be counted. */
static void test_keep_alive(void **state)
{
    struct server *s = server_start(NULL, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_post(c, "/one", "text/plain", "first", 5, &resp, &err), 0);
    assert_string_equal(resp.body.data, "POST /one\nfirst");
    /* Same response struct: the second call must replace, not append. */
    assert_int_equal(http_client_get(c, "/two", &resp, &err), 0);
    assert_string_equal(resp.body.data, "GET /two\n");
    assert_int_equal(http_client_post(c, "/three", "text/plain", "3", 1, &resp, &err), 0);
    assert_string_equal(resp.body.data, "POST /three\n3");

    assert_int_equal(server_requests(s), 3);
    assert_int_equal(server_accepts(s), 1);

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

static void test_unix_socket(void **state)
{
    struct server *s = server_start(NULL, true);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_post(c, "/local", "text/xml", "<x/>", 4, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.data, "POST /local\n<x/>");
    assert_int_equal(http_client_post(c, "/again", "text/xml", "", 0, &resp, &err), 0);
    assert_string_equal(resp.body.data, "POST /again\n");
    assert_int_equal(server_accepts(s), 1);

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

static void test_connection_refused(void **state)
{
    /* A port that was just free and is now closed: nothing listens there. */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));

    struct http_client *c = http_client_new(url, NULL);
    struct http_response resp = {0};
    const char *err = NULL;
    assert_int_equal(http_client_get(c, "/", &resp, &err), -1);
    assert_non_null(err);
    assert_string_equal(err, curl_easy_strerror(CURLE_COULDNT_CONNECT));

    http_response_free(&resp);
    http_client_free(c);
}

static void test_timeout(void **state)
{
    struct reply r = {.silent = true};
    struct server *s = server_start(&r, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;
    struct timespec t0;

    http_client_set_timeout(c, 300);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(http_client_post(c, "/slow", "text/plain", "x", 1, &resp, &err), -1);
    long ms = elapsed_ms(&t0);
    assert_non_null(err);
    assert_string_equal(err, curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
    assert_true(ms >= 250);
    assert_true(ms < 5000);
    assert_int_equal(server_requests(s), 1);

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

static void test_404_is_a_response(void **state)
{
    struct reply r = {.status = 404};
    struct server *s = server_start(&r, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_get(c, "/missing", &resp, &err), 0);
    assert_null(err);
    assert_int_equal(resp.status, 404);
    assert_string_equal(resp.body.data, "GET /missing\n");

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

static void test_redirect_not_followed(void **state)
{
    struct reply r = {.status = 302, .headers = "Location: /elsewhere\r\n"};
    struct server *s = server_start(&r, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_get(c, "/here", &resp, &err), 0);
    assert_int_equal(resp.status, 302);
    assert_string_equal(resp.body.data, "GET /here\n");
    assert_int_equal(server_requests(s), 1);

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

/* Odd case and padding on the wire; parameters must survive intact. */
static void test_content_type_with_parameters(void **state)
{
    struct reply r = {.no_content_type = true,
                      .headers = "cONTENT-tYPE: \t application/json; charset=utf-8  \r\n"};
    struct server *s = server_start(&r, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_post(c, "/j", "application/json", "{}", 2, &resp, &err), 0);
    assert_string_equal(resp.content_type, "application/json; charset=utf-8");
    /* A response without the header must not inherit the previous one's. */
    http_client_free(c);
    server_stop(s);

    struct reply bare = {.no_content_type = true};
    s = server_start(&bare, false);
    c = client_for(s);
    assert_int_equal(http_client_get(c, "/", &resp, &err), 0);
    assert_string_equal(resp.content_type, "");

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

/* Only the final response's headers describe the body. */
static void test_interim_response_headers_dropped(void **state)
{
    struct reply r = {.no_content_type = true,
                      .interim = "HTTP/1.1 100 Continue\r\nContent-Type: text/bogus\r\n\r\n"};
    struct server *s = server_start(&r, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_post(c, "/i", "text/plain", "b", 1, &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.data, "POST /i\nb");
    assert_string_equal(resp.content_type, "");

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

static void test_content_type_truncated(void **state)
{
    char line[512];
    char want[128];
    memset(want, 'a', sizeof(want) - 1);
    want[sizeof(want) - 1] = '\0';
    memcpy(want, "text/", 5);
    snprintf(line, sizeof(line), "Content-Type: %s%s\r\n", want, "-and-much-more-beyond-the-array");
    struct reply r = {.no_content_type = true, .headers = line};
    struct server *s = server_start(&r, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_get(c, "/", &resp, &err), 0);
    assert_string_equal(resp.content_type, want);

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

static void test_big_response(void **state)
{
    struct reply r = {.big_len = BIG_BODY_LEN};
    struct server *s = server_start(&r, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_get(c, "/big", &resp, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body.len, BIG_BODY_LEN);
    size_t bad = 0;
    for (size_t i = 0; i < resp.body.len; i++)
        bad += (unsigned char)resp.body.data[i] != big_byte(i);
    assert_int_equal(bad, 0);

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

/* Large enough that curl would otherwise send "Expect: 100-continue". */
static void test_big_post_without_expect(void **state)
{
    size_t len = 2u * 1024 * 1024;
    char *body = malloc(len);
    assert_non_null(body);
    for (size_t i = 0; i < len; i++)
        body[i] = (char)big_byte(i);
    body[10] = '\0'; /* binary: the length must come from len, not strlen */
    struct server *s = server_start(NULL, false);
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    assert_int_equal(http_client_post(c, "/up", "application/octet-stream", body, len, &resp, &err),
                     0);
    assert_int_equal(resp.body.len, strlen("POST /up\n") + len);
    assert_memory_equal(resp.body.data + strlen("POST /up\n"), body, len);
    assert_false(server_saw_expect(s));

    free(body);
    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

static void test_ignores_environment_proxy(void **state)
{
    struct server *s = server_start(NULL, false);
    /* Port 1 on loopback refuses: the call only succeeds if the proxy is skipped. */
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    struct http_client *c = client_for(s);
    struct http_response resp = {0};
    const char *err = NULL;

    int rc = http_client_get(c, "/direct", &resp, &err);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    assert_int_equal(rc, 0);
    assert_string_equal(resp.body.data, "GET /direct\n");

    http_response_free(&resp);
    http_client_free(c);
    server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_tcp),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_404_is_a_response),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_content_type_with_parameters),
        cmocka_unit_test(test_interim_response_headers_dropped),
        cmocka_unit_test(test_content_type_truncated),
        cmocka_unit_test(test_big_response),
        cmocka_unit_test(test_big_post_without_expect),
        cmocka_unit_test(test_ignores_environment_proxy),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* libcurl's globals would otherwise show up as leaks at exit. */
    curl_global_cleanup();
    return failed;
}
