/*
 * event.c - event.from, event.next and friends: following changes to the
 * database.
 *
 * There is no queue of events. Every object carries the generation that
 * created it and the last one that changed it, each class lists its
 * objects in the order they last changed (db_changed_last), and the
 * database remembers deletions for a while (db_deleted_since), so a
 * generation is all a client needs to hold: what changed since is found
 * by walking back from the last change of each subscribed class to the
 * token. The answer is one event per object carrying its latest state (so
 * changes coalesce, as upstream's batches do). With nothing to report the
 * call waits, holding no lock, for a commit that changes one of its
 * classes (db_wait_for: commits to other classes do not wake it), and
 * looks again. Readers see changes on their way to disk; an answer waits
 * (db_sync) until what it reports is durable, and looks again if a failed
 * flush undid it, so no client hears of a change that a crash could take
 * back.
 *
 * Cost: a look is O(changes since the token + subscribed classes), not
 * O(objects): a hundred watchers on a host of ten thousand objects cost
 * nothing while nothing they watch changes.
 *
 * The legacy event.register/next API needs state per session: its
 * subscriptions and the generation its last event.next reached. It lives
 * in x->events (a map keyed by session ref, behind its own mutex), made
 * when the event module starts. Entries of ended sessions are dropped at
 * the next register.
 *
 * Locks: the database read lock is taken before the registry lock, never
 * the other way round, and neither is held while waiting or sleeping.
 */
#include "core/xapi.h"
#include "core/hangup.h"
#include "core/module.h"
#include "api/api.h"
#include "clock.h"
#include "db/db.h"
#include "hmap.h"
#include "log.h"
#include "mem.h"
#include "valout.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Upstream's delays for the legacy event.next. */
#define EVENT_NEXT_DELAY_BEFORE_MS 200
#define EVENT_NEXT_DELAY_MS 50
/* The longest event.from timeout honoured: upstream's default of a day. */
#define EVENT_MAX_TIMEOUT_S 86400.0
/* Waits are cut into slices this long, to look again at what no commit
 * announces: a session that ended, subscriptions added meanwhile. */
#define EVENT_WAIT_SLICE_MS 1000

/* At most this many subscriptions in one call, and held by one session
 * for event.next. Matching no longer costs a pass over them (see struct
 * event_subs), but each is memory held for as long as a call waits or a
 * session lives, and parsing them happens on every call: the bound keeps
 * one client from making either unbounded. Clients send a few dozen class
 * names or a few hundred objects; upstream has no limit. */
#define EVENT_MAX_SUBS 10000

/* One subscription: a class, one object of it, or everything. */
struct event_sub {
    int cls;          /* EVENT_SUB_ALL, EVENT_SUB_NOTHING or a class */
    const char *ref;  /* one object, or NULL: the whole class */
    const char *text; /* as the client sent it, for errors */
};

/* A set of subscriptions, de-duplicated and indexed once, before any lock
 * is taken: an object then matches in one lookup and a scan costs
 * O(subscriptions + objects of the whole classes), where comparing each
 * subscription with the others cost O(n^2) on every commit while a caller
 * waited, under the read lock that writers wait for. Subscriptions to
 * nothing (EVENT_SUB_NOTHING) are not held. */
struct event_subs {
    bool all;           /* "*" */
    bool *whole;        /* per class: the whole class */
    struct hmap **refs; /* per class: object ref -> the set, or no map */
    size_t n;           /* distinct subscriptions held */
};

struct event_reg {
    uint64_t last_gen; /* event.next has answered everything up to this */
    struct event_subs subs;
};

/* x->events: the event module's state. */
struct events {
    pthread_mutex_t lock;
    struct hmap *regs; /* session ref -> struct event_reg; under lock */
    atomic_bool stopping;
    struct hangups *hangups; /* watches the clients of waiting calls */
};

/* --- time --- */

