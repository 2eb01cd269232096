/*
 * test_throttle.c - the failed-login table (xapi/core/throttle.c): free
 * failures, doubling delays up to the cap, forgetting, and its bound on
 * keys. Time is given, so nothing here waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "core/throttle.h"

static void test_delays_double_up_to_the_cap(void **state)
{
    (void)state;
    struct throttle *t = throttle_new();
    int64_t now = 1000000;
    for (unsigned i = 1; i <= THROTTLE_FREE; i++) {
        assert_int_equal(throttle_failed(t, "addr:a", now), i);
        assert_int_equal(throttle_barred_ms(t, "addr:a", now), 0);
    }
    int64_t want = 1000;
    for (unsigned i = THROTTLE_FREE + 1; i < THROTTLE_FREE + 20; i++) {
        assert_int_equal(throttle_failed(t, "addr:a", now), i);
        assert_int_equal(throttle_barred_ms(t, "addr:a", now), want);
        assert_int_equal(throttle_barred_ms(t, "addr:a", now + want), 0);
        want = want * 2 < THROTTLE_MAX_MS ? want * 2 : THROTTLE_MAX_MS;
    }
    assert_int_equal(throttle_barred_ms(t, "addr:b", now), 0); /* others are not touched */
    throttle_forget(t, "addr:a");
    assert_int_equal(throttle_barred_ms(t, "addr:a", now), 0);
    assert_int_equal(throttle_failed(t, "addr:a", now), 1);
    throttle_free(t);
}

static void test_stale_failures_are_forgotten(void **state)
{
    (void)state;
    struct throttle *t = throttle_new();
    for (int i = 0; i < THROTTLE_FREE + 1; i++)
        throttle_failed(t, "user:root", 0);
    assert_true(throttle_barred_ms(t, "user:root", 0) > 0);
    assert_int_equal(throttle_failed(t, "user:root", THROTTLE_FORGET_MS), 1);
    throttle_free(t);
}

static void test_keys_are_bounded(void **state)
{
    (void)state;
    struct throttle *t = throttle_new();
    char key[32];
    for (int i = 0; i < THROTTLE_KEYS + 100; i++) {
        snprintf(key, sizeof(key), "addr:%d", i);
        for (int k = 0; k <= THROTTLE_FREE; k++)
            throttle_failed(t, key, i);
    }
    /* the newest are remembered, the oldest made room */
    snprintf(key, sizeof(key), "addr:%d", THROTTLE_KEYS + 99);
    assert_true(throttle_barred_ms(t, key, THROTTLE_KEYS + 99) > 0);
    assert_int_equal(throttle_barred_ms(t, "addr:0", THROTTLE_KEYS + 99), 0);
    throttle_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_double_up_to_the_cap),
        cmocka_unit_test(test_stale_failures_are_forgotten),
        cmocka_unit_test(test_keys_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
