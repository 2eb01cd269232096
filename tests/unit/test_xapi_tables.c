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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
