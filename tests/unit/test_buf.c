/* test_buf.c - the growable buffer: appends, printf, consume, detach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_buf_append_grows_and_terminates(void **state)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_append(&b, "abc", 3);
    assert_int_equal(b.len, 3000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data + 2997, "abc", 3);
    buf_free(&b);
    assert_null(b.data);
}

static void test_buf_printf_long_output(void **state)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "x=");
    char big[5000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_printf(&b, "%d:%s", 42, big);
    assert_int_equal(b.len, 2 + 3 + 4999);
    assert_int_equal(strncmp(b.data, "x=42:qqq", 8), 0);
    assert_int_equal(strlen(b.data), b.len);
    buf_free(&b);
}

static void test_buf_consume_and_reset(void **state)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "hello world");
    buf_consume(&b, 6);
    assert_string_equal(b.data, "world");
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_putc(&b, 'z');
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_buf_detach_hands_over(void **state)
{
    struct buf b = BUF_INIT;
    size_t len = 99;
    char *empty = buf_detach(&b, &len);
    assert_string_equal(empty, "");
    assert_int_equal(len, 0);
    free(empty);
    buf_puts(&b, "abc");
    char *p = buf_detach(&b, &len);
    assert_string_equal(p, "abc");
    assert_int_equal(len, 3);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(p);
}

static void test_buf_binary_data(void **state)
{
    struct buf b = BUF_INIT;
    const char bin[] = {'a', '\0', 'b'};
    buf_append(&b, bin, 3);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, bin, 3);
    buf_free(&b);
}

static void test_buf_numbers(void **state)
{
    struct buf b = BUF_INIT;
    buf_put_int64(&b, 0);
    buf_putc(&b, ' ');
    buf_put_int64(&b, -42);
    buf_putc(&b, ' ');
    buf_put_int64(&b, INT64_MIN);
    buf_putc(&b, ' ');
    buf_put_int64(&b, INT64_MAX);
    assert_string_equal(b.data, "0 -42 -9223372036854775808 9223372036854775807");
    buf_free(&b);

    char tmp[40];
    assert_int_equal(buf_format_double(tmp, sizeof(tmp), 0.1), 3);
    assert_string_equal(tmp, "0.1");
    buf_format_double(tmp, sizeof(tmp), 1.0 / 3.0);
    assert_true(strtod(tmp, NULL) == 1.0 / 3.0);
    buf_format_double(tmp, sizeof(tmp), -1e300);
    assert_string_equal(tmp, "-1e+300");
    buf_format_double(tmp, sizeof(tmp), INFINITY);
    assert_string_equal(tmp, "inf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_grows_and_terminates),
        cmocka_unit_test(test_buf_printf_long_output),
        cmocka_unit_test(test_buf_consume_and_reset),
        cmocka_unit_test(test_buf_detach_hands_over),
        cmocka_unit_test(test_buf_binary_data),
        cmocka_unit_test(test_buf_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
