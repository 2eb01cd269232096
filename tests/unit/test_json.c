/*
 * test_json.c - the JSON codec: every value type both ways, the exact text
 * written (escaping, number formats, member order) and malformed input,
 * which must fail with a one-line message and never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "testutil.h"

static struct val *parse_ok(struct arena *a, const char *text)
{
    struct val *v = NULL;
    const char *err = NULL;
    int rc = json_parse(a, text, strlen(text), &v, &err);
    if (rc != 0)
        fail_msg("json_parse(%s) failed: %s", text, err);
    assert_non_null(v);
    return v;
}

/* Returns the error message; every failure must carry a one-line one. */
static const char *parse_fail_len(struct arena *a, const char *text, size_t len)
{
    struct val *v = NULL;
    const char *err = NULL;
    assert_int_equal(json_parse(a, text, len, &v, &err), -1);
    assert_error_line(err, "JSON: ");
    return err;
}

static const char *parse_fail(struct arena *a, const char *text)
{
    return parse_fail_len(a, text, strlen(text));
}

/* json_write into a fresh buf; the result lives in the arena. */
static const char *write_text(struct arena *a, const struct val *v)
{
    return text_of(a, json_write, v);
}

/* Parses text, writes it back and expects the same text (compact input). */
static void assert_roundtrip_text(const char *text)
{
    assert_text_roundtrip(text, json_write, parse_ok);
}

static void test_scalars(void **state)
{
    struct arena *a = arena_new();
    struct val *v = parse_ok(a, "null");
    assert_int_equal(v->type, VAL_NIL);
    v = parse_ok(a, "true");
    assert_int_equal(v->type, VAL_BOOL);
    assert_true(v->u.b);
    v = parse_ok(a, "false");
    assert_int_equal(v->type, VAL_BOOL);
    assert_false(v->u.b);
    v = parse_ok(a, " 42 ");
    assert_int_equal(v->type, VAL_INT);
    assert_int_equal(v->u.i, 42);
    v = parse_ok(a, "-7");
    assert_int_equal(v->type, VAL_INT);
    assert_int_equal(v->u.i, -7);
    v = parse_ok(a, "2.5");
    assert_int_equal(v->type, VAL_FLOAT);
    assert_true(v->u.f == 2.5);
    v = parse_ok(a, "1e2");
    assert_int_equal(v->type, VAL_FLOAT);
    assert_true(v->u.f == 100.0);
    v = parse_ok(a, "\"hello\"");
    assert_int_equal(v->type, VAL_STRING);
    assert_string_equal(v->u.str.ptr, "hello");
    assert_int_equal(v->u.str.len, 5);
    arena_free(a);

    assert_roundtrip_text("null");
    assert_roundtrip_text("true");
    assert_roundtrip_text("false");
    assert_roundtrip_text("0");
    assert_roundtrip_text("-1");
    assert_roundtrip_text("2.5");
    assert_roundtrip_text("\"\"");
    assert_roundtrip_text("\"OpaqueRef:74f1a19c\"");
}

static void test_int64_limits(void **state)
{
    struct arena *a = arena_new();
    struct val *v = parse_ok(a, "9223372036854775807");
    assert_int_equal(v->type, VAL_INT);
    assert_true(v->u.i == INT64_MAX);
    v = parse_ok(a, "-9223372036854775808");
    assert_int_equal(v->type, VAL_INT);
    assert_true(v->u.i == INT64_MIN);
    assert_string_equal(write_text(a, val_int(a, INT64_MIN)), "-9223372036854775808");
    assert_string_equal(write_text(a, val_int(a, INT64_MAX)), "9223372036854775807");
    assert_string_equal(write_text(a, val_int(a, 0)), "0");
    assert_string_equal(write_text(a, val_int(a, -10)), "-10");
    assert_string_equal(write_text(a, val_int(a, 1000000)), "1000000");

    const char *err = parse_fail(a, "9223372036854775808");
    assert_non_null(strstr(err, "out of range"));
    err = parse_fail(a, "-9223372036854775809");
    assert_non_null(strstr(err, "out of range"));
    arena_free(a);
}

