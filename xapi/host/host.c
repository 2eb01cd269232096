/*
 * host.c - explicit pool and host messages that answer from the running
 * host rather than from the schema: clocks, memory, method lists,
 * extensions, the license state. Each checks that the host or pool named
 * exists; this host is the only one until pools of several hosts arrive.
 */
#include "core/xapi.h"
#include "api/api.h"
#include "api/api_value.h"
#include "db/db.h"
#include "vm/vm.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The object args[1] names, of class cls, exists. */
static bool host_exists(struct xapi_call *c, int cls)
{
    db_read_lock(c->x->db);
    bool ok = db_get(c->x->db, cls, val_str(c->args[1])) != NULL;
    db_read_unlock(c->x->db);
    return ok;
}

#define HOST_CHECK(c, name)                                                                        \
    do {                                                                                           \
        if (!host_exists(c, api_class_find(name)))                                                 \
            return xapi_handle_invalid(c, api_class_find(name), val_str((c)->args[1]));            \
    } while (0)

static struct rpc_reply host_get_servertime(struct xapi_call *c)
{
    HOST_CHECK(c, "host");
    return rpc_reply_ok(api_value_datetime(c->a, time(NULL)));
}

/* The local time, in the same form without the Z. */
static struct rpc_reply host_get_server_localtime(struct xapi_call *c)
{
    HOST_CHECK(c, "host");
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
    HOST_CHECK(c, "host");
    struct rpc_reply st = xenops_call(c->x, c->a, "HOST.stat", NULL);
    if (st.error)
        return st;
    const struct val *v = val_struct_get(st.value, "memory_free");
    if (!v || v->type != VAL_INT)
        return rpc_reply_error(c->a, "INTERNAL_ERROR", "xenopsd's HOST.stat has no memory_free",
                               NULL);
    return rpc_reply_ok(val_int(c->a, v->u.i));
}

static struct rpc_reply host_compute_memory_overhead(struct xapi_call *c)
{
    int cls = api_class_find("host");
    db_read_lock(c->x->db);
    const struct db_obj *h = db_get(c->x->db, cls, val_str(c->args[1]));
    struct val *v = h ? val_copy(c->a, h->f[api_field_find(cls, "memory_overhead")]) : NULL;
    db_read_unlock(c->x->db);
    return v ? rpc_reply_ok(v) : xapi_handle_invalid(c, cls, val_str(c->args[1]));
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
    HOST_CHECK(c, "host");
    return rpc_reply_ok(val_bool(c->a, false));
}

static struct rpc_reply pool_has_extension(struct xapi_call *c)
{
    HOST_CHECK(c, "pool");
    return rpc_reply_ok(val_bool(c->a, false));
}

/* Free software: no licence expires. */
static struct rpc_reply pool_get_license_state(struct xapi_call *c)
{
    HOST_CHECK(c, "pool");
    struct val *m = val_struct(c->a);
    val_struct_add(c->a, m, "edition", val_string(c->a, "xcp-ng"));
    val_struct_add(c->a, m, "expiry", val_string(c->a, "never"));
    return rpc_reply_ok(m);
}

const struct xapi_explicit xapi_host_messages[] = {
    {"host.compute_free_memory", host_compute_free_memory},
    {"host.compute_memory_overhead", host_compute_memory_overhead},
    {"host.get_server_localtime", host_get_server_localtime},
    {"host.get_servertime", host_get_servertime},
    {"host.has_extension", host_has_extension},
    {"host.list_methods", host_list_methods},
    {"pool.get_license_state", pool_get_license_state},
    {"pool.has_extension", pool_has_extension},
    {NULL, NULL},
};
