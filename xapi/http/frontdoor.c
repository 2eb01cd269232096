/*
 * frontdoor.c - xapi's HTTP routes: XML-RPC on POST / (and /RPC2,
 * /xmlrpc), JSON-RPC on POST /jsonrpc, on every listener alike; the
 * modules' own handlers (xe's POST /cli) by their paths (module.h).
 *
 * A body that is not a well-formed call gets an HTTP 500 naming the
 * problem and the connection is closed, as upstream xapi does; a call that
 * parses always gets a XenAPI reply, errors included. Replies larger than
 * a chunk are streamed (chunked transfer encoding) as their producers
 * write them from the database: see frontdoor_reply.
 */
#include "core/module.h"
#include "core/xapi.h"
#include "buf.h"
#include "jsonrpc.h"
#include "log.h"
#include "valout.h"
#include "xmlrpc.h"

#include <stdio.h>
#include <string.h>

enum frontdoor_wire { WIRE_NONE, WIRE_XMLRPC, WIRE_JSONRPC };

/* A streamed reply goes out in pieces of about this much: the memory a
 * call in flight costs, whatever the size of its reply. */
#define FRONTDOOR_REPLY_CHUNK (64 * 1024)

static enum frontdoor_wire frontdoor_route(const char *path)
{
    if (strcmp(path, "/") == 0 || strcmp(path, "/RPC2") == 0 || strcmp(path, "/xmlrpc") == 0)
        return WIRE_XMLRPC;
    if (strcmp(path, "/jsonrpc") == 0)
        return WIRE_JSONRPC;
    return WIRE_NONE;
}

/* Errors about the request itself close the connection: what follows it
 * on the wire cannot be trusted to be the start of the next request. */
static void frontdoor_text(struct http_req *req, int status, const char *text, bool close_conn)
{
    if (close_conn)
        http_req_close_after(req);
    http_reply_header(req, "Cache-Control", "no-cache, no-store");
    http_reply(req, status, "text/plain", text, strlen(text));
}

static void frontdoor_bad_request(struct http_req *req, const char *log_ctx, const char *why)
{
    char f[LOG_FIELD_BUF];
    log_info(log_ctx, "rejected request from %s: %s", http_req_peer(req), log_field(f, why));
    struct buf body = BUF_INIT;
    buf_printf(&body, "HTTP 500 internal server error: the request could not be parsed: %s\n", why);
    frontdoor_text(req, 500, body.data, true);
    buf_free(&body);
}

/* Reads the body; on failure answers (or gives up on) the request. */
static int frontdoor_read_body(struct xapi *x, struct http_req *req, struct buf *body,
                               const char *log_ctx)
{
    int rc = http_req_read_body_all(req, body, x->settings.max_rpc_size);
    if (rc == -2) {
        log_info(log_ctx, "rejected request from %s: body larger than %zu bytes",
                 http_req_peer(req), x->settings.max_rpc_size);
        frontdoor_text(req, 413, "request body too large\n", true);
    } else if (rc < 0) {
        log_info(log_ctx, "request from %s: body not received", http_req_peer(req));
        http_req_close_after(req);
    }
    return rc;
}

/* A reply on its way out: started once its first chunk is sent. */
struct frontdoor_out {
    struct http_req *req;
    const char *type;
    bool started;
};

/* val_out's send: the first chunk starts a chunked reply. */
static int frontdoor_send(void *ctx, const char *data, size_t len)
{
    struct frontdoor_out *f = ctx;
    if (!f->started) {
        if (http_reply_start(f->req, 200, f->type, -1) < 0)
            return -1;
        f->started = true;
    }
    return http_reply_write(f->req, data, len);
}

/* Encodes the reply into out, streaming it in chunks of
 * FRONTDOOR_REPLY_CHUNK when its producers have more than that to write
 * (get_all_records and the like): a reply that fits in one chunk goes out
 * whole, with a Content-Length. A stream that breaks after its first
 * chunk (the client gone) can only end the connection. */
