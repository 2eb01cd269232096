/*
 * extauth.c - external authentication's messages (host. and
 * pool.enable/disable_external_auth, auth.*) and the login of a user
 * other than root (extauth_login). The backends are auth_pam.c and
 * auth_ldap.c; see extauth.h.
 */
#include "core/extauth.h"
#include "core/module.h"
#include "api/api.h"
#include "db/db.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

const struct extauth_backend *extauth_backend_of(const char *type)
{
    if (strcmp(type, extauth_pam.type) == 0)
        return &extauth_pam;
    if (strcmp(type, extauth_ldap.type) == 0)
        return &extauth_ldap;
    return NULL;
}

const char *extauth_config(const struct val *config, const char *key, const char *def)
{
    const char *v = val_str(val_struct_get(config, key));
    return v ? v : def;
}

/* Where the passwords of the configuration are kept: a file of the
 * host's own (0600 in the 0700 state directory), out of the API's reach. */
static void extauth_private_path(struct xapi *x, struct buf *path)
{
    buf_reset(path);
    buf_printf(path, "%s/external-auth.conf", x->state_dir);
}

/* Whether a configuration key holds a password (kept in the file). */
static bool extauth_private_key(const char *key)
{
    size_t n = strlen(key);
    return n >= 8 && strcmp(key + n - 8, "password") == 0;
}

/* This host's external authentication: its type ("" when off) and
 * configuration, copied into c's arena, with the passwords of the private
 * file added back. */
static const char *extauth_host(struct xapi_call *c, const struct val **config)
{
    db_read_lock(c->x->db);
    const struct db_obj *h = db_get(c->x->db, API_C_host, c->x->id.host_ref);
    const char *type = arena_strdup(c->a, h ? db_obj_str(h, API_F_host_external_auth_type) : "");
    struct val *conf =
        h ? val_copy(c->a, db_obj_field(h, API_F_host_external_auth_configuration)) : NULL;
    db_read_unlock(c->x->db);
    if (!conf || conf->type != VAL_STRUCT)
        conf = val_struct(c->a);
    struct buf path = BUF_INIT;
    extauth_private_path(c->x, &path);
    struct config *priv = config_new();
    const char *why;
    if (*type && config_load_file(priv, path.data, true, &why) == 0) {
        const char *key, *value;
        for (size_t it = 0; config_next(priv, &it, &key, &value);)
            if (extauth_private_key(key))
                val_struct_add(c->a, conf, key, val_string(c->a, value));
    }
    config_free(priv);
    buf_free(&path);
    *config = conf;
    return type;
}

/* Splits a configuration given to enable: the passwords go to the private
 * file (written now), the rest is what the host's record shows. NULL when
 * the file cannot be written (*why). */
static struct val *extauth_store_private(struct xapi_call *c, const struct val *config,
                                         const char **why)
{
    struct val *pub = val_struct(c->a);
    struct config *priv = config_new();
    for (size_t i = 0; config && config->type == VAL_STRUCT && i < config->u.st.n; i++) {
        const char *key = config->u.st.members[i].name;
        const char *value = val_str(config->u.st.members[i].value);
        if (extauth_private_key(key))
            config_set(priv, key, value ? value : "");
        else
            val_struct_add(c->a, pub, key, config->u.st.members[i].value);
    }
    struct buf path = BUF_INIT;
    extauth_private_path(c->x, &path);
    int rc = config_save(priv, path.data, 0600);
    if (rc < 0)
        *why = arena_printf(c->a, "cannot write %s: %s", path.data, strerror(errno));
    buf_free(&path);
    config_free(priv);
    return rc < 0 ? NULL : pub;
}

/* Forgets the passwords (external authentication turned off). */
static void extauth_drop_private(struct xapi *x)
{
    struct buf path = BUF_INIT;
    extauth_private_path(x, &path);
    unlink(path.data);
    buf_free(&path);
}

/* --- logging in --- */

/* The subjects of the pool matching the user or one of its groups: the
 * one to log in as (the user's own, else the first), and their roles. */
