/* test_hostdir.c - a host is created once, reloaded the same, never clobbered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostdir.h"

/* The text of a file (a static buffer: one file at a time). */
static const char *slurp(const char *path)
{
    static char text[8192];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void test_hostdir_create_then_load(void **state)
{
    char base[] = "/tmp/cxapi-test-hostdir-XXXXXX";
    assert_non_null(mkdtemp(base));
    char dir[256];
    const char *err;
    struct arena *a = arena_new();
    snprintf(dir, sizeof(dir), "%s/a/b", base);
    struct host_identity id, again;
    bool created;
    assert_int_equal(hostdir_init(a, dir, NULL, &id, &created, &err), 0);
    assert_true(created);
    assert_true(ids_is_uuid(id.host_uuid));
    assert_int_equal(strlen(id.root_password), 16);
    char path[300];
    snprintf(path, sizeof(path), "%s/host.conf", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(hostdir_init(a, dir, NULL, &again, &created, &err), 0);
    assert_false(created);
    assert_string_equal(id.host_uuid, again.host_uuid);
    assert_string_equal(id.host_ref, again.host_ref);
    assert_string_equal(id.pool_uuid, again.pool_uuid);
    assert_string_equal(id.pool_ref, again.pool_ref);
    /* Only the hash is kept: the password made at creation is not told again. */
    assert_string_equal(again.root_password, "");
    assert_string_equal(id.root_password_hash, again.root_password_hash);
    assert_true(passwd_check(id.root_password, again.root_password_hash));
    assert_false(passwd_check("not it", again.root_password_hash));
    assert_null(strstr(slurp(path), id.root_password));
    assert_int_equal(hostdir_init(a, dir, "new pw", &again, &created, &err), 0);
    assert_string_equal(again.root_password, "new pw"); /* given: told back */
    assert_int_equal(hostdir_load(a, dir, &again, &err), 0);
    assert_string_equal(again.root_password, "");
    assert_true(passwd_check("new pw", again.root_password_hash));
    assert_null(strstr(slurp(path), "new pw"));
    assert_non_null(strstr(slurp(path), "root-password-hash = \"$y$"));
    assert_string_equal(again.host_uuid, id.host_uuid);
    /* a damaged identity is reported, never replaced by a new host */
    FILE *f = fopen(path, "w");
    fputs("host-uuid = x\n", f);
    fclose(f);
    assert_int_equal(hostdir_init(a, dir, NULL, &again, &created, &err), -1);
    assert_non_null(strstr(err, "host-ref"));
    arena_free(a);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
}

/* A host.conf of an earlier version holds the password in clear: the next
 * start replaces it with its hash, and the password still works. */
static void test_hostdir_hashes_a_clear_password(void **state)
{
    char base[] = "/tmp/cxapi-test-hostdir-XXXXXX";
    assert_non_null(mkdtemp(base));
    const char *err;
    struct arena *a = arena_new();
    struct host_identity id;
    bool created;
    assert_int_equal(hostdir_init(a, base, NULL, &id, &created, &err), 0);
    char path[300];
    snprintf(path, sizeof(path), "%s/host.conf", base);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "host-uuid = %s\nhost-ref = %s\npool-uuid = %s\npool-ref = %s\n"
            "root-password = old-clear-pw\n",
            id.host_uuid, id.host_ref, id.pool_uuid, id.pool_ref);
    fclose(f);
    assert_int_equal(hostdir_init(a, base, NULL, &id, &created, &err), 0);
    assert_false(created);
    assert_null(strstr(slurp(path), "old-clear-pw"));
    assert_true(passwd_check("old-clear-pw", id.root_password_hash));
    assert_int_equal(hostdir_load(a, base, &id, &err), 0);
    assert_true(passwd_check("old-clear-pw", id.root_password_hash));
    arena_free(a);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
}

static void test_hostdir_rejects_bad_password(void **state)
{
    char base[] = "/tmp/cxapi-test-hostdir-XXXXXX";
    assert_non_null(mkdtemp(base));
    const char *err;
    struct arena *a = arena_new();
    struct host_identity id;
    bool created;
    assert_int_equal(hostdir_init(a, base, "two\nlines", &id, &created, &err), -1);
    assert_int_equal(hostdir_init(a, base, "", &id, &created, &err), -1);
    arena_free(a);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostdir_create_then_load),
        cmocka_unit_test(test_hostdir_hashes_a_clear_password),
        cmocka_unit_test(test_hostdir_rejects_bad_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
