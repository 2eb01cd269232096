/*
 * test_xenopsd_sim.c - the simulator backend on its own (no guests, no
 * xenstore): memory accounting against the host, domid allocation,
 * pause, shutdown waits, and suspend images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "lifecycle.h"
#include "sim.h"

#define MiB (1024LL * 1024)

static struct xo_domain_spec spec_of(const char *vm, int64_t memory)
{
    struct xo_domain_spec s = {.vm_id = vm,
                               .name = "test",
                               .memory_static_max = memory,
                               .memory_target = memory,
                               .vcpus_max = 2,
                               .vcpus = 1};
    return s;
}

static int create(struct xo_backend *b, const char *vm, int64_t memory, struct arena *a,
                  struct val **err)
{
    struct xo_domain_spec s = spec_of(vm, memory);
    int domid = -1;
    *err = NULL;
    if (b->ops->domain_create(b->impl, &s, &domid, a, err) < 0)
        return -1;
    return domid;
}

static int64_t free_memory(struct xo_backend *b)
{
    struct xo_host_stat hs;
    b->ops->host_stat(b->impl, &hs);
    return hs.memory_free;
}

static void test_memory_accounting(void **state)
{
    struct sim *s = sim_new(1024 * MiB, 4);
    struct xo_backend b = sim_backend(s);
    struct arena *a = arena_new();
    struct val *err;
    assert_int_equal(free_memory(&b), 1024 * MiB);
    int d1 = create(&b, "vm1", 512 * MiB, a, &err);
    int d2 = create(&b, "vm2", 256 * MiB, a, &err);
    assert_true(d1 > 0 && d2 > 0);
    assert_int_equal(free_memory(&b), 256 * MiB);
    /* One byte too many: the error names what was needed and what is free. */
    assert_int_equal(create(&b, "vm3", 256 * MiB + 1, a, &err), -1);
    assert_string_equal(val_str(err->u.arr.items[0]), "HOST_NOT_ENOUGH_FREE_MEMORY");
    char want[32];
    snprintf(want, sizeof(want), "%lld", 256 * MiB + 1);
    assert_string_equal(val_str(err->u.arr.items[1]), want);
    snprintf(want, sizeof(want), "%lld", 256 * MiB);
    assert_string_equal(val_str(err->u.arr.items[2]), want);
    assert_int_equal(free_memory(&b), 256 * MiB);
    /* Exactly what is left fits. */
    int d3 = create(&b, "vm3", 256 * MiB, a, &err);
    assert_true(d3 > 0);
    assert_int_equal(free_memory(&b), 0);
    b.ops->domain_destroy(b.impl, d1);
    assert_int_equal(free_memory(&b), 512 * MiB);
    b.ops->domain_destroy(b.impl, d1); /* twice: a no-op */
    assert_int_equal(free_memory(&b), 512 * MiB);
    b.ops->domain_destroy(b.impl, d2);
    b.ops->domain_destroy(b.impl, d3);
    assert_int_equal(free_memory(&b), 1024 * MiB);
    arena_free(a);
    sim_free(s);
}

static void test_domids_count_up_and_are_not_reused_while_alive(void **state)
{
    struct sim *s = sim_new(1LL << 40, 4);
    struct xo_backend b = sim_backend(s);
    struct arena *a = arena_new();
    struct val *err;
    assert_int_equal(create(&b, "a", MiB, a, &err), 1);
    assert_int_equal(create(&b, "b", MiB, a, &err), 2);
    assert_int_equal(create(&b, "c", MiB, a, &err), 3);
    b.ops->domain_destroy(b.impl, 2);
    /* Upward, not into the hole: ids are not recycled at once. */
    assert_int_equal(create(&b, "d", MiB, a, &err), 4);
    /* Fill every id; the next must wrap around and find the free one. */
    for (int i = 5; i < XO_DOMID_LIMIT; i++)
        assert_int_equal(create(&b, "x", MiB, a, &err), i);
    assert_int_equal(create(&b, "y", MiB, a, &err), 2);
    assert_int_equal(create(&b, "z", MiB, a, &err), -1);
    assert_string_equal(val_str(err->u.arr.items[0]), "INTERNAL_ERROR");
    /* The failed create took no memory. */
    assert_int_equal(free_memory(&b), (1LL << 40) - (int64_t)(XO_DOMID_LIMIT - 1) * MiB);
    arena_free(a);
    sim_free(s);
}

