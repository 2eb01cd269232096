/*
 * db_store.c - SQLite underneath the database; see db_store.h.
 *
 * WAL with synchronous=FULL: a commit is fsynced into the log before it
 * returns, so an acknowledged write survives kill -9 and power loss.
 * Readers of the database read memory (db.c), never SQLite, so the
 * connection takes the file for itself (locking_mode=EXCLUSIVE): no
 * file locks and no shared-memory index per transaction, and a second
 * process opening the same file (another xapi on one state dir, or
 * sqlite3 while xapi runs) is refused "database is locked" instead of
 * racing it. Statements are prepared once.
 *
 * Rows are keyed by an integer id that the database keeps in memory with
 * each object, with no index on the ref: a new object appends to the
 * table's last page and a change rewrites the one page its row is on,
 * where a table keyed by the (random) ref also rewrote a random index
 * page per row, more than doubling the bytes each commit wrote and
 * fsynced. Files of the earlier layout (ref as the key) are converted
 * when opened.
 */
#include "db/db_store.h"
#include "mem.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_store {
    sqlite3 *sql;
    sqlite3_stmt *put, *del, *meta_set, *meta_get, *begin, *commit, *rollback;
    char error[256];
};

static int db_store_fail(struct db_store *s, const char *what)
{
    snprintf(s->error, sizeof(s->error), "%s: %s", what, sqlite3_errmsg(s->sql));
    return -1;
}

static int db_store_exec(struct db_store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->sql, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(s->error, sizeof(s->error), "%s", msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int db_store_prepare(struct db_store *s, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v2(s->sql, sql, -1, st, NULL) != SQLITE_OK)
        return db_store_fail(s, "prepare");
    return 0;
}

/* Converts a table of the earlier layout (keyed by ref, no id column),
 * keeping the rows' order, in one transaction. */
static int db_store_convert(struct db_store *s)
{
    sqlite3_stmt *st;
    if (db_store_prepare(s, &st, "SELECT 1 FROM pragma_table_info('objects') WHERE name = 'id'") <
        0)
        return -1;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return db_store_fail(s, "table info");
    if (db_store_exec(s, "BEGIN IMMEDIATE;"
                         "CREATE TABLE objects_new (id INTEGER PRIMARY KEY,"
                         " class TEXT NOT NULL, ref TEXT NOT NULL, data TEXT NOT NULL);"
                         "INSERT INTO objects_new (class, ref, data)"
                         " SELECT class, ref, data FROM objects ORDER BY rowid;"
                         "DROP TABLE objects;"
                         "ALTER TABLE objects_new RENAME TO objects;"
                         "COMMIT;") < 0) {
        sqlite3_exec(s->sql, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

struct db_store *db_store_open(struct arena *a, const char *path, const char **err)
{
    struct db_store *s = xcalloc(1, sizeof(*s));
    if (sqlite3_open_v2(path, &s->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        *err = arena_printf(a, "cannot open %s: %s", path, sqlite3_errmsg(s->sql));
        db_store_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->sql, 5000);
    if (db_store_exec(s, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;"
                         "PRAGMA synchronous=FULL;"
                         "CREATE TABLE IF NOT EXISTS objects (id INTEGER PRIMARY KEY,"
                         " class TEXT NOT NULL, ref TEXT NOT NULL, data TEXT NOT NULL);"
                         "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY,"
                         " value TEXT NOT NULL);") < 0 ||
        db_store_convert(s) < 0 ||
        db_store_prepare(
            s, &s->put,
            "INSERT OR REPLACE INTO objects (id, class, ref, data) VALUES (?, ?, ?, ?)") ||
        db_store_prepare(s, &s->del, "DELETE FROM objects WHERE id = ?") ||
        db_store_prepare(s, &s->meta_set,
                         "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)") ||
        db_store_prepare(s, &s->meta_get, "SELECT value FROM meta WHERE key = ?") ||
        db_store_prepare(s, &s->begin, "BEGIN IMMEDIATE") ||
        db_store_prepare(s, &s->commit, "COMMIT") ||
        db_store_prepare(s, &s->rollback, "ROLLBACK")) {
        *err = arena_printf(a, "cannot set up %s: %s", path, s->error);
        db_store_close(s);
        return NULL;
    }
    return s;
}

void db_store_close(struct db_store *s)
{
    if (!s)
        return;
    sqlite3_stmt *all[] = {s->put,   s->del,    s->meta_set, s->meta_get,
                           s->begin, s->commit, s->rollback};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(s->sql);
    free(s);
}

int db_store_load(struct db_store *s,
                  int (*fn)(void *ctx, int64_t id, const char *cls, const char *ref,
                            const char *json, size_t len),
                  void *ctx)
{
    sqlite3_stmt *st;
    if (db_store_prepare(s, &st, "SELECT id, class, ref, data FROM objects ORDER BY id") < 0)
        return -1;
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        stop = fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                  (const char *)sqlite3_column_text(st, 2),
                  (const char *)sqlite3_column_text(st, 3), (size_t)sqlite3_column_bytes(st, 3));
    }
    if (!stop && rc != SQLITE_DONE) {
        db_store_fail(s, "load");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return stop;
}

char *db_store_meta_get(struct db_store *s, const char *key)
{
    char *value = NULL;
    sqlite3_bind_text(s->meta_get, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(s->meta_get) == SQLITE_ROW)
        value = xstrdup((const char *)sqlite3_column_text(s->meta_get, 0));
    sqlite3_reset(s->meta_get);
    return value;
}

static int db_store_step(struct db_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_store_fail(s, what);
}

int db_store_begin(struct db_store *s)
{
    return db_store_step(s, s->begin, "begin");
}

int db_store_put(struct db_store *s, int64_t id, const char *cls, const char *ref, const char *json,
                 size_t len)
{
    sqlite3_bind_int64(s->put, 1, id);
    sqlite3_bind_text(s->put, 2, cls, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 3, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 4, json, (int)len, SQLITE_STATIC);
    return db_store_step(s, s->put, "write");
}

int db_store_delete(struct db_store *s, int64_t id)
{
    sqlite3_bind_int64(s->del, 1, id);
    return db_store_step(s, s->del, "delete");
}

int db_store_meta_set(struct db_store *s, const char *key, const char *value)
{
    sqlite3_bind_text(s->meta_set, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->meta_set, 2, value, -1, SQLITE_STATIC);
    return db_store_step(s, s->meta_set, "meta");
}

int db_store_end(struct db_store *s, int rc)
{
    if (rc == 0 && db_store_step(s, s->commit, "commit") == 0)
        return 0;
    sqlite3_step(s->rollback);
    sqlite3_reset(s->rollback);
    return -1;
}

bool db_store_generation(struct db_store *s, uint64_t *gen)
{
    char *text = db_store_meta_get(s, "generation");
    if (text)
        *gen = strtoull(text, NULL, 10);
    free(text);
    return text != NULL;
}

int db_store_set_generation(struct db_store *s, uint64_t gen)
{
    char text[32];
    snprintf(text, sizeof(text), "%" PRIu64, gen);
    return db_store_meta_set(s, "generation", text);
}

const char *db_store_error(struct db_store *s)
{
    return s->error;
}
