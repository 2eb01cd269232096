/*
 * implicit.c - the messages every class gets from the schema: field
 * getters and setters, map and set edits, records, lookups by uuid and
 * name label, get_all*, create and destroy. One implementation each,
 * driven by the API tables, for all 57 classes.
 */
#include "core/xapi.h"
#include "core/module.h"
#include "api/api.h"
#include "api/api_value.h"
#include "db/db.h"
#include "log.h"
#include "mem.h"
#include "api/where.h"

#include <pthread.h>
#include <string.h>

struct val *xapi_record(struct arena *a, const struct db_obj *o)
{
    const struct api_class *c = &api_classes[o->cls];
    struct val *rec = val_struct_sized(a, (size_t)c->n_fields);
    for (int i = 0; i < c->n_fields; i++) /* field names are the schema's constants */
        val_struct_add_static(a, rec, c->fields[i].name, val_copy(a, o->f[i]));
    return rec;
}

static const char *implicit_self(const struct xapi_call *c)
{
    return val_str(c->args[c->m->with_session ? 1 : 0]);
}

/* The i-th argument after the session and, for messages on one object,
 * after self. */
static struct val *implicit_arg(const struct xapi_call *c, int i)
{
    bool self;
    switch (c->m->impl) {
    case API_GET_BY_UUID:
    case API_GET_BY_NAME_LABEL:
    case API_GET_ALL:
    case API_GET_ALL_RECORDS:
    case API_GET_ALL_RECORDS_WHERE:
    case API_CREATE:
        self = false;
        break;
    default:
        self = true;
        break;
    }
    return c->args[(c->m->with_session ? 1 : 0) + (self ? 1 : 0) + i];
}

/* --- reads --- */

/* The roles that may read each class (those of its get_record), and those
 * that may see other users' sessions (those that may end them:
 * session.logout_subject_identifier). */
static api_roles_t *implicit_readers;
static api_roles_t implicit_session_readers;
static pthread_once_t implicit_readers_once = PTHREAD_ONCE_INIT;

static void implicit_readers_init(void)
{
    implicit_readers = xcalloc((size_t)api_n_classes, sizeof(*implicit_readers));
    for (int i = 0; i < api_n_messages; i++)
        if (api_messages[i].impl == API_GET_RECORD)
            implicit_readers[api_messages[i].cls] = api_messages[i].roles;
    implicit_session_readers = api_messages[API_M_session_logout_subject_identifier].roles;
}

bool xapi_may_read_class(const struct xapi_call *c, int cls)
{
    if (!c || c->roles == API_ROLES_ALL)
        return true;
    pthread_once(&implicit_readers_once, implicit_readers_init);
    return (implicit_readers[cls] & c->roles) != 0;
}

bool xapi_may_see(const struct xapi_call *c, int cls, const char *ref)
{
    if (!c || c->roles == API_ROLES_ALL || cls != API_C_session)
        return true;
    pthread_once(&implicit_readers_once, implicit_readers_init);
    return (implicit_session_readers & c->roles) || (c->session && strcmp(ref, c->session) == 0);
}

static struct rpc_reply implicit_read(struct xapi_call *c)
{
    const struct api_message *m = c->m;
    struct db *db = c->x->db;
    struct val *out = NULL;
    struct db_obj *o = NULL;
    bool self = m->impl == API_GET_FIELD || m->impl == API_GET_RECORD;
    db_read_lock(db);
    if (self && (!(o = db_get(db, m->cls, implicit_self(c))) || !xapi_may_see(c, m->cls, o->ref))) {
        db_read_unlock(db);
        return xapi_handle_invalid(c, m->cls, implicit_self(c));
    }
    switch (m->impl) {
    case API_GET_FIELD:
        out = val_copy(c->a, db_obj_field(o, m->field));
        break;
    case API_GET_RECORD:
        out = xapi_record_stream(c, m->cls, o->ref);
        break;
    case API_GET_BY_UUID:
        if ((o = db_get_by_uuid(db, m->cls, val_str(implicit_arg(c, 0)))) &&
            xapi_may_see(c, m->cls, o->ref))
            out = val_string(c->a, o->ref);
        break;
    case API_GET_BY_NAME_LABEL: {
        const char *name = val_str(implicit_arg(c, 0));
        size_t n = db_get_by_name_label(db, m->cls, name, NULL, 0);
        struct db_obj **objs = arena_alloc(c->a, (n ? n : 1) * sizeof(*objs));
        db_get_by_name_label(db, m->cls, name, objs, n);
        out = val_array(c->a);
        for (size_t i = 0; i < n; i++)
            val_array_push(c->a, out, val_string(c->a, objs[i]->ref));
        break;
    }
    case API_GET_ALL: {
        size_t n = 0;
        const char **refs = arena_alloc(c->a, (db_count(db, m->cls) + 1) * sizeof(*refs));
        for (o = db_first(db, m->cls); o; o = db_next(db, o))
            if (xapi_may_see(c, m->cls, o->ref))
                refs[n++] = arena_strdup(c->a, o->ref);
        out = xapi_refs_stream(c, refs, n);
        break;
    }
    default:
        break;
    }
    db_read_unlock(db);
    if (!out)
        return rpc_reply_error(c->a, API_ERR_UUID_INVALID, api_classes[m->cls].name,
                               val_str(implicit_arg(c, 0)), NULL);
    return rpc_reply_ok(out);
}