static void test_adopt_keeps_domid(void **state)
{
    struct sim *s = sim_new(1024 * MiB, 4);
    struct xo_backend b = sim_backend(s);
    struct arena *a = arena_new();
    struct val *err = NULL;
    struct xo_domain_spec sp = spec_of("vm", 100 * MiB);
    assert_int_equal(b.ops->domain_adopt(b.impl, &sp, 7, true, a, &err), 0);
    assert_int_equal(free_memory(&b), 924 * MiB);
    struct xo_domain_stat st;
    assert_int_equal(b.ops->domain_stat(b.impl, 7, &st), 0);
    assert_true(st.paused);
    /* The id is taken, and new ones start above it. */
    assert_int_equal(b.ops->domain_adopt(b.impl, &sp, 7, false, a, &err), -1);
    assert_int_equal(create(&b, "n", MiB, a, &err), 8);
    assert_int_equal(b.ops->domain_unpause(b.impl, 7, a, &err), 0);
    assert_int_equal(b.ops->domain_stat(b.impl, 7, &st), 0);
    assert_false(st.paused);
    assert_int_equal(st.memory_actual, 100 * MiB);
    assert_int_equal(b.ops->domain_stat(b.impl, 9, &st), -1);
    arena_free(a);
    sim_free(s);
}

struct waiter {
    struct xo_backend *b;
    int domid;
    enum xo_shutdown_reason got;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    atomic_bool never = false;
    w->got = w->b->ops->domain_wait_shutdown(w->b->impl, w->domid, clock_now_ms() + 10000, &never);
    return NULL;
}

static int unsolicited_domid;

static void on_unsolicited(void *ctx, int domid)
{
    unsolicited_domid = domid;
}

static void test_shutdown_waits(void **state)
{
    struct sim *s = sim_new(1024 * MiB, 4);
    sim_set_unsolicited(s, on_unsolicited, NULL);
    struct xo_backend b = sim_backend(s);
    struct arena *a = arena_new();
    struct val *err;
    int d = create(&b, "vm", MiB, a, &err);
    atomic_bool never = false, cancelled = true;
    /* Nobody answers: the wait ends at its deadline. */
    int64_t t0 = clock_now_ms();
    assert_int_equal(b.ops->domain_wait_shutdown(b.impl, d, t0 + 100, &never), XO_SR_NONE);
    assert_true(clock_now_ms() - t0 >= 100);
    /* A cancelled wait ends at once. */
    t0 = clock_now_ms();
    assert_int_equal(b.ops->domain_wait_shutdown(b.impl, d, t0 + 5000, &cancelled), XO_SR_NONE);
    assert_true(clock_now_ms() - t0 < 1000);
    /* The guest leaves while someone waits: no unsolicited callback. */
    struct waiter w = {&b, d, XO_SR_NONE};
    pthread_t th;
    pthread_create(&th, NULL, wait_thread, &w);
    usleep(50 * 1000);
    sim_guest_shutdown(s, d, XO_SR_REBOOT);
    pthread_join(th, NULL);
    assert_int_equal(w.got, XO_SR_REBOOT);
    assert_int_equal(unsolicited_domid, 0);
    /* Nobody waits: the callback hears of it. */
    int d2 = create(&b, "vm2", MiB, a, &err);
    sim_guest_shutdown(s, d2, XO_SR_POWEROFF);
    assert_int_equal(unsolicited_domid, d2);
    struct xo_domain_stat st;
    assert_int_equal(b.ops->domain_stat(b.impl, d2, &st), 0);
    assert_int_equal(st.shutdown, XO_SR_POWEROFF);
    arena_free(a);
    sim_free(s);
}

static void test_suspend_image_round_trip(void **state)
{
    struct sim *s = sim_new(1024 * MiB, 4);
    struct xo_backend b = sim_backend(s);
    struct arena *a = arena_new();
    struct val *err = NULL;
    char dir[] = "/tmp/xo-sim-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = arena_printf(a, "%s/image", dir);
    int d = create(&b, "11111111-2222-3333-4444-555555555555", MiB, a, &err);
    const char *meta = "{\"name\":\"x\"}";
    assert_int_equal(b.ops->suspend_image(b.impl, d, path, meta, a, &err), 0);
    const char *back = NULL;
    assert_int_equal(
        b.ops->resume_image(b.impl, path, "11111111-2222-3333-4444-555555555555", &back, a, &err),
        0);
    assert_string_equal(back, meta);
    /* Someone else's image, and one that is not an image. */
    assert_int_equal(b.ops->resume_image(b.impl, path, "other", &back, a, &err), -1);
    assert_string_equal(val_str(err->u.arr.items[0]), "INTERNAL_ERROR");
    FILE *f = fopen(path, "w");
    fputs("XENOPSD-SIM-IMAGE 1\nvm x\nlength 99\n\nshort", f);
    fclose(f);
    assert_int_equal(b.ops->resume_image(b.impl, path, "x", &back, a, &err), -1);
    unlink(path);
    assert_int_equal(b.ops->resume_image(b.impl, path, "x", &back, a, &err), -1);
    /* No directory: an error, and no temporary file left behind. */
    char *nowhere = arena_printf(a, "%s/missing/image", dir);
    assert_int_equal(b.ops->suspend_image(b.impl, d, nowhere, meta, a, &err), -1);
    assert_int_equal(rmdir(dir), 0);
    arena_free(a);
    sim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_accounting),
        cmocka_unit_test(test_domids_count_up_and_are_not_reused_while_alive),
        cmocka_unit_test(test_adopt_keeps_domid),
        cmocka_unit_test(test_shutdown_waits),
        cmocka_unit_test(test_suspend_image_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
