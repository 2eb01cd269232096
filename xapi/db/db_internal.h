/*
 * db_internal.h - what the database's own files share (db.c: memory and
 * transactions; db_commit.c: change-sets, group commit and undoing a
 * failed flush; db_load.c: opening, loading, upgrading, closing); the
 * rest of xapi sees only db.h.
 */
#ifndef CX_DB_INTERNAL_H
#define CX_DB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "buf.h"
#include "db/db.h"
#include "hmap.h"
#include "list.h"

#define DB_TOMBS 65536 /* deletions remembered for event.from */
/* At a restart the generation jumps by this much: changes to objects that
 * are not written to disk (sessions, tasks) bump it without saving it,
 * and no token handed out before the restart may look current. */
#define DB_RESTART_GAP 1000000
/* The longest a flush waits for transactions in progress to join it. */
#define DB_GATHER_US 200

struct db_namelist {
    size_t n, cap;
    struct db_obj **objs;
};

struct db_class {
    struct list objs;    /* of struct db_obj, in creation order */
    struct list changed; /* the same, by gen_modified, last changed last */
    uint64_t last_gen;   /* the last commit that changed one; under sync_lock */
    struct hmap *by_uuid;
    struct hmap *by_name; /* name_label -> struct db_namelist */
};

struct db_tomb {
    int cls;
    char ref[IDS_REF_LEN + 1];
    uint64_t gen;
};

enum db_undo_kind { UNDO_CREATE, UNDO_SET, UNDO_DESTROY };

struct db_undo {
    enum db_undo_kind kind;
    struct db_obj *o;
    int field;
    struct val *old;
};

/* A committed transaction on its way to disk: its change-set, and what it
 * replaced (undo), kept until the change-set is durable (then freed) or
 * its flush failed (then put back). Owned by the committing thread, which
 * waits for its state; the thread flushing it reads it. */
struct db_pending {
    struct db_changeset set;
    struct arena *a; /* changes, their field lists and snapshots, undo */
    struct db_undo *undo;
    size_t n_undo;
    struct list_node node; /* in db.queue, then in the flusher's batch */
    int state;             /* 0 on its way, 1 durable, -1 failed; under sync_lock */
    /* Its committer waits here: woken when the state is set, or when it
     * is first in the queue and no flush runs (it flushes next). */
    pthread_cond_t wake;
    char error[200];
};

/* A thread in db_wait_for: woken by the commits that change one of its
 * classes (any, when classes is NULL). */
struct db_waiter {
    pthread_cond_t cond;
    const struct db_classes *classes;
    struct list_node node; /* in db.waiters */
};

struct db_txn {
    struct db *db;
    struct db_classes classes; /* of the objects touched */
    uint64_t seq;              /* counts transactions, for db_obj.txn_seq */
    struct db_undo *undo;
    size_t n_undo, cap_undo;
    struct db_obj **touched;
    size_t n_touched, cap_touched;
};

struct db {
    pthread_rwlock_t lock; /* writer-preferring */
    /* The thread between db_begin and its commit or abort, for the
     * assertions of db_locked_by_me. */
    _Atomic(pthread_t) writer;
    atomic_bool writing;
    /* sync_lock orders the generations: the applied one (readers see it;
     * db_wait waits on applied_cond) and the durable one (db_sync and
     * committers wait on durable_cond), the queue of change-sets not yet
     * flushed and whether a thread is flushing. Taken under the write
     * lock, never the other way round. */
    pthread_mutex_t sync_lock;
    pthread_cond_t applied_cond, durable_cond; /* durable_cond: db_sync's only */
    _Atomic uint64_t generation;               /* applied */
    uint64_t durable;
    _Atomic uint64_t rollbacks;
    struct list queue;   /* of struct db_pending, in generation order */
    struct list waiters; /* of struct db_waiter */
    bool flushing;
    /* Threads between db_begin and the end of their commit's first half
     * (or abort): a flush about to start waits a moment for them. */
    atomic_int writers;
    uint64_t flushes, flushed_sets; /* the flusher's, for the log at close */
    _Atomic uint64_t gen_stored;    /* the generation last stored; the flusher's */
    db_batch_fn batch_hook;
    void *batch_ctx;
    struct hmap *by_ref;
    struct db_class *classes;
    struct db_tomb *tombs; /* a ring */
    size_t tomb_head, n_tombs;
    uint64_t tomb_floor; /* deletions at or before this may be forgotten */
    struct db_store *store;
    int64_t last_row; /* the highest row id given out */
    struct db_txn txn;
    char schema_version[64];
};

/* db.c's, for db_commit.c and db_load.c. */
/* Adds o to its class and the indexes. */
void db_link(struct db *db, struct db_obj *o);
void db_obj_free(struct db_obj *o);
/* The value field i of an object of cls holds for v: the field's shared
 * default (api_field_default) when v equals it, which most fields of most
 * objects do, else a flattened copy of v. */
struct val *db_value_own(int cls, int i, const struct val *v);
/* Frees what db_value_own made (the shared default stays). */
void db_value_free(int cls, int i, struct val *v);
/* A ref field whose target lists it in a set (VBD.VM, listed in VM.VBDs). */
bool db_is_relation_ref(const struct api_field *f);
/* A set field derived from the ref fields pointing at its object: never
 * stored, rebuilt at load. */
bool db_is_derived_set(const struct api_field *f);
/* Whether field i of an object of cls is written to disk. */
bool db_is_stored(int cls, int i);
/* Takes and releases the write lock, keeping db_locked_by_me true. */
void db_write_lock(struct db *db);
void db_write_unlock(struct db *db);
/* Undoes an undo log, newest first. stamp, when not 0, becomes the
 * gen_modified of every object put back (an event for its restored
 * state). */
void db_undo_entries(struct db *db, const struct db_undo *undo, size_t n, uint64_t stamp);
/* Wakes the waiters for any of the classes (all, when NULL), having
 * recorded gen as their last change. Hold sync_lock. */
void db_classes_changed(struct db *db, const struct db_classes *classes, uint64_t gen);
/* Makes o the class's last changed object. */
void db_changed_now(struct db *db, struct db_obj *o);
/* Frees what an undo log kept once its transaction is durable: the
 * values it replaced and the objects it destroyed. */
void db_undo_release(const struct db_undo *undo, size_t n);

/* db_commit.c's, for db_load.c. */
/* The stored fields of an object of cls with these values, as JSON. */
void db_values_json(int cls, const struct val *const *values, struct buf *out);

#endif
