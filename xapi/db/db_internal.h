/*
 * db_internal.h - what the database's own files share (db.c: memory and
 * transactions; db_load.c: opening, loading, upgrading, closing); the
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

struct db_namelist {
    size_t n, cap;
    struct db_obj **objs;
};

struct db_class {
    struct list objs; /* of struct db_obj, in creation order */
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

struct db_txn {
    struct db *db;
    uint64_t seq; /* counts transactions, for db_obj.txn_seq */
    struct db_undo *undo;
    size_t n_undo, cap_undo;
    struct db_obj **touched;
    size_t n_touched, cap_touched;
};

struct db {
    pthread_rwlock_t lock;
    /* The thread between db_begin and its commit or abort, for the
     * assertions of db_locked_by_me. */
    _Atomic(pthread_t) writer;
    atomic_bool writing;
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;
    _Atomic uint64_t generation;
    uint64_t gen_stored; /* the generation last made durable */
    struct hmap *by_ref;
    struct db_class *classes;
    struct db_tomb *tombs; /* a ring */
    size_t tomb_head, n_tombs;
    uint64_t tomb_floor; /* deletions at or before this may be forgotten */
    struct db_store *store;
    struct db_txn txn;
    char schema_version[64];
};

/* db.c's, for db_load.c. */
/* Adds o to its class and the indexes. */
void db_link(struct db *db, struct db_obj *o);
void db_obj_free(struct db_obj *o);
/* A ref field whose target lists it in a set (VBD.VM, listed in VM.VBDs). */
bool db_is_relation_ref(const struct api_field *f);
/* A set field derived from the ref fields pointing at its object: never
 * stored, rebuilt at load. */
bool db_is_derived_set(const struct api_field *f);
/* Writes o's row, or deletes it when o was destroyed; json is scratch. */
int db_write_obj(struct db *db, const struct db_obj *o, struct buf *json);

#endif
