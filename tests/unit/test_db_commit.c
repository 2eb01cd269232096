/*
 * test_db_commit.c - committing, through the database's own interface on
 * a real SQLite file: what a change-set holds (only persistent fields,
 * derived sets and runtime-only classes left out), group commit (writers
 * that queue behind a flush share the next one), and a failed flush
 * undoing every transaction not yet durable, including those that built
 * on it, in memory as on disk.
 *
 * The batch hook (db_set_batch_hook, where the pool's replication will
 * ride) is how the tests see the batches, and how they hold one open
 * while others queue behind it, or fail one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "db/db.h"

#define MAX_SEEN 64

/* A change-set as the hook saw it, copied out. */
struct seen_set {
    uint64_t gen;
    size_t n;
    int cls[8];
    enum db_change_kind kind[8];
    char ref[8][IDS_REF_LEN + 1];
    char fields[8][512]; /* the field names set, space separated */
};

struct fixture {
    char dir[64];
    char path[128];
    struct db *db;
    pthread_mutex_t lock;
    struct seen_set seen[MAX_SEEN];
    size_t n_seen;    /* change-sets seen */
    size_t batches;   /* hook calls */
    size_t last_n;    /* change-sets in the last batch */
    int hold_batch;   /* this batch (1-based) waits until... */
    uint64_t hold_to; /* ...the applied generation reaches this */
    int fail_batch;   /* this batch (1-based) is refused */
    atomic_bool holding;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_set(struct seen_set *out, const struct db_changeset *cs)
{
    out->gen = cs->gen;
    out->n = cs->n;
    for (size_t i = 0; i < cs->n && i < 8; i++) {
        const struct db_change *c = &cs->changes[i];
        out->cls[i] = c->cls;
        out->kind[i] = c->kind;
        strcpy(out->ref[i], c->ref);
        out->fields[i][0] = '\0';
        for (size_t j = 0; j < c->n_fields; j++) {
            strcat(out->fields[i], " ");
            strcat(out->fields[i], api_classes[c->cls].fields[c->fields[j]].name);
        }
    }
}

/* The batch hook: records, and holds or refuses the batch it is told to. */
static int hook(void *ctx, const struct db_changeset *const *sets, size_t n, const char **err)
{
    struct fixture *fx = ctx;
    pthread_mutex_lock(&fx->lock);
    int batch = (int)++fx->batches;
    fx->last_n = n;
    for (size_t i = 0; i < n && fx->n_seen < MAX_SEEN; i++)
        copy_set(&fx->seen[fx->n_seen++], sets[i]);
    pthread_mutex_unlock(&fx->lock);
    if (batch == fx->hold_batch) {
        atomic_store(&fx->holding, true);
        int64_t deadline = now_ms() + 10000;
        while (db_generation(fx->db) < fx->hold_to && now_ms() < deadline)
            usleep(1000);
    }
    if (batch == fx->fail_batch) {
        *err = "refused by the test";
        return -1;
    }
    return 0;
}

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
    db_set_batch_hook(fx->db, hook, fx);
    return fx->db;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    strcpy(fx->dir, "/tmp/cx-dbc-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/xapi.db", fx->dir);
    pthread_mutex_init(&fx->lock, NULL);
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
    pthread_mutex_destroy(&fx->lock);
    free(fx);
    return 0;
}

/* Creates a VM named name; the commit's result. ref receives its ref. */
static int create_vm(struct fixture *fx, const char *name, char *ref)
{
    struct arena *a = arena_new();
    struct db_values v = db_values_new(a, API_C_VM);
    db_values_set(&v, API_F_VM_name_label, val_string(a, name));
    struct db_txn *t = db_begin(fx->db);
    struct db_obj *o = db_txn_create(t, API_C_VM, &v, NULL);
    if (ref)
        strcpy(ref, o->ref);
    const char *err;
    int rc = db_commit(t, &err);
    arena_free(a);
    return rc;
}

static struct db_obj *vm_named(struct fixture *fx, const char *name)
{
    struct db_obj *o = NULL;
    db_get_by_name_label(fx->db, API_C_VM, name, &o, 1);
    return o;
}

