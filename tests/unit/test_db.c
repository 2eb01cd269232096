/*
 * test_db.c - the database through its own interface, on a real SQLite
 * file: indexes, relations kept on both sides, abort, reload, upgrade of
 * an older schema's rows, deletions for event.from, and waiting; and the
 * sizes (a large set at load, a large transaction) where cost once grew
 * with the square.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/resource.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "buf.h"
#include "db/db.h"

struct fixture {
    char dir[64];
    char path[128];
    struct db *db;
};

static struct db *reopen(struct fixture *fx)
{
    if (fx->db)
        db_close(fx->db);
    struct arena *a = arena_new();
    const char *err;
    fx->db = db_open(a, fx->path, &err);
    if (!fx->db)
        fail_msg("db_open: %s", err);
    arena_free(a);
    return fx->db;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    strcpy(fx->dir, "/tmp/cx-db-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/xapi.db", fx->dir);
    reopen(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    db_close(fx->db);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static struct db_obj *make_vm(struct fixture *fx, const char *name)
{
    struct arena *a = arena_new();
    struct db_values v = db_values_new(a, API_C_VM);
    db_values_set(&v, API_F_VM_name_label, val_string(a, name));
    db_values_set(&v, API_F_VM_memory_static_max, val_int(a, 1 << 30));
    struct db_txn *t = db_begin(fx->db);
    struct db_obj *o = db_txn_create(t, API_C_VM, &v, NULL);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    arena_free(a);
    return o;
}

static struct db_obj *make_vbd(struct fixture *fx, const char *vm_ref)
{
    struct arena *a = arena_new();
    struct db_values v = db_values_new(a, API_C_VBD);
    db_values_set(&v, API_F_VBD_VM, val_string(a, vm_ref));
    struct db_txn *t = db_begin(fx->db);
    struct db_obj *o = db_txn_create(t, API_C_VBD, &v, NULL);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    arena_free(a);
    return o;
}

static bool set_has(const struct val *set, const char *ref)
{
    for (size_t i = 0; i < set->u.arr.n; i++)
        if (strcmp(val_str(set->u.arr.items[i]), ref) == 0)
            return true;
    return false;
}

static void test_db_create_index_reload(void **state)
{
    struct fixture *fx = *state;
    uint64_t g0 = db_generation(fx->db);
    struct db_obj *o = make_vm(fx, "web");
    assert_true(db_generation(fx->db) > g0);
    char ref[IDS_REF_LEN + 1], uuid[IDS_UUID_LEN + 1];
    strcpy(ref, o->ref);
    strcpy(uuid, val_str(db_obj_field(o, API_F_VM_uuid)));
    assert_true(ids_is_uuid(uuid));
    assert_ptr_equal(db_get(fx->db, API_C_VM, ref), o);
    assert_null(db_get(fx->db, API_C_VBD, ref));
    assert_ptr_equal(db_get_by_uuid(fx->db, API_C_VM, uuid), o);
    struct db_obj *found[4];
    assert_int_equal(db_get_by_name_label(fx->db, API_C_VM, "web", found, 4), 1);
    assert_ptr_equal(found[0], o);
    /* defaults from the schema */
    assert_string_equal(db_obj_str(o, API_F_VM_power_state), "Halted");

    reopen(fx);
    o = db_get(fx->db, API_C_VM, ref);
    assert_non_null(o);
    assert_string_equal(val_str(db_obj_field(o, API_F_VM_name_label)), "web");
    assert_int_equal(db_obj_field(o, API_F_VM_memory_static_max)->u.i, 1 << 30);
    assert_ptr_equal(db_get_by_uuid(fx->db, API_C_VM, uuid), o);
    assert_int_equal(db_count(fx->db, API_C_VM), 1);
}

