/*
 * test_xenopsd_lifecycle.c - xenopsd's power-state table against the
 * transitions of upstream's VM lifecycle, written out here a second time
 * as a plain list so that a change to either shows; and the
 * VM_BAD_POWER_STATE it answers for every illegal pair.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "lifecycle.h"

/* Every legal (action, state) pair; all others are illegal. */
static const struct {
    enum xo_action act;
    enum xo_power from;
} legal[] = {
    {XO_ACT_START, XO_HALTED},
    {XO_ACT_SHUTDOWN, XO_RUNNING},
    {XO_ACT_HARD_SHUTDOWN, XO_RUNNING},
    {XO_ACT_HARD_SHUTDOWN, XO_PAUSED},
    {XO_ACT_HARD_SHUTDOWN, XO_SUSPENDED},
    {XO_ACT_REBOOT, XO_RUNNING},
    {XO_ACT_HARD_REBOOT, XO_RUNNING},
    {XO_ACT_HARD_REBOOT, XO_PAUSED},
    {XO_ACT_SUSPEND, XO_RUNNING},
    {XO_ACT_RESUME, XO_SUSPENDED},
    {XO_ACT_PAUSE, XO_RUNNING},
    {XO_ACT_UNPAUSE, XO_PAUSED},
    {XO_ACT_REMOVE, XO_HALTED},
    {XO_ACT_REMOVE, XO_SUSPENDED},
    {XO_ACT_DEVICE, XO_RUNNING},
    {XO_ACT_DEVICE, XO_PAUSED},
    {XO_ACT_LIVE, XO_RUNNING},
    {XO_ACT_LIVE, XO_PAUSED},
};

static bool is_legal(enum xo_action a, enum xo_power p)
{
    for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
        if (legal[i].act == a && legal[i].from == p)
            return true;
    return false;
}

static void test_table_matches_upstream(void **state)
{
    for (int a = 0; a < XO_ACT_COUNT; a++)
        for (int p = XO_HALTED; p <= XO_SUSPENDED; p++)
            if (xo_lifecycle_allowed(a, p) != is_legal(a, p))
                fail_msg("action %d in state %s: table says %d", a, xo_power_name(p),
                         xo_lifecycle_allowed(a, p));
}

static void test_every_action_has_a_legal_state(void **state)
{
    for (int a = 0; a < XO_ACT_COUNT; a++)
        assert_true(xo_lifecycle_allowed(a, xo_lifecycle_expected(a)));
    /* Running first where it will do: the state most errors are about. */
    assert_int_equal(xo_lifecycle_expected(XO_ACT_HARD_SHUTDOWN), XO_RUNNING);
    assert_int_equal(xo_lifecycle_expected(XO_ACT_START), XO_HALTED);
    assert_int_equal(xo_lifecycle_expected(XO_ACT_RESUME), XO_SUSPENDED);
    assert_int_equal(xo_lifecycle_expected(XO_ACT_UNPAUSE), XO_PAUSED);
}

static void test_bad_power_state_error(void **state)
{
    struct arena *a = arena_new();
    for (int act = 0; act < XO_ACT_COUNT; act++) {
        for (int p = XO_HALTED; p <= XO_SUSPENDED; p++) {
            struct val *err = NULL;
            int rc = xo_lifecycle_check(act, "vm-uuid", p, a, &err);
            if (is_legal(act, p)) {
                assert_int_equal(rc, 0);
                assert_null(err);
                continue;
            }
            assert_int_equal(rc, -1);
            assert_non_null(err);
            assert_int_equal(err->u.arr.n, 4);
            assert_string_equal(val_str(err->u.arr.items[0]), "VM_BAD_POWER_STATE");
            assert_string_equal(val_str(err->u.arr.items[1]), "vm-uuid");
            assert_string_equal(val_str(err->u.arr.items[2]),
                                xo_power_lower(xo_lifecycle_expected(act)));
            assert_string_equal(val_str(err->u.arr.items[3]), xo_power_lower(p));
        }
    }
    arena_free(a);
}

static void test_power_names(void **state)
{
    static const char *const names[] = {"Halted", "Running", "Paused", "Suspended"};
    static const char *const lower[] = {"halted", "running", "paused", "suspended"};
    for (int p = 0; p < 4; p++) {
        assert_string_equal(xo_power_name(p), names[p]);
        assert_string_equal(xo_power_lower(p), lower[p]);
        assert_int_equal(xo_power_parse(names[p]), p);
    }
    assert_int_equal(xo_power_parse("running"), -1);
    assert_int_equal(xo_power_parse(""), -1);
    assert_int_equal(xo_power_parse(NULL), -1);
}

static void test_fail_builds_code_and_params(void **state)
{
    struct arena *a = arena_new();
    struct val *err = NULL;
    assert_int_equal(xo_fail(a, &err, "HANDLE_INVALID", "VM", "x", NULL), -1);
    assert_int_equal(err->u.arr.n, 3);
    assert_string_equal(val_str(err->u.arr.items[0]), "HANDLE_INVALID");
    assert_string_equal(val_str(err->u.arr.items[2]), "x");
    assert_int_equal(xo_fail(a, &err, "INTERNAL_ERROR", NULL), -1);
    assert_int_equal(err->u.arr.n, 1);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_upstream),
        cmocka_unit_test(test_every_action_has_a_legal_state),
        cmocka_unit_test(test_bad_power_state_error),
        cmocka_unit_test(test_power_names),
        cmocka_unit_test(test_fail_builds_code_and_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