/* A change-set lists persistent fields only: a create all of them (not
 * the derived VBDs, not the runtime-only current_operations), an update
 * those it set; the other side of a relation is derived, so creating a
 * VBD changes nothing stored of its VM; runtime-only changes and classes
 * make no change-set at all. */
static void test_changeset_contents(void **state)
{
    struct fixture *fx = *state;
    char vm[IDS_REF_LEN + 1];
    assert_int_equal(create_vm(fx, "web", vm), 0);
    assert_int_equal(fx->n_seen, 1);
    struct seen_set *s = &fx->seen[0];
    assert_int_equal(s->gen, db_generation(fx->db));
    assert_int_equal(s->n, 1);
    assert_int_equal(s->cls[0], API_C_VM);
    assert_int_equal(s->kind[0], DB_CHANGE_CREATE);
    assert_string_equal(s->ref[0], vm);
    assert_non_null(strstr(s->fields[0], " name_label"));
    assert_non_null(strstr(s->fields[0], " uuid"));
    assert_null(strstr(s->fields[0], " current_operations"));
    assert_null(strstr(s->fields[0], " VBDs"));

    struct arena *a = arena_new();
    struct val *ops = val_struct(a);
    val_struct_add(a, ops, "OpaqueRef:op", val_string(a, "start"));
    const char *err;
    struct db_txn *t = db_begin(fx->db);
    struct db_obj *o = db_get(fx->db, API_C_VM, vm);
    db_txn_set(t, o, API_F_VM_name_label, val_string(a, "web2"));
    db_txn_set(t, o, API_F_VM_name_label, val_string(a, "web3"));
    db_txn_set(t, o, API_F_VM_current_operations, ops);
    assert_int_equal(db_commit(t, &err), 0);
    assert_int_equal(fx->n_seen, 2);
    assert_int_equal(fx->seen[1].kind[0], DB_CHANGE_UPDATE);
    assert_string_equal(fx->seen[1].fields[0], " name_label");

    size_t batches = fx->batches;
    t = db_begin(fx->db);
    db_txn_set(t, db_get(fx->db, API_C_VM, vm), API_F_VM_current_operations, val_struct(a));
    assert_int_equal(db_commit(t, &err), 0);
    t = db_begin(fx->db);
    db_txn_create(t, API_C_session, NULL, NULL);
    assert_int_equal(db_commit(t, &err), 0);
    assert_int_equal(fx->batches, batches);

    struct db_values v = db_values_new(a, API_C_VBD);
    db_values_set(&v, API_F_VBD_VM, val_string(a, vm));
    t = db_begin(fx->db);
    db_txn_create(t, API_C_VBD, &v, NULL);
    assert_int_equal(db_commit(t, &err), 0);
    assert_int_equal(fx->n_seen, 3);
    assert_int_equal(fx->seen[2].n, 1);
    assert_int_equal(fx->seen[2].cls[0], API_C_VBD);

    t = db_begin(fx->db);
    db_txn_destroy(t, db_get(fx->db, API_C_VM, vm));
    assert_int_equal(db_commit(t, &err), 0);
    assert_int_equal(fx->seen[3].kind[0], DB_CHANGE_DELETE);
    assert_string_equal(fx->seen[3].ref[0], vm);
    arena_free(a);
}

struct writer {
    struct fixture *fx;
    char name[32];
    int rc;
    pthread_t th;
};

static void *write_vm(void *arg)
{
    struct writer *w = arg;
    w->rc = create_vm(w->fx, w->name, NULL);
    return NULL;
}

static void start_writer(struct writer *w, struct fixture *fx, const char *name)
{
    w->fx = fx;
    snprintf(w->name, sizeof(w->name), "%s", name);
    pthread_create(&w->th, NULL, write_vm, w);
}

/* Starts a writer, waits until its batch is being flushed (held by the
 * hook), then starts more: they queue behind it. */
