/*
 * http_client.h - a small blocking HTTP/1.1 client on libcurl, for the
 * daemons' calls to each other and for tests. A target is either a URL
 * ("http://127.0.0.1:8080/jsonrpc") or a Unix socket path plus a request
 * path. One struct http_client keeps its connection alive between calls; it
 * belongs to one thread at a time.
 */
#ifndef CX_HTTP_CLIENT_H
#define CX_HTTP_CLIENT_H

#include <stddef.h>

#include "buf.h"

struct http_client;

/* base_url: "http://host:port" (no trailing slash), or NULL with
 * unix_path set to talk over a Unix-domain socket. */
struct http_client *http_client_new(const char *base_url, const char *unix_path);
void http_client_free(struct http_client *c);
/* Whole-call timeout in milliseconds; 0 = none (the default is 60 s). */
void http_client_set_timeout(struct http_client *c, long ms);

struct http_response {
    long status;
    struct buf body;
    char content_type[128];
};

/* POSTs body to path. Fills resp (status, body, content type). Returns 0
 * when an HTTP response arrived (whatever its status), -1 with *err (a
 * static or libcurl string) when none did. */
int http_client_post(struct http_client *c, const char *path, const char *content_type,
                     const void *body, size_t len, struct http_response *resp, const char **err);
int http_client_get(struct http_client *c, const char *path, struct http_response *resp,
                    const char **err);
void http_response_free(struct http_response *resp);

#endif