static void event_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Now, in seconds with a fraction, printed as OCaml's string_of_float
 * prints it (upstream's event timestamps): "1764237025.12". */
static const char *event_timestamp(struct arena *a)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char text[48];
    snprintf(text, sizeof(text), "%.12g", (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    if (!strpbrk(text, ".eEin"))
        strcat(text, ".");
    return arena_strdup(a, text);
}

/* Waits until a commit after gen changes one of the classes, the
 * deadline (monotonic ms) passes, xapi shuts down, the client hangs up
 * (both wake the wait at once: event_quiesce, hangup.c), or a wait slice
 * ends (then the caller looks again: at the session, which may have
 * ended, and at subscriptions added meanwhile); returns whether such a
 * commit happened. */
struct event_waiting {
    struct xapi *x;
    struct hangup *client;
};

/* What ends a wait besides a change: xapi stopping, the client gone. */
static bool event_wait_over(void *ctx)
{
    struct event_waiting *w = ctx;
    return atomic_load(&w->x->events->stopping) || atomic_load(&w->client->gone);
}

static bool event_wait(struct xapi *x, const struct db_classes *classes, uint64_t gen,
                       int64_t deadline, struct hangup *client)
{
    struct event_waiting w = {x, client};
    int64_t now = clock_now_ms();
    if (now >= deadline || event_wait_over(&w))
        return false;
    int64_t until = deadline - now > EVENT_WAIT_SLICE_MS ? now + EVENT_WAIT_SLICE_MS : deadline;
    return db_wait_for(x->db, classes, gen, until, event_wait_over, &w);
}

/* --- tokens and subscriptions --- */

/* A token is "%020llu,%020llu": the database generation, then upstream's
 * message generation, for which we repeat the first (messages are
 * database objects here). "" is the beginning. */
static const char *event_token(struct arena *a, uint64_t gen)
{
    return arena_printf(a, "%020" PRIu64 ",%020" PRIu64, gen, gen);
}

static bool event_number_parse(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool event_token_parse(const char *token, uint64_t *gen)
{
    if (!*token) {
        *gen = 0;
        return true;
    }
    const char *comma = strchr(token, ',');
    uint64_t second;
    return comma && event_number_parse(token, (size_t)(comma - token), gen) &&
           event_number_parse(comma + 1, strlen(comma + 1), &second);
}

#define EVENT_SUB_ALL (-1)
#define EVENT_SUB_NOTHING (-2)

static void event_subs_init(struct event_subs *s)
{
    *s = (struct event_subs){0};
    s->whole = xcalloc((size_t)api_n_classes, sizeof(*s->whole));
    s->refs = xcalloc((size_t)api_n_classes, sizeof(*s->refs));
}

static void event_subs_free(struct event_subs *s)
{
    for (int c = 0; s->refs && c < api_n_classes; c++)
        if (s->refs[c])
            hmap_free(s->refs[c]);
    free(s->refs);
    free(s->whole);
    *s = (struct event_subs){0};
}

/* Whether the set holds sub; a subscription to nothing always counts as
 * held, as there is nothing to add for it. */
static bool event_subs_has(const struct event_subs *s, const struct event_sub *sub)
{
    if (sub->cls == EVENT_SUB_ALL)
        return s->all;
    if (sub->cls < 0)
        return true;
    if (!sub->ref)
        return s->whole[sub->cls];
    return s->refs[sub->cls] && hmap_get(s->refs[sub->cls], sub->ref);
}

/* Adds sub; false when the set held it already. */
static bool event_subs_add(struct event_subs *s, const struct event_sub *sub)
{
    if (event_subs_has(s, sub))
        return false;
    if (sub->cls == EVENT_SUB_ALL) {
        s->all = true;
    } else if (!sub->ref) {
        s->whole[sub->cls] = true;
    } else {
        if (!s->refs[sub->cls])
            s->refs[sub->cls] = hmap_new();
        hmap_put(s->refs[sub->cls], sub->ref, s);
    }
    s->n++;
    return true;
}

static void event_subs_remove(struct event_subs *s, const struct event_sub *sub)
{
    if (sub->cls == EVENT_SUB_NOTHING || !event_subs_has(s, sub))
        return;
    if (sub->cls == EVENT_SUB_ALL)
        s->all = false;
    else if (!sub->ref)
        s->whole[sub->cls] = false;
    else
        hmap_del(s->refs[sub->cls], sub->ref);
    s->n--;
}

static bool event_subs_match(const struct event_subs *s, int cls, const char *ref)
{
    return s->all || s->whole[cls] || (s->refs[cls] && hmap_get(s->refs[cls], ref));
}

/* The classes a set of subscriptions looks at, for waiting on. */
static void event_subs_classes(const struct event_subs *s, struct db_classes *out)
{
    *out = (struct db_classes){0};
    for (int c = 0; c < api_n_classes; c++)
        if ((s->all && api_classes[c].in_db) || s->whole[c] ||
            (s->refs[c] && hmap_count(s->refs[c])))
            db_classes_add(out, c);
}

/* "*", "vm", "VM" or "vm/OpaqueRef:..."; false for a class that is not in
 * the database. */
static bool event_sub_parse(struct arena *a, const char *s, struct event_sub *out)
{
    if (strcmp(s, "*") == 0) {
        *out = (struct event_sub){EVENT_SUB_ALL, NULL, s};
        return true;
    }
    const char *slash = strchr(s, '/');
    const char *name = slash ? arena_strndup(a, s, (size_t)(slash - s)) : s;
    int cls = api_class_find(name);
    /* Like upstream, a name that is no class of ours subscribes to nothing
     * rather than failing the call: clients build their lists from
     * system.listMethods and may include names that are not classes. */
    if (cls < 0 || !api_classes[cls].in_db)
        cls = EVENT_SUB_NOTHING;
    *out = (struct event_sub){cls, slash ? arena_strdup(a, slash + 1) : NULL, s};
    return true;
}

/* A call's subscriptions, parsed. */
struct event_parsed {
    struct event_subs set;  /* event_subs_free */
    struct event_sub *list; /* the distinct ones held by set, in the call's order */
    size_t n;
};

/* Parses a call's set of subscriptions; the one that fails (then out holds
 * nothing to free), or NULL. */
static const char *event_subs_parse(struct arena *a, const struct val *arr,
                                    struct event_parsed *out)
{
    size_t n = arr->u.arr.n;
    if (n > EVENT_MAX_SUBS) {
        const char *s = val_str(arr->u.arr.items[EVENT_MAX_SUBS]);
        return s ? s : "";
    }
    event_subs_init(&out->set);
    out->list = arena_alloc(a, (n ? n : 1) * sizeof(*out->list));
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = val_str(arr->u.arr.items[i]);
        struct event_sub sub;
        if (!s || !event_sub_parse(a, s, &sub)) {
            event_subs_free(&out->set);
            return s ? s : "";
        }
        if (event_subs_add(&out->set, &sub))
            out->list[out->n++] = sub;
    }
    return NULL;
}

/* --- looking for changes --- */

struct event_item {
    uint64_t id; /* the generation of the change */
    int cls;
    const char *ref;        /* valid while the read lock is held */
    const struct db_obj *o; /* NULL for a deletion */
    bool add;
};

struct event_scan {
    const struct event_subs *subs;
    uint64_t from;
    struct event_item *items; /* malloc'd */
    size_t n, cap;
    const struct xapi_call *c; /* whose roles say what it may see */
};

static void event_scan_push(struct event_scan *s, struct event_item it)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
    }
    s->items[s->n++] = it;
}

