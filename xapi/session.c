/*
 * session.c - logins and the table of live sessions. A session reference
 * is a random OpaqueRef, so it is the credential; the table is a hash on
 * it behind one mutex (lookups are short and every call does one).
 */
#include "xapi.h"
#include "ids.h"
#include "log.h"
#include "mem.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SESSION_BUCKETS 1024

struct session {
    struct session *next;
    char ref[IDS_REF_LEN + 1];
    char uuid[IDS_UUID_LEN + 1];
    char user[64];
    char originator[64];
    time_t since;
};

struct session_table {
    pthread_mutex_t lock;
    struct session *buckets[SESSION_BUCKETS];
    size_t count;
};

static unsigned session_hash(const char *ref)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *ref; ref++)
        h = (h ^ (unsigned char)*ref) * 16777619u;
    return h % SESSION_BUCKETS;
}

struct session_table *session_table_new(void)
{
    struct session_table *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void session_table_free(struct session_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        struct session *s = t->buckets[i];
        while (s) {
            struct session *next = s->next;
            free(s);
            s = next;
        }
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

bool session_check(struct session_table *t, const char *ref, char *user, size_t userlen)
{
    bool found = false;
    pthread_mutex_lock(&t->lock);
    for (struct session *s = t->buckets[session_hash(ref)]; s; s = s->next) {
        if (strcmp(s->ref, ref) == 0) {
            if (user)
                snprintf(user, userlen, "%s", s->user);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}

static void session_add(struct session_table *t, struct session *s)
{
    unsigned h = session_hash(s->ref);
    pthread_mutex_lock(&t->lock);
    s->next = t->buckets[h];
    t->buckets[h] = s;
    t->count++;
    pthread_mutex_unlock(&t->lock);
}

static bool session_remove(struct session_table *t, const char *ref)
{
    struct session *gone = NULL;
    pthread_mutex_lock(&t->lock);
    for (struct session **p = &t->buckets[session_hash(ref)]; *p; p = &(*p)->next) {
        if (strcmp((*p)->ref, ref) == 0) {
            gone = *p;
            *p = gone->next;
            t->count--;
            break;
        }
    }
    pthread_mutex_unlock(&t->lock);
    free(gone);
    return gone != NULL;
}

/* Compares in time independent of where the strings differ. */
static bool session_password_ok(const char *given, const char *stored)
{
    size_t lg = strlen(given), ls = strlen(stored);
    return lg == ls && CRYPTO_memcmp(given, stored, ls) == 0;
}

static struct rpc_reply session_bad_type(struct xapi_call *c, size_t i)
{
    return rpc_reply_error(c->a, "XMLRPC_UNMARSHAL_FAILURE", "string",
                           val_type_name(c->params[i]->type), NULL);
}

struct rpc_reply session_login_with_password(struct xapi_call *c)
{
    for (size_t i = 0; i < c->n_params; i++)
        if (c->params[i]->type != VAL_STRING)
            return session_bad_type(c, i);
    const char *user = val_str(c->params[0]);
    const char *password = val_str(c->params[1]);
    const char *originator = c->n_params > 3 ? val_str(c->params[3]) : "";
    if (strcmp(user, "root") != 0 || !session_password_ok(password, c->x->id.root_password)) {
        log_info(c->log_ctx, "session.login_with_password: authentication of '%s' failed", user);
        return rpc_reply_error(c->a, "SESSION_AUTHENTICATION_FAILED", user,
                               "Authentication failure", NULL);
    }
    struct session *s = xcalloc(1, sizeof(*s));
    ids_ref(s->ref);
    ids_uuid(s->uuid);
    snprintf(s->user, sizeof(s->user), "%s", user);
    snprintf(s->originator, sizeof(s->originator), "%s", originator);
    s->since = time(NULL);
    struct val *ref = val_string(c->a, s->ref);
    session_add(c->x->sessions, s);
    log_info(c->log_ctx, "session.login_with_password: %s logged in (originator '%s')", user,
             originator);
    return rpc_reply_ok(ref);
}

struct rpc_reply session_logout(struct xapi_call *c)
{
    const char *ref = val_str(c->params[0]);
    if (!session_remove(c->x->sessions, ref))
        return rpc_reply_error(c->a, "SESSION_INVALID", ref, NULL);
    log_info(c->log_ctx, "session.logout: session ended");
    return rpc_reply_ok(val_nil(c->a));
}

struct rpc_reply session_get_this_host(struct xapi_call *c)
{
    const char *self = val_str(c->params[1]);
    if (!self)
        return session_bad_type(c, 1);
    if (!session_check(c->x->sessions, self, NULL, 0))
        return rpc_reply_error(c->a, "HANDLE_INVALID", "session", self, NULL);
    return rpc_reply_ok(val_string(c->a, c->x->id.host_ref));
}
