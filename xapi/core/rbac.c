/*
 * rbac.c - subjects and roles. A session's roles come from its subject
 * (session.c); a permission is a message's name in lower case, and a role
 * holds every permission whose message lists that role in the schema.
 * Upstream also keeps one internal role object per permission; we do not,
 * so role.get_permissions and role.get_by_permission (which take and give
 * those objects) stay unimplemented.
 */
#include "core/xapi.h"
#include "core/module.h"
#include "api/api.h"
#include "db/db.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static struct val *rbac_permissions(struct arena *a, api_roles_t roles)
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

/* The role bit of a role object. */
static api_roles_t rbac_role_bit(const struct db_obj *role)
{
    return api_role_bit(db_obj_str(role, API_F_role_name_label));
}

api_roles_t rbac_roles_of(struct db *db, const struct db_obj *subject)
{
    api_roles_t bits = 0;
    const struct db_obj *r;
    for (size_t i = 0; (r = db_obj_next(db, subject, API_F_subject_roles, &i));)
        bits |= rbac_role_bit(r);
    return bits;
}

static struct rpc_reply role_get_permissions_name_label(struct xapi_call *c)
{
    const char *ref = xapi_arg_str(c, API_P_role_get_permissions_name_label_self);
    db_read_lock(c->x->db);
    const struct db_obj *r = db_get(c->x->db, API_C_role, ref);
    api_roles_t bits = r ? rbac_role_bit(r) : 0;
    db_read_unlock(c->x->db);
    if (!r)
        return xapi_handle_invalid(c, API_C_role, ref);
    return rpc_reply_ok(rbac_permissions(c->a, bits));
}

static struct rpc_reply role_get_by_permission_name_label(struct xapi_call *c)
{
    const char *label = xapi_arg_str(c, API_P_role_get_by_permission_name_label_label);
    const struct api_message *m = NULL;
    for (int i = 0; i < api_n_messages && !m; i++)
        if (strcasecmp(api_messages[i].wire_name, label) == 0)
            m = &api_messages[i];
    struct val *out = val_array(c->a);
    db_read_lock(c->x->db);
    for (const struct db_obj *r = db_first(c->x->db, API_C_role); r && m; r = db_next(c->x->db, r))
        if (m->roles & rbac_role_bit(r))
            val_array_push(c->a, out, val_string(c->a, r->ref));
    db_read_unlock(c->x->db);
    return rpc_reply_ok(out);
}

static struct rpc_reply subject_get_permissions_name_label(struct xapi_call *c)
{
    const char *ref = xapi_arg_str(c, API_P_subject_get_permissions_name_label_self);
    db_read_lock(c->x->db);
    const struct db_obj *s = db_get(c->x->db, API_C_subject, ref);
    api_roles_t bits = s ? rbac_roles_of(c->x->db, s) : 0;
    db_read_unlock(c->x->db);
    if (!s)
        return xapi_handle_invalid(c, API_C_subject, ref);
    return rpc_reply_ok(rbac_permissions(c->a, bits));
}

/* subject.add_to_roles / remove_from_roles: the role must exist. */
static struct rpc_reply subject_edit_roles(struct xapi_call *c, const char *subject,
                                           const char *role, bool add)
{
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *s = db_get(c->x->db, API_C_subject, subject);
    if (!s || !db_get(c->x->db, API_C_role, role)) {
        db_abort(t);
        return s ? xapi_handle_invalid(c, API_C_role, role)
                 : xapi_handle_invalid(c, API_C_subject, subject);
    }
    bool changed;
    struct val *next = val_set_edit(c->a, db_obj_field(s, API_F_subject_roles),
                                    val_string(c->a, role), add, &changed);
    if (!changed) {
        db_abort(t);
        return rpc_reply_error(c->a, add ? API_ERR_ROLE_ALREADY_EXISTS : API_ERR_ROLE_NOT_FOUND,
                               NULL);
    }
    db_txn_set(t, s, API_F_subject_roles, next);
    return xapi_commit(c, t, val_nil(c->a));
}

static struct rpc_reply subject_add_to_roles(struct xapi_call *c)
{
    return subject_edit_roles(c, xapi_arg_str(c, API_P_subject_add_to_roles_self),
                              xapi_arg_str(c, API_P_subject_add_to_roles_role), true);
}

static struct rpc_reply subject_remove_from_roles(struct xapi_call *c)
{
    return subject_edit_roles(c, xapi_arg_str(c, API_P_subject_remove_from_roles_self),
                              xapi_arg_str(c, API_P_subject_remove_from_roles_role), false);
}

static const struct xapi_explicit rbac_messages[] = {
    {API_M_role_get_by_permission_name_label, role_get_by_permission_name_label},
    {API_M_role_get_permissions_name_label, role_get_permissions_name_label},
    {API_M_subject_add_to_roles, subject_add_to_roles},
    {API_M_subject_get_permissions_name_label, subject_get_permissions_name_label},
    {API_M_subject_remove_from_roles, subject_remove_from_roles},
    {0, NULL},
};

const struct xapi_module rbac_module = {
    .name = "rbac",
    .messages = rbac_messages,
    .sync = rbac_roles_sync,
};
