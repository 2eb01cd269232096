/*
 * http_client.c - blocking HTTP/1.1 client on libcurl. Each client owns one
 * easy handle for its whole life, because the handle's connection cache is
 * what keeps the connection alive between calls; per-call options (method,
 * body, headers, response sink) are set afresh on every call.
 */
#include "http_client.h"
#include "mem.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define HTTP_CLIENT_DEFAULT_TIMEOUT_MS 60000L
#define HTTP_CLIENT_CONNECT_TIMEOUT_MS 10000L

struct http_client {
    CURL *curl;
    char *base_url; /* request paths are appended to this */
};

static pthread_once_t http_client_once = PTHREAD_ONCE_INIT;

static void http_client_global_init(void)
{
    /* A failure here resurfaces as curl_easy_init() returning NULL. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* curl fails to allocate only when memory is gone; mem.h's policy applies. */
static void http_client_oom(const char *what)
{
    fprintf(stderr, "http_client: %s failed\n", what);
    abort();
}

static size_t http_client_on_body(char *data, size_t size, size_t n, void *userdata)
{
    struct http_response *resp = userdata;
    buf_append(&resp->body, data, size * n);
    return size * n;
}

static void http_client_set_content_type(struct http_response *resp, const char *v, const char *end)
{
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= sizeof(resp->content_type))
        len = sizeof(resp->content_type) - 1;
    memcpy(resp->content_type, v, len);
    resp->content_type[len] = '\0';
}

/* Called once per header line, unterminated and still carrying its CRLF. */
static size_t http_client_on_header(char *line, size_t size, size_t n, void *userdata)
{
    static const char name[] = "content-type:";
    struct http_response *resp = userdata;
    size_t len = size * n;

    /* A status line after a 1xx starts the real response; forget the interim one. */
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        resp->content_type[0] = '\0';
        return len;
    }
    if (len < sizeof(name) - 1 || strncasecmp(line, name, sizeof(name) - 1) != 0)
        return len;
    http_client_set_content_type(resp, line + sizeof(name) - 1, line + len);
    return len;
}

struct http_client *http_client_new(const char *base_url, const char *unix_path)
{
    pthread_once(&http_client_once, http_client_global_init);
    CURL *curl = curl_easy_init();
    if (!curl)
        http_client_oom("curl_easy_init");

    struct http_client *c = xcalloc(1, sizeof(*c));
    c->curl = curl;
    /* Over a Unix socket the host part only fills the Host header. */
    c->base_url = xstrdup(base_url ? base_url : "http://localhost");
    if (unix_path)
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, unix_path);
    /* Timeouts would otherwise use SIGALRM, which is not safe with threads. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    /* An environment proxy must never capture calls meant for loopback. */
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, HTTP_CLIENT_DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CLIENT_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_client_on_body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, http_client_on_header);
    return c;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c->base_url);
    free(c);
}

void http_client_set_timeout(struct http_client *c, long ms)
{
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 0L);
}

/* The caller may hand back a response from an earlier call. */
static void http_client_reset_response(struct http_response *resp)
{
    resp->status = 0;
    buf_reset(&resp->body);
    resp->content_type[0] = '\0';
}

static int http_client_perform(struct http_client *c, const char *path, struct http_response *resp,
                               const char **err)
{
    struct buf url = BUF_INIT;
    buf_puts(&url, c->base_url);
    buf_puts(&url, path ? path : "");
    /* curl copies string options, so the URL need not outlive this call. */
    curl_easy_setopt(c->curl, CURLOPT_URL, url.data);
    buf_free(&url);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, resp);

    CURLcode code = curl_easy_perform(c->curl);
    if (code != CURLE_OK) {
        if (err)
            *err = curl_easy_strerror(code);
        return -1;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    return 0;
}

static struct curl_slist *http_client_header_append(struct curl_slist *list, const char *line)
{
    struct curl_slist *l = curl_slist_append(list, line);
    if (!l)
        http_client_oom("curl_slist_append");
    return l;
}

static struct curl_slist *http_client_post_headers(const char *content_type)
{
    struct buf line = BUF_INIT;
    /* An empty value suppresses curl's default form-urlencoded type. */
    buf_printf(&line, "Content-Type: %s", content_type ? content_type : "");
    struct curl_slist *list = http_client_header_append(NULL, line.data);
    buf_free(&line);
    /* Waiting for "100 Continue" costs a round trip for nothing on loopback. */
    return http_client_header_append(list, "Expect:");
}

int http_client_post(struct http_client *c, const char *path, const char *content_type,
                     const void *body, size_t len, struct http_response *resp, const char **err)
{
    struct curl_slist *headers = http_client_post_headers(content_type);

    http_client_reset_response(resp);
    curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
    /* Set explicitly: curl would otherwise strlen() a binary body. */
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    int rc = http_client_perform(c, path, resp, err);
    /* The handle outlives the list, so it must not keep pointing at it. */
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return rc;
}

int http_client_get(struct http_client *c, const char *path, struct http_response *resp,
                    const char **err)
{
    http_client_reset_response(resp);
    /* Undoes any POST left configured on the handle by an earlier call. */
    curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    return http_client_perform(c, path, resp, err);
}

void http_response_free(struct http_response *resp)
{
    buf_free(&resp->body);
    resp->content_type[0] = '\0';
}