static void event_scan_deleted(void *ctx, int cls, const char *ref, uint64_t gen)
{
    struct event_scan *s = ctx;
    if (event_subs_match(s->subs, cls, ref) && xapi_may_read_class(s->c, cls) &&
        xapi_may_see(s->c, cls, ref))
        event_scan_push(s, (struct event_item){gen, cls, ref, NULL, false});
}

/* One event per object, its latest state: an object created after the
 * token is an "add" even if it changed again since. */
static void event_scan_obj(struct event_scan *s, const struct db_obj *o)
{
    if (!xapi_may_read_class(s->c, o->cls) || !xapi_may_see(s->c, o->cls, o->ref))
        return;
    bool add = o->gen_created > s->from;
    event_scan_push(
        s, (struct event_item){add ? o->gen_created : o->gen_modified, o->cls, o->ref, o, add});
}

static int event_item_cmp(const void *pa, const void *pb)
{
    const struct event_item *a = pa, *b = pb;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    return strcmp(a->ref, b->ref);
}

/* Collects the changes after s->from, ordered by generation. Hold the read
 * lock. False when the deletions since s->from are no longer known. From
 * the beginning (0) there is nothing deleted to report: the client has
 * seen no object yet. */
static bool event_scan(struct db *db, struct event_scan *s)
{
    if (s->from > 0 && !db_deleted_since(db, s->from, event_scan_deleted, s))
        return false;
    const struct event_subs *subs = s->subs;
    for (int c = 0; c < api_n_classes; c++) {
        bool whole = (subs->all && api_classes[c].in_db) || subs->whole[c];
        if (!whole && !subs->refs[c])
            continue;
        for (const struct db_obj *o = db_changed_last(db, c); o && o->gen_modified > s->from;
             o = db_changed_prev(db, o))
            if (whole || hmap_get(subs->refs[c], o->ref))
                event_scan_obj(s, o);
    }
    if (s->n > 1)
        qsort(s->items, s->n, sizeof(*s->items), event_item_cmp);
    return true;
}

