/* test_arena.c - region allocation: alignment, large blocks, realloc, printf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "arena.h"

static void test_arena_alignment(void **state)
{
    struct arena *a = arena_new();
    for (size_t n = 1; n < 200; n += 7) {
        void *p = arena_alloc(a, n);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, n); /* ASan catches a block smaller than asked */
    }
    arena_free(a);
}

static void test_arena_large_and_many(void **state)
{
    struct arena *a = arena_new();
    char *big = arena_alloc(a, 3 * 1024 * 1024);
    memset(big, 1, 3 * 1024 * 1024);
    char *prev = NULL;
    for (int i = 0; i < 100000; i++) {
        char *p = arena_alloc(a, 24);
        assert_ptr_not_equal(p, prev);
        memset(p, 2, 24);
        prev = p;
    }
    assert_true(arena_used(a) >= 3 * 1024 * 1024 + 100000 * 24);
    assert_int_equal(big[3 * 1024 * 1024 - 1], 1);
    arena_free(a);
}

static void test_arena_realloc_keeps_contents(void **state)
{
    struct arena *a = arena_new();
    char *p = arena_alloc(a, 8);
    memcpy(p, "1234567", 8);
    char *q = arena_realloc(a, p, 8, 64 * 1024);
    assert_string_equal(q, "1234567");
    assert_ptr_equal(arena_realloc(a, q, 64 * 1024, 10), q);
    arena_free(a);
}

static void test_arena_strings(void **state)
{
    struct arena *a = arena_new();
    assert_string_equal(arena_strdup(a, "abc"), "abc");
    assert_string_equal(arena_strndup(a, "abcdef", 2), "ab");
    assert_string_equal(arena_printf(a, "%s-%d", "x", 7), "x-7");
    char *z = arena_zalloc(a, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    arena_free(a);
    arena_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment),
        cmocka_unit_test(test_arena_large_and_many),
        cmocka_unit_test(test_arena_realloc_keeps_contents),
        cmocka_unit_test(test_arena_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