static bool extauth_match(struct xapi_call *c, const char *sid, const struct val *groups,
                          struct extauth_login *out)
{
    struct db *db = c->x->db;
    const char *chosen = NULL;
    db_read_lock(db);
    out->subjects = arena_alloc(c->a, (db_count(db, API_C_subject) + 1) * sizeof(*out->subjects));
    out->n_subjects = 0;
    for (const struct db_obj *s = db_first(db, API_C_subject); s; s = db_next(db, s)) {
        const char *id = db_obj_str(s, API_F_subject_subject_identifier);
        bool own = strcmp(id, sid) == 0, member = false;
        for (size_t i = 0; !own && !member && i < groups->u.arr.n; i++)
            member = strcmp(id, val_str(groups->u.arr.items[i]) ? val_str(groups->u.arr.items[i])
                                                                : "") == 0;
        if (!own && !member)
            continue;
        out->roles |= rbac_roles_of(db, s);
        out->subjects[out->n_subjects++] = arena_strdup(c->a, s->ref);
        if (own || !chosen)
            chosen = out->subjects[out->n_subjects - 1];
    }
    db_read_unlock(db);
    out->subject = chosen;
    return chosen != NULL;
}

int extauth_login(struct xapi_call *c, const char *user, const char *password,
                  struct extauth_login *out, struct rpc_reply *reply, bool *counts)
{
    *out = (struct extauth_login){0};
    *counts = true;
    const struct val *config;
    const char *type = extauth_host(c, &config);
    const struct extauth_backend *be = extauth_backend_of(type);
    const char *why = "external authentication is off";
    const char *rhost = c->client && !c->client->local ? c->client->peer : NULL;
    enum extauth_rc rc =
        be ? be->authenticate(c->a, config, user, password, rhost, &out->sid, &why) : EXTAUTH_NO;
    if (rc != EXTAUTH_OK) {
        /* The client learns nothing of the directory (which names exist,
         * its layout, its address): the log does. */
        *counts = rc == EXTAUTH_NO;
        char fw[LOG_FIELD_BUF];
        log_msg(rc == EXTAUTH_ERROR ? LOG_WARN : LOG_INFO, c->log_ctx,
                "external authentication (%s) refused: %s", *type ? type : "off",
                log_field(fw, why));
        *reply = rpc_reply_error(c->a, API_ERR_SESSION_AUTHENTICATION_FAILED, user,
                                 "Authentication failure", NULL);
        return -1;
    }
    struct val *groups = NULL;
    rc = be->membership(c->a, config, out->sid, &groups, &why);
    *counts = false; /* the password was right: what follows is authorization */
    if (rc != EXTAUTH_OK) {
        *reply = rpc_reply_error(c->a, API_ERR_SESSION_AUTHORIZATION_FAILED, user, why, NULL);
        return -1;
    }
    if (!extauth_match(c, out->sid, groups, out)) {
        *reply = rpc_reply_error(
            c->a, API_ERR_SESSION_AUTHORIZATION_FAILED, user,
            arena_printf(c->a, "Subject %s (identifier %s) has no access rights in this pool", user,
                         out->sid),
            NULL);
        return -1;
    }
    if (!out->roles) {
        *reply = rpc_reply_error(
            c->a, API_ERR_RBAC_PERMISSION_DENIED, "session.login_with_password",
            arena_printf(c->a, "Subject %s (identifier %s) has no roles in this pool", user,
                         out->sid),
            NULL);
        return -1;
    }
    return 0;
}

/* --- enabling and disabling --- */

