/*
 * test_xapi_tables.c - the generated API tables and the modules' message
 * tables agree: lookups work, and every module entry is a unique,
 * explicit message of the schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_value.h"
#include "arena.h"
#include "core/module.h"
#include "core/xapi.h"

static void test_tables_lookup(void **state)
{
    const struct api_message *m = api_message_find("VM.get_name_label");
    assert_non_null(m);
    assert_int_equal(m->impl, API_GET_FIELD);
    assert_string_equal(api_field(m->field)->name, "name_label");
    assert_true(m->with_session);
    assert_null(api_message_find("VM.no_such_message"));
    m = api_message_find("session.login_with_password");
    assert_non_null(m);
    assert_false(m->with_session);
    assert_int_equal(api_class_find("vm"), api_class_find("VM"));
    assert_int_equal(api_class_find("nope"), -1);
    assert_true(api_role_bit("read-only") != 0);
    /* every class in the database with get_all_records has _where too */
    for (int c = 0; c < api_n_classes; c++) {
        char name[128];
        snprintf(name, sizeof(name), "%s.get_all_records", api_classes[c].name);
        if (!api_message_find(name))
            continue;
        snprintf(name, sizeof(name), "%s.get_all_records_where", api_classes[c].name);
        assert_non_null(api_message_find(name));
    }
    /* sorted, for bsearch */
    for (int i = 1; i < api_n_messages; i++)
        assert_true(strcmp(api_messages[i - 1].wire_name, api_messages[i].wire_name) < 0);
}

/* Every field is found by its name, and only by it; a struct's members
 * land on their fields, the first of two with one name winning. */
static void test_field_index(void **state)
{
    (void)state;
    for (int c = 0; c < api_n_classes; c++) {
        for (int i = 0; i < api_classes[c].n_fields; i++)
            assert_int_equal(api_field_index(c, api_classes[c].fields[i].name), i);
        assert_int_equal(api_field_index(c, "no_such_field"), -1);
        assert_int_equal(api_field_index(c, ""), -1);
    }
    assert_int_equal(api_field_index(API_C_VM, "Name_label"), -1); /* exact case */
    struct arena *a = arena_new();
    struct val *st = val_struct(a);
    val_struct_add(a, st, "name_label", val_string(a, "first"));
    val_struct_add(a, st, "bogus", val_int(a, 1));
    val_struct_add(a, st, "name_label", val_string(a, "second"));
    const struct val *given[256];
    assert_true(api_classes[API_C_VM].n_fields <= 256);
    api_struct_fields(API_C_VM, st, given);
    int label = API_FIELD_INDEX(API_F_VM_name_label);
    assert_string_equal(val_str(given[label]), "first");
    for (int i = 0; i < api_classes[API_C_VM].n_fields; i++)
        if (i != label)
            assert_null(given[i]);
    api_struct_fields(API_C_VM, val_int(a, 3), given); /* not a struct: nothing */
    assert_null(given[label]);
    arena_free(a);
}

static void test_tables_explicit(void **state)
{
    struct xapi x = {0};
    const char *bad = NULL;
    if (xapi_modules_index(&x, &bad) < 0)
        fail_msg("module table entry duplicated or not explicit: %s", bad);
    assert_non_null(xapi_explicit_of(&x, api_message_find("session.login_with_password")));
    assert_null(xapi_explicit_of(&x, api_message_find("VM.get_name_label")));
    xapi_modules_unindex(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_lookup),
        cmocka_unit_test(test_tables_explicit),
        cmocka_unit_test(test_field_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
