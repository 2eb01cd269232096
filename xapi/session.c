/*
 * session.c - logins and sessions. A session is a database object of
 * class session (kept in memory only, as upstream does), so its record,
 * its getters and its events come from the schema like any other class;
 * the reference is random and is the credential.
 */
#include "xapi.h"
#include "api.h"
#include "api_value.h"
#include "db.h"
#include "log.h"

#include <openssl/crypto.h>
#include <string.h>
#include <time.h>

/* Compares in time independent of where the strings differ. */
static bool session_password_ok(const char *given, const char *stored)
{
    size_t lg = strlen(given), ls = strlen(stored);
    return lg == ls && CRYPTO_memcmp(given, stored, ls) == 0;
}

static int session_cls(void)
{
    static int cls = -2;
    if (cls == -2)
        cls = api_class_find("session");
    return cls;
}

bool session_check(struct xapi *x, const char *ref, uint32_t *roles)
{
    db_read_lock(x->db);
    struct db_obj *s = db_get(x->db, session_cls(), ref);
    if (s) {
        int f = api_field_find(session_cls(), "is_local_superuser");
        /* Only the local superuser can log in until subjects arrive. */
        *roles = s->f[f]->u.b ? ~(uint32_t)0 : api_role_bit("read-only");
    }
    db_read_unlock(x->db);
    return s != NULL;
}

static void session_set(struct arena *a, struct val **v, const char *field, struct val *value)
{
    v[api_field_find(session_cls(), field)] = value;
}

struct rpc_reply session_login_with_password(struct xapi_call *c)
{
    const char *user = val_str(c->args[0]);
    const char *password = val_str(c->args[1]);
    const char *originator = c->n_args > 3 ? val_str(c->args[3]) : "";
    if (strcmp(user, "root") != 0 || !session_password_ok(password, c->x->id.root_password)) {
        log_info(c->log_ctx, "session.login_with_password: authentication of '%s' failed", user);
        return rpc_reply_error(c->a, "SESSION_AUTHENTICATION_FAILED", user,
                               "Authentication failure", NULL);
    }
    struct val **v = arena_zalloc(c->a, (size_t)api_classes[session_cls()].n_fields * sizeof(*v));
    struct val *now = api_value_datetime(c->a, time(NULL));
    session_set(c->a, v, "this_host", val_string(c->a, c->x->id.host_ref));
    session_set(c->a, v, "last_active", now);
    session_set(c->a, v, "validation_time", now);
    session_set(c->a, v, "is_local_superuser", val_bool(c->a, true));
    session_set(c->a, v, "auth_user_name", val_string(c->a, user));
    session_set(c->a, v, "originator", val_string(c->a, originator));
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *s = db_txn_create(t, session_cls(), v, NULL);
    struct val *ref = val_string(c->a, s->ref);
    struct rpc_reply r = xapi_commit(c, t, ref);
    if (!r.error)
        log_info(c->log_ctx, "session.login_with_password: %s logged in (originator '%s')", user,
                 originator);
    return r;
}

static struct rpc_reply session_end(struct xapi_call *c)
{
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *s = db_get(c->x->db, session_cls(), c->session);
    if (!s) {
        db_abort(t);
        return rpc_reply_error(c->a, "SESSION_INVALID", c->session, NULL);
    }
    db_txn_destroy(t, s);
    log_info(c->log_ctx, "%s: session ended", c->m->wire_name);
    return xapi_commit(c, t, val_nil(c->a));
}

struct rpc_reply session_logout(struct xapi_call *c)
{
    return session_end(c);
}

struct rpc_reply session_local_logout(struct xapi_call *c)
{
    return session_end(c);
}
