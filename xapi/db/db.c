/*
 * db.c - the in-memory database, its indexes, transactions and relations;
 * committing (change-sets, group commit) is db_commit.c's, opening and
 * loading db_load.c's. See db.h.
 *
 * One writer at a time (the write lock is held from db_begin to commit or
 * abort), any number of readers otherwise; the lock prefers writers, so a
 * stream of readers cannot starve one. Every change in a transaction is
 * logged with what it replaced, so an abort, or a failed flush, puts
 * memory back exactly as it was.
 */
#include "db/db.h"
#include "db/db_internal.h"
#include "api/api_value.h"
#include "clock.h"
#include "db/db_store.h"
#include "hmap.h"
#include "list.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- indexes --- */

static const char *db_name_of(const struct db_obj *o)
{
    int f = api_classes[o->cls].name_label_field;
    return f >= 0 ? val_str(o->f[f]) : NULL;
}

static const char *db_uuid_of(const struct db_obj *o)
{
    int f = api_classes[o->cls].uuid_field;
    return f >= 0 ? val_str(o->f[f]) : NULL;
}

static void db_index_name(struct db *db, struct db_obj *o, bool add)
{
    const char *name = db_name_of(o);
    if (!name)
        return;
    struct hmap *m = db->classes[o->cls].by_name;
    struct db_namelist *l = hmap_get(m, name);
    if (add) {
        if (!l) {
            l = xcalloc(1, sizeof(*l));
            hmap_put(m, name, l);
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 2;
            l->objs = xrealloc(l->objs, l->cap * sizeof(*l->objs));
        }
        l->objs[l->n++] = o;
        return;
    }
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->objs[i] == o) {
            l->objs[i] = l->objs[--l->n];
            break;
        }
    }
    if (l->n == 0) {
        hmap_del(m, name);
        free(l->objs);
        free(l);
    }
}

static void db_index_uuid(struct db *db, struct db_obj *o, bool add)
{
    const char *uuid = db_uuid_of(o);
    if (!uuid || !*uuid)
        return;
    if (add)
        hmap_put(db->classes[o->cls].by_uuid, uuid, o);
    else if (hmap_get(db->classes[o->cls].by_uuid, uuid) == o)
        hmap_del(db->classes[o->cls].by_uuid, uuid);
}

void db_link(struct db *db, struct db_obj *o)
{
    list_push_back(&db->classes[o->cls].objs, &o->node);
    hmap_put(db->by_ref, o->ref, o);
    db_index_uuid(db, o, true);
    db_index_name(db, o, true);
}

static void db_unlink(struct db *db, struct db_obj *o)
{
    list_remove(&db->classes[o->cls].objs, &o->node);
    hmap_del(db->by_ref, o->ref);
    db_index_uuid(db, o, false);
    db_index_name(db, o, false);
}

struct val *db_value_own(int cls, int i, const struct val *v)
{
    const struct val *def = api_field_default(cls, i);
    if (v == def || val_equal(v, def))
        return (struct val *)def; /* shared, never freed: see db_value_free */
    return val_flatten(v);
}

void db_value_free(int cls, int i, struct val *v)
{
    if (v != api_field_default(cls, i))
        free(v);
}

void db_obj_free(struct db_obj *o)
{
    for (int i = 0; i < api_classes[o->cls].n_fields; i++)
        db_value_free(o->cls, i, o->f[i]);
    free(o->f);
    free(o);
}

/* --- reading --- */

/* The read locks this thread holds, on any database: what
 * db_locked_by_me asserts on. Only the thread itself reads or writes it.
 * The lock prefers writers, so a second read lock on the same database
 * would wait behind a waiting writer that waits for the first: which
 * database each is on is kept to assert that it never happens. */
#define DB_MAX_READS 4
static _Thread_local int db_reads_held;
static _Thread_local const struct db *db_reading[DB_MAX_READS];