static struct rpc_reply implicit_get_all_records(struct xapi_call *c)
{
    struct where_expr *where = NULL;
    if (c->m->impl == API_GET_ALL_RECORDS_WHERE) {
        const char *err;
        const char *expr = val_str(implicit_arg(c, 0));
        if (where_parse(c->a, expr, &where, &err) < 0) {
            log_info(c->log_ctx, "%s: %s", c->m->wire_name, err);
            return rpc_reply_error(c->a, API_ERR_INVALID_VALUE, "expr", expr, NULL);
        }
    }
    /* The matching refs now; the records as the reply goes out. The
     * expression is matched against a view of each object's values,
     * borrowed under the lock, not copies. */
    struct db *db = c->x->db;
    const struct api_class *cls = &api_classes[c->m->cls];
    struct val *view = val_struct_sized(c->a, (size_t)cls->n_fields);
    for (int i = 0; i < cls->n_fields; i++)
        val_struct_add_static(c->a, view, cls->fields[i].name, NULL);
    db_read_lock(db);
    size_t n = 0;
    const char **refs = arena_alloc(c->a, (db_count(db, c->m->cls) + 1) * sizeof(*refs));
    for (struct db_obj *o = db_first(db, c->m->cls); o; o = db_next(db, o)) {
        for (int i = 0; where && i < cls->n_fields; i++)
            view->u.st.members[i].value = o->f[i];
        if ((!where || where_match(where, view)) && xapi_may_see(c, c->m->cls, o->ref))
            refs[n++] = arena_strdup(c->a, o->ref);
    }
    db_read_unlock(db);
    return rpc_reply_ok(xapi_records_stream(c, c->m->cls, refs, n));
}

/* --- writes --- */

/* The new value of a map or set field after an add or remove, or NULL
 * with *reply set when the edit is refused. */
static struct val *implicit_edit(struct xapi_call *c, const struct db_obj *o,
                                 struct rpc_reply *reply)
{
    const struct api_message *m = c->m;
    const struct api_field *f = api_field(m->field);
    const struct val *cur = db_obj_field(o, m->field);
    bool add = m->impl == API_ADD_TO || m->impl == API_ADD_TAGS;
    struct val *arg = implicit_arg(c, 0);
    if (f->type->kind == API_MAP) {
        const char *key = val_str(arg);
        if (!key)
            key = "";
        struct val *next = val_struct(c->a);
        bool present = false;
        for (size_t i = 0; i < cur->u.st.n; i++) {
            if (strcmp(cur->u.st.members[i].name, key) == 0) {
                present = true;
                if (!add)
                    continue;
            }
            val_struct_add(c->a, next, cur->u.st.members[i].name, cur->u.st.members[i].value);
        }
        if (add && present) {
            const char *uuid_text = api_classes[o->cls].uuid_field >= 0
                                        ? val_str(o->f[api_classes[o->cls].uuid_field])
                                        : o->ref;
            *reply = rpc_reply_error(c->a, API_ERR_MAP_DUPLICATE_KEY, api_classes[m->cls].name,
                                     f->name, uuid_text, key, NULL);
            return NULL;
        }
        if (add) {
            struct val *value;
            const char *why;
            if (api_value_in(c->a, f->type->elem, implicit_arg(c, 1), &value, &why) < 0) {
                *reply = rpc_reply_error(c->a, API_ERR_FIELD_TYPE_ERROR, "value", NULL);
                return NULL;
            }
            val_struct_add(c->a, next, key, value);
        }
        return next;
    }
    bool changed;
    return val_set_edit(c->a, cur, arg, add, &changed);
}

