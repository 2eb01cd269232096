/* test_ids.c - uuids, references and secrets: shape and uniqueness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ids.h"

static void test_ids_uuid_shape(void **state)
{
    char u[IDS_UUID_LEN + 1], v[IDS_UUID_LEN + 1];
    ids_uuid(u);
    ids_uuid(v);
    assert_true(ids_is_uuid(u));
    assert_int_equal(u[14], '4');
    assert_true(strchr("89ab", u[19]) != NULL);
    assert_string_not_equal(u, v);
    assert_false(ids_is_uuid("not-a-uuid"));
    assert_false(ids_is_uuid("0000000000000000000000000000000000000"));
    assert_false(ids_is_uuid("AAAAAAAA-0000-4000-8000-000000000000"));
    assert_true(ids_is_uuid("aaaaaaaa-0000-4000-8000-000000000000"));
}

static void test_ids_ref_and_secret(void **state)
{
    char r[IDS_REF_LEN + 1];
    ids_ref(r);
    assert_int_equal(strlen(r), IDS_REF_LEN);
    assert_int_equal(strncmp(r, "OpaqueRef:", 10), 0);
    assert_true(ids_is_uuid(r + 10));
    char s[33], t[33];
    ids_secret(s, 32);
    ids_secret(t, 32);
    assert_int_equal(strlen(s), 32);
    assert_string_not_equal(s, t);
    for (int i = 0; i < 32; i++)
        assert_true((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                    (s[i] >= '0' && s[i] <= '9'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_uuid_shape),
        cmocka_unit_test(test_ids_ref_and_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
