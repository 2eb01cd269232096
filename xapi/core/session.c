/*
 * session.c - logins and sessions. A session is a database object of
 * class session (kept in memory only, as upstream does), so its record,
 * its getters and its events come from the schema like any other class;
 * the reference is random and is the credential.
 *
 * Limits as upstream: a session unused for 24 hours expires, and one
 * originator (or user name) holds at most 500 sessions, the oldest
 * making room. A failed login costs the caller a second, which makes
 * guessing the password over the API slow.
 */
#include "core/xapi.h"
#include "api/api.h"
#include "api/api_ids.h"
#include "api/api_value.h"
#include "db/db.h"
#include "log.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SESSION_IDLE_S (24 * 3600)
#define SESSION_MAX_PER_ORIGINATOR 500
#define SESSION_ACTIVE_GRANULARITY_S 60 /* last_active is refreshed this coarsely */
#define SESSION_FAIL_DELAY_US 1000000

/* Whether the session was last active before the time in the wire form
 * (datetimes in that form compare as text in time order). */
static bool session_active_before(const struct db_obj *s, const char *when)
{
    char last[API_DATETIME_LEN];
    return strcmp(api_datetime_comparable(last, sizeof(last), s->f[API_F_session_last_active]),
                  when) < 0;
}

/* The roles of a session: all of them for the local superuser, else the
 * roles of its subject (read under the caller's lock). */
static uint32_t session_roles(struct xapi *x, const struct db_obj *s)
{
    if (s->f[API_F_session_is_local_superuser]->u.b)
        return ~(uint32_t)0;
    const struct db_obj *subj = db_get(x->db, API_C_subject, val_str(s->f[API_F_session_subject]));
    uint32_t roles = 0;
    if (!subj)
        return 0;
    const struct val *refs = subj->f[API_F_subject_roles];
    for (size_t i = 0; i < refs->u.arr.n; i++) {
        const struct db_obj *role = db_get(x->db, API_C_role, val_str(refs->u.arr.items[i]));
        if (role)
            roles |= api_role_bit(val_str(role->f[API_F_role_name_label]));
    }
    return roles;
}

bool session_check(struct xapi *x, const char *ref, uint32_t *roles)
{
    char now[API_DATETIME_LEN], stale[API_DATETIME_LEN], idle[API_DATETIME_LEN];
    int64_t t = time(NULL);
    api_datetime_format(now, sizeof(now), t);
    api_datetime_format(stale, sizeof(stale), t - SESSION_ACTIVE_GRANULARITY_S);
    api_datetime_format(idle, sizeof(idle), t - SESSION_IDLE_S);
    db_read_lock(x->db);
    struct db_obj *s = db_get(x->db, API_C_session, ref);
    bool refresh = false;
    /* An expired session is gone for the caller even before a sweep
     * removes it. */
    if (s && session_active_before(s, idle))
        s = NULL;
    if (s) {
        *roles = session_roles(x, s);
        refresh = session_active_before(s, stale);
    }
    db_read_unlock(x->db);
    if (refresh) {
        struct arena *a = arena_new();
        struct db_txn *txn = db_begin(x->db);
        const char *err;
        if ((s = db_get(x->db, API_C_session, ref)))
            db_txn_set(txn, s, API_F_session_last_active, val_datetime(a, now));
        db_commit(txn, &err); /* sessions are not on disk: cannot fail */
        arena_free(a);
    }
    return s != NULL;
}

/* Drops sessions idle for a day, and the oldest of this originator's and
 * this user's beyond the limit, so that one more fits. */
static void session_sweep(struct xapi_call *c, struct db_txn *t, const char *originator,
                          const char *user)
{
    char idle[API_DATETIME_LEN];
    api_datetime_format(idle, sizeof(idle), time(NULL) - SESSION_IDLE_S);
    size_t same_origin = 0, same_user = 0;
    for (struct db_obj *s = db_first(c->x->db, API_C_session); s; s = s->next) {
        same_origin += strcmp(val_str(s->f[API_F_session_originator]), originator) == 0;
        same_user += !*val_str(s->f[API_F_session_originator]) &&
                     strcmp(val_str(s->f[API_F_session_auth_user_name]), user) == 0;
    }
    /* Sessions are kept in creation order, so the first ones are the oldest. */
    for (struct db_obj *s = db_first(c->x->db, API_C_session), *next; s; s = next) {
        next = s->next;
        bool origin = strcmp(val_str(s->f[API_F_session_originator]), originator) == 0;
        bool mine = !*val_str(s->f[API_F_session_originator]) &&
                    strcmp(val_str(s->f[API_F_session_auth_user_name]), user) == 0;
        bool expired = session_active_before(s, idle);
        /* The user-name limit is for callers that give no originator:
         * every login here is root, so counting users would let one
         * client's logins evict another client's sessions. */
        bool evict = (origin && same_origin >= SESSION_MAX_PER_ORIGINATOR) ||
                     (!*originator && mine && same_user >= SESSION_MAX_PER_ORIGINATOR);
        if (!expired && !evict)
            continue;
        log_info(c->log_ctx, "session %s of '%s' (originator '%s') %s", s->ref, user, originator,
                 expired ? "expired" : "evicted: too many sessions");
        same_origin -= origin;
        same_user -= mine;
        db_txn_destroy(t, s);
    }
}

