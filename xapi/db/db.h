/*
 * db.h - xapi's database: every object of every class, in memory, indexed
 * by reference, uuid and name label, and written durably to SQLite before
 * a change is acknowledged.
 *
 * Field values are kept in canonical form (see api_value.h), one
 * val_flatten'd block each. Changes happen in transactions: db_begin takes
 * the write lock, the db_txn_* calls change memory and keep an undo log.
 * db_commit gives the transaction the next generation, stamps the touched
 * objects with it, turns it into a change-set (the persistent fields it
 * changed, per object), queues that for the disk and releases the lock;
 * it returns once the change-set is durable. Change-sets that queue while
 * one is being written go to disk together, in one SQLite transaction and
 * one fsync (group commit), so the disk is never waited on with the lock
 * held and concurrent writers share the cost of a flush. Should a flush
 * fail, every change not yet durable is undone in memory (newest first)
 * and each of those commits fails: memory never holds what the disk lost.
 * Readers hold the read lock while they look, see every applied change
 * (durable or on its way), and never wait for the disk; a reader that
 * must only answer durable state (event.from) waits with db_sync.
 * Which classes and fields persist is the schema overlay's to say
 * (api_field.persist): runtime-only fields are never written nor in a
 * change-set, and read back as their defaults.
 *
 * Relations are kept on both sides: setting a ref field that has an
 * inverse (VBD.VM) updates the inverse set field (VM.VBDs) of the old and
 * the new target. Set sides are derived, so they are not written to disk
 * and are rebuilt on load.
 */
#ifndef CX_DB_H
#define CX_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "ids.h"
#include "list.h"
#include "value.h"

struct db;
struct db_txn;

struct db_obj {
    int cls;
    char ref[IDS_REF_LEN + 1];
    struct val **f;           /* api_classes[cls].n_fields values */
    uint64_t gen_created;     /* the generation that created it */
    uint64_t gen_modified;    /* the last generation that changed it */
    int64_t row;              /* its row on disk (persistent classes), or 0 */
    struct list_node node;    /* in its class, in creation order */
    struct list_node changed; /* in its class, by gen_modified (db.c's) */
    bool dead;                /* destroyed in the open transaction */
    /* db.c's bookkeeping, so that a transaction's cost stays linear in
     * its changes: the last transaction that touched the object, and
     * whether that one created it. */
    uint64_t txn_seq;
    bool txn_created;
    bool txn_dirty;      /* and whether it changed what is on disk */
    uint32_t txn_change; /* its entry in that transaction's change-set */
};

/* Opens (creating if needed) the database file and loads it. Returns NULL
 * with *err (in a) when the file cannot be opened or read. */
struct db *db_open(struct arena *a, const char *path, const char **err);
void db_close(struct db *db);

/* --- reading: hold the read lock (or be inside a transaction) --- */
void db_read_lock(struct db *db);
void db_read_unlock(struct db *db);
/* Whether this thread holds the read lock of any database, or db's write
 * lock: for assertions (a call must not return, nor wait on another
 * daemon, with a lock held). */
bool db_locked_by_me(struct db *db);
/* The generation of the last change applied (seen by readers). */
uint64_t db_generation(struct db *db);
/* How many failed flushes have been undone so far: read it with the lock
 * held, for db_sync. */
uint64_t db_rollbacks(struct db *db);
/* Waits (call without locks) until everything up to generation gen is
 * durable. Returns false when a failed flush was undone since rollbacks
 * was read: what was seen at gen may then never have been durable. */
bool db_sync(struct db *db, uint64_t gen, uint64_t rollbacks);
struct db_obj *db_get(struct db *db, int cls, const char *ref);
/* An object of any class. */
struct db_obj *db_get_any(struct db *db, const char *ref);
struct db_obj *db_get_by_uuid(struct db *db, int cls, const char *uuid);
/* Objects of cls whose name_label is name: fills up to max, returns how
 * many there are. */
size_t db_get_by_name_label(struct db *db, int cls, const char *name, struct db_obj **out,
                            size_t max);
/* The objects of a class in creation order:
 * for (o = db_first(db, cls); o; o = db_next(db, o)) */
struct db_obj *db_first(struct db *db, int cls);
struct db_obj *db_next(struct db *db, const struct db_obj *o);
/* Field f of o, which must be of o's class (asserted: the field id names
 * its class). The typed forms assert the field's type too: db_obj_str
 * reads strings, refs, enums and datetimes ("" rather than NULL). */
const struct val *db_obj_field(const struct db_obj *o, api_field_id f);
const char *db_obj_str(const struct db_obj *o, api_field_id f);
int64_t db_obj_int(const struct db_obj *o, api_field_id f);
bool db_obj_bool(const struct db_obj *o, api_field_id f);
double db_obj_float(const struct db_obj *o, api_field_id f);
/* The object ref field f of o points at (of the field's class), or NULL. */
struct db_obj *db_obj_follow(struct db *db, const struct db_obj *o, api_field_id f);
/* The objects a ref set field f of o lists, in its order, skipping refs
 * that name nothing: the first at or after position *i, which moves past
 * it; NULL at the end. for (size_t i = 0; (d = db_obj_next(...));) */
