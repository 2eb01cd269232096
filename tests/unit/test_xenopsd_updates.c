/*
 * test_xenopsd_updates.c - the update stream and the task table: updates
 * are coalesced per object and ordered by their latest change, a poll
 * blocks until something changes or its timeout passes, stale tokens get
 * everything, and memory stays bounded; tasks move pending -> completed
 * or failed, with their updates, and only finished ones can be destroyed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "lifecycle.h"
#include "tasks.h"
#include "updates.h"

static const char *entry_id(const struct val *reply, size_t i)
{
    const struct val *list = val_struct_get(reply, "updates");
    return val_str(val_struct_get(list->u.arr.items[i], "id"));
}

static size_t entries(const struct val *reply)
{
    return val_struct_get(reply, "updates")->u.arr.n;
}

static int64_t last_of(const struct val *reply)
{
    return val_struct_get(reply, "last")->u.i;
}

static void test_coalesced_and_ordered(void **state)
{
    struct xo_updates *u = xo_updates_new(100);
    struct arena *a = arena_new();
    xo_updates_post(u, "VM", "a");
    xo_updates_post(u, "VM", "b");
    xo_updates_post(u, "VM", "a");
    xo_updates_post(u, "VBD", "a"); /* another kind: another object */
    struct val *r = xo_updates_get(u, 0, 0, a);
    assert_int_equal(entries(r), 3);
    assert_string_equal(entry_id(r, 0), "b");
    assert_string_equal(entry_id(r, 1), "a");
    assert_string_equal(
        val_str(val_struct_get(val_struct_get(r, "updates")->u.arr.items[2], "kind")), "VBD");
    /* From the token on, only what changed after it. */
    int64_t last = last_of(r);
    xo_updates_post(u, "VM", "b");
    r = xo_updates_get(u, last, 0, a);
    assert_int_equal(entries(r), 1);
    assert_string_equal(entry_id(r, 0), "b");
    assert_true(last_of(r) > last);
    /* Nothing new: an empty answer with the same token. */
    r = xo_updates_get(u, last_of(r), 0, a);
    assert_int_equal(entries(r), 0);
    arena_free(a);
    xo_updates_free(u);
}

static void test_poll_times_out(void **state)
{
    struct xo_updates *u = xo_updates_new(100);
    struct arena *a = arena_new();
    xo_updates_post(u, "VM", "a");
    int64_t last = last_of(xo_updates_get(u, 0, 0, a));
    int64_t t0 = clock_now_ms();
    struct val *r = xo_updates_get(u, last, 200, a);
    int64_t took = clock_now_ms() - t0;
    assert_int_equal(entries(r), 0);
    assert_true(took >= 200 && took < 2000);
    arena_free(a);
    xo_updates_free(u);
}

static void *post_later(void *arg)
{
    usleep(100 * 1000);
    xo_updates_post(arg, "VM", "late");
    return NULL;
}

static void test_poll_wakes_on_post(void **state)
{
    struct xo_updates *u = xo_updates_new(100);
    struct arena *a = arena_new();
    int64_t last = last_of(xo_updates_get(u, 0, 0, a));
    pthread_t th;
    pthread_create(&th, NULL, post_later, u);
    int64_t t0 = clock_now_ms();
    struct val *r = xo_updates_get(u, last, 10000, a);
    assert_true(clock_now_ms() - t0 < 5000);
    pthread_join(th, NULL);
    assert_int_equal(entries(r), 1);
    assert_string_equal(entry_id(r, 0), "late");
    arena_free(a);
    xo_updates_free(u);
}

static void test_stale_tokens_get_everything(void **state)
{
    struct xo_updates *u = xo_updates_new(100);
    struct arena *a = arena_new();
    xo_updates_post(u, "VM", "a");
    xo_updates_post(u, "VM", "b");
    int64_t last = last_of(xo_updates_get(u, 0, 0, a));
    /* A token from the future (an earlier run with a later clock). */
    assert_int_equal(entries(xo_updates_get(u, last + 1000, 0, a)), 2);
    /* A token from before this run started. */
    assert_int_equal(entries(xo_updates_get(u, 5, 0, a)), 2);
    arena_free(a);
    xo_updates_free(u);
}

static void test_bounded(void **state)
{
    struct xo_updates *u = xo_updates_new(10);
    struct arena *a = arena_new();
    int64_t start = last_of(xo_updates_get(u, 0, 0, a));
    char id[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof(id), "vm%d", i);
        xo_updates_post(u, "VM", id);
    }
    struct val *r = xo_updates_get(u, 0, 0, a);
    assert_int_equal(entries(r), 10);
    assert_string_equal(entry_id(r, 9), "vm999");
    /* A token from before the evicted entries cannot be told what it
     * missed precisely: it gets all that is kept. */
    assert_int_equal(entries(xo_updates_get(u, start, 0, a)), 10);
    arena_free(a);
    xo_updates_free(u);
}

