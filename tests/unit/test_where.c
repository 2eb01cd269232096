/*
 * test_where.c - the get_all_records_where filter language: comparisons on
 * every kind of field, precedence, parentheses, escapes, the database's
 * "__" column names, and malformed expressions, which must fail with a
 * one-line message and never crash or recurse without bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "api/where.h"

/* A VM-like record with one field of each kind. */
static struct val *vm_record(struct arena *a)
{
    struct val *r = val_struct(a);
    val_struct_add(a, r, "uuid", val_string(a, "0b8f-11"));
    val_struct_add(a, r, "name_label", val_string(a, "web \"01\" \\ prod"));
    val_struct_add(a, r, "name_description", val_string(a, ""));
    val_struct_add(a, r, "power_state", val_string(a, "Running"));
    val_struct_add(a, r, "resident_on", val_string(a, "OpaqueRef:1234"));
    val_struct_add(a, r, "is_a_template", val_bool(a, false));
    val_struct_add(a, r, "is_control_domain", val_bool(a, true));
    val_struct_add(a, r, "VCPUs_max", val_int(a, 4));
    val_struct_add(a, r, "memory_offset", val_int(a, -17));
    val_struct_add(a, r, "memory_overhead", val_int(a, INT64_MIN));
    val_struct_add(a, r, "weight", val_float(a, 0.1));
    val_struct_add(a, r, "ratio", val_float(a, 2.0));
    val_struct_add(a, r, "last_booted", val_datetime(a, "20240131T12:00:00Z"));
    val_struct_add(a, r, "nothing", val_nil(a));
    struct val *tags = val_array(a);
    val_array_push(a, tags, val_string(a, "a"));
    val_array_push(a, tags, val_string(a, "it's"));
    val_struct_add(a, r, "tags", tags);
    val_struct_add(a, r, "blocked_operations", val_array(a));
    struct val *oc = val_struct(a);
    val_struct_add(a, oc, "k", val_string(a, "v"));
    val_struct_add(a, oc, "n", val_int(a, 3));
    val_struct_add(a, r, "other_config", oc);
    val_struct_add(a, r, "xenstore_data", val_struct(a));
    return r;
}

static struct where_expr *parse_ok(struct arena *a, const char *text)
{
    struct where_expr *e = NULL;
    const char *err = NULL;
    if (where_parse(a, text, &e, &err) != 0)
        fail_msg("where_parse(%s) failed: %s", text, err);
    assert_non_null(e);
    return e;
}