void db_read_lock(struct db *db)
{
    for (int i = 0; i < db_reads_held; i++)
        assert(db_reading[i] != db);
    assert(db_reads_held < DB_MAX_READS);
    pthread_rwlock_rdlock(&db->lock);
    db_reading[db_reads_held++] = db;
}

void db_read_unlock(struct db *db)
{
    assert(db_reads_held > 0 && db_reading[db_reads_held - 1] == db);
    db_reads_held--;
    pthread_rwlock_unlock(&db->lock);
}

bool db_locked_by_me(struct db *db)
{
    return db_reads_held > 0 ||
           (atomic_load(&db->writing) && pthread_equal(atomic_load(&db->writer), pthread_self()));
}

void db_write_lock(struct db *db)
{
    /* A thread that already holds the lock would wait for itself. */
    assert(!db_locked_by_me(db));
    pthread_rwlock_wrlock(&db->lock);
    atomic_store(&db->writer, pthread_self());
    atomic_store(&db->writing, true);
}

void db_write_unlock(struct db *db)
{
    assert(atomic_load(&db->writing) && pthread_equal(atomic_load(&db->writer), pthread_self()));
    atomic_store(&db->writing, false);
    pthread_rwlock_unlock(&db->lock);
}

uint64_t db_generation(struct db *db)
{
    return atomic_load(&db->generation);
}

uint64_t db_rollbacks(struct db *db)
{
    return atomic_load(&db->rollbacks);
}

struct db_obj *db_get_any(struct db *db, const char *ref)
{
    return hmap_get(db->by_ref, ref);
}

struct db_obj *db_get(struct db *db, int cls, const char *ref)
{
    struct db_obj *o = hmap_get(db->by_ref, ref);
    return o && o->cls == cls ? o : NULL;
}

struct db_obj *db_get_by_uuid(struct db *db, int cls, const char *uuid)
{
    return hmap_get(db->classes[cls].by_uuid, uuid);
}

size_t db_get_by_name_label(struct db *db, int cls, const char *name, struct db_obj **out,
                            size_t max)
{
    struct db_namelist *l = hmap_get(db->classes[cls].by_name, name);
    if (!l)
        return 0;
    for (size_t i = 0; i < l->n && i < max; i++)
        out[i] = l->objs[i];
    return l->n;
}

/* The object of a node of a class list, or NULL. */
static struct db_obj *db_obj_of(struct list_node *n)
{
    return n ? LIST_ENTRY(n, struct db_obj, node) : NULL;
}

struct db_obj *db_first(struct db *db, int cls)
{
    return db_obj_of(list_first(&db->classes[cls].objs));
}

struct db_obj *db_next(struct db *db, const struct db_obj *o)
{
    return db_obj_of(list_next(&db->classes[o->cls].objs, &o->node));
}

size_t db_count(struct db *db, int cls)
{
    return list_length(&db->classes[cls].objs);
}

static struct db_obj *db_obj_of_changed(struct list_node *n)
{
    return n ? LIST_ENTRY(n, struct db_obj, changed) : NULL;
}

struct db_obj *db_changed_last(struct db *db, int cls)
{
    return db_obj_of_changed(list_last(&db->classes[cls].changed));
}

struct db_obj *db_changed_prev(struct db *db, const struct db_obj *o)
{
    return db_obj_of_changed(list_prev(&db->classes[o->cls].changed, &o->changed));
}

/* Whether o is on its class's changed list (commits put it there). */
static bool db_on_changed(const struct db_obj *o)
{
    return o->changed.prev != NULL;
}

void db_changed_now(struct db *db, struct db_obj *o)
{
    struct list *l = &db->classes[o->cls].changed;
    if (db_on_changed(o))
        list_remove(l, &o->changed);
    if (!o->dead)
        list_push_back(l, &o->changed);
}

/* Walks back from the newest deletion to the first after gen, then
 * forward: O(deletions since gen), not O(those remembered). */
