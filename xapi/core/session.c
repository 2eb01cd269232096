/*
 * session.c - logins and sessions. A session is a database object of
 * class session (kept in memory only, as upstream does), so its record,
 * its getters and its events come from the schema like any other class;
 * the reference is random and is the credential.
 *
 * Limits as upstream: a session unused for 24 hours expires, and one
 * originator (or user name) holds at most 500 sessions, the oldest
 * making room. Failed logins over the network are throttled
 * (throttle.h), and every failed login is counted for the report that
 * loginfail.h describes, raised from a thread of this module.
 */
#include "core/xapi.h"
#include "core/module.h"
#include "core/extauth.h"
#include "core/loginfail.h"
#include "core/throttle.h"
#include "api/api.h"
#include "api/api_value.h"
#include "clock.h"
#include "db/db.h"
#include "hmap.h"
#include "ids.h"
#include "log.h"
#include "passwd.h"
#include "mem.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SESSION_IDLE_S (24 * 3600)
#define SESSION_MAX_PER_ORIGINATOR 500
#define SESSION_MAX_DEFAULT 5000        /* on the host, whatever the originators */
#define SESSION_ACTIVE_GRANULARITY_S 60 /* last_active is refreshed this coarsely */
#define SESSION_FAIL_DELAY_US 1000000

/* Whether the session was last active before the time in the wire form
 * (datetimes in that form compare as text in time order). */
static bool session_active_before(const struct db_obj *s, const char *when)
{
    char last[API_DATETIME_LEN];
    return strcmp(api_datetime_comparable(last, sizeof(last),
                                          db_obj_field(s, API_F_session_last_active)),
                  when) < 0;
}

/* The subjects an externally authenticated session logged in through:
 * the user's own and those of its groups that the pool lists. Its roles
 * are their roles now, so removing a subject or one of its roles takes
 * effect at the session's next call; with none of them left, the session
 * is over. Kept beside the database, not in it, as sessions themselves
 * are in memory only; entries of ended sessions are dropped when they
 * pile up. */
struct session_ext {
    pthread_mutex_t lock;  /* after the database's lock, never before */
    struct hmap *subjects; /* session ref -> struct session_subjects */
};

struct session_subjects {
    size_t n;
    char refs[][IDS_REF_LEN + 1];
};

/* The roles of a session: all of them for the local superuser, else those
 * of its subjects (read under the caller's lock). */
static api_roles_t session_roles(struct xapi *x, const struct db_obj *s)
{
    if (db_obj_bool(s, API_F_session_is_local_superuser))
        return API_ROLES_ALL;
    const struct session_subjects *e = NULL;
    api_roles_t roles = 0;
    if (x->ext) {
        pthread_mutex_lock(&x->ext->lock);
        e = hmap_get(x->ext->subjects, s->ref);
        for (size_t i = 0; e && i < e->n; i++) {
            const struct db_obj *subj = db_get(x->db, API_C_subject, e->refs[i]);
            roles |= subj ? rbac_roles_of(x->db, subj) : 0;
        }
        pthread_mutex_unlock(&x->ext->lock);
    }
    if (e)
        return roles;
    const struct db_obj *subj = db_obj_follow(x->db, s, API_F_session_subject);
    return subj ? rbac_roles_of(x->db, subj) : 0;
}

/* Keeps the subjects of a new external session (committed, its ref not
 * yet given out), first dropping the entries of sessions that ended once
 * they outnumber the live ones. */