/* Turns external authentication on for host h. 0, or -1 with *reply. */
static int extauth_enable_host(struct xapi_call *c, const char *host, const struct val *config,
                               const char *service, const char *type, struct rpc_reply *reply)
{
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *h = db_get(c->x->db, API_C_host, host);
    if (!h) {
        db_abort(t);
        *reply = xapi_handle_invalid(c, API_C_host, host);
        return -1;
    }
    const char *now = db_obj_str(h, API_F_host_external_auth_type);
    if (*now) {
        *reply = rpc_reply_error(
            c->a, API_ERR_AUTH_ALREADY_ENABLED, arena_strdup(c->a, now),
            arena_strdup(c->a, db_obj_str(h, API_F_host_external_auth_service_name)), NULL);
        db_abort(t);
        return -1;
    }
    db_abort(t); /* the service is asked without holding the write lock */
    const struct extauth_backend *be = extauth_backend_of(type);
    if (!be) {
        *reply = rpc_reply_error(c->a, API_ERR_AUTH_UNKNOWN_TYPE, type, NULL);
        return -1;
    }
    const char *why = "";
    enum extauth_rc rc = be->enable(c->a, config, &why);
    if (rc != EXTAUTH_OK) {
        *reply = rpc_reply_error(c->a,
                                 rc == EXTAUTH_NO ? API_ERR_AUTH_ENABLE_FAILED_WRONG_CREDENTIALS
                                                  : API_ERR_AUTH_ENABLE_FAILED,
                                 why, NULL);
        return -1;
    }
    t = db_begin(c->x->db);
    if (!(h = db_get(c->x->db, API_C_host, host)) ||
        *db_obj_str(h, API_F_host_external_auth_type)) {
        db_abort(t); /* gone, or enabled by another call meanwhile */
        *reply = h ? rpc_reply_error(c->a, API_ERR_AUTH_ALREADY_ENABLED, type, service, NULL)
                   : xapi_handle_invalid(c, API_C_host, host);
        return -1;
    }
    struct val *shown = extauth_store_private(c, config, &why);
    if (!shown) {
        db_abort(t);
        *reply = rpc_reply_error(c->a, API_ERR_AUTH_ENABLE_FAILED, why, NULL);
        return -1;
    }
    db_txn_set(t, h, API_F_host_external_auth_type, val_string(c->a, type));
    db_txn_set(t, h, API_F_host_external_auth_service_name, val_string(c->a, service));
    db_txn_set(t, h, API_F_host_external_auth_configuration, shown);
    *reply = xapi_commit(c, t, val_nil(c->a));
    if (!reply->error)
        log_info(c->log_ctx, "external authentication %s enabled (service '%s')", type, service);
    return reply->error ? -1 : 0;
}

/* Turns it off for host h, ending the sessions of external users. */
static int extauth_disable_host(struct xapi_call *c, const char *host, struct rpc_reply *reply)
{
    struct db *db = c->x->db;
    struct db_txn *t = db_begin(db);
    struct db_obj *h = db_get(db, API_C_host, host);
    if (!h || !*db_obj_str(h, API_F_host_external_auth_type)) {
        db_abort(t);
        *reply = h ? rpc_reply_error(c->a, API_ERR_AUTH_IS_DISABLED, NULL)
                   : xapi_handle_invalid(c, API_C_host, host);
        return -1;
    }
    db_txn_set(t, h, API_F_host_external_auth_type, val_string(c->a, ""));
    db_txn_set(t, h, API_F_host_external_auth_service_name, val_string(c->a, ""));
    db_txn_set(t, h, API_F_host_external_auth_configuration, val_struct(c->a));
    for (struct db_obj *s = db_first(db, API_C_session), *next; s; s = next) {
        next = db_next(db, s);
        if (!db_obj_bool(s, API_F_session_is_local_superuser))
            db_txn_destroy(t, s);
    }
    *reply = xapi_commit(c, t, val_nil(c->a));
    if (!reply->error) {
        extauth_drop_private(c->x);
        log_info(c->log_ctx, "external authentication disabled; external users' sessions ended");
    }
    return reply->error ? -1 : 0;
}

static struct rpc_reply host_enable_external_auth(struct xapi_call *c)
{
    struct rpc_reply r;
    extauth_enable_host(c, xapi_arg_str(c, API_P_host_enable_external_auth_host),
                        xapi_arg(c, API_P_host_enable_external_auth_config),
                        xapi_arg_str(c, API_P_host_enable_external_auth_service_name),
                        xapi_arg_str(c, API_P_host_enable_external_auth_auth_type), &r);
    return r;
}

static struct rpc_reply host_disable_external_auth(struct xapi_call *c)
{
    struct rpc_reply r;
    extauth_disable_host(c, xapi_arg_str(c, API_P_host_disable_external_auth_host), &r);
    return r;
}

/* The pool's calls act on every host; a host's failure names it. */
static struct rpc_reply pool_enable_external_auth(struct xapi_call *c)
{
    struct rpc_reply r;
    const char *host = c->x->id.host_ref; /* a pool of one, until pools grow */
    if (extauth_enable_host(c, host, xapi_arg(c, API_P_pool_enable_external_auth_config),
                            xapi_arg_str(c, API_P_pool_enable_external_auth_service_name),
                            xapi_arg_str(c, API_P_pool_enable_external_auth_auth_type), &r) < 0) {
        const char *code = val_str(r.error->u.arr.items[0]);
        if (strcmp(code, API_ERR_AUTH_ALREADY_ENABLED) == 0)
            return rpc_reply_error(c->a, API_ERR_POOL_AUTH_ALREADY_ENABLED, host, NULL);
        if (strcmp(code, API_ERR_AUTH_UNKNOWN_TYPE) == 0)
            return r;
        const char *msg = r.error->u.arr.n > 1 ? val_str(r.error->u.arr.items[1]) : code;
        return rpc_reply_error(c->a,
                               strcmp(code, API_ERR_AUTH_ENABLE_FAILED_WRONG_CREDENTIALS) == 0
                                   ? API_ERR_POOL_AUTH_ENABLE_FAILED_WRONG_CREDENTIALS
                                   : API_ERR_POOL_AUTH_ENABLE_FAILED,
                               host, msg, NULL);
    }
    return r;
}