static void test_huge_integer(void **state)
{
    struct arena *a = arena_new();
    assert_string_equal(parse_fail(a, "123456789012345678901234567890"),
                        "JSON: number out of range (integers must fit in 64 bits): too big "
                        "integer at line 1 column 30");
    assert_non_null(strstr(parse_fail(a, "[1, 123456789012345678901234567890]"), "64 bits"));
    assert_non_null(strstr(parse_fail(a, "1e400"), "out of range"));
    arena_free(a);
}

static void test_nesting(void **state)
{
    assert_roundtrip_text("[]");
    assert_roundtrip_text("{}");
    assert_roundtrip_text("[[],{},[[]],{\"\":{}}]");
    assert_roundtrip_text("{\"a\":[1,{\"b\":[[],{}]},\"x\",null,true,false,-2.25],"
                          "\"c\":{\"d\":null,\"e\":{\"f\":[\"g\"]}}}");

    struct arena *a = arena_new();
    struct val *v = parse_ok(a, "{\"vm\":{\"other_config\":{\"k\":\"v\"},\"VCPUs\":[1,2]}}");
    assert_int_equal(v->type, VAL_STRUCT);
    assert_int_equal(v->u.st.n, 1);
    struct val *vm = val_struct_get(v, "vm");
    assert_non_null(vm);
    assert_string_equal(val_str(val_struct_get(val_struct_get(vm, "other_config"), "k")), "v");
    struct val *vcpus = val_struct_get(vm, "VCPUs");
    assert_int_equal(vcpus->type, VAL_ARRAY);
    assert_int_equal(vcpus->u.arr.n, 2);
    assert_int_equal(vcpus->u.arr.items[1]->u.i, 2);
    /* A parsed array can still grow through the value API. */
    val_array_push(a, vcpus, val_int(a, 3));
    val_array_push(a, vcpus, val_int(a, 4));
    assert_string_equal(write_text(a, vcpus), "[1,2,3,4]");

    /* A tree built by hand, every type in it. */
    struct val *root = val_struct(a);
    struct val *arr = val_array(a);
    val_array_push(a, arr, val_nil(a));
    val_array_push(a, arr, val_bool(a, true));
    val_array_push(a, arr, val_int(a, -3));
    val_array_push(a, arr, val_float(a, 0.5));
    val_array_push(a, arr, val_datetime(a, "20240131T12:00:00Z"));
    val_struct_add(a, root, "list", arr);
    val_struct_add(a, root, "empty", val_struct(a));
    val_struct_add(a, root, "s", val_string(a, "x"));
    assert_string_equal(write_text(a, root), "{\"list\":[null,true,-3,0.5,\"20240131T12:00:00Z\"],"
                                             "\"empty\":{},\"s\":\"x\"}");
    arena_free(a);
}

static void test_member_order(void **state)
{
    assert_roundtrip_text("{\"z\":1,\"a\":2,\"m\":3,\"b\":4}");

    /* Enough members to make jansson's hash table grow several times. */
    struct arena *a = arena_new();
    struct buf text = BUF_INIT;
    buf_putc(&text, '{');
    for (int i = 199; i >= 0; i--)
        buf_printf(&text, "\"k%d\":%d%s", i * 7 % 200, i, i ? "," : "");
    buf_putc(&text, '}');
    struct val *v = parse_ok(a, text.data);
    assert_int_equal(v->u.st.n, 200);
    for (int i = 199, k = 0; i >= 0; i--, k++) {
        char name[16];
        snprintf(name, sizeof(name), "k%d", i * 7 % 200);
        assert_string_equal(v->u.st.members[k].name, name);
        assert_int_equal(v->u.st.members[k].value->u.i, i);
    }
    assert_string_equal(write_text(a, v), text.data);
    buf_free(&text);
    arena_free(a);
}

/* Duplicate names are legal JSON, but which value counts is each
 * reader's choice: an object naming a key twice, at any depth, is
 * refused, and the error says which key. Equal names in different
 * objects are fine. */
static void test_duplicate_members(void **state)
{
    struct arena *a = arena_new();
    static const char *const dup[] = {
        "{\"a\":1,\"b\":2,\"a\":3}",
        "{\"a\":1,\"a\":1}",
        "[{\"x\":{\"k\":true,\"k\":false}}]",
        "{\"method\":\"session.logout\",\"params\":[],\"method\":\"VM.destroy\"}",
    };
    for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
        struct val *v = NULL;
        const char *err = NULL;
        assert_int_equal(json_parse(a, dup[i], strlen(dup[i]), &v, &err), -1);
        assert_non_null(strstr(err, "duplicate"));
    }
    struct val *v = parse_ok(a, "{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}");
    assert_string_equal(write_text(a, v), "{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}");
    arena_free(a);
}

