/* test_value.c - the value tree: builders, lookups, equality, replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

static void test_value_struct_keeps_order_and_finds(void **state)
{
    struct arena *a = arena_new();
    struct val *st = val_struct(a);
    char name[16];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof(name), "k%d", i);
        val_struct_add(a, st, name, val_int(a, i));
    }
    assert_int_equal(st->u.st.n, 50);
    assert_string_equal(st->u.st.members[0].name, "k0");
    assert_string_equal(st->u.st.members[49].name, "k49");
    assert_int_equal(val_struct_get(st, "k17")->u.i, 17);
    assert_null(val_struct_get(st, "nope"));
    assert_null(val_struct_get(val_int(a, 1), "k1"));
    arena_free(a);
}

static void test_value_array_grows(void **state)
{
    struct arena *a = arena_new();
    struct val *arr = val_array(a);
    for (int i = 0; i < 1000; i++)
        val_array_push(a, arr, val_string(a, "x"));
    assert_int_equal(arr->u.arr.n, 1000);
    assert_string_equal(val_str(arr->u.arr.items[999]), "x");
    assert_null(val_str(arr));
    arena_free(a);
}

static void test_value_equal(void **state)
{
    struct arena *a = arena_new();
    struct val *x = val_struct(a), *y = val_struct(a);
    val_struct_add(a, x, "a", val_float(a, 1.5));
    val_struct_add(a, x, "b", val_bool(a, true));
    val_struct_add(a, y, "b", val_bool(a, true));
    val_struct_add(a, y, "a", val_float(a, 1.5));
    assert_true(val_equal(x, y)); /* member order does not matter for equality */
    val_struct_add(a, y, "c", val_nil(a));
    assert_false(val_equal(x, y));
    assert_false(val_equal(val_string(a, "1"), val_int(a, 1)));
    assert_false(val_equal(val_string(a, "ab"), val_string_len(a, "ab\0", 3)));
    assert_true(
        val_equal(val_datetime(a, "20240101T00:00:00Z"), val_datetime(a, "20240101T00:00:00Z")));
    arena_free(a);
}

static void test_value_rpc_reply_error(void **state)
{
    struct arena *a = arena_new();
    struct rpc_reply r = rpc_reply_error(a, "HANDLE_INVALID", "VM", "OpaqueRef:x", NULL);
    assert_null(r.value);
    assert_int_equal(r.error->u.arr.n, 3);
    assert_string_equal(val_str(r.error->u.arr.items[0]), "HANDLE_INVALID");
    assert_string_equal(val_str(r.error->u.arr.items[2]), "OpaqueRef:x");
    struct rpc_reply ok = rpc_reply_ok(val_int(a, 3));
    assert_null(ok.error);
    assert_int_equal(ok.value->u.i, 3);
    assert_string_equal(val_type_name(VAL_STRUCT), "struct");
    arena_free(a);
}

static void test_value_copy_and_flatten(void **state)
{
    struct arena *a = arena_new();
    struct val *st = val_struct(a);
    val_struct_add(a, st, "name_label", val_string(a, "vm \xc3\xa9"));
    val_struct_add(a, st, "memory", val_int(a, INT64_MIN));
    val_struct_add(a, st, "ratio", val_float(a, 0.25));
    val_struct_add(a, st, "on", val_bool(a, true));
    val_struct_add(a, st, "when", val_datetime(a, "20261127T10:00:00Z"));
    val_struct_add(a, st, "none", val_nil(a));
    struct val *set = val_array(a);
    val_array_push(a, set, val_string(a, "OpaqueRef:1"));
    val_array_push(a, set, val_array(a));
    val_struct_add(a, st, "set", set);
    val_struct_add(a, st, "empty", val_struct(a));

    struct arena *b = arena_new();
    struct val *c = val_copy(b, st);
    arena_free(a); /* the copies must not point into the original */
    struct val *flat = val_flatten(c);
    assert_true(val_equal(flat, c));
    assert_string_equal(val_str(val_struct_get(flat, "name_label")), "vm \xc3\xa9");
    assert_int_equal(val_struct_get(flat, "memory")->u.i, INT64_MIN);
    assert_int_equal(val_struct_get(flat, "set")->u.arr.n, 2);
    arena_free(b);
    assert_int_equal(val_struct_get(flat, "when")->type, VAL_DATETIME);
    free(flat);
}

/* The set as text, "a,b,c", to compare whole results at once. */
static const char *set_text(struct arena *a, const struct val *set)
{
    char *out = arena_zalloc(a, 64);
    for (size_t i = 0; i < set->u.arr.n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, val_str(set->u.arr.items[i]));
    }
    return out;
}

static void test_value_set_edit(void **state)
{
    struct arena *a = arena_new();
    struct val *set = val_array(a);
    val_array_push(a, set, val_string(a, "a"));
    val_array_push(a, set, val_string(a, "b"));
    val_array_push(a, set, val_string(a, "a")); /* a duplicate already there */
    bool changed = false;

    struct val *next = val_set_edit(a, set, val_string(a, "c"), true, &changed);
    assert_true(changed);
    assert_string_equal(set_text(a, next), "a,b,a,c"); /* appended at the end */

    changed = true;
    next = val_set_edit(a, set, val_string(a, "b"), true, &changed);
    assert_false(changed); /* present: nothing added */
    assert_string_equal(set_text(a, next), "a,b,a");

    next = val_set_edit(a, set, val_string(a, "a"), false, &changed);
    assert_true(changed);
    assert_string_equal(set_text(a, next), "b"); /* every equal item goes */

    changed = true;
    next = val_set_edit(a, set, val_string(a, "z"), false, &changed);
    assert_false(changed);
    assert_string_equal(set_text(a, next), "a,b,a");

    /* Equality is by value and type: the int 1 is not the string "1". */
    struct val *mixed = val_array(a);
    val_array_push(a, mixed, val_int(a, 1));
    next = val_set_edit(a, mixed, val_string(a, "1"), false, &changed);
    assert_false(changed);
    assert_int_equal(next->u.arr.n, 1);

    assert_string_equal(set_text(a, set), "a,b,a"); /* the input is left as it was */
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_struct_keeps_order_and_finds),
        cmocka_unit_test(test_value_array_grows),
        cmocka_unit_test(test_value_equal),
        cmocka_unit_test(test_value_rpc_reply_error),
        cmocka_unit_test(test_value_copy_and_flatten),
        cmocka_unit_test(test_value_set_edit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
