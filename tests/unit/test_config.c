/* test_config.c - key = value files, flags on top, typed getters, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static void test_config_parse_file_syntax(void **state)
{
    struct config *c = config_new();
    const char *err = NULL;
    const char text[] = "# comment\n\n  port = 8080 \nname=\"  spaced  \"\r\nempty =\nport=9090\n";
    assert_int_equal(config_parse(c, "t.conf", text, strlen(text), &err), 0);
    assert_string_equal(config_get(c, "port", NULL), "9090");
    assert_string_equal(config_get(c, "name", NULL), "  spaced  ");
    assert_string_equal(config_get(c, "empty", NULL), "");
    assert_string_equal(config_get(c, "missing", "def"), "def");
    config_free(c);
}

static void test_config_rejects_bad_lines(void **state)
{
    static const char *const bad[] = {
        "novalue\n", "Bad Key = 1\n", "= 1\n", "k = \"open\n", "k\xff = 1\n", "ok = 1\nk;x=2\n",
    };
    static const int bad_line[] = {1, 1, 1, 1, 1, 2};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct config *c = config_new();
        const char *err = NULL;
        assert_int_equal(config_parse(c, "f", bad[i], strlen(bad[i]), &err), -1);
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "f:%d: ", bad_line[i]);
        assert_int_equal(strncmp(err, prefix, strlen(prefix)), 0);
        config_free(c);
    }
    struct config *c = config_new();
    const char *err = NULL;
    const char nul[] = "k = a\0b\n";
    assert_int_equal(config_parse(c, "f", nul, sizeof(nul) - 1, &err), -1);
    config_free(c);
}

static void test_config_args_override(void **state)
{
    struct config *c = config_new();
    const char *err = NULL;
    const char text[] = "port = 80\naddress = 0.0.0.0\n";
    assert_int_equal(config_parse(c, "f", text, strlen(text), &err), 0);
    char *argv[] = {"--port=8080", "--address", "127.0.0.1", "--foreground", "--x", "--y=z"};
    assert_int_equal(config_parse_args(c, 6, argv, &err), 0);
    assert_string_equal(config_get(c, "port", NULL), "8080");
    assert_string_equal(config_get(c, "address", NULL), "127.0.0.1");
    assert_string_equal(config_get(c, "foreground", NULL), "true");
    assert_string_equal(config_get(c, "x", NULL), "true");
    assert_string_equal(config_get(c, "y", NULL), "z");
    char *bad[] = {"positional"};
    assert_int_equal(config_parse_args(c, 1, bad, &err), -1);
    assert_non_null(strstr(err, "positional"));
    char *bad2[] = {"--Port=1"};
    assert_int_equal(config_parse_args(c, 1, bad2, &err), -1);
    config_free(c);
}

static void test_config_typed_getters(void **state)
{
    struct config *c = config_new();
    const char *err = NULL;
    long long v;
    bool b;
    config_set(c, "n", "42");
    config_set(c, "big", "99999999999999999999999");
    config_set(c, "junk", "12abc");
    config_set(c, "t", "yes");
    config_set(c, "f", "off");
    config_set(c, "weird", "maybe");
    assert_int_equal(config_get_int(c, "n", 0, 0, 100, &v, &err), 0);
    assert_int_equal(v, 42);
    assert_int_equal(config_get_int(c, "n", 0, 0, 10, &v, &err), -1);
    assert_non_null(strstr(err, "[0, 10]"));
    assert_int_equal(config_get_int(c, "big", 0, 0, 100, &v, &err), -1);
    assert_int_equal(config_get_int(c, "junk", 0, 0, 100, &v, &err), -1);
    assert_int_equal(config_get_int(c, "unset", 7, 0, 100, &v, &err), 0);
    assert_int_equal(v, 7);
    assert_int_equal(config_get_bool(c, "t", false, &b, &err), 0);
    assert_true(b);
    assert_int_equal(config_get_bool(c, "f", true, &b, &err), 0);
    assert_false(b);
    assert_int_equal(config_get_bool(c, "weird", true, &b, &err), -1);
    config_free(c);
}

static void test_config_save_and_load(void **state)
{
    char dir[] = "/tmp/cxapi-test-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/x.conf", dir);
    struct config *c = config_new();
    config_set(c, "secret", " a\"b ");
    config_set(c, "n", "1");
    assert_int_equal(config_save(c, path, 0600), 0);
    struct config *d = config_new();
    const char *err = NULL;
    assert_int_equal(config_load_file(d, path, false, &err), 0);
    assert_string_equal(config_get(d, "secret", NULL), " a\"b ");
    assert_string_equal(config_get(d, "n", NULL), "1");
    config_set(c, "nl", "a\nb");
    assert_int_equal(config_save(c, path, 0600), -1);
    snprintf(path, sizeof(path), "%s/missing.conf", dir);
    assert_int_equal(config_load_file(d, path, true, &err), 0);
    assert_int_equal(config_load_file(d, path, false, &err), -1);
    assert_non_null(strstr(err, "missing.conf"));
    config_free(c);
    config_free(d);
    snprintf(path, sizeof(path), "%s/x.conf", dir);
    unlink(path);
    rmdir(dir);
}

static void test_config_load_daemon(void **state)
{
    char dir[] = "/tmp/cx-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/d.conf", dir);
    FILE *f = fopen(path, "w");
    fputs("port = 81\nlog-level = debug\n", f);
    fclose(f);
    char state_flag[64];
    snprintf(state_flag, sizeof(state_flag), "--state=%s", dir);
    char *argv[] = {"d", state_flag, "--port=82", NULL};
    const char *err = NULL;
    struct config *c = config_load_daemon(3, argv, "d", &err);
    assert_null(err);
    assert_string_equal(config_get(c, "port", NULL), "82");         /* the flag wins */
    assert_string_equal(config_get(c, "log-level", NULL), "debug"); /* from the file */
    config_free(c);
    char *none[] = {"d", NULL};
    c = config_load_daemon(1, none, "d", &err);
    assert_string_equal(err, "--state DIR is required");
    config_free(c);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_load_daemon),
        cmocka_unit_test(test_config_parse_file_syntax),
        cmocka_unit_test(test_config_rejects_bad_lines),
        cmocka_unit_test(test_config_args_override),
        cmocka_unit_test(test_config_typed_getters),
        cmocka_unit_test(test_config_save_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
