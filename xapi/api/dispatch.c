/*
 * dispatch.c - from a decoded call to a reply: find the message in the
 * generated table, check the parameter count, the session and its roles,
 * and every argument's type, then run the implicit implementation or the
 * hand-written one. A message the schema knows but nobody has written yet
 * answers MESSAGE_METHOD_UNKNOWN, which clients such as Xen Orchestra
 * treat as "not supported here".
 */
#include "core/xapi.h"
#include "api/api.h"
#include "api/api_value.h"
#include "db/db.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct rpc_reply xapi_handle_invalid(struct xapi_call *c, int cls, const char *ref)
{
    return rpc_reply_error(c->a, "HANDLE_INVALID", api_classes[cls].name, ref ? ref : "", NULL);
}

struct rpc_reply xapi_commit(struct xapi_call *c, struct db_txn *t, struct val *result)
{
    const char *err;
    if (db_commit(t, &err) < 0)
        return rpc_reply_error(c->a, "INTERNAL_ERROR",
                               arena_printf(c->a, "database write failed: %s", err), NULL);
    return rpc_reply_ok(result);
}

static struct rpc_reply xapi_count_mismatch(struct arena *a, const char *method, int expected,
                                            size_t got)
{
    char e[16], r[16];
    snprintf(e, sizeof(e), "%d", expected);
    snprintf(r, sizeof(r), "%zu", got);
    return rpc_reply_error(a, "MESSAGE_PARAMETER_COUNT_MISMATCH", method, e, r, NULL);
}

/* Whether a message has an Async. form: explicit messages that do work
 * for a session. Not the getters (clients take every name ending in
 * get_all_records as a class's, so Async.message.get_all_records would be
 * read as a class called Async), and not the logins: a task for a caller
 * without a session would let anyone fill the task table, and would keep
 * the new session's ref in a task result others can read. */
static bool xapi_has_async(const struct api_message *m)
{
    return m->impl == API_EXPLICIT && m->with_session && strncmp(m->name, "get", 3) != 0;
}

/* Every wire name, as system.listMethods answers; Async. forms too. */
static struct rpc_reply xapi_list_methods(struct arena *a)
{
    struct val *names = val_array(a);
    for (int i = 0; i < api_n_messages; i++)
        val_array_push(a, names, val_string(a, api_messages[i].wire_name));
    for (int i = 0; i < api_n_messages; i++)
        if (xapi_has_async(&api_messages[i]))
            val_array_push(a, names,
                           val_string(a, arena_printf(a, "Async.%s", api_messages[i].wire_name)));
    val_array_push(a, names, val_string(a, "system.listMethods"));
    struct rpc_reply r = rpc_reply_ok(names);
    r.bare = true; /* as upstream: clients read the array itself */
    return r;
}

/* RBAC permissions are named like messages, in lower case. */
static struct rpc_reply xapi_permission_denied(struct arena *a, const char *wire_name)
{
    char *perm = arena_strdup(a, wire_name);
    for (char *p = perm; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return rpc_reply_error(a, "RBAC_PERMISSION_DENIED", perm, "No permission in user session",
                           NULL);
}

/* Checks the arguments' types; fills args with their canonical forms. */
static int xapi_check_args(struct xapi_call *c, struct val **given, struct rpc_reply *reply)
{
    for (size_t i = 0; i < c->n_args; i++) {
        const struct api_param *p = &c->m->params[i];
        const char *why;
        if (api_value_in(c->a, p->type, given[i], &c->args[i], &why) < 0) {
            *reply = rpc_reply_error(c->a, "FIELD_TYPE_ERROR", p->name, NULL);
            return -1;
        }
    }
    return 0;
}

struct rpc_reply xapi_dispatch(struct xapi *x, struct arena *a, const struct rpc_call *call,
                               const char *log_ctx)
{
    const char *name = call->method;
    bool async = strncmp(name, "Async.", 6) == 0;
    if (async)
        name += 6;
    if (!async && strcmp(name, "system.listMethods") == 0)
        return xapi_list_methods(a);
    const struct api_message *m = api_message_find(name);
    if (!m || (async && !xapi_has_async(m)))
        return rpc_reply_error(a, "MESSAGE_METHOD_UNKNOWN", call->method, NULL);
    size_t n = call->params->u.arr.n;
    /* Clients (Xen Orchestra among them) log in with just user and
     * password; version and originator are optional. */
    bool login = strcmp(m->wire_name, "session.login_with_password") == 0;
    if (n > (size_t)m->n_params || (n < (size_t)m->n_params && !(login && n >= 2)))
        return xapi_count_mismatch(a, call->method, m->n_params, n);
    struct xapi_call c = {x, a,    m,      arena_zalloc(a, (n ? n : 1) * sizeof(struct val *)),
                          n, NULL, log_ctx};
    struct val **given = call->params->u.arr.items;
    if (m->with_session) {
        uint32_t roles = 0;
        const char *ref = val_str(given[0]);
        if (!ref || !session_check(x, ref, &roles))
            return rpc_reply_error(a, "SESSION_INVALID", ref ? ref : "", NULL);
        /* A message without roles in the schema is for the local
         * superuser alone (upstream's "local root only"). */
        if (m->roles ? !(roles & m->roles) : roles != ~(uint32_t)0)
            return xapi_permission_denied(a, m->wire_name);
        c.session = ref;
    }
    struct rpc_reply reply;
    if (xapi_check_args(&c, given, &reply) < 0)
        return reply;
    if (m->impl != API_EXPLICIT)
        return xapi_implicit(&c);
    xapi_explicit_fn fn = xapi_explicit_find(m->wire_name);
    if (!fn)
        return rpc_reply_error(a, "MESSAGE_METHOD_UNKNOWN", call->method, NULL);
    return async ? xapi_async(&c, fn) : fn(&c);
}
