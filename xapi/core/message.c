/*
 * message.c - XenAPI messages: the alerts shown to users ("VM_STARTED",
 * "ALARM", ...). They are database objects like any other (kept on disk,
 * as upstream keeps them in files), so they come with events and the
 * implicit lookups; their messages are explicit in the datamodel only
 * because upstream stores them elsewhere. The plain lookups (get_all,
 * get_record, destroy, ...) are answered by the implicit implementations,
 * as schema/overlay.json says; the ones here are the rest.
 */
#include "core/xapi.h"
#include "core/module.h"
#include "api/api.h"
#include "api/api_value.h"
#include "arena.h"
#include "db/db.h"
#include "log.h"

#include <string.h>
#include <time.h>

/* The class a message's cls (enum cls: VM, Host, SR, Pool, ...) names. */
static int message_target_class(const char *cls)
{
    return strcmp(cls, "Host") == 0   ? API_C_host
           : strcmp(cls, "Pool") == 0 ? API_C_pool
                                      : api_class_find(cls);
}

static struct rpc_reply message_create(struct xapi_call *c)
{
    const char *kind = xapi_arg_str(c, API_P_message_create_cls);
    const char *obj_uuid = xapi_arg_str(c, API_P_message_create_obj_uuid);
    int target = message_target_class(kind);
    db_read_lock(c->x->db);
    bool exists = target >= 0 && db_get_by_uuid(c->x->db, target, obj_uuid);
    db_read_unlock(c->x->db);
    if (!exists)
        return rpc_reply_error(c->a, API_ERR_UUID_INVALID, kind, obj_uuid, NULL);
    struct db_values v = db_values_new(c->a, API_C_message);
    db_values_set(&v, API_F_message_name, xapi_arg(c, API_P_message_create_name));
    db_values_set(&v, API_F_message_priority, xapi_arg(c, API_P_message_create_priority));
    db_values_set(&v, API_F_message_cls, xapi_arg(c, API_P_message_create_cls));
    db_values_set(&v, API_F_message_obj_uuid, xapi_arg(c, API_P_message_create_obj_uuid));
    db_values_set(&v, API_F_message_body, xapi_arg(c, API_P_message_create_body));
    db_values_set(&v, API_F_message_timestamp, api_value_datetime(c->a, time(NULL)));
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_txn_create(t, API_C_message, &v, NULL);
    return xapi_commit(c, t, val_string(c->a, o->ref));
}

int message_raise(struct xapi *x, const char *name, int64_t priority, int cls, const char *obj_uuid,
                  const char *body)
{
    struct arena *a = arena_new();
    struct db_values v = db_values_new(a, API_C_message);
    db_values_set(&v, API_F_message_name, val_string(a, name));
    db_values_set(&v, API_F_message_priority, val_int(a, priority));
    db_values_set(&v, API_F_message_cls,
                  val_string(a, cls == API_C_pool   ? "Pool"
                                : cls == API_C_host ? "Host"
                                                    : api_classes[cls].name));
    db_values_set(&v, API_F_message_obj_uuid, val_string(a, obj_uuid));
    db_values_set(&v, API_F_message_body, val_string(a, body));
    db_values_set(&v, API_F_message_timestamp, api_value_datetime(a, time(NULL)));
    struct db_txn *t = db_begin(x->db);
    const char *ref = arena_strdup(a, db_txn_create(t, API_C_message, &v, NULL)->ref);
    const char *err = NULL;
    int rc = db_commit(t, &err);
    if (rc < 0)
        log_warn(NULL, "cannot raise message %s: %s", name, err);
    else
        log_info(NULL, "raised message %s (%s) about %s", name, ref, obj_uuid);
    arena_free(a);
    return rc;
}

static struct rpc_reply message_destroy_many(struct xapi_call *c)
{
    const struct val *refs = xapi_arg(c, API_P_message_destroy_many_messages);
    struct db_txn *t = db_begin(c->x->db);
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        struct db_obj *o = db_get(c->x->db, API_C_message, val_str(refs->u.arr.items[i]));
        if (!o) {
            db_abort(t);
            return xapi_handle_invalid(c, API_C_message, val_str(refs->u.arr.items[i]));
        }
        db_txn_destroy(t, o);
    }
    return xapi_commit(c, t, val_nil(c->a));
}

/* Messages newer than since, of one object when obj_uuid is given. */
static struct rpc_reply message_since(struct xapi_call *c, const char *kind, const char *obj_uuid,
                                      const struct val *since)
{
    char after[API_DATETIME_LEN], when[API_DATETIME_LEN];
    api_datetime_comparable(after, sizeof(after), since);
    db_read_lock(c->x->db);
    size_t n = 0;
    const char **refs = arena_alloc(c->a, (db_count(c->x->db, API_C_message) + 1) * sizeof(*refs));
    for (struct db_obj *o = db_first(c->x->db, API_C_message); o; o = db_next(c->x->db, o)) {
        if (strcmp(api_datetime_comparable(when, sizeof(when),
                                           db_obj_field(o, API_F_message_timestamp)),
                   after) <= 0)
            continue;
        if (obj_uuid && (strcmp(db_obj_str(o, API_F_message_cls), kind) != 0 ||
                         strcmp(db_obj_str(o, API_F_message_obj_uuid), obj_uuid) != 0))
            continue;
        refs[n++] = arena_strdup(c->a, o->ref);
    }
    db_read_unlock(c->x->db);
    return rpc_reply_ok(xapi_records_stream(c, API_C_message, refs, n));
}

static struct rpc_reply message_get(struct xapi_call *c)
{
    return message_since(c, xapi_arg_str(c, API_P_message_get_cls),
                         xapi_arg_str(c, API_P_message_get_obj_uuid),
                         xapi_arg(c, API_P_message_get_since));
}

static struct rpc_reply message_get_since(struct xapi_call *c)
{
    return message_since(c, NULL, NULL, xapi_arg(c, API_P_message_get_since_since));
}

static const struct xapi_explicit message_messages[] = {
    {API_M_message_create, message_create},
    {API_M_message_destroy_many, message_destroy_many},
    {API_M_message_get, message_get},
    {API_M_message_get_since, message_get_since},
    {0, NULL},
};

const struct xapi_module message_module = {
    .name = "message",
    .messages = message_messages,
};
