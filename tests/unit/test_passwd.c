/*
 * test_passwd.c - salted password hashes (lib/passwd.c): a hash checks
 * its password and no other, two hashes of one password differ (salt),
 * and the cache of the last right password hits only that password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "passwd.h"

static void test_hash_and_check(void **state)
{
    (void)state;
    char h1[PASSWD_HASH_MAX], h2[PASSWD_HASH_MAX];
    assert_int_equal(passwd_hash("correct horse", h1), 0);
    assert_int_equal(passwd_hash("correct horse", h2), 0);
    assert_true(strncmp(h1, "$y$", 3) == 0);
    assert_string_not_equal(h1, h2); /* salted */
    assert_null(strstr(h1, "correct"));
    assert_true(passwd_check("correct horse", h1));
    assert_true(passwd_check("correct horse", h2));
    assert_false(passwd_check("correct horsE", h1));
    assert_false(passwd_check("", h1));
    assert_false(passwd_check("correct horse", "not a hash"));
    assert_false(passwd_check("correct horse", ""));
}

static void test_cache(void **state)
{
    (void)state;
    struct passwd_cache c = {0};
    assert_false(passwd_cache_hit(&c, "pw"));
    passwd_cache_fill(&c, "pw");
    assert_true(passwd_cache_hit(&c, "pw"));
    assert_false(passwd_cache_hit(&c, "pw2"));
    assert_false(passwd_cache_hit(&c, ""));
    passwd_cache_clear(&c);
    assert_false(passwd_cache_hit(&c, "pw"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_and_check),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
