/*
 * test_hmap.c - the string hash map against a plain array model, through
 * many random puts and deletes (deletion's back-shifting is the subtle
 * part).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hmap.h"

static void test_hmap_basic(void **state)
{
    struct hmap *m = hmap_new();
    int a = 1, b = 2;
    assert_null(hmap_get(m, "x"));
    assert_null(hmap_put(m, "x", &a));
    assert_ptr_equal(hmap_get(m, "x"), &a);
    assert_ptr_equal(hmap_put(m, "x", &b), &a);
    assert_ptr_equal(hmap_get(m, "x"), &b);
    assert_int_equal(hmap_count(m), 1);
    assert_ptr_equal(hmap_del(m, "x"), &b);
    assert_null(hmap_del(m, "x"));
    assert_int_equal(hmap_count(m), 0);
    hmap_free(m);
}

#define N 2000

static void test_hmap_random_against_model(void **state)
{
    static char present[N];
    static int values[N];
    memset(present, 0, sizeof(present));
    struct hmap *m = hmap_new();
    uint32_t x = 12345;
    size_t count = 0;
    for (int step = 0; step < 200000; step++) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % N);
        char key[16];
        snprintf(key, sizeof(key), "k%d", k);
        if ((x >> 4) & 1) {
            values[k] = k;
            void *prev = hmap_put(m, key, &values[k]);
            assert_true((prev != NULL) == (present[k] != 0));
            count += !present[k];
            present[k] = 1;
        } else {
            void *prev = hmap_del(m, key);
            assert_true((prev != NULL) == (present[k] != 0));
            count -= present[k];
            present[k] = 0;
        }
        if (step % 5000 == 0) {
            for (int i = 0; i < N; i++) {
                snprintf(key, sizeof(key), "k%d", i);
                void *v = hmap_get(m, key);
                assert_true((v != NULL) == (present[i] != 0));
                if (v)
                    assert_int_equal(*(int *)v, i);
            }
        }
    }
    assert_int_equal(hmap_count(m), count);
    size_t seen = 0;
    const char *key;
    void *v;
    for (size_t it = 0; hmap_next(m, &it, &key, &v);)
        seen++;
    assert_int_equal(seen, count);
    hmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmap_basic),
        cmocka_unit_test(test_hmap_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
