/*
 * test_loginfail.c - the failed-login report's table (xapi/core/
 * loginfail.c): counting per client, the three that failed most, the
 * bound on clients (the rest are unknown), escaping, and forgetting
 * what was reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/loginfail.h"

static void fail_n(struct loginfail *f, const char *user, int n)
{
    struct loginfail_client c = {
        .user = user, .originator = "o", .user_agent = "ua", .ip = "10.0.0.1"};
    for (int i = 0; i < n; i++)
        loginfail_record(f, &c, 1764770400 + i);
}

static void test_nothing_to_report(void **state)
{
    (void)state;
    struct loginfail *f = loginfail_new();
    struct buf out = BUF_INIT;
    assert_false(loginfail_report(f, &out));
    assert_int_equal(out.len, 0);
    loginfail_free(f);
}

static void test_the_three_worst_and_the_total(void **state)
{
    (void)state;
    struct loginfail *f = loginfail_new();
    fail_n(f, "one", 1);
    fail_n(f, "four", 4);
    fail_n(f, "two", 2);
    fail_n(f, "three", 3);
    struct loginfail_client bare = {.user = "x<&>"}; /* only a user name, to escape */
    loginfail_record(f, &bare, 1764770400);
    struct buf out = BUF_INIT;
    assert_true(loginfail_report(f, &out));
    const char *b = out.data;
    assert_non_null(strstr(b, "<total>11</total>"));
    const char *four = strstr(b, "<username>four</username>");
    const char *three = strstr(b, "<username>three</username>");
    const char *two = strstr(b, "<username>two</username>");
    assert_non_null(four);
    assert_true(four < three && three < two);
    assert_null(strstr(b, "<username>one</username>"));
    assert_non_null(strstr(b, "<number>4</number>"));
    assert_non_null(strstr(b, "<useragent>ua</useragent>\n<ip>10.0.0.1</ip>"));
    assert_non_null(strstr(b, "<date>2025-12-03T14:00:03Z</date>")); /* four's last */
    assert_null(strstr(b, "<unknown>"));
    /* Reported is forgotten. */
    buf_reset(&out);
    assert_false(loginfail_report(f, &out));
    fail_n(f, "x<&>", 3);
    assert_true(loginfail_report(f, &out));
    assert_non_null(strstr(out.data, "<username>x&lt;&amp;&gt;</username>"));
    buf_free(&out);
    loginfail_free(f);
}

static void test_clients_beyond_the_table_are_unknown(void **state)
{
    (void)state;
    struct loginfail *f = loginfail_new();
    char user[32];
    for (int i = 0; i < LOGINFAIL_CLIENTS + 5; i++) {
        snprintf(user, sizeof(user), "u%d", i);
        fail_n(f, user, 1);
    }
    fail_n(f, "u0", 1); /* a known one still counts as itself */
    struct buf out = BUF_INIT;
    assert_true(loginfail_report(f, &out));
    char want[64];
    snprintf(want, sizeof(want), "<total>%d</total>", LOGINFAIL_CLIENTS + 6);
    assert_non_null(strstr(out.data, want));
    assert_non_null(strstr(out.data, "<unknown>5</unknown>"));
    assert_non_null(strstr(out.data, "<username>u0</username>\n"));
    buf_free(&out);
    loginfail_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_to_report),
        cmocka_unit_test(test_the_three_worst_and_the_total),
        cmocka_unit_test(test_clients_beyond_the_table_are_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
