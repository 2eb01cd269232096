/*
 * db_load.c - a database from its file and back: opening (the SQLite
 * store, the generation after a restart), loading every row, rebuilding
 * the sets relations derive, upgrading rows an older schema wrote, and
 * closing. See db.h.
 */
#include "db/db.h"
#include "db/db_internal.h"
#include "api/api_value.h"
#include "clock.h"
#include "db/db_store.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- opening and loading --- */

/* A signature of the schema's persistent shape: a database written under
 * another one is upgraded (missing fields get defaults, dropped and
 * runtime-only fields go) and rewritten at load. */
static void db_schema_version(char *out, size_t len)
{
    uint32_t h = 2166136261u;
    for (int c = 0; c < api_n_classes; c++) {
        for (int i = 0; i < api_classes[c].n_fields; i++) {
            const struct api_field *f = &api_classes[c].fields[i];
            for (const char *p = f->name; *p; p++)
                h = (h ^ (unsigned char)*p) * 16777619u;
            for (const char *p = f->type->text; *p; p++)
                h = (h ^ (unsigned char)*p) * 16777619u;
            h = (h ^ (f->persist ? 'p' : 'r')) * 16777619u;
        }
    }
    snprintf(out, len, "%s-%08x", api_release, h);
}

static int db_load_row(void *ctx, int64_t id, const char *cls_name, const char *ref,
                       const char *json, size_t len)
{
    struct db *db = ctx;
    if (id > db->last_row) /* rows skipped below too: new ones never reuse theirs */
        db->last_row = id;
    int cls = api_class_find(cls_name);
    if (cls < 0 || !api_classes[cls].persist) {
        log_warn(NULL, "database: dropping %s %s: no such class in this schema", cls_name, ref);
        return 0;
    }
    struct arena *a = arena_new();
    struct val *rec;
    const char *err = "not a JSON object";
    if (json_parse(a, json, len, &rec, &err) < 0 || rec->type != VAL_STRUCT) {
        log_error(NULL, "database: %s %s is unreadable, skipped: %s", cls_name, ref, err);
        arena_free(a);
        return 0;
    }
    const struct api_class *c = &api_classes[cls];
    struct db_obj *o = xcalloc(1, sizeof(*o));
    o->cls = cls;
    snprintf(o->ref, sizeof(o->ref), "%s", ref);
    o->f = xcalloc((size_t)c->n_fields, sizeof(*o->f));
    const struct val **given = arena_alloc(a, (size_t)c->n_fields * sizeof(*given));
    api_struct_fields(cls, rec, given);
    for (int i = 0; i < c->n_fields; i++) {
        const struct api_field *f = &c->fields[i];
        if (db_is_derived_set(f))
            continue; /* left NULL for db_rebuild_relations */
        /* A runtime-only field starts at its default whatever an older
         * schema stored. */
        const struct val *stored = f->persist ? given[i] : NULL;
        struct val *v = NULL;
        if (stored && api_value_in(a, f->type, stored, &v, &err) < 0) {
            log_warn(NULL, "database: %s %s field %s: %s; using the default", cls_name, ref,
                     f->name, err);
            v = NULL;
        }
        o->f[i] = v ? db_value_own(cls, i, v) : (struct val *)api_field_default(cls, i);
    }
    arena_free(a);
    o->gen_created = o->gen_modified = atomic_load(&db->generation);
    o->row = id;
    db_link(db, o);
    db_changed_now(db, o);
    return 0;
}

/* Appends o to every derived set its relation refs point at, building the
 * sets in the load arena. */
static void db_gather_members(struct db *db, struct arena *a, struct db_obj *o)
{
    const struct api_class *c = &api_classes[o->cls];
    for (int i = 0; i < c->n_fields; i++) {
        const struct api_field *f = &c->fields[i];
        struct db_obj *target = db_is_relation_ref(f)
                                    ? db_get(db, API_FIELD_CLASS(f->inverse), val_str(o->f[i]))
                                    : NULL;
        if (!target)
            continue;
        struct val **set = &target->f[API_FIELD_INDEX(f->inverse)];
        if (!*set)
            *set = val_array(a);
        val_array_push(a, *set, val_string(a, o->ref));
    }
}

/* Fills every derived set field (which db_load_row left NULL) from the ref
 * fields pointing at it, members in creation order. Loading is not a
 * change, so no transaction: each set is gathered whole and flattened
 * once, which keeps a restart linear however large one set is. */
static void db_rebuild_relations(struct db *db)
{
    struct arena *a = arena_new();
    for (int c = 0; c < api_n_classes; c++)
        for (struct db_obj *o = db_first(db, c); o; o = db_next(db, o))
            db_gather_members(db, a, o);
    for (int c = 0; c < api_n_classes; c++) {
        for (int i = 0; i < api_classes[c].n_fields; i++) {
            if (!db_is_derived_set(&api_classes[c].fields[i]))
                continue;
            for (struct db_obj *o = db_first(db, c); o; o = db_next(db, o))
                o->f[i] = o->f[i] ? val_flatten(o->f[i]) : (struct val *)api_field_default(c, i);
        }
    }
    arena_free(a);
}