static struct rpc_reply pool_disable_external_auth(struct xapi_call *c)
{
    struct rpc_reply r;
    const char *host = c->x->id.host_ref;
    if (extauth_disable_host(c, host, &r) < 0 &&
        strcmp(val_str(r.error->u.arr.items[0]), API_ERR_AUTH_IS_DISABLED) != 0)
        return rpc_reply_error(c->a, API_ERR_POOL_AUTH_DISABLE_FAILED, host,
                               val_str(r.error->u.arr.items[0]), NULL);
    return rpc_reply_ok(val_nil(c->a));
}

/* --- auth.* --- */

/* The backend of this host, or NULL with *reply AUTH_IS_DISABLED. */
static const struct extauth_backend *extauth_on(struct xapi_call *c, const struct val **config,
                                                struct rpc_reply *reply)
{
    const struct extauth_backend *be = extauth_backend_of(extauth_host(c, config));
    if (!be)
        *reply = rpc_reply_error(c->a, API_ERR_AUTH_IS_DISABLED, NULL);
    return be;
}

static struct rpc_reply extauth_answer(struct xapi_call *c, enum extauth_rc rc, const char *why,
                                       struct val *value)
{
    if (rc == EXTAUTH_OK)
        return rpc_reply_ok(value);
    if (rc == EXTAUTH_NO)
        return rpc_reply_error(c->a, API_ERR_SUBJECT_CANNOT_BE_RESOLVED, NULL);
    return rpc_reply_error(c->a, API_ERR_AUTH_SERVICE_ERROR, why, NULL);
}

static struct rpc_reply auth_get_subject_identifier(struct xapi_call *c)
{
    const struct val *config;
    struct rpc_reply r;
    const struct extauth_backend *be = extauth_on(c, &config, &r);
    if (!be)
        return r;
    const char *sid = NULL, *why = "";
    enum extauth_rc rc = be->identifier(
        c->a, config, xapi_arg_str(c, API_P_auth_get_subject_identifier_subject_name), &sid, &why);
    return extauth_answer(c, rc, why, rc == EXTAUTH_OK ? val_string(c->a, sid) : NULL);
}

static struct rpc_reply auth_get_subject_information_from_identifier(struct xapi_call *c)
{
    const struct val *config;
    struct rpc_reply r;
    const struct extauth_backend *be = extauth_on(c, &config, &r);
    if (!be)
        return r;
    struct val *info = NULL;
    const char *why = "";
    enum extauth_rc rc = be->information(
        c->a, config,
        xapi_arg_str(c, API_P_auth_get_subject_information_from_identifier_subject_identifier),
        &info, &why);
    return extauth_answer(c, rc, why, info);
}

static struct rpc_reply auth_get_group_membership(struct xapi_call *c)
{
    const struct val *config;
    struct rpc_reply r;
    const struct extauth_backend *be = extauth_on(c, &config, &r);
    if (!be)
        return r;
    struct val *groups = NULL;
    const char *why = "";
    enum extauth_rc rc = be->membership(
        c->a, config, xapi_arg_str(c, API_P_auth_get_group_membership_subject_identifier), &groups,
        &why);
    return extauth_answer(c, rc, why, groups);
}

static const struct xapi_explicit extauth_messages[] = {
    {API_M_auth_get_group_membership, auth_get_group_membership},
    {API_M_auth_get_subject_identifier, auth_get_subject_identifier},
    {API_M_auth_get_subject_information_from_identifier,
     auth_get_subject_information_from_identifier},
    {API_M_host_disable_external_auth, host_disable_external_auth},
    {API_M_host_enable_external_auth, host_enable_external_auth},
    {API_M_pool_disable_external_auth, pool_disable_external_auth},
    {API_M_pool_enable_external_auth, pool_enable_external_auth},
    {0, NULL},
};

const struct xapi_module extauth_module = {
    .name = "extauth",
    .messages = extauth_messages,
};