/* Runs the class's hooks of one kind (see module.h) on o; -1 with *reply
 * when one refuses. */
enum implicit_hook { HOOK_CREATED, HOOK_CHANGED, HOOK_DESTROYING };

static int implicit_hooks(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                          enum implicit_hook kind, struct rpc_reply *reply)
{
    for (const struct xapi_class_hooks *const *h = xapi_hooks_of(c->x, o->cls); *h; h++) {
        int rc = 0;
        if (kind == HOOK_CREATED && (*h)->created)
            rc = (*h)->created(c, t, o, reply);
        else if (kind == HOOK_CHANGED && (*h)->changed)
            rc = (*h)->changed(c, t, o, c->m->field, reply);
        else if (kind == HOOK_DESTROYING && (*h)->destroying)
            rc = (*h)->destroying(c, t, o, reply);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static struct rpc_reply implicit_write(struct xapi_call *c)
{
    const struct api_message *m = c->m;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_get(c->x->db, m->cls, implicit_self(c));
    if (!o) {
        db_abort(t);
        return xapi_handle_invalid(c, m->cls, implicit_self(c));
    }
    struct rpc_reply reply = {0};
    if (m->impl == API_DESTROY) {
        if (implicit_hooks(c, t, o, HOOK_DESTROYING, &reply) < 0) {
            db_abort(t);
            return reply;
        }
        db_txn_destroy(t, o);
        return xapi_commit(c, t, val_nil(c->a));
    }
    struct val *next = m->impl == API_SET_FIELD ? implicit_arg(c, 0) : implicit_edit(c, o, &reply);
    if (!next) {
        db_abort(t);
        return reply;
    }
    db_txn_set(t, o, m->field, next);
    if (implicit_hooks(c, t, o, HOOK_CHANGED, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    return xapi_commit(c, t, val_nil(c->a));
}

/* create(args): every field the caller may set (RW or RO/constructor)
 * comes from args or takes its default; the server's own fields
 * (RO/runtime) start at their defaults. */
static struct rpc_reply implicit_create(struct xapi_call *c)
{
    const struct api_class *cls = &api_classes[c->m->cls];
    const struct val *args = implicit_arg(c, 0);
    struct db_values values = db_values_new(c->a, c->m->cls);
    const struct val **given = arena_alloc(c->a, (size_t)cls->n_fields * sizeof(*given));
    api_struct_fields(c->m->cls, args, given);
    for (int i = 0; i < cls->n_fields; i++) {
        const struct api_field *f = &cls->fields[i];
        if (!given[i] || f->qualifier == API_RO_RUNTIME)
            continue;
        const char *why;
        struct val *v;
        if (api_value_in(c->a, f->type, given[i], &v, &why) < 0)
            return rpc_reply_error(c->a, API_ERR_FIELD_TYPE_ERROR, f->name, NULL);
        values.v[i] = v;
    }
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_txn_create(t, c->m->cls, &values, NULL);
    struct rpc_reply reply;
    if (implicit_hooks(c, t, o, HOOK_CREATED, &reply) < 0) {
        db_abort(t);
        return reply;
    }
    return xapi_commit(c, t, val_string(c->a, o->ref));
}

struct rpc_reply xapi_implicit(struct xapi_call *c)
{
    switch (c->m->impl) {
    case API_GET_FIELD:
    case API_GET_RECORD:
    case API_GET_BY_UUID:
    case API_GET_BY_NAME_LABEL:
    case API_GET_ALL:
        return implicit_read(c);
    case API_GET_ALL_RECORDS:
    case API_GET_ALL_RECORDS_WHERE:
        return implicit_get_all_records(c);
    case API_CREATE:
        return implicit_create(c);
    case API_SET_FIELD:
    case API_ADD_TO:
    case API_REMOVE_FROM:
    case API_ADD_TAGS:
    case API_REMOVE_TAGS:
    case API_DESTROY:
        return implicit_write(c);
    case API_EXPLICIT:
        break;
    }
    return rpc_reply_error(c->a, API_ERR_MESSAGE_METHOD_UNKNOWN, c->m->wire_name, NULL);
}
