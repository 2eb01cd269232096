/*
 * xapi.h - the xapi daemon's one context struct and the pieces that share
 * it: the front door (HTTP routes), the dispatcher, sessions.
 *
 * Everything mutable that threads share lives here, each part behind its
 * own documented lock; there are no other globals.
 */
#ifndef CX_XAPI_H
#define CX_XAPI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "hostdir.h"
#include "http_server.h"
#include "value.h"

struct session_table;

struct xapi {
    const char *state_dir;
    const char *run_dir;
    struct host_identity id;
    size_t max_rpc_size;            /* largest XML-RPC/JSON-RPC body accepted */
    struct session_table *sessions; /* has its own lock */
    struct http_server *http;
    atomic_ulong next_request; /* numbers requests for the logs */
};

/* One RPC call being served: what a method implementation gets. */
struct xapi_call {
    struct xapi *x;
    struct arena *a;
    const char *method;
    struct val **params;
    size_t n_params;
    const char *log_ctx; /* "req:N" */
};

/* dispatch.c: runs call on the method table; never fails to reply. */
struct rpc_reply xapi_dispatch(struct xapi *x, struct arena *a, const struct rpc_call *call,
                               const char *log_ctx);

/* frontdoor.c: the HTTP handler for every listener. */
void xapi_frontdoor(struct http_req *req, void *ctx);

/* session.c */
struct session_table *session_table_new(void);
void session_table_free(struct session_table *t);
/* True when ref names a live session; fills user (may be NULL). */
bool session_check(struct session_table *t, const char *ref, char *user, size_t userlen);
struct rpc_reply session_login_with_password(struct xapi_call *c);
struct rpc_reply session_logout(struct xapi_call *c);
struct rpc_reply session_get_this_host(struct xapi_call *c);

/* pool.c */
struct rpc_reply pool_get_all(struct xapi_call *c);

#endif