static void test_db_relations_both_sides(void **state)
{
    struct fixture *fx = *state;
    struct db_obj *vm1 = make_vm(fx, "a"), *vm2 = make_vm(fx, "b");
    struct db_obj *vbd = make_vbd(fx, vm1->ref);
    assert_true(set_has(db_obj_field(vm1, API_F_VM_VBDs), vbd->ref));
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(fx->db);
    db_txn_set(t, vbd, API_F_VBD_VM, val_string(a, vm2->ref));
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    assert_false(set_has(db_obj_field(vm1, API_F_VM_VBDs), vbd->ref));
    assert_true(set_has(db_obj_field(vm2, API_F_VM_VBDs), vbd->ref));
    assert_int_equal(vm2->gen_modified, vbd->gen_modified); /* the VM gets an event too */

    char vm2_ref[IDS_REF_LEN + 1], vbd_ref[IDS_REF_LEN + 1];
    strcpy(vm2_ref, vm2->ref);
    strcpy(vbd_ref, vbd->ref);
    reopen(fx); /* the set side is rebuilt from the refs */
    vm2 = db_get(fx->db, API_C_VM, vm2_ref);
    assert_true(set_has(db_obj_field(vm2, API_F_VM_VBDs), vbd_ref));

    t = db_begin(fx->db);
    db_txn_destroy(t, db_get(fx->db, API_C_VBD, vbd_ref));
    assert_int_equal(db_commit(t, &err), 0);
    assert_int_equal(db_obj_field(vm2, API_F_VM_VBDs)->u.arr.n, 0);
    assert_null(db_get_any(fx->db, vbd_ref));
    arena_free(a);
}

static void test_db_abort_restores(void **state)
{
    struct fixture *fx = *state;
    struct db_obj *vm = make_vm(fx, "keep");
    size_t before = db_count(fx->db, API_C_VBD);
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(fx->db);
    db_txn_set(t, vm, API_F_VM_name_label, val_string(a, "renamed"));
    struct db_values v = db_values_new(a, API_C_VBD);
    db_values_set(&v, API_F_VBD_VM, val_string(a, vm->ref));
    db_txn_create(t, API_C_VBD, &v, NULL);
    db_txn_destroy(t, vm);
    db_abort(t);
    vm = db_get(fx->db, API_C_VM, vm->ref);
    assert_non_null(vm);
    assert_string_equal(val_str(db_obj_field(vm, API_F_VM_name_label)), "keep");
    assert_int_equal(db_obj_field(vm, API_F_VM_VBDs)->u.arr.n, 0);
    assert_int_equal(db_count(fx->db, API_C_VBD), before);
    struct db_obj *found[2];
    assert_int_equal(db_get_by_name_label(fx->db, API_C_VM, "keep", found, 2), 1);
    assert_int_equal(db_get_by_name_label(fx->db, API_C_VM, "renamed", found, 2), 0);
    arena_free(a);
}

static void record_deletion(void *ctx, int cls, const char *ref, uint64_t gen)
{
    strcpy(ctx, ref);
}

static void test_db_deletions_and_sessions(void **state)
{
    struct fixture *fx = *state;
    struct db_obj *vm = make_vm(fx, "gone");
    char ref[IDS_REF_LEN + 1];
    strcpy(ref, vm->ref);
    uint64_t g = db_generation(fx->db);
    struct db_txn *t = db_begin(fx->db);
    db_txn_destroy(t, vm);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    char seen[IDS_REF_LEN + 1] = "";
    assert_true(db_deleted_since(fx->db, g, record_deletion, seen));
    assert_string_equal(seen, ref);

    /* sessions live in memory only */
    t = db_begin(fx->db);
    struct db_obj *s = db_txn_create(t, API_C_session, NULL, NULL);
    strcpy(ref, s->ref);
    assert_int_equal(db_commit(t, &err), 0);
    uint64_t before = db_generation(fx->db);
    reopen(fx);
    assert_null(db_get_any(fx->db, ref));
    /* after a restart no earlier token looks current, and old deletions are gone */
    assert_true(db_generation(fx->db) > before);
    assert_false(db_deleted_since(fx->db, before, record_deletion, seen));
}

/* Runs SQL on the closed database file, as an older version or a damaged
 * disk would have left it. */