static void test_string_escaping(void **state)
{
    struct arena *a = arena_new();
    static const char raw[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f"
                              "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    assert_string_written(a, json_write, parse_ok, raw, sizeof(raw) - 1,
                          "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f"
                          "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");

    /* Long clean runs around escapes, as in a real record. */
    struct buf big = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_puts(&big, i % 100 ? "abcdefgh" : "a\"\n");
    assert_string_written(a, json_write, parse_ok, big.data, big.len, NULL);
    buf_free(&big);

    /* Escapes other writers use read back as the same bytes. */
    struct val *v = parse_ok(a, "\"\\u00e9\\u20ac\\ud83d\\ude00\\/\\u0041\"");
    assert_string_equal(v->u.str.ptr, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/A");

    /* Names are escaped as well. */
    struct val *st = val_struct(a);
    val_struct_add(a, st, "a\"b\n", val_int(a, 1));
    assert_string_equal(write_text(a, st), "{\"a\\\"b\\n\":1}");

    /* NUL cannot be parsed but must still be written as valid JSON. */
    struct buf b = BUF_INIT;
    json_write_string(&b, "a\0b", 3);
    assert_string_equal(b.data, "\"a\\u0000b\"");
    buf_free(&b);
    arena_free(a);
}

static void test_datetime_written_as_string(void **state)
{
    struct arena *a = arena_new();
    assert_string_equal(write_text(a, val_datetime(a, "20240131T12:00:00Z")),
                        "\"20240131T12:00:00Z\"");
    arena_free(a);
}

static void test_float_format(void **state)
{
    assert_doubles_written(CODEC_JSON, json_write, parse_ok);

    struct arena *a = arena_new();
    assert_string_equal(write_text(a, val_float(a, NAN)), "null");
    assert_string_equal(write_text(a, val_float(a, INFINITY)), "null");
    assert_string_equal(write_text(a, val_float(a, -INFINITY)), "null");
    struct val *v = parse_ok(a, "1.0");
    assert_int_equal(v->type, VAL_FLOAT);
    assert_string_equal(write_text(a, v), "1.0");
    v = parse_ok(a, "-0");
    assert_int_equal(v->type, VAL_INT);
    arena_free(a);
}

/* Any finite double goes out and comes back bit for bit. */
static void test_float_roundtrip_random(void **state)
{
    assert_doubles_roundtrip(json_write, parse_ok);
}

static void test_write_appends(void **state)
{
    struct arena *a = arena_new();
    struct buf b = BUF_INIT;
    buf_puts(&b, "x=");
    json_write(&b, val_string(a, "y"));
    json_write(&b, val_int(a, 1));
    assert_string_equal(b.data, "x=\"y\"1");
    assert_int_equal(b.len, 6);
    buf_free(&b);
    arena_free(a);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "[1,",
        "[1,]",
        "{\"a\"}",
        "{\"a\":1,}",
        "{a:1}",
        "[1] x",
        "{} {}",
        "nul",
        "01",
        "+1",
        ".5",
        "1.",
        "'a'",
        "\"\\x\"",
        "\"abc",
        "NaN",
        "Infinity",
        "[-]",
        "\"a\\u0000b\"",
        "{\"\\u0000\":1}",
        "\"\xff\"",
        "\"\xc3\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\\ud800\"",
        "\"\\udc00x\"",
        "\"tab\there\"",
        "\"ab\ncd\"",
    };
    struct arena *a = arena_new();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_fail(a, bad[i]);
    assert_string_equal(parse_fail(a, ""),
                        "JSON: unexpected token near end of file at line 1 column 0");
    assert_string_equal(parse_fail(a, "[1] x"),
                        "JSON: end of file expected near 'x' at line 1 column 5");
    assert_string_equal(parse_fail(a, "\"a\\u0000b\""),
                        "JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near "
                        "'\"a\\u0000b\"' at line 1 column 10");
    /* The raw newline jansson quotes back is not let into the message. */
    assert_string_equal(parse_fail(a, "\"ab\ncd\""),
                        "JSON: unexpected newline near '\"ab' at line 1 column 3");
    /* Nor bytes that are not ASCII (the quote may be cut mid-character). */
    assert_string_equal(parse_fail(a, "[\"\xc3\xa9\" x"),
                        "JSON: ']' expected near 'x' at line 1 column 6");
    assert_string_equal(parse_fail(a, "[\"\xc3\xa9\xc3\xa9\""), "JSON: ']' expected near "
                                                                "end of file at line 1 "
                                                                "column 5");
    /* A NUL byte inside the given length is input, not a terminator. */
    parse_fail_len(a, "[1]\0", 4);
    parse_fail_len(a, "\"a\0b\"", 5);
    arena_free(a);
}