/* Returns the error message; every failure must carry a one-line one. */
static const char *parse_fail(struct arena *a, const char *text)
{
    struct where_expr *e = (struct where_expr *)1;
    const char *err = NULL;
    if (where_parse(a, text, &e, &err) != -1)
        fail_msg("where_parse(%s) succeeded", text);
    assert_null(e);
    assert_non_null(err);
    assert_true(strncmp(err, "where: ", 7) == 0);
    for (const unsigned char *p = (const unsigned char *)err; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    return err;
}

/* Whether text matches the record of vm_record. */
static bool matches(const char *text)
{
    struct arena *a = arena_new();
    bool m = where_match(parse_ok(a, text), vm_record(a));
    arena_free(a);
    return m;
}

#define MATCH(text) assert_true(matches(text))
#define NO_MATCH(text) assert_false(matches(text))

static void test_constants(void **state)
{
    MATCH("true");
    NO_MATCH("false");
    NO_MATCH("not true");
    MATCH("not false");
    MATCH("  \t\ntrue\r\n ");
}

static void test_string_fields(void **state)
{
    MATCH("field \"power_state\" = \"Running\"");
    NO_MATCH("field \"power_state\" = \"running\"");
    NO_MATCH("field \"power_state\" = \"Runnin\"");
    NO_MATCH("field \"power_state\" = \"Running \"");
    MATCH("field \"power_state\" <> \"Halted\"");
    NO_MATCH("field \"power_state\" <> \"Running\"");
    MATCH("field \"resident_on\" = \"OpaqueRef:1234\"");
    MATCH("field \"uuid\"=\"0b8f-11\"");
    MATCH("field\"uuid\"=\"0b8f-11\"");
    MATCH("field \"name_description\" = \"\"");
    /* Either side may be the field, or both, or neither. */
    MATCH("\"Running\" = field \"power_state\"");
    MATCH("field \"uuid\" = field \"uuid\"");
    NO_MATCH("field \"uuid\" = field \"power_state\"");
    MATCH("\"a\" = \"a\"");
    MATCH("\"a\" <> \"b\"");
    NO_MATCH("\"\" <> \"\"");
}

static void test_missing_field_is_empty(void **state)
{
    MATCH("field \"no_such_field\" = \"\"");
    NO_MATCH("field \"no_such_field\" <> \"\"");
    MATCH("field \"\" = \"\"");
    MATCH("field \"nothing\" = \"\"");
    MATCH("field \"Power_state\" = \"\""); /* names are case-sensitive */

    /* A record that is not a struct has no fields. */
    struct arena *a = arena_new();
    struct where_expr *e = parse_ok(a, "field \"x\" = \"\"");
    assert_true(where_match(e, NULL));
    assert_true(where_match(e, val_string(a, "x")));
    assert_true(where_match(e, val_struct(a)));
    arena_free(a);
}

static void test_scalar_rendering(void **state)
{
    MATCH("field \"VCPUs_max\" = \"4\"");
    NO_MATCH("field \"VCPUs_max\" = \"04\"");
    NO_MATCH("field \"VCPUs_max\" = \"4.0\"");
    MATCH("field \"memory_offset\" = \"-17\"");
    MATCH("field \"memory_overhead\" = \"-9223372036854775808\"");
    MATCH("field \"is_a_template\" = \"false\"");
    MATCH("field \"is_control_domain\" = \"true\"");
    NO_MATCH("field \"is_control_domain\" = \"True\"");
    NO_MATCH("field \"is_control_domain\" = \"1\"");
    MATCH("field \"weight\" = \"0.1\"");
    MATCH("field \"last_booted\" = \"20240131T12:00:00Z\"");

    /* Floats read as the wire writes them. */
    struct arena *a = arena_new();
    char tmp[40];
    buf_format_double(tmp, sizeof(tmp), 2.0);
    char *text = arena_printf(a, "field \"ratio\" = \"%s\"", tmp);
    assert_true(where_match(parse_ok(a, text), vm_record(a)));
    arena_free(a);
}

static void test_int_extremes(void **state)
{
    struct arena *a = arena_new();
    struct val *r = val_struct(a);
    val_struct_add(a, r, "zero", val_int(a, 0));
    val_struct_add(a, r, "max", val_int(a, INT64_MAX));
    assert_true(where_match(parse_ok(a, "field \"zero\" = \"0\""), r));
    assert_true(where_match(parse_ok(a, "field \"max\" = \"9223372036854775807\""), r));
    arena_free(a);
}

static void test_sets_and_maps(void **state)
{
    MATCH("field \"tags\" = \"('a' 'it\\\\'s')\"");
    NO_MATCH("field \"tags\" = \"a\"");
    MATCH("field \"blocked_operations\" = \"()\"");
    MATCH("field \"other_config\" = \"(('k' 'v') ('n' '3'))\"");
    MATCH("field \"xenstore_data\" = \"()\"");
    MATCH("field \"other_config\" <> \"\"");
    /* Two fields of the same rendering compare equal. */
    MATCH("field \"xenstore_data\" = field \"blocked_operations\"");
}

static void test_nested_set_rendering(void **state)
{
    struct arena *a = arena_new();
    struct val *r = val_struct(a);
    struct val *inner = val_struct(a);
    val_struct_add(a, inner, "x\\y", val_bool(a, true));
    struct val *outer = val_struct(a);
    val_struct_add(a, outer, "m", inner);
    val_struct_add(a, r, "mm", outer);
    struct val *set = val_array(a);
    struct val *sub = val_array(a);
    val_array_push(a, sub, val_int(a, 1));
    val_array_push(a, set, sub);
    val_array_push(a, set, val_nil(a));
    val_struct_add(a, r, "ss", set);
    assert_true(where_match(parse_ok(a, "field \"mm\" = \"(('m' (('x\\\\\\\\y' 'true'))))\""), r));
    assert_true(where_match(parse_ok(a, "field \"ss\" = \"(('1') '')\""), r));
    arena_free(a);
}

static void test_db_column_names(void **state)
{
    MATCH("field \"name__label\" = \"web \\\"01\\\" \\\\ prod\"");
    MATCH("field \"VCPUs__max\" = \"4\"");
    NO_MATCH("field \"name__label\" = \"\"");

    /* The wire name wins when both exist. */
    struct arena *a = arena_new();
    struct val *r = val_struct(a);
    val_struct_add(a, r, "a_b", val_string(a, "wire"));
    val_struct_add(a, r, "a__b", val_string(a, "exact"));
    assert_true(where_match(parse_ok(a, "field \"a__b\" = \"exact\""), r));
    assert_true(where_match(parse_ok(a, "field \"a_b\" = \"wire\""), r));
    struct val *r2 = val_struct(a);
    val_struct_add(a, r2, "x_y_z", val_string(a, "1"));
    assert_true(where_match(parse_ok(a, "field \"x__y__z\" = \"1\""), r2));
    arena_free(a);
}

static void test_escapes(void **state)
{
    MATCH("field \"name_label\" = \"web \\\"01\\\" \\\\ prod\"");
    NO_MATCH("field \"name_label\" = \"web \\\"01\\\" \\\\\\\\ prod\"");
    MATCH("\"\\\"\" = \"\\\"\"");
    MATCH("\"\\\\\" <> \"\\\"\"");
    /* Keywords and operators inside strings are just text. */
    MATCH("\"and or not ( ) = <>\" = \"and or not ( ) = <>\"");
    MATCH("\"true\" <> \"false\"");
}

static void test_and_or_not(void **state)
{
    MATCH("true and true");
    NO_MATCH("true and false");
    NO_MATCH("false and true");
    MATCH("true or false");
    MATCH("false or true");
    NO_MATCH("false or false");
    MATCH("field \"power_state\" = \"Running\" and field \"VCPUs_max\" = \"4\"");
    NO_MATCH("field \"power_state\" = \"Running\" and field \"VCPUs_max\" = \"8\"");
    MATCH("field \"power_state\" = \"Halted\" or field \"VCPUs_max\" = \"4\"");
    MATCH("not field \"power_state\" = \"Halted\"");
    NO_MATCH("not field \"power_state\" = \"Running\"");
    NO_MATCH("not not field \"power_state\" = \"Halted\"");
    MATCH("true and true and true and true");
    NO_MATCH("true and true and false and true");
    MATCH("false or false or false or true");
    NO_MATCH("false or false or false or false");
}

static void test_precedence(void **state)
{
    /* and binds tighter than or. */
    MATCH("true or true and false"); /* true or (true and false) */
    MATCH("false and true or true"); /* (false and true) or true */
    NO_MATCH("false and true or false");
    MATCH("true or false and false");
    /* not binds tighter than and and or. */
    NO_MATCH("not true and false"); /* (not true) and false */
    MATCH("not true or true");      /* (not true) or true */
    NO_MATCH("not false and false");
    MATCH("not false or false");
    MATCH("true and not false");
    NO_MATCH("not field \"power_state\" = \"Running\" or field \"uuid\" = \"x\"");
}

static void test_parentheses(void **state)
{
    NO_MATCH("(true or true) and false");
    MATCH("true or (true and false)");
    MATCH("not (true and false)");
    NO_MATCH("not (true or false)");
    MATCH("((((true))))");
    MATCH("(field \"power_state\" = \"Running\")");
    MATCH("(field \"power_state\"=\"Running\") and (field \"resident_on\"=\"OpaqueRef:1234\")");
    MATCH("not(false)and(true)");
    MATCH("(false or (true and (not false)))");
    NO_MATCH("(false or (true and (not true)))");
}

static void test_upstream_example(void **state)
{
    /* The shape sxm uses to find a VDI by location and SR. */
    struct arena *a = arena_new();
    struct val *vdi = val_struct(a);
    val_struct_add(a, vdi, "location", val_string(a, "3f2a"));
    val_struct_add(a, vdi, "SR", val_string(a, "OpaqueRef:sr1"));
    struct where_expr *e =
        parse_ok(a, "(field \"location\"=\"3f2a\") and (field \"SR\"=\"OpaqueRef:sr1\")");
    assert_true(where_match(e, vdi));
    struct val *other = val_struct(a);
    val_struct_add(a, other, "location", val_string(a, "3f2a"));
    val_struct_add(a, other, "SR", val_string(a, "OpaqueRef:sr2"));
    assert_false(where_match(e, other));
    arena_free(a);
}

static void test_one_expression_many_records(void **state)
{
    struct arena *a = arena_new();
    struct where_expr *e = parse_ok(a, "field \"n\" = \"7\" or field \"n\" = \"42\"");
    int hits = 0;
    for (int i = 0; i < 100; i++) {
        struct val *r = val_struct(a);
        val_struct_add(a, r, "n", val_int(a, i));
        hits += where_match(e, r);
    }
    assert_int_equal(hits, 2);
    arena_free(a);
}

static void test_long_chains(void **state)
{
    /* 5000 operands make one flat node: no deep recursion to evaluate. */
    struct buf b = BUF_INIT;
    for (int i = 0; i < 5000; i++)
        buf_puts(&b, i ? " and true" : "true");
    struct arena *a = arena_new();
    assert_true(where_match(parse_ok(a, b.data), NULL));
    buf_reset(&b);
    for (int i = 0; i < 5000; i++)
        buf_puts(&b, i ? " or false" : "false");
    buf_puts(&b, " or field \"x\" = \"\"");
    assert_true(where_match(parse_ok(a, b.data), NULL));
    buf_free(&b);
    arena_free(a);
}

static void test_nesting_limit(void **state)
{
    struct arena *a = arena_new();
    struct buf b = BUF_INIT;
    /* Exactly the limit parses... */
    for (int i = 0; i < WHERE_MAX_DEPTH; i++)
        buf_putc(&b, '(');
    buf_puts(&b, "true");
    for (int i = 0; i < WHERE_MAX_DEPTH; i++)
        buf_putc(&b, ')');
    assert_true(where_match(parse_ok(a, b.data), NULL));
    /* ...one more does not. */
    buf_reset(&b);
    for (int i = 0; i <= WHERE_MAX_DEPTH; i++)
        buf_putc(&b, '(');
    buf_puts(&b, "true");
    for (int i = 0; i <= WHERE_MAX_DEPTH; i++)
        buf_putc(&b, ')');
    assert_non_null(strstr(parse_fail(a, b.data), "nested"));

    /* A chain of 'not' counts as nesting too. */
    buf_reset(&b);
    for (int i = 0; i < WHERE_MAX_DEPTH; i++)
        buf_puts(&b, "not ");
    buf_puts(&b, "false");
    assert_false(where_match(parse_ok(a, b.data), NULL)); /* 64 nots: even */
    buf_puts(&b, " and not true");
    assert_false(where_match(parse_ok(a, b.data), NULL));
    buf_reset(&b);
    for (int i = 0; i <= WHERE_MAX_DEPTH; i++)
        buf_puts(&b, "not ");
    buf_puts(&b, "false");
    assert_non_null(strstr(parse_fail(a, b.data), "nested"));
    /* Mixed. */
    buf_reset(&b);
    for (int i = 0; i < WHERE_MAX_DEPTH; i++)
        buf_puts(&b, i % 2 ? "not " : "(");
    buf_puts(&b, "(true");
    for (int i = 0; i < WHERE_MAX_DEPTH / 2 + 1; i++)
        buf_putc(&b, ')');
    parse_fail(a, b.data);

    /* Far deeper input fails just as fast, without deep recursion. */
    buf_reset(&b);
    for (int i = 0; i < 1000000 && b.len < WHERE_MAX_LEN; i++)
        buf_putc(&b, '(');
    parse_fail(a, b.data);
    buf_free(&b);
    arena_free(a);
}

static void test_length_limit(void **state)
{
    struct arena *a = arena_new();
    struct buf b = BUF_INIT;
    buf_puts(&b, "\"");
    while (b.len < WHERE_MAX_LEN - 7)
        buf_putc(&b, 'x');
    buf_puts(&b, "\" = \"\"");
    assert_int_equal(b.len, WHERE_MAX_LEN - 1);
    assert_false(where_match(parse_ok(a, b.data), NULL));
    buf_putc(&b, ' ');
    assert_int_equal(b.len, WHERE_MAX_LEN);
    parse_ok(a, b.data);
    buf_putc(&b, ' ');
    assert_non_null(strstr(parse_fail(a, b.data), "longer"));
    buf_free(&b);
    arena_free(a);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        /* empty */
        "",
        "   \t\n",
        /* unterminated strings */
        "\"abc",
        "field \"power_state",
        "field \"x\" = \"abc",
        "field \"x\" = \"abc\\\"",
        "field \"x\" = \"abc\\",
        /* bad escapes */
        "\"a\\nb\" = \"x\"",
        "\"a\\'b\" = \"x\"",
        /* unknown keywords, wrong case */
        "maybe",
        "TRUE",
        "True",
        "true AND true",
        "NOT true",
        "Field \"x\" = \"y\"",
        "fields \"x\" = \"y\"",
        "notfalse",
        "true andtrue",
        "xor",
        "field \"x\" == \"y\"",
        "field \"x\" != \"y\"",
        "field \"x\" < \"y\"",
        "field \"x\" > \"y\"",
        "'a' = 'a'",
        "field x = \"y\"",
        "field 'x' = \"y\"",
        "\x01",
        "\xc3\xa9",
        /* missing operands */
        "not",
        "true and",
        "and true",
        "true or",
        "or",
        "true and or false",
        "not and true",
        "field",
        "field \"x\"",
        "field \"x\" =",
        "field \"x\" <>",
        "= \"y\"",
        "\"x\"",
        "\"x\" =",
        "field \"x\" = field",
        "field = \"x\"",
        "()",
        "( )",
        /* unbalanced parentheses */
        "(",
        "(true",
        "((true)",
        ")",
        "true)",
        "(true))",
        "(field \"x\" = \"y\"",
        /* trailing junk */
        "true true",
        "true false",
        "true \"x\"",
        "field \"x\" = \"y\" \"z\"",
        "field \"x\" = \"y\" = \"z\"",
        "field \"x\" = \"y\" field \"z\" = \"w\"",
        "true;",
        "true (false)",
        "true not false",
        /* a comparison's operands are values, not expressions */
        "true = true",
        "true = \"true\"",
        "\"true\" = true",
        "(field \"x\") = \"y\"",
        "not \"x\" = not \"y\"",
        "field \"x\" = (\"y\")",
        "< >",
        "<",
        "field \"x\" <",
        "field \"x\" < > \"y\"",
    };
    struct arena *a = arena_new();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_fail(a, bad[i]);
    arena_free(a);
}