/* The events of a scan as XenAPI event records. Hold the read lock. */
/* An event of a reply on its way out: what the scan found, with the ref
 * copied, as the object is read again when the event is written. */
struct event_entry {
    uint64_t id;
    int cls;
    const char *ref;
    const char *op; /* "add", "mod" or "del" */
};

struct event_stream {
    struct xapi *x;
    const char *timestamp;
    struct event_entry *entries;
    size_t n;
    uint64_t synced, rollbacks; /* durable up to synced, as of rollbacks */
};

/* Writes a member of a stream value from a scalar. */
static void event_member(struct val_out *w, const char *name, const struct val *v)
{
    val_out_member(w, name);
    val_out_value(w, v);
    val_out_member_end(w);
}

/* Writes the head of e's event record (all but its snapshot). */
static void event_head(struct val_out *w, const struct event_stream *s, const struct event_entry *e)
{
    struct val id = {.type = VAL_INT, .u.i = (int64_t)e->id};
    struct val text = {.type = VAL_STRING};
    val_out_struct_begin(w);
    event_member(w, "id", &id);
    const char *fields[][2] = {{"timestamp", s->timestamp},
                               {"class", api_classes[e->cls].lc_name},
                               {"operation", e->op},
                               {"ref", e->ref}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        text.u.str.ptr = fields[i][1];
        text.u.str.len = strlen(fields[i][1]);
        event_member(w, fields[i][0], &text);
    }
}

/* Lets nothing out that is not durable: a snapshot written may be newer
 * than the generation the scan synced (gen). False when a failed flush
 * undid some of it. */
static bool event_stream_sync(struct event_stream *s, uint64_t gen)
{
    if (gen <= s->synced)
        return true;
    s->synced = gen;
    return db_sync(s->x->db, gen, s->rollbacks);
}

/* The events, each with the object's record as it is when written (an
 * object deleted since the scan is left out: its deletion comes in a
 * later call), chunk by chunk as stream.c writes records. */
