/*
 * message.c - XenAPI messages: the alerts shown to users ("VM_STARTED",
 * "ALARM", ...). They are database objects like any other (kept on disk,
 * as upstream keeps them in files), so they come with events and the
 * implicit lookups; their messages are explicit in the datamodel only
 * because upstream stores them elsewhere, and the plain lookups here run
 * the implicit implementations.
 */
#include "core/xapi.h"
#include "api/api.h"
#include "api/api_value.h"
#include "db/db.h"

#include <string.h>
#include <time.h>

/* Runs the implicit implementation of kind for an explicit message. */
static struct rpc_reply message_as(struct xapi_call *c, enum api_impl kind)
{
    const struct api_message *orig = c->m;
    struct api_message m = *orig;
    m.impl = kind;
    m.field = -1;
    c->m = &m;
    struct rpc_reply r = xapi_implicit(c);
    c->m = orig; /* the caller (an Async task) still reads it */
    return r;
}

static struct rpc_reply message_get_all(struct xapi_call *c)
{
    return message_as(c, API_GET_ALL);
}

static struct rpc_reply message_get_all_records(struct xapi_call *c)
{
    return message_as(c, API_GET_ALL_RECORDS);
}

static struct rpc_reply message_get_all_records_where(struct xapi_call *c)
{
    return message_as(c, API_GET_ALL_RECORDS_WHERE);
}

static struct rpc_reply message_get_by_uuid(struct xapi_call *c)
{
    return message_as(c, API_GET_BY_UUID);
}

static struct rpc_reply message_get_record(struct xapi_call *c)
{
    return message_as(c, API_GET_RECORD);
}

static struct rpc_reply message_destroy(struct xapi_call *c)
{
    return message_as(c, API_DESTROY);
}

/* The class a message's cls names. */
static int message_target_class(const char *cls)
{
    return strcmp(cls, "Host") == 0   ? api_class_find("host")
           : strcmp(cls, "Pool") == 0 ? api_class_find("pool")
                                      : api_class_find(cls);
}

static struct rpc_reply message_create(struct xapi_call *c)
{
    int cls = api_class_find("message");
    const char *kind = val_str(c->args[3]), *obj_uuid = val_str(c->args[4]);
    int target = message_target_class(kind);
    db_read_lock(c->x->db);
    bool exists = target >= 0 && db_get_by_uuid(c->x->db, target, obj_uuid);
    db_read_unlock(c->x->db);
    if (!exists)
        return rpc_reply_error(c->a, "UUID_INVALID", kind, obj_uuid, NULL);
    struct val **v = arena_zalloc(c->a, (size_t)api_classes[cls].n_fields * sizeof(*v));
    v[api_field_find(cls, "name")] = c->args[1];
    v[api_field_find(cls, "priority")] = c->args[2];
    v[api_field_find(cls, "cls")] = c->args[3];
    v[api_field_find(cls, "obj_uuid")] = c->args[4];
    v[api_field_find(cls, "body")] = c->args[5];
    v[api_field_find(cls, "timestamp")] = api_value_datetime(c->a, time(NULL));
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_txn_create(t, cls, v, NULL);
    return xapi_commit(c, t, val_string(c->a, o->ref));
}

static struct rpc_reply message_destroy_many(struct xapi_call *c)
{
    int cls = api_class_find("message");
    const struct val *refs = c->args[1];
    struct db_txn *t = db_begin(c->x->db);
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        struct db_obj *o = db_get(c->x->db, cls, val_str(refs->u.arr.items[i]));
        if (!o) {
            db_abort(t);
            return xapi_handle_invalid(c, cls, val_str(refs->u.arr.items[i]));
        }
        db_txn_destroy(t, o);
    }
    return xapi_commit(c, t, val_nil(c->a));
}

/* Messages newer than since, of one object when obj_uuid is given. */
static struct rpc_reply message_since(struct xapi_call *c, const char *kind, const char *obj_uuid,
                                      const struct val *since)
{
    int cls = api_class_find("message");
    int f_time = api_field_find(cls, "timestamp"), f_cls = api_field_find(cls, "cls"),
        f_obj = api_field_find(cls, "obj_uuid");
    char after[API_DATETIME_LEN], when[API_DATETIME_LEN];
    api_datetime_comparable(after, sizeof(after), since);
    struct val *out = val_struct(c->a);
    db_read_lock(c->x->db);
    for (struct db_obj *o = db_first(c->x->db, cls); o; o = o->next) {
        if (strcmp(api_datetime_comparable(when, sizeof(when), o->f[f_time]), after) <= 0)
            continue;
        if (obj_uuid && (strcmp(val_str(o->f[f_cls]), kind) != 0 ||
                         strcmp(val_str(o->f[f_obj]), obj_uuid) != 0))
            continue;
        val_struct_add(c->a, out, o->ref, xapi_record(c->a, o));
    }
    db_read_unlock(c->x->db);
    return rpc_reply_ok(out);
}

static struct rpc_reply message_get(struct xapi_call *c)
{
    return message_since(c, val_str(c->args[1]), val_str(c->args[2]), c->args[3]);
}

static struct rpc_reply message_get_since(struct xapi_call *c)
{
    return message_since(c, NULL, NULL, c->args[1]);
}

const struct xapi_explicit xapi_message_messages[] = {
    {"message.create", message_create},
    {"message.destroy", message_destroy},
    {"message.destroy_many", message_destroy_many},
    {"message.get", message_get},
    {"message.get_all", message_get_all},
    {"message.get_all_records", message_get_all_records},
    {"message.get_all_records_where", message_get_all_records_where},
    {"message.get_by_uuid", message_get_by_uuid},
    {"message.get_record", message_get_record},
    {"message.get_since", message_get_since},
    {NULL, NULL},
};