static void frontdoor_reply(struct http_req *req, enum frontdoor_wire wire,
                            const struct rpc_call *call, const struct rpc_reply *reply,
                            struct buf *out, const char *log_ctx)
{
    struct frontdoor_out f = {req, wire == WIRE_XMLRPC ? "text/xml" : "application/json", false};
    struct val_out o;
    buf_reserve(out, 16 * 1024); /* most replies, grown once rather than doubled up to */
    val_out_init(&o, wire == WIRE_XMLRPC ? VAL_WIRE_XMLRPC : VAL_WIRE_JSON, out);
    o.chunk = FRONTDOOR_REPLY_CHUNK;
    o.send = frontdoor_send;
    o.ctx = &f;
    if (wire == WIRE_XMLRPC)
        xmlrpc_out_reply(&o, reply);
    else
        jsonrpc_out_reply(&o, call, reply);
    if (o.failed) {
        char m[LOG_FIELD_BUF];
        log_info(log_ctx, "%s: the reply broke off after %s", log_field(m, call->method),
                 f.started ? "its first chunk" : "nothing");
        return;
    }
    if (!f.started)
        http_reply(req, 200, f.type, out->data, out->len);
    else if (val_out_finish(&o) == 0)
        http_reply_end(req);
}

static void frontdoor_rpc(struct xapi *x, struct http_req *req, enum frontdoor_wire wire,
                          const char *log_ctx)
{
    struct buf body = BUF_INIT;
    if (frontdoor_read_body(x, req, &body, log_ctx) < 0) {
        buf_free(&body);
        return;
    }
    struct arena *a = arena_new();
    struct rpc_call call = {0};
    const char *err = NULL;
    const char *text = body.data ? body.data : "";
    int rc = wire == WIRE_XMLRPC ? xmlrpc_parse_call(a, text, body.len, &call, &err)
                                 : jsonrpc_parse_call(a, text, body.len, &call, &err);
    if (rc < 0) {
        frontdoor_bad_request(req, log_ctx, err);
    } else {
        char m[LOG_FIELD_BUF];
        const char *method = log_field(m, call.method);
        log_debug(log_ctx, "%s", method);
        struct xapi_client client = {.fd = http_req_watch_fd(req),
                                     .peer = http_req_peer(req),
                                     .user_agent = http_req_header(req, "User-Agent"),
                                     .local = http_req_is_unix(req)};
        struct rpc_reply reply = xapi_dispatch(x, a, &call, log_ctx, &client);
        if (client.proven) /* the last this connection loses to a flood */
            http_req_trust(req);
        if (reply.error)
            log_info(log_ctx, "%s failed: %s", method, val_str(reply.error->u.arr.items[0]));
        buf_reset(&body);
        frontdoor_reply(req, wire, &call, &reply, &body, log_ctx);
    }
    arena_free(a);
    buf_free(&body);
}

bool xapi_streams_body(void *ctx, const char *method, const char *path)
{
    bool method_ok;
    const struct xapi_http_route *r = xapi_http_route_of(ctx, method, path, &method_ok);
    return r && method_ok && r->streams_body;
}

void xapi_frontdoor(struct http_req *req, void *ctx)
{
    struct xapi *x = ctx;
    char log_ctx[32];
    snprintf(log_ctx, sizeof(log_ctx), "req:%lu", atomic_fetch_add(&x->next_request, 1) + 1);
    const char *method = http_req_method(req);
    enum frontdoor_wire wire = frontdoor_route(http_req_path(req));
    if (wire != WIRE_NONE && strcmp(method, "POST") == 0) {
        frontdoor_rpc(x, req, wire, log_ctx);
        return;
    }
    if (wire != WIRE_NONE && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
        static const char banner[] =
            "cxapi: XenAPI on POST / (XML-RPC) and POST /jsonrpc (JSON-RPC)\n";
        http_reply(req, 200, "text/plain", banner, sizeof(banner) - 1);
        return;
    }
    if (wire != WIRE_NONE) {
        http_reply_header(req, "Allow", "GET, HEAD, POST");
        frontdoor_text(req, 405, "method not allowed\n", false);
        return;
    }
    bool method_ok;
    const struct xapi_http_route *route =
        xapi_http_route_of(x, method, http_req_path(req), &method_ok);
    if (route && method_ok) {
        route->fn(x, req, log_ctx);
        return;
    }
    if (route) {
        http_reply_header(req, "Allow", route->method);
        frontdoor_text(req, 405, "method not allowed\n", false);
        return;
    }
    char f[LOG_FIELD_BUF];
    log_info(log_ctx, "%s %s from %s: no such handler", method, log_field(f, http_req_path(req)),
             http_req_peer(req));
    frontdoor_text(req, 404, "not found\n", false);
}