static int event_stream_produce(void *ctx, struct val_out *w)
{
    struct event_stream *s = ctx;
    struct db *db = s->x->db;
    struct xapi_record_pos pos = {.field = -1};
    uint64_t newest = 0;
    val_out_array_begin(w);
    for (size_t i = 0; i < s->n;) {
        bool broken = false;
        db_read_lock(db);
        while (i < s->n && !val_out_full(w) && !broken) {
            const struct event_entry *e = &s->entries[i];
            const struct db_obj *o = strcmp(e->op, "del") ? db_get(db, e->cls, e->ref) : NULL;
            if (pos.field < 0 && strcmp(e->op, "del") && !o) {
                i++;
                continue;
            }
            if (pos.field < 0) {
                val_out_item(w);
                event_head(w, s, e);
                if (o)
                    val_out_member(w, "snapshot");
            }
            if (pos.field >= 0 && (!o || o->gen_modified != pos.gen)) {
                broken = true; /* changed in the middle of a long string */
                break;
            }
            if (o && !xapi_record_out(w, o, &pos))
                break;
            if (o) {
                val_out_member_end(w);
                if (o->gen_modified > newest)
                    newest = o->gen_modified;
            }
            val_out_struct_end(w);
            i++;
        }
        db_read_unlock(db);
        if (broken || !event_stream_sync(s, newest) || val_out_flush(w) < 0)
            return -1;
    }
    val_out_array_end(w);
    return 0;
}

/* The events of a scan as a reply value. Hold the read lock. */
static struct val *event_records(struct xapi_call *c, const struct event_scan *scan, uint64_t gen,
                                 uint64_t rollbacks)
{
    struct event_stream *s = arena_alloc(c->a, sizeof(*s));
    *s = (struct event_stream){c->x, event_timestamp(c->a), NULL, scan->n, gen, rollbacks};
    s->entries = arena_alloc(c->a, (scan->n ? scan->n : 1) * sizeof(*s->entries));
    for (size_t i = 0; i < scan->n; i++) {
        const struct event_item *it = &scan->items[i];
        s->entries[i] = (struct event_entry){it->id, it->cls, arena_strdup(c->a, it->ref),
                                             !it->o    ? "del"
                                             : it->add ? "add"
                                                       : "mod"};
    }
    return val_stream(c->a, event_stream_produce, s);
}

/* How many objects each database class has, as upstream counts every
 * table; clients (Xen Orchestra) compare the task count with theirs. */
static struct val *event_ref_counts(struct arena *a, struct db *db)
{
    struct val *counts = val_struct(a);
    for (int c = 0; c < api_n_classes; c++)
        if (api_classes[c].in_db)
            val_struct_add(a, counts, api_classes[c].lc_name, val_int(a, (int64_t)db_count(db, c)));
    return counts;
}

static bool event_session_live(struct db *db, const char *session)
{
    return session && db_get(db, API_C_session, session) != NULL;
}

/* --- event.from --- */

static double event_timeout(double t)
{
    if (!(t > 0.0)) /* negative, zero or NaN */
        return 0.0;
    return t > EVENT_MAX_TIMEOUT_S ? EVENT_MAX_TIMEOUT_S : t;
}

/* Scans, and waits while there is nothing to report, until the deadline.
 * There is no batching delay: upstream waits 50 ms before looking and
 * after a change wakes a waiter (event_from_delay), to batch what happens
 * together. We answer at once: the changes of one transaction already
 * come together (one generation), clients pace their own polls (Xen
 * Orchestra waits 200 ms between calls), and a watcher learns of a change
 * within a millisecond instead of fifty. */
static struct rpc_reply event_from_loop(struct xapi_call *c, const struct event_subs *subs,
                                        uint64_t from, int64_t deadline, struct hangup *client)
{
    struct db *db = c->x->db;
    const char *token = xapi_arg_str(c, API_P_event_from_token);
    for (;;) {
        bool last = clock_now_ms() >= deadline || atomic_load(&c->x->events->stopping) ||
                    atomic_load(&client->gone);
        struct event_scan s = {subs, from, NULL, 0, 0, c};
        struct val *out = NULL;
        const char *error = NULL;
        db_read_lock(db);
        uint64_t gen = db_generation(db), rollbacks = db_rollbacks(db);
        if (!event_session_live(db, c->session))
            error = API_ERR_SESSION_INVALID;
        else if (from > gen || !event_scan(db, &s))
            error = API_ERR_EVENTS_LOST;
        else if (s.n > 0 || last) {
            /* The token is the generation looked at: nothing the
             * subscriptions select changed up to it beyond these events. */
            out = val_struct(c->a);
            val_struct_add(c->a, out, "events", event_records(c, &s, gen, rollbacks));
            val_struct_add(c->a, out, "valid_ref_counts", event_ref_counts(c->a, db));
            val_struct_add(c->a, out, "token", val_string(c->a, event_token(c->a, gen)));
        }
        db_read_unlock(db);
        free(s.items);
        if (error && strcmp(error, API_ERR_SESSION_INVALID) == 0)
            return rpc_reply_error(c->a, error, c->session, NULL);
        if (error) {
            log_info(c->log_ctx, "event.from: token %s is older than the deletions remembered",
                     token);
            return rpc_reply_error(c->a, error, NULL);
        }
        if (out && db_sync(db, gen, rollbacks))
            return rpc_reply_ok(out);
        if (out)
            continue; /* what was seen was undone: look again */
        from = gen;   /* nothing up to gen concerns this caller */
        struct db_classes classes;
        event_subs_classes(subs, &classes);
        event_wait(c->x, &classes, gen, deadline, client);
    }
}