bool db_deleted_since(struct db *db, uint64_t gen,
                      void (*fn)(void *ctx, int cls, const char *ref, uint64_t gen), void *ctx)
{
    if (gen < db->tomb_floor)
        return false;
    size_t n = 0;
    while (n < db->n_tombs && db->tombs[(db->tomb_head + DB_TOMBS - n - 1) % DB_TOMBS].gen > gen)
        n++;
    for (size_t i = n; i > 0; i--) {
        struct db_tomb *t = &db->tombs[(db->tomb_head + DB_TOMBS - i) % DB_TOMBS];
        fn(ctx, t->cls, t->ref, t->gen);
    }
    return true;
}

/* Whether one of the classes (any, when NULL) changed after gen. Hold
 * sync_lock. */
static bool db_changed_since(struct db *db, const struct db_classes *classes, uint64_t gen)
{
    if (!classes)
        return atomic_load(&db->generation) > gen;
    for (int w = 0; w < DB_CLASS_WORDS; w++)
        for (uint64_t bits = classes->bits[w]; bits; bits &= bits - 1)
            if (db->classes[w * 64 + __builtin_ctzll(bits)].last_gen > gen)
                return true;
    return false;
}

static bool db_classes_meet(const struct db_classes *a, const struct db_classes *b)
{
    for (int w = 0; w < DB_CLASS_WORDS; w++)
        if (a->bits[w] & b->bits[w])
            return true;
    return false;
}

void db_classes_changed(struct db *db, const struct db_classes *classes, uint64_t gen)
{
    for (int c = 0; c < api_n_classes; c++)
        if (!classes || classes->bits[c / 64] & ((uint64_t)1 << (c % 64)))
            db->classes[c].last_gen = gen;
    for (struct list_node *n = list_first(&db->waiters); n; n = list_next(&db->waiters, n)) {
        struct db_waiter *w = LIST_ENTRY(n, struct db_waiter, node);
        if (!classes || !w->classes || db_classes_meet(classes, w->classes))
            pthread_cond_signal(&w->cond);
    }
}

bool db_wait_for(struct db *db, const struct db_classes *classes, uint64_t gen, int64_t deadline_ms,
                 bool (*stop)(void *ctx), void *ctx)
{
    struct db_waiter w = {.classes = classes};
    clock_cond_init(&w.cond);
    pthread_mutex_lock(&db->sync_lock);
    list_push_back(&db->waiters, &w.node);
    bool changed;
    while (!(changed = db_changed_since(db, classes, gen)) && deadline_ms > clock_now_ms() &&
           !(stop && stop(ctx)))
        clock_cond_wait_until(&w.cond, &db->sync_lock, deadline_ms);
    list_remove(&db->waiters, &w.node);
    pthread_mutex_unlock(&db->sync_lock);
    pthread_cond_destroy(&w.cond);
    return changed;
}

void db_wake_waiters(struct db *db)
{
    pthread_mutex_lock(&db->sync_lock);
    for (struct list_node *n = list_first(&db->waiters); n; n = list_next(&db->waiters, n)) {
        pthread_cond_signal(&LIST_ENTRY(n, struct db_waiter, node)->cond);
    }
    pthread_mutex_unlock(&db->sync_lock);
}

uint64_t db_wait(struct db *db, uint64_t gen, int64_t deadline_ms)
{
    db_wait_for(db, NULL, gen, deadline_ms, NULL, NULL);
    return atomic_load(&db->generation);
}

/* --- transactions --- */

static void db_touch(struct db_txn *t, struct db_obj *o)
{
    if (o->txn_seq == t->seq)
        return;
    db_classes_add(&t->classes, o->cls);
    o->txn_seq = t->seq;
    o->txn_created = false;
    o->txn_dirty = false;
    if (t->n_touched == t->cap_touched) {
        t->cap_touched = t->cap_touched ? 2 * t->cap_touched : 16;
        t->touched = xrealloc(t->touched, t->cap_touched * sizeof(*t->touched));
    }
    t->touched[t->n_touched++] = o;
}

