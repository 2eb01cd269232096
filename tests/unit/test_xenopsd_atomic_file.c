/*
 * test_xenopsd_atomic_file.c - replacing a file whole: two writers of one
 * path (two suspends to the same image) each succeed and the file is
 * always one of theirs, whole; nothing temporary is left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"

#define ROUNDS 200
#define SIZE (256 * 1024)

struct writer {
    const char *path;
    char fill;
    int failures;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char *data = malloc(SIZE);
    memset(data, w->fill, SIZE);
    for (int i = 0; i < ROUNDS; i++)
        w->failures += atomic_file_write(w->path, data, SIZE, false) < 0;
    free(data);
    return NULL;
}

/* The file holds SIZE bytes of one writer's fill, not a mix. */
static void assert_whole(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *data = malloc(SIZE + 1);
    size_t n = fread(data, 1, SIZE + 1, f);
    fclose(f);
    assert_int_equal(n, SIZE);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(data[i], data[0]);
    free(data);
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_two_writers_of_one_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/xo-atomic-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/image", dir);
    struct writer ws[2] = {{path, 'a', 0}, {path, 'b', 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &ws[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(ws[0].failures + ws[1].failures, 0);
    assert_whole(path);
    assert_int_equal(dir_entries(dir), 1);
    unlink(path);
    rmdir(dir);
}

static void test_failure_leaves_nothing(void **state)
{
    (void)state;
    assert_int_equal(atomic_file_write("/nonexistent-dir/x", "x", 1, true), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_writers_of_one_path),
        cmocka_unit_test(test_failure_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