static struct rpc_reply event_from(struct xapi_call *c)
{
    const char *token = xapi_arg_str(c, API_P_event_from_token);
    uint64_t from;
    if (!event_token_parse(token, &from))
        return rpc_reply_error(c->a, API_ERR_EVENT_FROM_TOKEN_PARSE_FAILURE, token, NULL);
    struct event_parsed p;
    const char *bad = event_subs_parse(c->a, xapi_arg(c, API_P_event_from_classes), &p);
    if (bad)
        return rpc_reply_error(c->a, API_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE, bad, NULL);
    int64_t deadline =
        clock_now_ms() +
        (int64_t)(event_timeout(xapi_arg_float(c, API_P_event_from_timeout)) * 1000.0);
    struct hangup client = {.fd = c->client ? c->client->fd : -1};
    hangup_watch(c->x->events->hangups, &client);
    struct rpc_reply r = event_from_loop(c, &p.set, from, deadline, &client);
    hangup_unwatch(c->x->events->hangups, &client);
    event_subs_free(&p.set);
    return r;
}

/* --- event.inject, event.get_current_id --- */

/* Marks an object changed, for an event about it. The token answered is
 * the generation before the change, so event.from from it reports the
 * object: Xen Orchestra starts its event loop with that. */
static struct rpc_reply event_inject(struct xapi_call *c)
{
    struct db *db = c->x->db;
    const char *cls_name = xapi_arg_str(c, API_P_event_inject_class);
    const char *ref = xapi_arg_str(c, API_P_event_inject_ref);
    int cls = api_class_find(cls_name);
    struct db_txn *t = db_begin(db);
    struct db_obj *o = cls >= 0 ? db_get(db, cls, ref) : NULL;
    if (!o) {
        db_abort(t);
        if (cls >= 0)
            return xapi_handle_invalid(c, cls, ref);
        return rpc_reply_error(c->a, API_ERR_HANDLE_INVALID, cls_name, ref, NULL);
    }
    uint64_t gen = db_generation(db); /* the commit makes it gen + 1 */
    db_txn_touch(t, o);
    return xapi_commit(c, t, val_string(c->a, event_token(c->a, gen)));
}

static struct rpc_reply event_get_current_id(struct xapi_call *c)
{
    return rpc_reply_ok(val_int(c->a, (int64_t)db_generation(c->x->db)));
}

/* --- the legacy event.register, event.unregister, event.next --- */

static void event_reg_free(struct event_reg *r)
{
    event_subs_free(&r->subs);
    free(r);
}

/* Drops the registrations of sessions that ended. Hold the read lock and
 * the registry lock. */
static void event_regs_prune(struct xapi_call *c, struct db *db, struct arena *a)
{
    size_t n = hmap_count(c->x->events->regs), n_dead = 0;
    const char **dead = arena_alloc(a, (n ? n : 1) * sizeof(*dead));
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(c->x->events->regs, &it, &key, &value);)
        if (!event_session_live(db, key))
            dead[n_dead++] = arena_strdup(a, key);
    for (size_t i = 0; i < n_dead; i++)
        event_reg_free(hmap_del(c->x->events->regs, dead[i]));
}