static void db_log(struct db_txn *t, enum db_undo_kind kind, struct db_obj *o, int field,
                   struct val *old)
{
    if (t->n_undo == t->cap_undo) {
        t->cap_undo = t->cap_undo ? 2 * t->cap_undo : 16;
        t->undo = xrealloc(t->undo, t->cap_undo * sizeof(*t->undo));
    }
    t->undo[t->n_undo++] = (struct db_undo){kind, o, field, old};
    db_touch(t, o);
}

struct db_txn *db_begin(struct db *db)
{
    atomic_fetch_add(&db->writers, 1);
    db_write_lock(db);
    db->txn.db = db;
    db->txn.seq++;
    memset(&db->txn.classes, 0, sizeof(db->txn.classes));
    db->txn.n_undo = 0;
    db->txn.n_touched = 0;
    return &db->txn;
}

void db_txn_touch(struct db_txn *t, struct db_obj *o)
{
    db_touch(t, o);
}

/* A ref field whose target lists it in a set (VBD.VM, listed in VM.VBDs). */
bool db_is_relation_ref(const struct api_field *f)
{
    return f->type->kind == API_REF && f->inverse != API_NO_FIELD;
}

/* A set field derived from the ref fields pointing at its object: never
 * stored, rebuilt at load. */
bool db_is_derived_set(const struct api_field *f)
{
    return f->type->kind == API_SET && f->inverse != API_NO_FIELD;
}

bool db_is_stored(int cls, int i)
{
    const struct api_field *f = &api_classes[cls].fields[i];
    return f->persist && !db_is_derived_set(f);
}

/* Puts flat in a field, keeping the indexes; returns the old value. */
static struct val *db_swap(struct db *db, struct db_obj *o, int field, struct val *flat)
{
    const struct api_class *c = &api_classes[o->cls];
    bool indexed = field == c->name_label_field || field == c->uuid_field;
    if (indexed) {
        db_index_name(db, o, false);
        db_index_uuid(db, o, false);
    }
    struct val *old = o->f[field];
    o->f[field] = flat;
    if (indexed) {
        db_index_name(db, o, true);
        db_index_uuid(db, o, true);
    }
    return old;
}

/* Swaps a field's value (taking ownership of flat), logged for undo. */
static void db_replace(struct db_txn *t, struct db_obj *o, int field, struct val *flat)
{
    db_log(t, UNDO_SET, o, field, db_swap(t->db, o, field, flat));
    if (db_is_stored(o->cls, field))
        o->txn_dirty = true;
}

/* Adds or removes ref in the set field of the object target refers to. */
static void db_inverse_update(struct db_txn *t, const struct api_field *f, const char *target,
                              const char *ref, bool add)
{
    struct db_obj *o = db_get(t->db, API_FIELD_CLASS(f->inverse), target);
    if (!o || o->dead)
        return;
    int set = API_FIELD_INDEX(f->inverse);
    struct arena *a = arena_new();
    bool changed;
    struct val *next = val_set_edit(a, o->f[set], val_string(a, ref), add, &changed);
    if (changed)
        db_replace(t, o, set, db_value_own(o->cls, set, next));
    arena_free(a);
}

/* For every ref field of o with an inverse: add o to, or remove o from,
 * the set on the other side. */
static void db_relations(struct db_txn *t, struct db_obj *o, bool add)
{
    const struct api_class *c = &api_classes[o->cls];
    for (int i = 0; i < c->n_fields; i++) {
        const struct api_field *f = &c->fields[i];
        if (db_is_relation_ref(f))
            db_inverse_update(t, f, val_str(o->f[i]), o->ref, add);
    }
}