static void test_stop_wakes_pollers(void **state)
{
    struct xo_updates *u = xo_updates_new(10);
    struct arena *a = arena_new();
    xo_updates_stop(u);
    int64_t t0 = clock_now_ms();
    xo_updates_get(u, last_of(xo_updates_get(u, 0, 0, a)), 10000, a);
    assert_true(clock_now_ms() - t0 < 1000);
    arena_free(a);
    xo_updates_free(u);
}

static const char *stat_state(struct xo_tasks *t, const char *id, struct arena *a)
{
    struct val *st = xo_task_stat(t, id, a);
    return st ? val_str(val_struct_get(st, "state")) : NULL;
}

static void test_task_lifecycle(void **state)
{
    struct xo_updates *u = xo_updates_new(100);
    struct xo_tasks *t = xo_tasks_new(u, 100);
    struct arena *a = arena_new();
    struct xo_task *k = xo_task_new(t);
    char id[64];
    strcpy(id, xo_task_id(k));
    assert_string_equal(stat_state(t, id, a), "pending");
    int64_t last = last_of(xo_updates_get(u, 0, 0, a));
    xo_task_progress(t, k, 0.5);
    struct val *r = xo_updates_get(u, last, 0, a);
    assert_int_equal(entries(r), 1);
    assert_string_equal(entry_id(r, 0), id);
    struct val *err = NULL;
    /* Pending: cannot be destroyed; can be found and cancelled. */
    assert_int_equal(xo_task_destroy(t, id, a, &err), -1);
    assert_string_equal(val_str(err->u.arr.items[0]), "OPERATION_NOT_ALLOWED");
    bool exists;
    assert_ptr_equal(xo_task_find_pending(t, id, &exists), k);
    assert_false(xo_task_cancelled(k));
    xo_task_request_cancel(k);
    assert_true(xo_task_cancelled(k));
    xo_fail(a, &err, "TASK_CANCELLED", id, NULL);
    xo_task_fail(t, k, err);
    struct val *st = xo_task_stat(t, id, a);
    assert_string_equal(val_str(val_struct_get(st, "state")), "failed");
    assert_true(val_equal(val_struct_get(st, "error"), err));
    assert_null(xo_task_find_pending(t, id, &exists));
    assert_true(exists);
    assert_int_equal(xo_task_destroy(t, id, a, &err), 0);
    assert_null(stat_state(t, id, a));
    assert_int_equal(xo_task_destroy(t, id, a, &err), -1);
    assert_string_equal(val_str(err->u.arr.items[0]), "HANDLE_INVALID");
    assert_null(xo_task_find_pending(t, id, &exists));
    assert_false(exists);
    arena_free(a);
    xo_tasks_free(t);
    xo_updates_free(u);
}

static void test_finished_tasks_are_bounded(void **state)
{
    struct xo_updates *u = xo_updates_new(100);
    struct xo_tasks *t = xo_tasks_new(u, 3);
    struct arena *a = arena_new();
    char ids[5][64];
    for (int i = 0; i < 5; i++) {
        struct xo_task *k = xo_task_new(t);
        strcpy(ids[i], xo_task_id(k));
        xo_task_complete(t, k, val_int(a, i));
    }
    struct xo_task *pending = xo_task_new(t);
    assert_null(stat_state(t, ids[0], a));
    assert_null(stat_state(t, ids[1], a));
    struct val *st = xo_task_stat(t, ids[4], a);
    assert_string_equal(val_str(val_struct_get(st, "state")), "completed");
    assert_int_equal(val_struct_get(st, "result")->u.i, 4);
    /* Pending tasks do not count and are never dropped. */
    assert_string_equal(stat_state(t, xo_task_id(pending), a), "pending");
    xo_task_complete(t, pending, NULL);
    assert_null(stat_state(t, ids[2], a));
    arena_free(a);
    xo_tasks_free(t);
    xo_updates_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesced_and_ordered),
        cmocka_unit_test(test_poll_times_out),
        cmocka_unit_test(test_poll_wakes_on_post),
        cmocka_unit_test(test_stale_tokens_get_everything),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_stop_wakes_pollers),
        cmocka_unit_test(test_task_lifecycle),
        cmocka_unit_test(test_finished_tasks_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