/* Adds the subscriptions, all or (past EVENT_MAX_SUBS held by the session)
 * none. */
static struct rpc_reply event_register(struct xapi_call *c)
{
    struct event_parsed p;
    const char *bad = event_subs_parse(c->a, xapi_arg(c, API_P_event_register_classes), &p);
    if (bad)
        return rpc_reply_error(c->a, API_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE, bad, NULL);
    event_subs_free(&p.set); /* p.list is what is added */
    struct db *db = c->x->db;
    db_read_lock(db);
    pthread_mutex_lock(&c->x->events->lock);
    event_regs_prune(c, db, c->a);
    struct event_reg *r = hmap_get(c->x->events->regs, c->session);
    if (!r && event_session_live(db, c->session)) {
        r = xcalloc(1, sizeof(*r));
        r->last_gen = db_generation(db); /* events from now on */
        event_subs_init(&r->subs);
        hmap_put(c->x->events->regs, c->session, r);
    }
    const char *excess = NULL;
    size_t n_new = 0;
    for (size_t i = 0; r && i < p.n && !excess; i++)
        if (!event_subs_has(&r->subs, &p.list[i]) && r->subs.n + ++n_new > EVENT_MAX_SUBS)
            excess = p.list[i].text;
    for (size_t i = 0; r && i < p.n && !excess; i++)
        event_subs_add(&r->subs, &p.list[i]);
    pthread_mutex_unlock(&c->x->events->lock);
    db_read_unlock(db);
    if (excess)
        return rpc_reply_error(c->a, API_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE, excess, NULL);
    return rpc_reply_ok(val_nil(c->a));
}

/* Removes the given subscriptions; the session stays registered (with
 * none left, event.next waits for good), as upstream. */
static struct rpc_reply event_unregister(struct xapi_call *c)
{
    struct event_parsed p;
    const char *bad = event_subs_parse(c->a, xapi_arg(c, API_P_event_unregister_classes), &p);
    if (bad)
        return rpc_reply_error(c->a, API_ERR_EVENT_SUBSCRIPTION_PARSE_FAILURE, bad, NULL);
    event_subs_free(&p.set);
    pthread_mutex_lock(&c->x->events->lock);
    struct event_reg *r = hmap_get(c->x->events->regs, c->session);
    for (size_t i = 0; r && i < p.n; i++)
        event_subs_remove(&r->subs, &p.list[i]);
    pthread_mutex_unlock(&c->x->events->lock);
    return rpc_reply_ok(val_nil(c->a));
}

/* Gives the range (from, gen] back to the session's next event.next, if
 * no other call claimed past it meanwhile. */
static void event_next_unclaim(struct xapi_call *c, uint64_t gen, uint64_t from)
{
    pthread_mutex_lock(&c->x->events->lock);
    struct event_reg *r = hmap_get(c->x->events->regs, c->session);
    if (r && r->last_gen == gen)
        r->last_gen = from;
    pthread_mutex_unlock(&c->x->events->lock);
}

/* Blocks until something the session's subscriptions select changed since
 * its last event.next (or its registration), then answers those changes,
 * one event per object. Concurrent calls on one session get disjoint
 * ranges: each claims up to the generation it looked at. */