/* Compares in time independent of where the strings differ. */
static bool session_password_ok(struct xapi *x, const char *given)
{
    pthread_mutex_lock(&x->id_lock);
    size_t lg = strlen(given), ls = strlen(x->id.root_password);
    bool ok = lg == ls && CRYPTO_memcmp(given, x->id.root_password, ls) == 0;
    pthread_mutex_unlock(&x->id_lock);
    return ok;
}

struct rpc_reply session_login_with_password(struct xapi_call *c)
{
    const char *user = val_str(c->args[0]);
    const char *password = val_str(c->args[1]);
    const char *originator = c->n_args > 3 ? val_str(c->args[3]) : "";
    if (strcmp(user, "root") != 0 || !session_password_ok(c->x, password)) {
        log_info(c->log_ctx, "session.login_with_password: authentication of '%s' failed", user);
        usleep(SESSION_FAIL_DELAY_US);
        return rpc_reply_error(c->a, "SESSION_AUTHENTICATION_FAILED", user,
                               "Authentication failure", NULL);
    }
    struct val **v = arena_zalloc(c->a, (size_t)api_classes[API_C_session].n_fields * sizeof(*v));
    struct val *now = api_value_datetime(c->a, time(NULL));
    v[API_F_session_this_host] = val_string(c->a, c->x->id.host_ref);
    v[API_F_session_last_active] = now;
    v[API_F_session_validation_time] = now;
    v[API_F_session_is_local_superuser] = val_bool(c->a, true);
    v[API_F_session_auth_user_name] = val_string(c->a, user);
    v[API_F_session_originator] = val_string(c->a, originator);
    struct db_txn *t = db_begin(c->x->db);
    session_sweep(c, t, originator, user);
    struct db_obj *s = db_txn_create(t, API_C_session, v, NULL);
    struct val *ref = val_string(c->a, s->ref);
    struct rpc_reply r = xapi_commit(c, t, ref);
    if (!r.error)
        log_info(c->log_ctx, "session.login_with_password: %s logged in (originator '%s')", user,
                 originator);
    return r;
}

struct rpc_reply session_logout(struct xapi_call *c)
{
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *s = db_get(c->x->db, API_C_session, c->session);
    if (!s) {
        db_abort(t);
        return rpc_reply_error(c->a, "SESSION_INVALID", c->session, NULL);
    }
    db_txn_destroy(t, s);
    log_info(c->log_ctx, "%s: session ended", c->m->wire_name);
    return xapi_commit(c, t, val_nil(c->a));
}

struct rpc_reply session_get_all_subject_identifiers(struct xapi_call *c)
{
    struct val *ids = val_array(c->a);
    db_read_lock(c->x->db);
    for (struct db_obj *s = db_first(c->x->db, API_C_subject); s; s = s->next)
        val_array_push(c->a, ids, val_copy(c->a, s->f[API_F_subject_subject_identifier]));
    db_read_unlock(c->x->db);
    return rpc_reply_ok(ids);
}

struct rpc_reply session_logout_subject_identifier(struct xapi_call *c)
{
    const char *sid = val_str(c->args[1]);
    struct db_txn *t = db_begin(c->x->db);
    for (struct db_obj *s = db_first(c->x->db, API_C_session), *next; s; s = next) {
        next = s->next;
        const struct db_obj *subj =
            db_get(c->x->db, API_C_subject, val_str(s->f[API_F_session_subject]));
        if (subj && strcmp(val_str(subj->f[API_F_subject_subject_identifier]), sid) == 0)
            db_txn_destroy(t, s);
    }
    return xapi_commit(c, t, val_nil(c->a));
}

/* Only the local superuser has a password here; it lives in DIR/host.conf. */
struct rpc_reply session_change_password(struct xapi_call *c)
{
    const char *old_pw = val_str(c->args[1]), *new_pw = val_str(c->args[2]);
    if (!session_password_ok(c->x, old_pw)) {
        usleep(SESSION_FAIL_DELAY_US);
        return rpc_reply_error(c->a, "SESSION_AUTHENTICATION_FAILED", "root",
                               "Authentication failure", NULL);
    }
    struct host_identity id;
    bool created;
    char why[256];
    pthread_mutex_lock(&c->x->id_lock);
    int rc = hostdir_init(c->x->state_dir, new_pw, &id, &created, why, sizeof(why));
    if (rc == 0)
        memcpy(c->x->id.root_password, id.root_password, sizeof(id.root_password));
    pthread_mutex_unlock(&c->x->id_lock);
    if (rc < 0)
        return rpc_reply_error(c->a, "CHANGE_PASSWORD_REJECTED", why, NULL);
    log_info(c->log_ctx, "session.change_password: the root password was changed");
    return rpc_reply_ok(val_nil(c->a));
}
