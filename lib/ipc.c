/*
 * ipc.c - JSON-RPC 2.0 over HTTP on a Unix socket, for the daemons'
 * internal interfaces. See ipc.h.
 */
#include "ipc.h"
#include "buf.h"
#include "hostdir.h"
#include "http_client.h"
#include "http_server.h"
#include "jsonrpc.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ipc_server {
    struct http_server *http;
    const struct ipc_method *methods;
    void *ctx;
    size_t max_body;
    char *path;
    struct hostdir_sock own; /* the socket file bound at path */
};

static void ipc_text(struct http_req *req, int status, const char *text)
{
    http_req_close_after(req);
    http_reply(req, status, "text/plain", text, strlen(text));
}

static void ipc_handle(struct http_req *req, void *arg)
{
    struct ipc_server *s = arg;
    if (strcmp(http_req_method(req), "POST") != 0) {
        ipc_text(req, 405, "POST JSON-RPC 2.0 requests to /\n");
        return;
    }
    struct buf body = BUF_INIT;
    int rc = http_req_read_body_all(req, &body, s->max_body);
    if (rc < 0) {
        if (rc == -2)
            ipc_text(req, 413, "request body too large\n");
        else
            http_req_close_after(req);
        buf_free(&body);
        return;
    }
    struct arena *a = arena_new();
    struct rpc_call call = {0};
    const char *err = NULL;
    if (jsonrpc_parse_call(a, body.data ? body.data : "", body.len, &call, &err) < 0) {
        ipc_text(req, 400, arena_printf(a, "bad JSON-RPC request: %s\n", err));
    } else {
        const struct ipc_method *m = s->methods;
        while (m->name && strcmp(m->name, call.method) != 0)
            m++;
        struct rpc_reply reply =
            m->name ? m->fn(a, call.params, s->ctx)
                    : rpc_reply_error(a, "MESSAGE_METHOD_UNKNOWN", call.method, NULL);
        buf_reset(&body);
        jsonrpc_write_reply(&body, &call, &reply);
        http_reply(req, 200, "application/json", body.data, body.len);
    }
    arena_free(a);
    buf_free(&body);
}

struct ipc_server *ipc_server_start(const char *path, const struct ipc_method *methods, void *ctx,
                                    size_t max_body, const char **err)
{
    *err = NULL;
    struct ipc_server *s = xcalloc(1, sizeof(*s));
    s->methods = methods;
    s->ctx = ctx;
    s->max_body = max_body ? max_body : 16 * 1024 * 1024;
    s->path = xstrdup(path);
    /* Internal callers may long-poll (update streams), so idle connections
     * are kept for as long as a client wants them. */
    struct http_server_opts opts = {.handler = ipc_handle, .ctx = s, .idle_timeout_ms = 3600000};
    s->http = http_server_new(&opts);
    if (http_server_listen_unix(s->http, path, err) == 0)
        hostdir_sock_note(path, &s->own);
    if (!s->own.ino || http_server_start(s->http) < 0) {
        if (!*err)
            *err = "cannot start the server";
        http_server_free(s->http);
        free(s->path);
        free(s);
        return NULL;
    }
    return s;
}

void ipc_server_stop(struct ipc_server *s)
{
    if (!s)
        return;
    http_server_stop(s->http);
    http_server_free(s->http);
    hostdir_sock_remove(s->path, &s->own); /* not one that took the path over */
    free(s->path);
    free(s);
}

struct ipc_client {
    struct http_client *http;
    int64_t next_id;
};

struct ipc_client *ipc_client_new(const char *path, long timeout_ms)
{
    struct ipc_client *c = xcalloc(1, sizeof(*c));
    c->http = http_client_new(NULL, path);
    http_client_set_timeout(c->http, timeout_ms ? timeout_ms : 60000);
    return c;
}

void ipc_client_free(struct ipc_client *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    free(c);
}

int ipc_call(struct ipc_client *c, struct arena *a, const char *method, const struct val *params,
             struct rpc_reply *reply, const char **err)
{
    struct buf body = BUF_INIT;
    struct val *none = params ? NULL : val_array(a);
    int64_t id = ++c->next_id;
    jsonrpc_write_call(&body, 2, method, params ? params : none, id);
    struct http_response resp = {0};
    int rc = http_client_post(c->http, "/", "application/json", body.data, body.len, &resp, err);
    buf_free(&body);
    if (rc < 0) {
        http_response_free(&resp);
        return -1;
    }
    if (resp.status != 200) {
        *err = arena_printf(a, "HTTP %ld: %.*s", resp.status,
                            (int)(resp.body.len > 200 ? 200 : resp.body.len),
                            resp.body.data ? resp.body.data : "");
        http_response_free(&resp);
        return -1;
    }
    struct val *got_id = NULL;
    rc = jsonrpc_parse_reply(a, resp.body.data ? resp.body.data : "", resp.body.len, reply, &got_id,
                             err);
    http_response_free(&resp);
    if (rc == 0 && (!got_id || got_id->type != VAL_INT || got_id->u.i != id)) {
        *err = "reply id does not match the request";
        return -1;
    }
    return rc;
}