static void test_error_messages(void **state)
{
    struct arena *a = arena_new();
    assert_string_equal(parse_fail(a, ""), "where: empty expression");
    assert_string_equal(parse_fail(a, "field \"x\" = \"abc"),
                        "where: unterminated string at offset 12");
    assert_string_equal(parse_fail(a, "true AND true"), "where: unknown keyword 'AND' at offset 5");
    assert_string_equal(parse_fail(a, "true and"),
                        "where: expected an expression, found end of input at offset 8");
    assert_string_equal(parse_fail(a, "true true"),
                        "where: expected 'and', 'or' or the end, found 'true' at offset 5");
    assert_string_equal(parse_fail(a, "field \"x\" \"y\""),
                        "where: expected '=' or '<>', found a string at offset 10");
    assert_string_equal(parse_fail(a, "(true"),
                        "where: expected ')' or an operator, found end of input at offset 5");
    assert_string_equal(parse_fail(a, "field x"), "where: unknown keyword 'x' at offset 6");
    assert_string_equal(parse_fail(a, "field = \"x\""),
                        "where: expected a field name in double quotes, found '=' at offset 6");
    assert_non_null(strstr(parse_fail(a, "\"a\\qb\" = \"\""), "escape"));
    assert_non_null(strstr(parse_fail(a, "\"a\\qb\" = \"\""), "offset 2"));
    assert_string_equal(parse_fail(a, "\x7f"), "where: unexpected byte 0x7f at offset 0");
    assert_string_equal(parse_fail(a, "true & false"),
                        "where: unexpected character '&' at offset 5");
    /* Long junk words are cut short in the message. */
    struct buf b = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_putc(&b, 'z');
    assert_true(strlen(parse_fail(a, b.data)) < 100);
    buf_free(&b);
    arena_free(a);
}

