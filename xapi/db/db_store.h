/*
 * db_store.h - the database's disk side: SQLite in WAL mode with
 * synchronous=FULL, so a commit is on disk before it returns. One row per
 * persistent object (an id the database chooses, its class, ref, and
 * fields as JSON) and a meta table (schema version, generation).
 */
#ifndef CX_DB_STORE_H
#define CX_DB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct db_store;

/* Opens (creating if needed) the store at path; NULL with *err (in a). */
struct db_store *db_store_open(struct arena *a, const char *path, const char **err);
void db_store_close(struct db_store *s);

/* Calls fn for every stored object; fn returning non-zero stops with that
 * value. Returns 0, or -1 on a read error. */
int db_store_load(struct db_store *s,
                  int (*fn)(void *ctx, int64_t id, const char *cls, const char *ref,
                            const char *json, size_t len),
                  void *ctx);
/* A meta value, or NULL (malloc'd; the caller frees). */
char *db_store_meta_get(struct db_store *s, const char *key);

/* A write transaction: begin, any number of puts, deletes and meta sets,
 * then end. Each returns 0 or -1; the last error is in db_store_error.
 * Puts, deletes and meta sets outside a transaction are durable at once. */
int db_store_begin(struct db_store *s);
/* Writes (creating or replacing) the row id. */
int db_store_put(struct db_store *s, int64_t id, const char *cls, const char *ref, const char *json,
                 size_t len);
int db_store_delete(struct db_store *s, int64_t id);
int db_store_meta_set(struct db_store *s, const char *key, const char *value);
/* Commits (durable on return) when rc, the result of the steps, is 0,
 * and rolls back otherwise or when the commit fails: returns 0 or -1. */
int db_store_end(struct db_store *s, int rc);
const char *db_store_error(struct db_store *s);

/* The generation in the meta table: false when none is stored. */
bool db_store_generation(struct db_store *s, uint64_t *gen);
int db_store_set_generation(struct db_store *s, uint64_t gen);

#endif
