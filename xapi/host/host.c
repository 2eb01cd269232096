/*
 * host.c - explicit pool and host messages that answer from the running
 * host rather than from the schema: clocks, memory, method lists,
 * extensions, the license state. Each checks that the host or pool named
 * exists; this host is the only one until pools of several hosts arrive.
 */
#include "host/host.h"
#include "api/api.h"
#include "api/api_value.h"
#include "core/module.h"
#include "core/xapi.h"
#include "core/xenops.h"
#include "db/db.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* HANDLE_INVALID unless the object ref of class cls exists. */
static struct rpc_reply host_check(struct xapi_call *c, int cls, const char *ref)
{
    db_read_lock(c->x->db);
    bool ok = db_get(c->x->db, cls, ref) != NULL;
    db_read_unlock(c->x->db);
    return ok ? rpc_reply_ok(val_nil(c->a)) : xapi_handle_invalid(c, cls, ref);
}

#define HOST_CHECK(c, cls, param)                                                                  \
    do {                                                                                           \
        struct rpc_reply r_ = host_check(c, cls, xapi_arg_str(c, param));                          \
        if (r_.error)                                                                              \
            return r_;                                                                             \
    } while (0)

static struct rpc_reply host_get_servertime(struct xapi_call *c)
{
    HOST_CHECK(c, API_C_host, API_P_host_get_servertime_host);
    return rpc_reply_ok(api_value_datetime(c->a, time(NULL)));
}

/* The local time, in the same form without the Z. */
static struct rpc_reply host_get_server_localtime(struct xapi_call *c)
{
    HOST_CHECK(c, API_C_host, API_P_host_get_server_localtime_host);
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char text[32];
    strftime(text, sizeof(text), "%Y%m%dT%H:%M:%S", &tm);
    return rpc_reply_ok(val_datetime(c->a, text));
}

/* What xenopsd's backend could still give a domain: the memory it
 * accounts (the simulator's sim-memory) less what its domains hold. */
static struct rpc_reply host_compute_free_memory(struct xapi_call *c)
{
    HOST_CHECK(c, API_C_host, API_P_host_compute_free_memory_host);
    struct rpc_reply st = xenops_call(c->x, c->a, "HOST.stat", NULL);
    if (st.error)
        return st;
    const struct val *v = val_struct_get(st.value, "memory_free");
    if (!v || v->type != VAL_INT)
        return rpc_reply_error(c->a, API_ERR_INTERNAL_ERROR,
                               "xenopsd's HOST.stat has no memory_free", NULL);
    return rpc_reply_ok(val_int(c->a, v->u.i));
}

static struct rpc_reply host_compute_memory_overhead(struct xapi_call *c)
{
    const char *ref = xapi_arg_str(c, API_P_host_compute_memory_overhead_host);
    db_read_lock(c->x->db);
    const struct db_obj *h = db_get(c->x->db, API_C_host, ref);
    struct val *v = h ? val_copy(c->a, db_obj_field(h, API_F_host_memory_overhead)) : NULL;
    db_read_unlock(c->x->db);
    return v ? rpc_reply_ok(v) : xapi_handle_invalid(c, API_C_host, ref);
}

static struct rpc_reply host_list_methods(struct xapi_call *c)
{
    struct val *names = val_array(c->a);
    for (int i = 0; i < api_n_messages; i++)
        val_array_push(c->a, names, val_string(c->a, api_messages[i].wire_name));
    return rpc_reply_ok(names);
}

/* No extensions are installed on this toolstack. */
static struct rpc_reply host_has_extension(struct xapi_call *c)
{
    HOST_CHECK(c, API_C_host, API_P_host_has_extension_host);
    return rpc_reply_ok(val_bool(c->a, false));
}

static struct rpc_reply pool_has_extension(struct xapi_call *c)
{
    HOST_CHECK(c, API_C_pool, API_P_pool_has_extension_self);
    return rpc_reply_ok(val_bool(c->a, false));
}

/* Free software: no licence expires. */
static struct rpc_reply pool_get_license_state(struct xapi_call *c)
{
    HOST_CHECK(c, API_C_pool, API_P_pool_get_license_state_self);
    struct val *m = val_struct(c->a);
    val_struct_add(c->a, m, "edition", val_string(c->a, "xcp-ng"));
    val_struct_add(c->a, m, "expiry", val_string(c->a, "never"));
    return rpc_reply_ok(m);
}

static const struct xapi_explicit host_messages[] = {
    {API_M_host_compute_free_memory, host_compute_free_memory},
    {API_M_host_compute_memory_overhead, host_compute_memory_overhead},
    {API_M_host_get_server_localtime, host_get_server_localtime},
    {API_M_host_get_servertime, host_get_servertime},
    {API_M_host_has_extension, host_has_extension},
    {API_M_host_list_methods, host_list_methods},
    {API_M_pool_get_license_state, pool_get_license_state},
    {API_M_pool_has_extension, pool_has_extension},
    {0, NULL},
};

const struct xapi_module host_module = {
    .name = "host",
    .messages = host_messages,
    .sync = host_dbsync,
};
