/*
 * rbac.c - subjects and roles. A session's roles come from its subject
 * (session.c); a permission is a message's name in lower case, and a role
 * holds every permission whose message lists that role in the schema.
 * Upstream also keeps one internal role object per permission; we do not,
 * so role.get_permissions and role.get_by_permission (which take and give
 * those objects) stay unimplemented.
 */
#include "core/xapi.h"
#include "api/api.h"
#include "db/db.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static struct val *rbac_permissions(struct arena *a, uint32_t roles)
{
    struct val *names = val_array(a);
    for (int i = 0; i < api_n_messages; i++) {
        if (!(api_messages[i].roles & roles))
            continue;
        char *p = arena_strdup(a, api_messages[i].wire_name);
        for (char *q = p; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        val_array_push(a, names, val_string(a, p));
    }
    return names;
}

/* The role bits of a set of role refs (hold the lock). */
static uint32_t rbac_roles_of(struct xapi *x, const struct val *refs)
{
    int cls = api_class_find("role"), name = api_field_find(cls, "name_label");
    uint32_t bits = 0;
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        const struct db_obj *r = db_get(x->db, cls, val_str(refs->u.arr.items[i]));
        if (r)
            bits |= api_role_bit(val_str(r->f[name]));
    }
    return bits;
}

static struct rpc_reply role_get_permissions_name_label(struct xapi_call *c)
{
    int cls = api_class_find("role");
    db_read_lock(c->x->db);
    const struct db_obj *r = db_get(c->x->db, cls, val_str(c->args[1]));
    uint32_t bits = r ? api_role_bit(val_str(r->f[api_field_find(cls, "name_label")])) : 0;
    db_read_unlock(c->x->db);
    if (!r)
        return xapi_handle_invalid(c, cls, val_str(c->args[1]));
    return rpc_reply_ok(rbac_permissions(c->a, bits));
}

static struct rpc_reply role_get_by_permission_name_label(struct xapi_call *c)
{
    const char *label = val_str(c->args[1]);
    const struct api_message *m = NULL;
    for (int i = 0; i < api_n_messages && !m; i++)
        if (strcasecmp(api_messages[i].wire_name, label) == 0)
            m = &api_messages[i];
    int cls = api_class_find("role"), name = api_field_find(cls, "name_label");
    struct val *out = val_array(c->a);
    db_read_lock(c->x->db);
    for (const struct db_obj *r = db_first(c->x->db, cls); r && m; r = r->next)
        if (m->roles & api_role_bit(val_str(r->f[name])))
            val_array_push(c->a, out, val_string(c->a, r->ref));
    db_read_unlock(c->x->db);
    return rpc_reply_ok(out);
}

static struct rpc_reply subject_get_permissions_name_label(struct xapi_call *c)
{
    int cls = api_class_find("subject");
    db_read_lock(c->x->db);
    const struct db_obj *s = db_get(c->x->db, cls, val_str(c->args[1]));
    uint32_t bits = s ? rbac_roles_of(c->x, s->f[api_field_find(cls, "roles")]) : 0;
    db_read_unlock(c->x->db);
    if (!s)
        return xapi_handle_invalid(c, cls, val_str(c->args[1]));
    return rpc_reply_ok(rbac_permissions(c->a, bits));
}

/* subject.add_to_roles / remove_from_roles: the role must exist. */
static struct rpc_reply subject_edit_roles(struct xapi_call *c, bool add)
{
    int cls = api_class_find("subject"), role_cls = api_class_find("role");
    int roles = api_field_find(cls, "roles");
    const char *role = val_str(c->args[2]);
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *s = db_get(c->x->db, cls, val_str(c->args[1]));
    if (!s || !db_get(c->x->db, role_cls, role)) {
        db_abort(t);
        return s ? xapi_handle_invalid(c, role_cls, role)
                 : xapi_handle_invalid(c, cls, val_str(c->args[1]));
    }
    bool changed;
    struct val *next = val_set_edit(c->a, s->f[roles], val_string(c->a, role), add, &changed);
    if (!changed) {
        db_abort(t);
        return rpc_reply_error(c->a, add ? "ROLE_ALREADY_EXISTS" : "ROLE_NOT_FOUND", NULL);
    }
    db_txn_set(t, s, roles, next);
    return xapi_commit(c, t, val_nil(c->a));
}

static struct rpc_reply subject_add_to_roles(struct xapi_call *c)
{
    return subject_edit_roles(c, true);
}

static struct rpc_reply subject_remove_from_roles(struct xapi_call *c)
{
    return subject_edit_roles(c, false);
}

const struct xapi_explicit xapi_rbac_messages[] = {
    {"role.get_by_permission_name_label", role_get_by_permission_name_label},
    {"role.get_permissions_name_label", role_get_permissions_name_label},
    {"subject.add_to_roles", subject_add_to_roles},
    {"subject.get_permissions_name_label", subject_get_permissions_name_label},
    {"subject.remove_from_roles", subject_remove_from_roles},
    {NULL, NULL},
};