static struct rpc_reply event_next_loop(struct xapi_call *c, struct hangup *client)
{
    struct db *db = c->x->db;
    pthread_mutex_lock(&c->x->events->lock);
    bool registered = hmap_get(c->x->events->regs, c->session) != NULL;
    pthread_mutex_unlock(&c->x->events->lock);
    if (!registered)
        return rpc_reply_error(c->a, API_ERR_SESSION_NOT_REGISTERED, c->session, NULL);
    event_sleep_ms(EVENT_NEXT_DELAY_BEFORE_MS);
    for (;;) {
        struct event_scan s = {0};
        struct val *out = NULL;
        const char *error = NULL;
        db_read_lock(db);
        uint64_t gen = db_generation(db), rollbacks = db_rollbacks(db), from = 0;
        pthread_mutex_lock(&c->x->events->lock);
        struct event_reg *r = hmap_get(c->x->events->regs, c->session);
        if (!event_session_live(db, c->session)) {
            error = API_ERR_SESSION_INVALID;
            if (r)
                event_reg_free(hmap_del(c->x->events->regs, c->session));
        } else if (!r) {
            error = API_ERR_SESSION_NOT_REGISTERED;
        } else {
            /* Scanned under the registry lock: the subscriptions stay put. */
            from = r->last_gen;
            s = (struct event_scan){&r->subs, from, NULL, 0, 0, c};
            if (r->last_gen > gen || !event_scan(db, &s))
                error = API_ERR_EVENTS_LOST;
            else if (s.n > 0)
                out = event_records(c, &s, gen, rollbacks);
            r->last_gen = gen; /* after EVENTS_LOST too: the client refetches */
        }
        pthread_mutex_unlock(&c->x->events->lock);
        db_read_unlock(db);
        free(s.items);
        if (error && strcmp(error, API_ERR_EVENTS_LOST) == 0)
            return rpc_reply_error(c->a, error, NULL);
        if (error)
            return rpc_reply_error(c->a, error, c->session, NULL);
        if (out && db_sync(db, gen, rollbacks))
            return rpc_reply_ok(out);
        if (out) { /* what was seen was undone: claim the range back */
            event_next_unclaim(c, gen, from);
            continue;
        }
        if (atomic_load(&c->x->events->stopping) || atomic_load(&client->gone))
            return rpc_reply_ok(val_array(c->a));
        /* Subscriptions added while this waits are looked at within a
         * wait slice. */
        struct db_classes classes = {0};
        pthread_mutex_lock(&c->x->events->lock);
        r = hmap_get(c->x->events->regs, c->session);
        if (r)
            event_subs_classes(&r->subs, &classes);
        pthread_mutex_unlock(&c->x->events->lock);
        if (event_wait(c->x, &classes, gen, INT64_MAX, client))
            event_sleep_ms(EVENT_NEXT_DELAY_MS);
    }
}

/* event.next waits for as long as it takes, unless its client hangs up. */
static struct rpc_reply event_next(struct xapi_call *c)
{
    struct hangup client = {.fd = c->client ? c->client->fd : -1};
    hangup_watch(c->x->events->hangups, &client);
    struct rpc_reply r = event_next_loop(c, &client);
    hangup_unwatch(c->x->events->hangups, &client);
    return r;
}

static const struct xapi_explicit event_messages[] = {
    {API_M_event_from, event_from},
    {API_M_event_get_current_id, event_get_current_id},
    {API_M_event_inject, event_inject},
    {API_M_event_next, event_next},
    {API_M_event_register, event_register},
    {API_M_event_unregister, event_unregister},
    {0, NULL},
};

static int event_start(struct xapi *x)
{
    struct events *ev = xcalloc(1, sizeof(*ev));
    pthread_mutex_init(&ev->lock, NULL);
    ev->regs = hmap_new();
    atomic_init(&ev->stopping, false);
    x->events = ev;
    ev->hangups = hangups_new(x->db);
    return ev->hangups ? 0 : -1;
}

/* Makes every blocked event.from and event.next return at once
 * (event.from with what it has, event.next with an empty list), and any
 * later one too, so that the front door's threads can end. */
static void event_quiesce(struct xapi *x)
{
    atomic_store(&x->events->stopping, true);
    db_wake_waiters(x->db);
}

static void event_free(struct xapi *x)
{
    struct events *ev = x->events;
    if (!ev)
        return;
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(ev->regs, &it, &key, &value);)
        event_reg_free(value);
    hmap_free(ev->regs);
    hangups_free(ev->hangups);
    pthread_mutex_destroy(&ev->lock);
    free(ev);
    x->events = NULL;
}

const struct xapi_module event_module = {
    .name = "event",
    .messages = event_messages,
    .start = event_start,
    .quiesce = event_quiesce,
    .free = event_free,
};