/* Pseudo-random token soup: every input parses or fails cleanly, and the
 * ones that parse can be evaluated. */
static void test_token_soup(void **state)
{
    static const char *const toks[] = {
        "true",  "false",           "not",         "and",  "or", "(",      ")",  "=", "<>",
        "field", "\"power_state\"", "\"Running\"", "\"\"", " ",  "\"\\\"", "\\", "<",
    };
    const size_t ntoks = sizeof(toks) / sizeof(toks[0]);
    struct val *rec;
    struct arena *ra = arena_new();
    rec = vm_record(ra);
    uint64_t x = 0x9e3779b97f4a7c15u;
    int parsed = 0;
    for (int i = 0; i < 20000; i++) {
        struct arena *a = arena_new();
        struct buf b = BUF_INIT;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int n = 1 + (int)(x % 12);
        for (int j = 0; j < n; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf_puts(&b, toks[x % ntoks]);
            buf_putc(&b, ' ');
        }
        struct where_expr *e = NULL;
        const char *err = NULL;
        if (where_parse(a, b.data, &e, &err) == 0) {
            assert_non_null(e);
            (void)where_match(e, rec);
            parsed++;
        } else {
            assert_null(e);
            assert_non_null(err);
        }
        buf_free(&b);
        arena_free(a);
    }
    assert_true(parsed > 0);
    arena_free(ra);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_string_fields),
        cmocka_unit_test(test_missing_field_is_empty),
        cmocka_unit_test(test_scalar_rendering),
        cmocka_unit_test(test_int_extremes),
        cmocka_unit_test(test_sets_and_maps),
        cmocka_unit_test(test_nested_set_rendering),
        cmocka_unit_test(test_db_column_names),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_and_or_not),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_parentheses),
        cmocka_unit_test(test_upstream_example),
        cmocka_unit_test(test_one_expression_many_records),
        cmocka_unit_test(test_long_chains),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_token_soup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
