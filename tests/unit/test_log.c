/* test_log.c - one line per event, escaping, file output, levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

static char *test_log_read(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    struct buf b = BUF_INIT;
    char chunk[256];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    return buf_detach(&b, NULL);
}

static void test_log_format_fields(void **state)
{
    log_open("testd", NULL, false);
    struct buf line = BUF_INIT;
    log_format(&line, LOG_WARN, "req:7", "hello");
    /* 2026-11-25T11:40:02.731Z testd[PID] WARN [req:7] hello\n */
    assert_int_equal(line.data[4], '-');
    assert_int_equal(line.data[10], 'T');
    assert_int_equal(line.data[23], 'Z');
    char expect[64];
    snprintf(expect, sizeof(expect), " testd[%d] WARN [req:7] hello\n", (int)getpid());
    assert_string_equal(line.data + 24, expect);
    buf_free(&line);
}

static void test_log_escapes_newlines(void **state)
{
    struct buf line = BUF_INIT;
    log_format(&line, LOG_INFO, NULL, "two\nlines\tand\x01");
    assert_non_null(strstr(line.data, "INFO two\\nlines\\x09and\\x01\n"));
    assert_int_equal(strchr(line.data, '\n') - line.data, (long)line.len - 1);
    buf_free(&line);
}

static void test_log_to_file_and_levels(void **state)
{
    char path[] = "/tmp/cxapi-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_open("testd", path, false), 0);
    log_set_level(LOG_INFO);
    log_debug("ctx", "not shown");
    log_info("ctx", "shown %d", 1);
    log_error(NULL, "%s", "also shown");
    char big[2000];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_info(NULL, "%s", big);
    log_close();
    char *text = test_log_read(path);
    assert_null(strstr(text, "not shown"));
    assert_non_null(strstr(text, "INFO [ctx] shown 1\n"));
    assert_non_null(strstr(text, "ERROR also shown\n"));
    assert_non_null(strstr(text, big));
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(text);
    unlink(path);
}

/* A message of a megabyte is one line of about LOG_MSG_MAX bytes that
 * says how much was left out; a long ctx is cut likewise; a cut never
 * splits a UTF-8 sequence. */
static void test_log_lines_bounded(void **state)
{
    char path[] = "/tmp/cxapi-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_open("testd", path, false), 0);
    size_t n = 1u << 20;
    char *big = malloc(n + 1);
    memset(big, 'm', n);
    big[n] = '\0';
    char *ctx = malloc(1001);
    memset(ctx, 'c', 1000);
    ctx[1000] = '\0';
    log_info(ctx, "method %s unknown", big);
    log_close();
    char *text = test_log_read(path);
    size_t len = strlen(text);
    assert_true(len > LOG_MSG_MAX && len < LOG_MSG_MAX + LOG_FIELD_MAX + 200);
    assert_int_equal(strchr(text, '\n') - text, (long)len - 1);
    char want[64];
    /* "method " and the m's up to LOG_MSG_MAX, then the rest counted */
    snprintf(want, sizeof(want), "m...[%zu more bytes]\n",
             n + strlen("method  unknown") - LOG_MSG_MAX);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "c...[%d more bytes]] method", 1000 - LOG_FIELD_MAX);
    assert_non_null(strstr(text, want));
    free(text);
    unlink(path);

    /* A field: short ones pass as they are; long ones are cut, not
     * inside a character (here 2-byte é's). */
    char out[LOG_FIELD_BUF];
    assert_string_equal(log_field(out, "VM.start"), "VM.start");
    assert_string_equal(log_field(out, NULL), "(null)");
    char accents[601];
    for (int i = 0; i < 300; i++)
        memcpy(accents + 2 * i, "\xc3\xa9", 2);
    accents[600] = '\0';
    const char *f = log_field(out, accents);
    assert_ptr_equal(f, out);
    snprintf(want, sizeof(want), "\xc3\xa9...[%d more bytes]", 600 - LOG_FIELD_MAX);
    assert_non_null(strstr(f, want));
    assert_int_equal(strlen(f), LOG_FIELD_MAX + strlen(want) - 2);
    free(big);
    free(ctx);
}

static void test_log_level_parse(void **state)
{
    assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
    assert_int_equal(log_level_parse("error"), LOG_ERROR);
    assert_int_equal(log_level_parse("loud"), -1);
    assert_int_equal(log_open("testd", "/nonexistent-dir/x.log", false), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_format_fields),      cmocka_unit_test(test_log_escapes_newlines),
        cmocka_unit_test(test_log_to_file_and_levels), cmocka_unit_test(test_log_lines_bounded),
        cmocka_unit_test(test_log_level_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
