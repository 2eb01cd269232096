/*
 * dispatch.c - from a decoded call to a reply: find the message in the
 * generated table, check the parameter count, the session and its roles,
 * and every argument's type, decide where it runs (route.c), then run the
 * implicit implementation or the hand-written one. A message the schema knows but nobody has
 * written yet answers MESSAGE_METHOD_UNKNOWN, which clients such as Xen Orchestra treat as "not
 * supported here".
 */
#include "core/xapi.h"
#include "core/module.h"
#include "api/api.h"
#include "api/api_value.h"
#include "db/db.h"
#include "log.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The argument p names, checked to be of c's message and of one of the
 * kinds (asserted). */
static const struct val *xapi_arg_typed(const struct xapi_call *c, api_param_id p, enum api_kind k1,
                                        enum api_kind k2)
{
    int i = API_PARAM_INDEX(p);
    assert(API_PARAM_MESSAGE(p) == c->m - api_messages);
    assert(i < c->m->n_params);
    enum api_kind kind = c->m->params[i].type->kind;
    assert(k1 == API_VOID || kind == k1 || kind == k2);
    (void)kind;
    return (size_t)i < c->n_args ? c->args[i] : NULL;
}

const struct val *xapi_arg(const struct xapi_call *c, api_param_id p)
{
    return xapi_arg_typed(c, p, API_VOID, API_VOID);
}

const char *xapi_arg_str(const struct xapi_call *c, api_param_id p)
{
    enum api_kind kind = c->m->params[API_PARAM_INDEX(p)].type->kind;
    const struct val *v =
        xapi_arg_typed(c, p, kind == API_ENUM || kind == API_DATETIME ? kind : API_STRING, API_REF);
    const char *s = v ? val_str(v) : NULL;
    return s ? s : "";
}

int64_t xapi_arg_int(const struct xapi_call *c, api_param_id p)
{
    const struct val *v = xapi_arg_typed(c, p, API_INT, API_INT);
    return v && v->type == VAL_INT ? v->u.i : 0;
}

bool xapi_arg_bool(const struct xapi_call *c, api_param_id p)
{
    const struct val *v = xapi_arg_typed(c, p, API_BOOL, API_BOOL);
    return v && v->type == VAL_BOOL && v->u.b;
}

double xapi_arg_float(const struct xapi_call *c, api_param_id p)
{
    const struct val *v = xapi_arg_typed(c, p, API_FLOAT, API_FLOAT);
    return v && v->type == VAL_FLOAT ? v->u.f : 0.0;
}

struct rpc_reply xapi_handle_invalid(struct xapi_call *c, int cls, const char *ref)
{
    return rpc_reply_error(c->a, API_ERR_HANDLE_INVALID, api_classes[cls].name, ref ? ref : "",
                           NULL);
}

struct rpc_reply xapi_commit(struct xapi_call *c, struct db_txn *t, struct val *result)
{
    const char *err;
    if (db_commit(t, &err) < 0)
        return rpc_reply_error(c->a, API_ERR_INTERNAL_ERROR,
                               arena_printf(c->a, "database write failed: %s", err), NULL);
    return rpc_reply_ok(result);
}

static struct rpc_reply xapi_count_mismatch(struct arena *a, const char *method, int expected,
                                            size_t got)
{
    char e[16], r[16];
    snprintf(e, sizeof(e), "%d", expected);
    snprintf(r, sizeof(r), "%zu", got);
    return rpc_reply_error(a, API_ERR_MESSAGE_PARAMETER_COUNT_MISMATCH, method, e, r, NULL);
}

/* Every wire name, as system.listMethods answers; Async. forms too. */
static struct rpc_reply xapi_list_methods(struct arena *a)
{
    struct val *names = val_array(a);
    for (int i = 0; i < api_n_messages; i++)
        val_array_push(a, names, val_string(a, api_messages[i].wire_name));
    for (int i = 0; i < api_n_messages; i++)
        if (api_messages[i].has_async)
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
    return rpc_reply_error(a, API_ERR_RBAC_PERMISSION_DENIED, perm, "No permission in user session",
                           NULL);
}

/* Checks the arguments' types; fills args with their canonical forms. */
static int xapi_check_args(struct xapi_call *c, struct val **given, struct rpc_reply *reply)
{
    for (size_t i = 0; i < c->n_args; i++) {
        const struct api_param *p = &c->m->params[i];
        const char *why;
        if (api_value_in(c->a, p->type, given[i], &c->args[i], &why) < 0) {
            *reply = rpc_reply_error(c->a, API_ERR_FIELD_TYPE_ERROR, p->name, NULL);
            return -1;
        }
    }
    return 0;
}

struct rpc_reply xapi_dispatch(struct xapi *x, struct arena *a, const struct rpc_call *call,
                               const char *log_ctx, struct xapi_client *client)
{
    const char *name = call->method;
    bool async = strncmp(name, "Async.", 6) == 0;
    if (async)
        name += 6;
    if (!async && strcmp(name, "system.listMethods") == 0)
        return xapi_list_methods(a);
    const struct api_message *m = api_message_find(name);
    if (!m || (async && !m->has_async))
        return rpc_reply_error(a, API_ERR_MESSAGE_METHOD_UNKNOWN, call->method, NULL);
    size_t n = call->params->u.arr.n;
    if (n > (size_t)m->n_params || n < (size_t)m->min_params)
        return xapi_count_mismatch(a, call->method, m->n_params, n);
    struct xapi_call c = {
        .x = x,
        .a = a,
        .m = m,
        .args = arena_zalloc(a, (n ? n : 1) * sizeof(struct val *)),
        .n_args = n,
        .log_ctx = log_ctx,
        .client = client,
        .roles = API_ROLES_ALL,
    };
    struct val **given = call->params->u.arr.items;
    if (m->with_session) {
        api_roles_t roles = 0;
        const char *ref = val_str(given[0]);
        if (!ref || !session_check(x, ref, &roles))
            return rpc_reply_error(a, API_ERR_SESSION_INVALID, ref ? ref : "", NULL);
        if (client)
            client->proven = true;
        /* A message without roles in the schema is for the local
         * superuser alone (upstream's "local root only"). */
        if (m->roles ? !(roles & m->roles) : roles != ~(uint32_t)0)
            return xapi_permission_denied(a, m->wire_name);
        c.session = ref;
        c.roles = roles;
    }
    struct rpc_reply reply;
    if (xapi_check_args(&c, given, &reply) < 0 || xapi_route(&c, &reply) < 0)
        return reply;
    /* The overlay may answer an explicit message of the datamodel with an
     * implicit implementation (message.destroy): it keeps its Async. form. */
    xapi_explicit_fn fn = m->impl != API_EXPLICIT ? xapi_implicit : xapi_explicit_of(x, m);
    if (!fn)
        return rpc_reply_error(a, API_ERR_MESSAGE_METHOD_UNKNOWN, call->method, NULL);
    struct rpc_reply r = async ? xapi_async(&c, fn) : fn(&c);
    /* Every handler ends its transactions and gives back its read locks. */
    assert(!db_locked_by_me(x->db));
    return r;
}