static void session_ext_keep(struct xapi *x, const char *ref, const struct extauth_login *ext)
{
    struct session_subjects *e = xmalloc(sizeof(*e) + ext->n_subjects * sizeof(e->refs[0]));
    e->n = ext->n_subjects;
    for (size_t i = 0; i < e->n; i++)
        snprintf(e->refs[i], sizeof(e->refs[i]), "%s", ext->subjects[i]);
    db_read_lock(x->db);
    pthread_mutex_lock(&x->ext->lock);
    size_t n = hmap_count(x->ext->subjects);
    if (n >= 64 && n > 2 * db_count(x->db, API_C_session)) {
        struct hmap *live = hmap_new();
        const char *k;
        void *v;
        for (size_t it = 0; hmap_next(x->ext->subjects, &it, &k, &v);)
            if (db_get(x->db, API_C_session, k))
                hmap_put(live, k, v);
            else
                free(v);
        hmap_free(x->ext->subjects);
        x->ext->subjects = live;
    }
    free(hmap_put(x->ext->subjects, ref, e));
    pthread_mutex_unlock(&x->ext->lock);
    db_read_unlock(x->db);
}

/* The times session_check compares with, in the wire form: formatted
 * once a second per thread rather than three times per call. */
struct session_clock {
    int64_t t;
    char now[API_DATETIME_LEN], stale[API_DATETIME_LEN], idle[API_DATETIME_LEN];
};

static const struct session_clock *session_clock_now(void)
{
    static _Thread_local struct session_clock c = {.t = -1};
    int64_t t = time(NULL);
    if (t != c.t) {
        api_datetime_format(c.now, sizeof(c.now), t);
        api_datetime_format(c.stale, sizeof(c.stale), t - SESSION_ACTIVE_GRANULARITY_S);
        api_datetime_format(c.idle, sizeof(c.idle), t - SESSION_IDLE_S);
        c.t = t;
    }
    return &c;
}