static int db_rewrite_all(struct db *db)
{
    if (db_store_begin(db->store) < 0)
        return -1;
    struct buf json = BUF_INIT;
    int rc = 0;
    for (int c = 0; c < api_n_classes && rc == 0; c++) {
        if (!api_classes[c].persist)
            continue;
        for (struct db_obj *o = db_first(db, c); o && rc == 0; o = db_next(db, o)) {
            buf_reset(&json);
            db_values_json(c, (const struct val *const *)o->f, &json);
            rc = db_store_put(db->store, o->row, api_classes[c].name, o->ref, json.data, json.len);
        }
    }
    buf_free(&json);
    if (rc == 0)
        rc = db_store_meta_set(db->store, "schema_version", db->schema_version);
    return db_store_end(db->store, rc);
}

/* Frees everything without touching the disk: also for a failed open. */
static void db_free(struct db *db)
{
    for (int c = 0; db->classes && c < api_n_classes; c++) {
        struct db_obj *o = db_first(db, c);
        while (o) {
            struct db_obj *next = db_next(db, o);
            db_obj_free(o);
            o = next;
        }
        const char *k;
        void *v;
        for (size_t it = 0; hmap_next(db->classes[c].by_name, &it, &k, &v);) {
            free(((struct db_namelist *)v)->objs);
            free(v);
        }
        hmap_free(db->classes[c].by_name);
        hmap_free(db->classes[c].by_uuid);
    }
    free(db->classes);
    hmap_free(db->by_ref);
    free(db->tombs);
    free(db->txn.undo);
    free(db->txn.touched);
    db_store_close(db->store);
    pthread_rwlock_destroy(&db->lock);
    pthread_mutex_destroy(&db->sync_lock);
    pthread_cond_destroy(&db->applied_cond);
    pthread_cond_destroy(&db->durable_cond);
    free(db);
}

struct db *db_open(struct arena *a, const char *path, const char **err)
{
    struct db *db = xcalloc(1, sizeof(*db));
    /* Writers first: a steady stream of readers must not keep a writer
     * (and every commit queued behind it) waiting. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&db->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&db->sync_lock, NULL);
    clock_cond_init(&db->applied_cond);
    clock_cond_init(&db->durable_cond);
    list_init(&db->queue);
    db->by_ref = hmap_new();
    db->classes = xcalloc((size_t)api_n_classes, sizeof(*db->classes));
    list_init(&db->waiters);
    for (int i = 0; i < api_n_classes; i++) {
        list_init(&db->classes[i].objs);
        list_init(&db->classes[i].changed);
        db->classes[i].by_uuid = hmap_new();
        db->classes[i].by_name = hmap_new();
    }
    db->tombs = xcalloc(DB_TOMBS, sizeof(*db->tombs));
    db_schema_version(db->schema_version, sizeof(db->schema_version));
    db->store = db_store_open(a, path, err);
    if (!db->store) {
        db_free(db);
        return NULL;
    }
    char *version = db_store_meta_get(db->store, "schema_version");
    uint64_t gen = 0;
    if (db_store_generation(db->store, &gen))
        gen += DB_RESTART_GAP;
    atomic_store(&db->generation, gen);
    db->durable = db->tomb_floor = gen;
    atomic_store(&db->gen_stored, gen);
    int rc = db_store_set_generation(db->store, gen);
    if (rc == 0)
        rc = db_store_load(db->store, db_load_row, db);
    if (rc == 0) {
        db_rebuild_relations(db);
        if (!version || strcmp(version, db->schema_version) != 0) {
            if (version)
                log_info(NULL, "database: upgrading from schema %s to %s", version,
                         db->schema_version);
            rc = db_rewrite_all(db);
        }
    }
    free(version);
    if (rc < 0) {
        *err = arena_printf(a, "cannot load %s: %s", path, db_store_error(db->store));
        db_free(db);
        return NULL;
    }
    return db;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    /* A clean shutdown leaves the exact generation for the next start. */
    assert(list_empty(&db->queue) && !db->flushing); /* every commit has returned */
    if (db->flushes)
        log_info(NULL, "database: %llu change-sets written in %llu flushes",
                 (unsigned long long)db->flushed_sets, (unsigned long long)db->flushes);
    uint64_t gen = atomic_load(&db->generation);
    if (gen != atomic_load(&db->gen_stored) && db_store_set_generation(db->store, gen) < 0)
        log_warn(NULL, "database: cannot store the generation: %s", db_store_error(db->store));
    db_free(db);
}