static void test_error_is_ascii(void **state)
{
    struct arena *a = arena_new();
    const char *err = parse_fail(a, "{\"\xc3\xa9\xc3\xa9\" 1}");
    assert_string_equal(err, "JSON: ':' expected near '1' at line 1 column 7");
    err = parse_fail(a, "[\"\xc3\xa9\" \"\xc3\xa9\"]");
    assert_non_null(strstr(err, "'\"??\"'"));
    arena_free(a);
}

static const char request[] = "{\"jsonrpc\":\"2.0\",\"method\":\"host.get_resident_VMs\","
                              "\"params\":[\"OpaqueRef:c90cd28f\",{\"k\":[1,2.5,null]}],"
                              "\"id\":3}";

/* Every proper prefix of an object is incomplete and must fail cleanly. */
static void test_truncated_prefixes(void **state)
{
    struct arena *a = arena_new();
    size_t len = strlen(request);
    for (size_t n = 0; n < len; n++) {
        /* A heap copy of exactly n bytes lets ASan catch any over-read. */
        char *copy = malloc(n ? n : 1);
        memcpy(copy, request, n);
        parse_fail_len(a, copy, n);
        free(copy);
    }
    struct val *v = parse_ok(a, request);
    assert_int_equal(v->type, VAL_STRUCT);
    assert_string_equal(write_text(a, v), request);
    arena_free(a);
}

static void test_depth(void **state)
{
    struct arena *a = arena_new();
    const char *ok = nested(a, "[", "1", "]", VAL_MAX_DEPTH);
    assert_string_equal(write_text(a, parse_ok(a, ok)), ok);
    assert_string_equal(parse_fail(a, nested(a, "[", "1", "]", VAL_MAX_DEPTH + 1)),
                        "JSON: nesting deeper than 64 levels");

    parse_ok(a, nested(a, "{\"a\":", "{}", "}", VAL_MAX_DEPTH - 1));
    assert_string_equal(parse_fail(a, nested(a, "{\"a\":", "{}", "}", VAL_MAX_DEPTH)),
                        "JSON: nesting deeper than 64 levels");

    parse_fail(a, nested(a, "[{\"a\":", "[]", "}]", VAL_MAX_DEPTH / 2));

    /* Far past jansson's own limit: must fail, not exhaust the stack. */
    parse_fail(a, nested(a, "[", "", "", 100000));
    parse_fail(a, nested(a, "[", "", "]", 100000));
    parse_fail(a, nested(a, "{\"a\":", "1", "}", 100000));
    arena_free(a);
}

static void test_parsed_strings_are_c_strings(void **state)
{
    struct arena *a = arena_new();
    struct val *v = parse_ok(a, "[\"abc\",\"\"]");
    assert_int_equal(v->u.arr.items[0]->u.str.ptr[3], '\0');
    assert_int_equal(v->u.arr.items[0]->u.str.len, 3);
    assert_int_equal(v->u.arr.items[1]->u.str.ptr[0], '\0');
    assert_int_equal(v->u.arr.items[1]->u.str.len, 0);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),         cmocka_unit_test(test_int64_limits),
        cmocka_unit_test(test_huge_integer),    cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_member_order),    cmocka_unit_test(test_duplicate_members),
        cmocka_unit_test(test_string_escaping), cmocka_unit_test(test_datetime_written_as_string),
        cmocka_unit_test(test_float_format),    cmocka_unit_test(test_float_roundtrip_random),
        cmocka_unit_test(test_write_appends),   cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_error_is_ascii),  cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_depth),           cmocka_unit_test(test_parsed_strings_are_c_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
