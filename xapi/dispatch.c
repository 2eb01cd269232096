/*
 * dispatch.c - from a decoded call to a reply: find the method, check the
 * parameter count and the session, run it. The table is hand-written for
 * now; it becomes the generated one once the schema arrives, and every
 * method not in it answers MESSAGE_METHOD_UNKNOWN.
 */
#include "xapi.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

struct xapi_method {
    const char *name;
    int min_params, max_params; /* including the session */
    bool takes_session;         /* params[0] must be a live session */
    struct rpc_reply (*fn)(struct xapi_call *c);
};

static const struct xapi_method xapi_methods[] = {
    /* version and originator are optional, as clients omit them */
    {"session.login_with_password", 2, 4, false, session_login_with_password},
    {"session.logout", 1, 1, true, session_logout},
    {"session.get_this_host", 2, 2, true, session_get_this_host},
    {"pool.get_all", 1, 1, true, pool_get_all},
};

static const struct xapi_method *xapi_method_find(const char *name)
{
    for (size_t i = 0; i < sizeof(xapi_methods) / sizeof(xapi_methods[0]); i++)
        if (strcmp(xapi_methods[i].name, name) == 0)
            return &xapi_methods[i];
    return NULL;
}

static struct rpc_reply xapi_count_mismatch(struct arena *a, const struct xapi_method *m,
                                            size_t got)
{
    char expected[16], received[16];
    snprintf(expected, sizeof(expected), "%d", m->max_params);
    snprintf(received, sizeof(received), "%zu", got);
    return rpc_reply_error(a, "MESSAGE_PARAMETER_COUNT_MISMATCH", m->name, expected, received,
                           NULL);
}

struct rpc_reply xapi_dispatch(struct xapi *x, struct arena *a, const struct rpc_call *call,
                               const char *log_ctx)
{
    const struct xapi_method *m = xapi_method_find(call->method);
    if (!m)
        return rpc_reply_error(a, "MESSAGE_METHOD_UNKNOWN", call->method, NULL);
    size_t n = call->params->u.arr.n;
    if (n < (size_t)m->min_params || n > (size_t)m->max_params)
        return xapi_count_mismatch(a, m, n);
    struct val **params = call->params->u.arr.items;
    if (m->takes_session) {
        const char *ref = val_str(params[0]);
        if (!ref || !session_check(x->sessions, ref, NULL, 0))
            return rpc_reply_error(a, "SESSION_INVALID", ref ? ref : "", NULL);
    }
    struct xapi_call c = {x, a, m->name, params, n, log_ctx};
    return m->fn(&c);
}