static void sql_exec(struct fixture *fx, const char *q)
{
    if (fx->db)
        db_close(fx->db);
    fx->db = NULL;
    sqlite3 *sql;
    assert_int_equal(sqlite3_open(fx->path, &sql), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(sql, q, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", q, msg);
    sqlite3_close(sql);
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* The set side of a relation is rebuilt once per set at load: rebuilding
 * it a member at a time kept every intermediate copy (1.2 GB for 4000
 * VIFs on one VM). */
static void test_db_load_large_set(void **state)
{
    enum { N = 5000 };
    struct fixture *fx = *state;
    char vm_ref[IDS_REF_LEN + 1];
    strcpy(vm_ref, make_vm(fx, "parent")->ref);
    static char refs[N][IDS_REF_LEN + 1];
    struct buf q = BUF_INIT;
    buf_puts(&q, "BEGIN;");
    for (int i = 0; i < N; i++) {
        ids_ref(refs[i]);
        buf_printf(
            &q, "INSERT INTO objects (ref, class, data) VALUES ('%s', 'VBD', '{\"VM\":\"%s\"}');",
            refs[i], vm_ref);
    }
    buf_puts(&q, "COMMIT;");
    sql_exec(fx, q.data);
    buf_free(&q);

    long before = peak_rss_kb();
    reopen(fx);
    long grown_mb = (peak_rss_kb() - before) / 1024;
    assert_true(grown_mb < 400); /* ~70 MB under ASan; 1.6 GB before */
    const struct val *set = db_obj_field(db_get(fx->db, API_C_VM, vm_ref), API_F_VM_VBDs);
    assert_int_equal(set->u.arr.n, N);
    for (int i = 0; i < N; i++)
        assert_string_equal(val_str(set->u.arr.items[i]), refs[i]); /* creation order */
}

/* Under the write lock, a transaction's bookkeeping is O(1) per change:
 * this many objects made and unmade in one go would take minutes if each
 * change scanned the ones before it. secret: persistent, and with no name
 * or relation whose own costs would blur what is measured. */
static void test_db_large_transaction(void **state)
{
    enum { N = 200000 };
    struct fixture *fx = *state;
    int secret = API_C_secret;
    struct db_obj **objs = calloc(N, sizeof(*objs));
    struct db_txn *t = db_begin(fx->db);
    for (int i = 0; i < N; i++)
        objs[i] = db_txn_create(t, secret, NULL, NULL);
    assert_int_equal(db_count(fx->db, secret), N);
    for (int i = 0; i < N; i++)
        db_txn_destroy(t, objs[i]);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    free(objs);
    assert_int_equal(db_count(fx->db, secret), 0);
    reopen(fx);
    assert_int_equal(db_count(fx->db, secret), 0);
}

static void test_db_skips_non_object_row(void **state)
{
    struct fixture *fx = *state;
    make_vm(fx, "fine");
    sql_exec(fx, "INSERT INTO objects (ref, class, data) VALUES ('OpaqueRef:bad', 'VM', '[]');");
    reopen(fx);
    assert_int_equal(db_count(fx->db, API_C_VM), 1);
    assert_null(db_get_any(fx->db, "OpaqueRef:bad"));
}

/* Changes to in-memory objects bump the generation without a disk write;
 * more of them than the restart gap must still not let an old token look
 * current after a restart. */
static void test_db_generation_survives_memory_only_commits(void **state)
{
    struct fixture *fx = *state;
    make_vm(fx, "persisted");
    struct db_txn *t = db_begin(fx->db);
    struct db_obj *s = db_txn_create(t, API_C_session, NULL, NULL);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    for (int i = 0; i < 1100000; i++) {
        t = db_begin(fx->db);
        db_txn_touch(t, s);
        assert_int_equal(db_commit(t, &err), 0);
    }
    uint64_t seen = db_generation(fx->db);
    /* A copy of the files now is what kill -9 would leave behind. */
    char cmd[512], crashed[160];
    snprintf(cmd, sizeof(cmd),
             "cd %s && cp xapi.db crashed.db && { [ ! -e xapi.db-wal ] || cp xapi.db-wal "
             "crashed.db-wal; }",
             fx->dir);
    assert_int_equal(system(cmd), 0);
    reopen(fx);
    assert_true(db_generation(fx->db) > seen);

    snprintf(crashed, sizeof(crashed), "%s/crashed.db", fx->dir);
    const char *open_err;
    struct arena *a = arena_new();
    struct db *after_crash = db_open(a, crashed, &open_err);
    arena_free(a);
    assert_non_null(after_crash);
    assert_true(db_generation(after_crash) > seen);
    db_close(after_crash);
}

/* The open database holds its file: a second opener (another xapi on
 * the same state dir) is refused once SQLite's busy timeout (5 s)
 * passes, instead of writing beside the first. */
static void test_db_second_open_refused(void **state)
{
    struct fixture *fx = *state;
    make_vm(fx, "held");
    struct arena *a = arena_new();
    const char *err = NULL;
    struct db *second = db_open(a, fx->path, &err);
    assert_null(second);
    assert_non_null(err);
    assert_non_null(strstr(err, "locked"));
    arena_free(a);
    reopen(fx); /* and once the first has closed, the file opens again */
    assert_non_null(fx->db);
}

/* Runtime-only fields (the overlay's persist false, such as a VM's
 * current_operations) are never written: what kill -9 leaves (a copy of
 * the files) has the persistent change of the same transaction, durable,
 * and the runtime-only one at its default. A transaction that changes
 * only runtime-only fields writes nothing. */
static void test_db_runtime_only_fields_not_written(void **state)
{
    struct fixture *fx = *state;
    struct db_obj *o = make_vm(fx, "before");
    char ref[IDS_REF_LEN + 1];
    strcpy(ref, o->ref);
    assert_false(api_field(API_F_VM_current_operations)->persist);
    assert_true(api_field(API_F_VM_name_label)->persist);
    struct arena *a = arena_new();
    struct val *ops = val_struct(a);
    val_struct_add(a, ops, "OpaqueRef:op", val_string(a, "start"));
    struct db_txn *t = db_begin(fx->db);
    db_txn_set(t, o, API_F_VM_name_label, val_string(a, "durable"));
    db_txn_set(t, o, API_F_VM_current_operations, ops);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    char cmd[512], crashed[160];
    const char *open_err;
    snprintf(cmd, sizeof(cmd),
             "cd %s && cp xapi.db crashed.db && { [ ! -e xapi.db-wal ] || cp xapi.db-wal "
             "crashed.db-wal; }",
             fx->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(crashed, sizeof(crashed), "%s/crashed.db", fx->dir);
    struct db *after_crash = db_open(a, crashed, &open_err);
    assert_non_null(after_crash);
    const struct db_obj *c = db_get(after_crash, API_C_VM, ref);
    assert_non_null(c);
    assert_string_equal(db_obj_str(c, API_F_VM_name_label), "durable");
    assert_int_equal(db_obj_field(c, API_F_VM_current_operations)->u.st.n, 0);
    db_close(after_crash);
    /* Only runtime-only fields: the row on disk is not even rewritten (a
     * write would fail the commit). */
    sql_exec(fx, "CREATE TRIGGER no_write BEFORE INSERT ON objects "
                 "BEGIN SELECT RAISE(ABORT, 'written'); END;");
    reopen(fx);
    o = db_get(fx->db, API_C_VM, ref);
    t = db_begin(fx->db);
    db_txn_set(t, o, API_F_VM_current_operations, ops);
    assert_int_equal(db_commit(t, &err), 0);
    t = db_begin(fx->db);
    db_txn_set(t, o, API_F_VM_name_label, val_string(a, "refused"));
    assert_int_equal(db_commit(t, &err), -1);
    /* the failed flush is undone in memory too */
    assert_string_equal(db_obj_str(db_get(fx->db, API_C_VM, ref), API_F_VM_name_label), "durable");
    sql_exec(fx, "DROP TRIGGER no_write;");
    reopen(fx);
    assert_string_equal(db_obj_str(db_get(fx->db, API_C_VM, ref), API_F_VM_name_label), "durable");
    arena_free(a);
}

static void test_db_upgrades_old_rows(void **state)
{
    struct fixture *fx = *state;
    struct db_obj *vm = make_vm(fx, "old");
    char ref[IDS_REF_LEN + 1];
    strcpy(ref, vm->ref);
    char q[512];
    snprintf(q, sizeof(q),
             "UPDATE objects SET data = '{\"name_label\":\"old\",\"retired_field\":1,"
             "\"memory_static_max\":\"not a number\"}' WHERE ref = '%s';"
             "UPDATE meta SET value = 'older' WHERE key = 'schema_version';",
             ref);
    sql_exec(fx, q);
    reopen(fx);
    vm = db_get(fx->db, API_C_VM, ref);
    assert_non_null(vm);
    assert_string_equal(val_str(db_obj_field(vm, API_F_VM_name_label)), "old");
    assert_int_equal(db_obj_field(vm, API_F_VM_memory_static_max)->type,
                     VAL_INT);                                           /* bad value: default */
    assert_string_equal(db_obj_str(vm, API_F_VM_power_state), "Halted"); /* missing: default */
    db_close(fx->db);
    fx->db = NULL;
    sqlite3 *sql;
    assert_int_equal(sqlite3_open(fx->path, &sql), SQLITE_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(sql, "SELECT value FROM meta WHERE key='schema_version'", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_not_equal((const char *)sqlite3_column_text(st, 0), "older");
    sqlite3_finalize(st);
    sqlite3_close(sql);
    reopen(fx);
}

/* A file of the earlier layout (rows keyed by ref, no id) is converted
 * when opened: every row kept, in creation order, and new objects get
 * rows of their own. */
static void test_db_converts_ref_keyed_file(void **state)
{
    struct fixture *fx = *state;
    char first[IDS_REF_LEN + 1], second[IDS_REF_LEN + 1];
    strcpy(first, make_vm(fx, "first")->ref);
    strcpy(second, make_vm(fx, "second")->ref);
    sql_exec(fx, "CREATE TABLE old (ref TEXT PRIMARY KEY, class TEXT NOT NULL,"
                 " data TEXT NOT NULL);"
                 "INSERT INTO old SELECT ref, class, data FROM objects ORDER BY id;"
                 "DROP TABLE objects; ALTER TABLE old RENAME TO objects;");
    reopen(fx);
    assert_int_equal(db_count(fx->db, API_C_VM), 2);
    assert_ptr_equal(db_first(fx->db, API_C_VM), db_get(fx->db, API_C_VM, first));
    assert_ptr_equal(db_next(fx->db, db_first(fx->db, API_C_VM)), db_get(fx->db, API_C_VM, second));
    char third[IDS_REF_LEN + 1];
    strcpy(third, make_vm(fx, "third")->ref);
    struct db_txn *t = db_begin(fx->db);
    db_txn_destroy(t, db_get(fx->db, API_C_VM, first));
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    reopen(fx);
    assert_int_equal(db_count(fx->db, API_C_VM), 2);
    assert_null(db_get(fx->db, API_C_VM, first));
    assert_non_null(db_get(fx->db, API_C_VM, second));
    assert_non_null(db_get(fx->db, API_C_VM, third));
}

static void *writer(void *arg)
{
    struct fixture *fx = arg;
    usleep(100000);
    make_vm(fx, "later");
    return NULL;
}

static void test_db_wait_wakes(void **state)
{
    struct fixture *fx = *state;
    uint64_t g = db_generation(fx->db);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_int_equal(db_wait(fx->db, g, now + 50), g); /* times out */
    pthread_t th;
    pthread_create(&th, NULL, writer, fx);
    assert_true(db_wait(fx->db, g, now + 30000) > g);
    pthread_join(th, NULL);
}

/* Each class lists its objects by last change: walking back from the
 * last stops at the first not changed since, whatever the class's size;
 * an aborted destroy leaves the list as it was. */
static void test_db_changed_index(void **state)
{
    struct fixture *fx = *state;
    struct db_obj *a = make_vm(fx, "a"), *b = make_vm(fx, "b");
    uint64_t g = db_generation(fx->db);
    struct db_obj *c = make_vm(fx, "c");
    struct arena *ar = arena_new();
    struct db_txn *t = db_begin(fx->db);
    db_txn_set(t, a, API_F_VM_name_label, val_string(ar, "a2"));
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    t = db_begin(fx->db);
    db_txn_destroy(t, b);
    db_abort(t);
    const struct db_obj *seen[4];
    size_t n = 0;
    for (struct db_obj *o = db_changed_last(fx->db, API_C_VM); o && o->gen_modified > g;
         o = db_changed_prev(fx->db, o))
        seen[n++] = o;
    assert_int_equal(n, 2);
    assert_ptr_equal(seen[0], a);
    assert_ptr_equal(seen[1], c);
    assert_ptr_equal(db_changed_prev(fx->db, c), b);
    arena_free(ar);
}

/* A waiter for some classes is not answered by commits to others: it
 * waits out its deadline while only sessions change, and a VM change
 * ends its wait. */
static void *session_writer(void *arg)
{
    struct fixture *fx = arg;
    for (int i = 0; i < 20; i++) {
        struct db_txn *t = db_begin(fx->db);
        db_txn_create(t, API_C_session, NULL, NULL);
        const char *err;
        db_commit(t, &err);
        usleep(5000);
    }
    return NULL;
}

static void test_db_wait_for_classes(void **state)
{
    struct fixture *fx = *state;
    struct db_classes vms = {0};
    db_classes_add(&vms, API_C_VM);
    uint64_t g = db_generation(fx->db);
    pthread_t th;
    pthread_create(&th, NULL, session_writer, fx);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t start = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_false(db_wait_for(fx->db, &vms, g, start + 150, NULL, NULL));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t end = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_true(end - start >= 150); /* the session commits did not end it */
    pthread_join(th, NULL);
    assert_true(db_generation(fx->db) > g);
    g = db_generation(fx->db);
    pthread_create(&th, NULL, writer, fx); /* a VM, 100 ms from now */
    assert_true(db_wait_for(fx->db, &vms, g, end + 30000, NULL, NULL));
    pthread_join(th, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_db_create_index_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_relations_both_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_abort_restores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_deletions_and_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_runtime_only_fields_not_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_upgrades_old_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_converts_ref_keyed_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_wait_wakes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_changed_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_wait_for_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_load_large_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_large_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_skips_non_object_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_second_open_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_db_generation_survives_memory_only_commits, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