struct db_obj *db_obj_next(struct db *db, const struct db_obj *o, api_field_id f, size_t *i);
size_t db_count(struct db *db, int cls);
/* The objects of cls from the last changed back, so that what changed
 * after a generation costs in proportion to itself:
 * for (o = db_changed_last(db, cls); o && o->gen_modified > gen;
 *      o = db_changed_prev(db, o)) */
struct db_obj *db_changed_last(struct db *db, int cls);
struct db_obj *db_changed_prev(struct db *db, const struct db_obj *o);
/* Deleted objects since a generation, for event.from: calls fn for each
 * (class, ref, generation) deleted after gen, in order. Returns false if
 * the history no longer reaches back to gen (events were lost). */
bool db_deleted_since(struct db *db, uint64_t gen,
                      void (*fn)(void *ctx, int cls, const char *ref, uint64_t gen), void *ctx);

/* A set of classes. */
#define DB_CLASS_WORDS ((API_N_CLASSES + 63) / 64)
struct db_classes {
    uint64_t bits[DB_CLASS_WORDS];
};
static inline void db_classes_add(struct db_classes *s, int cls)
{
    s->bits[cls / 64] |= (uint64_t)1 << (cls % 64);
}

/* Waits until the generation exceeds gen or the deadline (CLOCK_MONOTONIC
 * milliseconds) passes; returns the generation. Call without locks. */
uint64_t db_wait(struct db *db, uint64_t gen, int64_t deadline_ms);
void db_wake_waiters(struct db *db);
/* Waits until a commit after gen changes (creates, modifies, touches or
 * destroys) an object of one of the classes (any, when NULL), or the
 * deadline passes, or stop (if not NULL) says so; returns whether a
 * commit did. A commit wakes only the waiters it concerns. For what
 * else a waiter waits for (a client gone, xapi stopping), set what stop
 * reads, then call db_wake_waiters: stop is asked under the lock that
 * call takes, so no wake-up is lost. */
bool db_wait_for(struct db *db, const struct db_classes *classes, uint64_t gen, int64_t deadline_ms,
                 bool (*stop)(void *ctx), void *ctx);

/* --- writing --- */

/* The field values of a new object: v[i] for the i-th field of cls, NULL
 * for its default. */
struct db_values {
    int cls;
    const struct val **v;
};
/* Every value NULL, in a. */
struct db_values db_values_new(struct arena *a, int cls);
/* Sets field f (of the values' class: asserted). */
void db_values_set(struct db_values *vs, api_field_id f, const struct val *value);

struct db_txn *db_begin(struct db *db);
/* Creates an object of cls with the given values (canonical; NULL, or NULL
 * entries, take the fields' defaults). uuid comes from values or is
 * generated. A fresh ref unless ref is given. */
struct db_obj *db_txn_create(struct db_txn *t, int cls, const struct db_values *vs,
                             const char *ref);
/* Sets field f of o (an event for o even if the value is the same). */
void db_txn_set(struct db_txn *t, struct db_obj *o, api_field_id f, const struct val *value);
/* Sets field f of o when the value differs; whether it did. */
bool db_txn_update(struct db_txn *t, struct db_obj *o, api_field_id f, const struct val *value);
void db_txn_destroy(struct db_txn *t, struct db_obj *o);
/* Marks o changed without a field change (an event for it). */
void db_txn_touch(struct db_txn *t, struct db_obj *o);
/* Commits: releases the write lock, and returns 0 once the change is
 * durable, or -1 with *err (valid until this thread's next commit) when
 * the flush that carried it failed: then nothing of the transaction
 * remains, nor of any transaction after it that was not yet durable. */
int db_commit(struct db_txn *t, const char **err);
/* Undoes the transaction and releases the write lock. */
void db_abort(struct db_txn *t);

/* --- change-sets --- */

enum db_change_kind { DB_CHANGE_CREATE, DB_CHANGE_UPDATE, DB_CHANGE_DELETE };

/* What one transaction did to one object of a persistent class. Only
 * changes to persistent fields make one. */
struct db_change {
    int cls;
    char ref[IDS_REF_LEN + 1];
    int64_t row; /* the object's row in this host's file */
    enum db_change_kind kind;
    /* CREATE and UPDATE: every field's value as the transaction left the
     * object (indexed by field), and the persistent fields it set (every
     * one for a CREATE). */
    const struct val *const *values;
    const int *fields;
    size_t n_fields;
    /* CREATE and UPDATE: the object's persistent fields as JSON, as its
     * row on disk holds them. */
    const char *json;
    size_t json_len;
};

struct db_changeset {
    uint64_t gen; /* the transaction's generation */
    const struct db_change *changes;
    size_t n;
};

/* Called by the thread that flushes a batch, with its change-sets in
 * generation order, after they are written to SQLite and before the
 * SQLite commit: the place for the pool's replication to ride on the same
 * batch. Non-zero (with *err) fails the batch as a disk failure would.
 * Set it before the first commit. */
typedef int (*db_batch_fn)(void *ctx, const struct db_changeset *const *sets, size_t n,
                           const char **err);
void db_set_batch_hook(struct db *db, db_batch_fn fn, void *ctx);

#endif