struct db_obj *db_txn_create(struct db_txn *t, int cls, const struct db_values *vs, const char *ref)
{
    assert(!vs || vs->cls == cls);
    const struct val *const *values = vs ? vs->v : NULL;
    const struct api_class *c = &api_classes[cls];
    struct db_obj *o = xcalloc(1, sizeof(*o));
    o->cls = cls;
    if (ref)
        snprintf(o->ref, sizeof(o->ref), "%s", ref);
    else
        ids_ref(o->ref);
    if (c->persist)
        o->row = ++t->db->last_row; /* one undone leaves a gap: harmless */
    o->f = xcalloc((size_t)c->n_fields, sizeof(*o->f));
    for (int i = 0; i < c->n_fields; i++) {
        const struct val *v = values && values[i] ? values[i] : api_field_default(cls, i);
        if (i == c->uuid_field && !*val_str(v)) {
            char uuid[IDS_UUID_LEN + 1];
            ids_uuid(uuid);
            struct val text = {.type = VAL_STRING, .u.str = {uuid, strlen(uuid)}};
            o->f[i] = val_flatten(&text);
            continue;
        }
        o->f[i] = db_value_own(cls, i, v);
    }
    db_link(t->db, o);
    db_log(t, UNDO_CREATE, o, -1, NULL);
    o->txn_created = true;
    o->txn_dirty = true;
    db_relations(t, o, true);
    return o;
}

void db_txn_set(struct db_txn *t, struct db_obj *o, api_field_id id, const struct val *value)
{
    const struct api_field *f = api_field(id);
    assert(API_FIELD_CLASS(id) == o->cls);
    int field = API_FIELD_INDEX(id);
    bool related = db_is_relation_ref(f);
    if (related)
        db_inverse_update(t, f, val_str(o->f[field]), o->ref, false);
    db_replace(t, o, field, db_value_own(o->cls, field, value));
    if (related)
        db_inverse_update(t, f, val_str(o->f[field]), o->ref, true);
}

bool db_txn_update(struct db_txn *t, struct db_obj *o, api_field_id f, const struct val *value)
{
    if (val_equal(db_obj_field(o, f), value))
        return false;
    db_txn_set(t, o, f, value);
    return true;
}

void db_txn_destroy(struct db_txn *t, struct db_obj *o)
{
    db_relations(t, o, false);
    db_unlink(t->db, o);
    o->dead = true;
    db_log(t, UNDO_DESTROY, o, -1, NULL);
    o->txn_dirty = true;
}

void db_undo_entries(struct db *db, const struct db_undo *undo, size_t n, uint64_t stamp)
{
    for (size_t i = n; i-- > 0;) {
        const struct db_undo *u = &undo[i];
        switch (u->kind) {
        case UNDO_SET:
            db_value_free(u->o->cls, u->field, db_swap(db, u->o, u->field, u->old));
            break;
        case UNDO_CREATE:
            db_unlink(db, u->o);
            if (db_on_changed(u->o)) /* committed, then undone */
                list_remove(&db->classes[u->o->cls].changed, &u->o->changed);
            db_obj_free(u->o);
            continue; /* nothing left to stamp */
        case UNDO_DESTROY:
            u->o->dead = false;
            db_link(db, u->o);
            break;
        }
        /* An abort leaves gen_modified and the changed list as they were
         * (only commits stamp); undoing a commit is a change of its own. */
        if (stamp) {
            u->o->gen_modified = stamp;
            db_changed_now(db, u->o);
        }
    }
}

void db_undo_release(const struct db_undo *undo, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (undo[i].kind == UNDO_SET)
            db_value_free(undo[i].o->cls, undo[i].field, undo[i].old);
        else if (undo[i].kind == UNDO_DESTROY)
            db_obj_free(undo[i].o);
    }
}

void db_abort(struct db_txn *t)
{
    struct db *db = t->db;
    db_undo_entries(db, t->undo, t->n_undo, 0);
    t->n_undo = t->n_touched = 0;
    pthread_mutex_lock(&db->sync_lock); /* a flush may be waiting for it */
    atomic_fetch_sub(&db->writers, 1);
    pthread_cond_broadcast(&db->applied_cond);
    pthread_mutex_unlock(&db->sync_lock);
    db_write_unlock(db);
}