static void held_flush_with_followers(struct fixture *fx, struct writer *w, int n)
{
    fx->hold_batch = (int)fx->batches + 1;
    fx->hold_to = db_generation(fx->db) + (uint64_t)n;
    atomic_store(&fx->holding, false);
    start_writer(&w[0], fx, "first");
    int64_t deadline = now_ms() + 10000;
    while (!atomic_load(&fx->holding) && now_ms() < deadline)
        usleep(1000);
    assert_true(atomic_load(&fx->holding));
    for (int i = 1; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "follower%d", i);
        start_writer(&w[i], fx, name);
    }
    for (int i = 0; i < n; i++)
        pthread_join(w[i].th, NULL);
}

/* Writers that commit while a flush is running are flushed together in
 * the next batch (one SQLite transaction), and every one is durable. */
static void test_group_commit(void **state)
{
    struct fixture *fx = *state;
    struct writer w[4];
    held_flush_with_followers(fx, w, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w[i].rc, 0);
    assert_int_equal(fx->batches, 2);
    assert_int_equal(fx->last_n, 3); /* the three followers, together */
    reopen(fx);
    assert_int_equal(db_count(fx->db, API_C_VM), 4);
}

/* A failed flush fails its commit and every one queued behind it, and
 * undoes them all: memory is what the disk holds, and the database goes
 * on taking writes. */
static void test_failed_flush_undoes_queued(void **state)
{
    struct fixture *fx = *state;
    char keep[IDS_REF_LEN + 1];
    assert_int_equal(create_vm(fx, "keep", keep), 0);
    uint64_t before = db_generation(fx->db), rollbacks = db_rollbacks(fx->db);
    size_t vms = db_count(fx->db, API_C_VM);
    fx->fail_batch = (int)fx->batches + 1;
    struct writer w[3];
    held_flush_with_followers(fx, w, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(w[i].rc, -1);
    assert_int_equal(db_count(fx->db, API_C_VM), vms);
    assert_null(vm_named(fx, "first"));
    assert_null(vm_named(fx, "follower1"));
    assert_int_equal(db_rollbacks(fx->db), rollbacks + 1);
    assert_false(db_sync(fx->db, before, rollbacks));
    assert_true(db_sync(fx->db, db_generation(fx->db), db_rollbacks(fx->db)));

    /* a transaction that builds on a failing one goes with it: a rename
     * of it, and the deletion of a durable object, which comes back */
    fx->fail_batch = (int)fx->batches + 1;
    fx->hold_batch = fx->fail_batch;
    fx->hold_to = db_generation(fx->db) + 2;
    atomic_store(&fx->holding, false);
    start_writer(&w[0], fx, "doomed");
    int64_t deadline = now_ms() + 10000;
    while (!atomic_load(&fx->holding) && now_ms() < deadline)
        usleep(1000);
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(fx->db);
    struct db_obj *doomed = vm_named(fx, "doomed");
    assert_non_null(doomed); /* applied, not yet durable: readers see it */
    db_txn_set(t, doomed, API_F_VM_name_label, val_string(a, "renamed"));
    db_txn_destroy(t, db_get(fx->db, API_C_VM, keep));
    const char *err;
    assert_int_equal(db_commit(t, &err), -1);
    assert_non_null(strstr(err, "refused by the test"));
    pthread_join(w[0].th, NULL);
    assert_int_equal(w[0].rc, -1);
    struct db_obj *back = db_get(fx->db, API_C_VM, keep);
    assert_non_null(back);
    assert_string_equal(db_obj_str(back, API_F_VM_name_label), "keep");
    assert_true(back->gen_modified > before); /* an event for its return */
    assert_null(vm_named(fx, "doomed"));
    assert_null(vm_named(fx, "renamed"));

    assert_int_equal(create_vm(fx, "after", NULL), 0);
    reopen(fx);
    assert_non_null(vm_named(fx, "keep"));
    assert_non_null(vm_named(fx, "after"));
    assert_null(vm_named(fx, "doomed"));
    assert_int_equal(db_count(fx->db, API_C_VM), vms + 1);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_changeset_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_flush_undoes_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