bool session_check(struct xapi *x, const char *ref, api_roles_t *roles)
{
    const struct session_clock *clk = session_clock_now();
    const char *now = clk->now, *stale = clk->stale, *idle = clk->idle;
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
        if (!*roles) /* an external user whose subjects are gone */
            s = NULL;
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

static bool session_of_originator(const struct db_obj *s, const char *originator)
{
    return strcmp(db_obj_str(s, API_F_session_originator), originator) == 0;
}

/* A session of user's that gave no originator. */
static bool session_of_user(const struct db_obj *s, const char *user)
{
    return !*db_obj_str(s, API_F_session_originator) &&
           strcmp(db_obj_str(s, API_F_session_auth_user_name), user) == 0;
}

/* The session of the earliest last_active (the oldest of those, as they
 * are kept in creation order): the one least in use. */
static struct db_obj *session_least_used(struct db *db, bool external)
{
    struct db_obj *least = NULL;
    char a[API_DATETIME_LEN], b[API_DATETIME_LEN];
    for (struct db_obj *s = db_first(db, API_C_session); s; s = db_next(db, s))
        if (external && db_obj_bool(s, API_F_session_is_local_superuser))
            continue;
        else if (!least ||
                 strcmp(api_datetime_comparable(a, sizeof(a),
                                                db_obj_field(s, API_F_session_last_active)),
                        api_datetime_comparable(
                            b, sizeof(b), db_obj_field(least, API_F_session_last_active))) < 0)
            least = s;
    return least;
}

/* Drops sessions idle for a day, the oldest of this originator's and
 * this user's beyond the limit, and, when the host holds its cap of
 * sessions, the least used of all, so that one more fits. The login of
 * an external user never evicts root's sessions: whatever its role, it
 * cannot log root out by logging in often. */
static void session_sweep(struct xapi_call *c, struct db_txn *t, const char *originator,
                          const char *user, bool external)
{
    char idle[API_DATETIME_LEN];
    api_datetime_format(idle, sizeof(idle), time(NULL) - SESSION_IDLE_S);
    size_t same_origin = 0, same_user = 0, total = 0;
    for (struct db_obj *s = db_first(c->x->db, API_C_session); s; s = db_next(c->x->db, s)) {
        total++;
        if (external && db_obj_bool(s, API_F_session_is_local_superuser))
            continue;
        same_origin += session_of_originator(s, originator);
        same_user += session_of_user(s, user);
    }
    /* Sessions are kept in creation order, so the first ones are the oldest. */
    for (struct db_obj *s = db_first(c->x->db, API_C_session), *next; s; s = next) {
        next = db_next(c->x->db, s);
        bool spared = external && db_obj_bool(s, API_F_session_is_local_superuser);
        bool origin = !spared && session_of_originator(s, originator);
        bool mine = !spared && session_of_user(s, user);
        bool expired = session_active_before(s, idle);
        /* The user-name limit is for callers that give no originator:
         * every login here is root, so counting users would let one
         * client's logins evict another client's sessions. */
        bool evict = (origin && same_origin >= SESSION_MAX_PER_ORIGINATOR) ||
                     (!*originator && mine && same_user >= SESSION_MAX_PER_ORIGINATOR);
        if (!expired && !evict)
            continue;
        char fu[LOG_FIELD_BUF], fo[LOG_FIELD_BUF];
        log_info(c->log_ctx, "session %s of '%s' (originator '%s') %s", s->ref,
                 log_field(fu, db_obj_str(s, API_F_session_auth_user_name)),
                 log_field(fo, db_obj_str(s, API_F_session_originator)),
                 expired ? "expired" : "evicted: too many sessions");
        same_origin -= origin;
        same_user -= mine;
        total--;
        db_txn_destroy(t, s);
    }
    int max = c->x->settings.max_sessions;
    size_t cap = (size_t)(max > 0 ? max : SESSION_MAX_DEFAULT);
    for (struct db_obj *s; total >= cap && (s = session_least_used(c->x->db, external)); total--) {
        char fu[LOG_FIELD_BUF], fo[LOG_FIELD_BUF];
        log_info(c->log_ctx, "session %s of '%s' (originator '%s') evicted: the host holds %zu",
                 s->ref, log_field(fu, db_obj_str(s, API_F_session_auth_user_name)),
                 log_field(fo, db_obj_str(s, API_F_session_originator)), cap);
        db_txn_destroy(t, s);
    }
}

/* Whether given is the root password: against the cache of the last one
 * found right, else against the stored hash, which costs tens of
 * milliseconds and so runs outside the lock. */
static bool session_password_ok(struct xapi *x, const char *given)
{
    char hash[PASSWD_HASH_MAX];
    pthread_mutex_lock(&x->id_lock);
    bool hit = passwd_cache_hit(&x->pw_cache, given);
    memcpy(hash, x->id.root_password_hash, sizeof(hash));
    pthread_mutex_unlock(&x->id_lock);
    if (hit)
        return true;
    if (!passwd_check(given, hash))
        return false;
    pthread_mutex_lock(&x->id_lock);
    if (strcmp(hash, x->id.root_password_hash) == 0) /* not changed meanwhile */
        passwd_cache_fill(&x->pw_cache, given);
    pthread_mutex_unlock(&x->id_lock);
    return true;
}

/* The throttle's keys for a login over the network: its source address
 * (the peer without its port) and its user name. False for the local
 * socket, which is root on this host and never throttled. */
static bool session_throttle_keys(const struct xapi_call *c, const char *user,
                                  char addr[LOG_FIELD_BUF + 8], char name[LOG_FIELD_BUF + 8])
{
    if (!c->client || c->client->local || !c->client->peer)
        return false;
    const char *peer = c->client->peer;
    const char *end = peer[0] == '[' ? strchr(peer, ']') : strrchr(peer, ':');
    int len = end ? (int)(end - peer) + (peer[0] == '[') : (int)strlen(peer);
    snprintf(addr, LOG_FIELD_BUF + 8, "addr:%.*s", len, peer);
    /* A directory may match names regardless of case and of spaces
     * around them: so does the key, or "ALICE" would escape "alice"'s bar. */
    char f[LOG_FIELD_BUF];
    const char *u = log_field(f, user);
    while (*u == ' ' || *u == '\t')
        u++;
    int n = snprintf(name, LOG_FIELD_BUF + 8, "user:%s", u);
    for (char *p = name + 5; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    while (n > 5 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        name[--n] = '\0';
    return true;
}

/* A failed login, for the report (loginfail.h): who tried, from where. */
static void session_note_failure(struct xapi_call *c, const char *user, const char *originator,
                                 const char *addr)
{
    const struct xapi_client *cl = c->client;
    struct loginfail_client who = {
        .user = user,
        .originator = originator,
        .user_agent = cl ? cl->user_agent : NULL,
        .ip = addr ? addr + strlen("addr:") : NULL,
    };
    loginfail_record(c->x->failed, &who, (int64_t)time(NULL));
}

static struct rpc_reply session_auth_failed(struct xapi_call *c, const char *user)
{
    return rpc_reply_error(c->a, API_ERR_SESSION_AUTHENTICATION_FAILED, user,
                           "Authentication failure", NULL);
}

/* A new session for user, who has proven who they are (ext: the
 * subjects of an external user; zero for root). */
static struct rpc_reply session_open(struct xapi_call *c, const char *user, const char *originator,
                                     const struct extauth_login *e)
{
    struct extauth_login ext = *e;
    char fu[LOG_FIELD_BUF];
    struct db_values v = db_values_new(c->a, API_C_session);
    struct val *now = api_value_datetime(c->a, time(NULL));
    db_values_set(&v, API_F_session_this_host, val_string(c->a, c->x->id.host_ref));
    db_values_set(&v, API_F_session_last_active, now);
    db_values_set(&v, API_F_session_validation_time, now);
    db_values_set(&v, API_F_session_is_local_superuser, val_bool(c->a, !ext.subject));
    if (ext.subject) {
        db_values_set(&v, API_F_session_subject, val_string(c->a, ext.subject));
        db_values_set(&v, API_F_session_auth_user_sid, val_string(c->a, ext.sid));
    }
    db_values_set(&v, API_F_session_auth_user_name, val_string(c->a, user));
    db_values_set(&v, API_F_session_originator, val_string(c->a, originator));
    struct db_txn *t = db_begin(c->x->db);
    session_sweep(c, t, originator, user, ext.subject != NULL);
    struct db_obj *s = db_txn_create(t, API_C_session, &v, NULL);
    struct val *ref = val_string(c->a, s->ref);
    struct rpc_reply r = xapi_commit(c, t, ref);
    /* Its subjects are kept before its ref is given out: no call can
     * name the session without them. */
    if (!r.error && ext.subject)
        session_ext_keep(c->x, val_str(ref), &ext);
    char fo[LOG_FIELD_BUF];
    if (!r.error)
        log_info(c->log_ctx, "%s: %s logged in (originator '%s')",
                 c->m ? c->m->wire_name : "local login", log_field(fu, user),
                 log_field(fo, originator));
    return r;
}

/* A login of user with password: a new session, from originator ("" when
 * the client gave none). Over the network, an address or a user name
 * that keeps failing is refused for a while without a look at the
 * password (throttle.h). */
static struct rpc_reply session_login(struct xapi_call *c, const char *user, const char *password,
                                      const char *originator)
{
    char addr[LOG_FIELD_BUF + 8], name[LOG_FIELD_BUF + 8], fu[LOG_FIELD_BUF];
    bool throttled = session_throttle_keys(c, user, addr, name);
    const char *from = c->client && c->client->peer ? c->client->peer : "xapi";
    if (throttled) {
        int64_t now = clock_now_ms();
        int64_t wait = throttle_barred_ms(c->x->logins, addr, now);
        int64_t wait_user = throttle_barred_ms(c->x->logins, name, now);
        if (wait_user > wait)
            wait = wait_user;
        if (wait > 0) {
            log_info(c->log_ctx,
                     "%s: login of '%s' from %s refused for %lld ms more: too many "
                     "failures",
                     c->m->wire_name, log_field(fu, user), from, (long long)wait);
            session_note_failure(c, user, originator, addr);
            return session_auth_failed(c, user);
        }
    }
    struct extauth_login ext = {0};
    struct rpc_reply refused;
    bool counts = true;
    bool ok = strcmp(user, "root") == 0
                  ? session_password_ok(c->x, password)
                  : extauth_login(c, user, password, &ext, &refused, &counts) == 0;
    if (!ok && strcmp(user, "root") != 0 && !counts) {
        char fw[LOG_FIELD_BUF];
        log_info(c->log_ctx, "%s: '%s' from %s may not log in: %s", c->m->wire_name,
                 log_field(fu, user), from, log_field(fw, val_str(refused.error->u.arr.items[0])));
        return refused;
    }
    if (!ok) {
        unsigned by_addr = 0, by_user = 0;
        if (throttled) {
            int64_t now = clock_now_ms();
            by_addr = throttle_failed(c->x->logins, addr, now);
            by_user = throttle_failed(c->x->logins, name, now);
        }
        log_info(c->log_ctx,
                 "%s: authentication of '%s' from %s failed (%u in a row from there, %u for "
                 "the user)",
                 c->m->wire_name, log_field(fu, user), from, by_addr, by_user);
        session_note_failure(c, user, originator, throttled ? addr : NULL);
        return strcmp(user, "root") == 0 ? session_auth_failed(c, user) : refused;
    }
    if (throttled) {
        throttle_forget(c->x->logins, addr);
        throttle_forget(c->x->logins, name);
    }
    return session_open(c, user, originator, &ext);
}

/* A session for root on this host without a password: for callers that
 * are root already (xe on the local socket, as upstream's xapi trusts
 * its Unix socket). Returns its ref in a, or NULL (logged). */
const char *session_open_local(struct xapi *x, struct arena *a, const char *originator,
                               const char *log_ctx)
{
    struct xapi_call c = {.x = x, .a = a, .log_ctx = log_ctx, .roles = API_ROLES_ALL};
    struct extauth_login none = {0};
    struct rpc_reply r = session_open(&c, "root", originator, &none);
    if (r.error) {
        log_info(log_ctx, "local session refused: %s", val_str(r.error->u.arr.items[0]));
        return NULL;
    }
    return val_str(r.value);
}

static struct rpc_reply session_login_with_password(struct xapi_call *c)
{
    return session_login(c, xapi_arg_str(c, API_P_session_login_with_password_uname),
                         xapi_arg_str(c, API_P_session_login_with_password_pwd),
                         xapi_arg_str(c, API_P_session_login_with_password_originator));
}

/* A host's local login: the same check, on whichever host is called. */
static struct rpc_reply session_slave_local_login_with_password(struct xapi_call *c)
{
    return session_login(c, xapi_arg_str(c, API_P_session_slave_local_login_with_password_uname),
                         xapi_arg_str(c, API_P_session_slave_local_login_with_password_pwd), "");
}

/* Every session here is this host's own, so ending one is the same whether
 * the caller asked for a local logout or not. */
static struct rpc_reply session_logout(struct xapi_call *c)
{
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *s = db_get(c->x->db, API_C_session, c->session);
    if (!s) {
        db_abort(t);
        return rpc_reply_error(c->a, API_ERR_SESSION_INVALID, c->session, NULL);
    }
    db_txn_destroy(t, s);
    log_info(c->log_ctx, "%s: session ended", c->m->wire_name);
    return xapi_commit(c, t, val_nil(c->a));
}

/* The identifiers an external session stands for: its user's, and that
 * of the subject it logged in as (a group, perhaps), "" when none. Hold
 * the read lock. */
static const char *session_subject_sid(struct xapi *x, const struct db_obj *s)
{
    const struct db_obj *subj = db_obj_follow(x->db, s, API_F_session_subject);
    return subj ? db_obj_str(subj, API_F_subject_subject_identifier) : "";
}

/* As upstream: the identifiers of every external session's user and
 * subject, each once. */
static struct rpc_reply session_get_all_subject_identifiers(struct xapi_call *c)
{
    struct val *ids = val_array(c->a);
    db_read_lock(c->x->db);
    for (struct db_obj *s = db_first(c->x->db, API_C_session); s; s = db_next(c->x->db, s)) {
        if (db_obj_bool(s, API_F_session_is_local_superuser))
            continue;
        const char *sids[2] = {db_obj_str(s, API_F_session_auth_user_sid),
                               session_subject_sid(c->x, s)};
        for (int k = 0; k < 2; k++) {
            bool seen = !*sids[k];
            for (size_t i = 0; !seen && i < ids->u.arr.n; i++)
                seen = strcmp(val_str(ids->u.arr.items[i]), sids[k]) == 0;
            if (!seen)
                val_array_push(c->a, ids, val_string(c->a, sids[k]));
        }
    }
    db_read_unlock(c->x->db);
    return rpc_reply_ok(ids);
}

/* As upstream: ends the external sessions of a user, or of everyone who
 * logged in through a subject (a group), but never root's, nor the
 * caller's own. */
static struct rpc_reply session_logout_subject_identifier(struct xapi_call *c)
{
    const char *sid = xapi_arg_str(c, API_P_session_logout_subject_identifier_subject_identifier);
    struct db_txn *t = db_begin(c->x->db);
    for (struct db_obj *s = db_first(c->x->db, API_C_session), *next; s; s = next) {
        next = db_next(c->x->db, s);
        if (db_obj_bool(s, API_F_session_is_local_superuser) || strcmp(s->ref, c->session) == 0)
            continue;
        if (strcmp(db_obj_str(s, API_F_session_auth_user_sid), sid) == 0 ||
            strcmp(session_subject_sid(c->x, s), sid) == 0)
            db_txn_destroy(t, s);
    }
    return xapi_commit(c, t, val_nil(c->a));
}

/* Only the local superuser has a password here; its salted hash lives in
 * DIR/host.conf. */
static struct rpc_reply session_change_password(struct xapi_call *c)
{
    const char *old_pw = xapi_arg_str(c, API_P_session_change_password_old_pwd);
    const char *new_pw = xapi_arg_str(c, API_P_session_change_password_new_pwd);
    if (!session_password_ok(c->x, old_pw)) {
        usleep(SESSION_FAIL_DELAY_US); /* a session's holder, guessing */
        return session_auth_failed(c, "root");
    }
    struct host_identity id;
    bool created;
    const char *why;
    pthread_mutex_lock(&c->x->id_lock);
    int rc = hostdir_init(c->a, c->x->state_dir, new_pw, &id, &created, &why);
    if (rc == 0) {
        memcpy(c->x->id.root_password_hash, id.root_password_hash, sizeof(id.root_password_hash));
        passwd_cache_clear(&c->x->pw_cache);
    }
    OPENSSL_cleanse(id.root_password, sizeof(id.root_password));
    pthread_mutex_unlock(&c->x->id_lock);
    if (rc < 0)
        return rpc_reply_error(c->a, API_ERR_CHANGE_PASSWORD_REJECTED, why, NULL);
    log_info(c->log_ctx, "session.change_password: the root password was changed");
    return rpc_reply_ok(val_nil(c->a));
}

static const struct xapi_explicit session_messages[] = {
    {API_M_session_change_password, session_change_password},
    {API_M_session_get_all_subject_identifiers, session_get_all_subject_identifiers},
    {API_M_session_local_logout, session_logout},
    {API_M_session_login_with_password, session_login_with_password},
    {API_M_session_logout, session_logout},
    {API_M_session_logout_subject_identifier, session_logout_subject_identifier},
    {API_M_session_slave_local_login_with_password, session_slave_local_login_with_password},
    {0, NULL},
};

/* --- the failed-login report --- */

#define SESSION_ALERT_DEFAULT_S 3600 /* as upstream's failed-login-alert-freq */

struct session_alerts {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC */
    bool stop;           /* under lock */
    pthread_t thread;
    int interval_s;
};

/* Raises FAILED_LOGIN_ATTEMPTS about the pool when logins failed since
 * the last report. */
static void session_report_failures(struct xapi *x)
{
    struct buf body = BUF_INIT;
    if (!loginfail_report(x->failed, &body))
        return;
    char uuid[64] = "";
    db_read_lock(x->db);
    const struct db_obj *pool = db_first(x->db, API_C_pool);
    if (pool)
        snprintf(uuid, sizeof(uuid), "%s", db_obj_str(pool, API_F_pool_uuid));
    db_read_unlock(x->db);
    log_info(NULL, "failed logins since the last report: raising FAILED_LOGIN_ATTEMPTS");
    if (*uuid)
        message_raise(x, "FAILED_LOGIN_ATTEMPTS", 3, API_C_pool, uuid, body.data);
    buf_free(&body);
}

static void *session_alerts_main(void *arg)
{
    struct xapi *x = arg;
    struct session_alerts *al = x->alerts;
    pthread_mutex_lock(&al->lock);
    while (!al->stop) {
        int64_t deadline = clock_now_ms() + (int64_t)al->interval_s * 1000;
        while (!al->stop && clock_cond_wait_until(&al->wake, &al->lock, deadline))
            ;
        if (al->stop)
            break;
        pthread_mutex_unlock(&al->lock);
        session_report_failures(x);
        pthread_mutex_lock(&al->lock);
    }
    pthread_mutex_unlock(&al->lock);
    return NULL;
}

static int session_start(struct xapi *x)
{
    x->logins = throttle_new();
    x->failed = loginfail_new();
    x->ext = xcalloc(1, sizeof(*x->ext));
    pthread_mutex_init(&x->ext->lock, NULL);
    x->ext->subjects = hmap_new();
    struct session_alerts *al = xcalloc(1, sizeof(*al));
    pthread_mutex_init(&al->lock, NULL);
    clock_cond_init(&al->wake);
    al->interval_s = x->settings.failed_login_alert_s > 0 ? x->settings.failed_login_alert_s
                                                          : SESSION_ALERT_DEFAULT_S;
    x->alerts = al;
    if (pthread_create(&al->thread, NULL, session_alerts_main, x) != 0) {
        log_error(NULL, "cannot start the failed-login report's thread");
        return -1;
    }
    return 0;
}

static int session_stop(struct xapi *x)
{
    struct session_alerts *al = x->alerts;
    if (!al)
        return 0;
    pthread_mutex_lock(&al->lock);
    al->stop = true;
    pthread_cond_broadcast(&al->wake);
    pthread_mutex_unlock(&al->lock);
    pthread_join(al->thread, NULL);
    return 0;
}

static void session_free(struct xapi *x)
{
    throttle_free(x->logins);
    x->logins = NULL;
    loginfail_free(x->failed);
    x->failed = NULL;
    if (x->ext) {
        const char *k;
        void *v;
        for (size_t it = 0; hmap_next(x->ext->subjects, &it, &k, &v);)
            free(v);
        hmap_free(x->ext->subjects);
        pthread_mutex_destroy(&x->ext->lock);
        free(x->ext);
        x->ext = NULL;
    }
    if (x->alerts) {
        pthread_mutex_destroy(&x->alerts->lock);
        pthread_cond_destroy(&x->alerts->wake);
        free(x->alerts);
        x->alerts = NULL;
    }
}

const struct xapi_module session_module = {
    .name = "session",
    .messages = session_messages,
    .start = session_start,
    .stop = session_stop,
    .free = session_free,
};
