/*
 * test_xmlrpc.c - the XML-RPC codec: every value type both ways, the exact
 * text written, the XenAPI Status/Value/ErrorDescription envelope, calls,
 * and hostile input (truncation at every byte, bad UTF-8, deep nesting,
 * out-of-range numbers, wrong and unknown elements, DTDs), which must fail
 * with a one-line message and never crash.
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

#include "xmlrpc.h"

/* Every error message is one line of printable ASCII with the codec's prefix. */
static void assert_error_text(const char *err)
{
    assert_non_null(err);
    if (strncmp(err, "XML-RPC: ", 9) != 0)
        fail_msg("error without prefix: %s", err);
    for (const unsigned char *p = (const unsigned char *)err; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            fail_msg("error is not one line of ASCII: %s", err);
    assert_true(strlen(err) < 400);
}

/* Heap copies of exactly len bytes let ASan catch any over-read. */
static char *exact_copy(const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    return copy;
}

static struct val *value_ok(struct arena *a, const char *text)
{
    struct val *v = NULL;
    const char *err = NULL;
    char *copy = exact_copy(text, strlen(text));
    int rc = xmlrpc_parse_value(a, copy, strlen(text), &v, &err);
    free(copy);
    if (rc != 0)
        fail_msg("xmlrpc_parse_value(%s) failed: %s", text, err);
    assert_non_null(v);
    return v;
}

static const char *value_fail_len(struct arena *a, const char *text, size_t len)
{
    struct val *v = NULL;
    const char *err = NULL;
    char *copy = exact_copy(text, len);
    int rc = xmlrpc_parse_value(a, copy, len, &v, &err);
    free(copy);
    if (rc != -1)
        fail_msg("xmlrpc_parse_value(%.*s) did not fail", (int)len, text);
    assert_error_text(err);
    return err;
}

static const char *value_fail(struct arena *a, const char *text)
{
    return value_fail_len(a, text, strlen(text));
}

static struct rpc_call call_ok(struct arena *a, const char *text)
{
    struct rpc_call call;
    memset(&call, 0, sizeof(call));
    const char *err = NULL;
    char *copy = exact_copy(text, strlen(text));
    int rc = xmlrpc_parse_call(a, copy, strlen(text), &call, &err);
    free(copy);
    if (rc != 0)
        fail_msg("xmlrpc_parse_call(%s) failed: %s", text, err);
    assert_non_null(call.method);
    assert_non_null(call.params);
    assert_int_equal(call.params->type, VAL_ARRAY);
    assert_null(call.id);
    assert_int_equal(call.jsonrpc_version, 0);
    return call;
}

static const char *call_fail_len(struct arena *a, const char *text, size_t len)
{
    struct rpc_call call;
    const char *err = NULL;
    char *copy = exact_copy(text, len);
    int rc = xmlrpc_parse_call(a, copy, len, &call, &err);
    free(copy);
    if (rc != -1)
        fail_msg("xmlrpc_parse_call(%.*s) did not fail", (int)len, text);
    assert_error_text(err);
    return err;
}

static const char *call_fail(struct arena *a, const char *text)
{
    return call_fail_len(a, text, strlen(text));
}

static struct rpc_reply reply_ok(struct arena *a, const char *text)
{
    struct rpc_reply reply;
    const char *err = NULL;
    char *copy = exact_copy(text, strlen(text));
    int rc = xmlrpc_parse_reply(a, copy, strlen(text), &reply, &err);
    free(copy);
    if (rc != 0)
        fail_msg("xmlrpc_parse_reply(%s) failed: %s", text, err);
    assert_true(!reply.value != !reply.error);
    return reply;
}

static const char *reply_fail_len(struct arena *a, const char *text, size_t len)
{
    struct rpc_reply reply;
    const char *err = NULL;
    char *copy = exact_copy(text, len);
    int rc = xmlrpc_parse_reply(a, copy, len, &reply, &err);
    free(copy);
    if (rc != -1)
        fail_msg("xmlrpc_parse_reply(%.*s) did not fail", (int)len, text);
    assert_error_text(err);
    return err;
}

static const char *reply_fail(struct arena *a, const char *text)
{
    return reply_fail_len(a, text, strlen(text));
}

/* xmlrpc_write_value into a fresh buf; the result lives in the arena. */
static const char *write_text(struct arena *a, const struct val *v)
{
    struct buf b = BUF_INIT;
    xmlrpc_write_value(&b, v);
    char *s = arena_strndup(a, b.data, b.len);
    assert_int_equal(strlen(s), b.len);
    buf_free(&b);
    return s;
}

static const char *write_reply_text(struct arena *a, const struct rpc_reply *r)
{
    struct buf b = BUF_INIT;
    xmlrpc_write_reply(&b, r);
    char *s = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return s;
}

static const char *write_call_text(struct arena *a, const char *method, const struct val *params)
{
    struct buf b = BUF_INIT;
    xmlrpc_write_call(&b, method, params);
    char *s = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return s;
}

/* Parses text, writes it back and expects the same text. */
static void assert_roundtrip_text(const char *text)
{
    struct arena *a = arena_new();
    struct val *v = value_ok(a, text);
    assert_string_equal(write_text(a, v), text);
    struct val *again = value_ok(a, write_text(a, v));
    assert_true(val_equal(v, again));
    arena_free(a);
}

static void assert_string_val(const struct val *v, const char *want)
{
    assert_non_null(v);
    assert_int_equal(v->type, VAL_STRING);
    assert_int_equal(v->u.str.len, strlen(want));
    assert_string_equal(v->u.str.ptr, want);
}

static void test_strings(void **state)
{
    struct arena *a = arena_new();
    assert_string_val(value_ok(a, "<value>hello</value>"), "hello");
    assert_string_val(value_ok(a, "<value><string>hello</string></value>"), "hello");
    /* Text is content: no trimming, untyped or not. */
    assert_string_val(value_ok(a, "<value>  a b  </value>"), "  a b  ");
    assert_string_val(value_ok(a, "<value><string> x </string></value>"), " x ");
    assert_string_val(value_ok(a, "<value></value>"), "");
    assert_string_val(value_ok(a, "<value/>"), "");
    assert_string_val(value_ok(a, "<value><string></string></value>"), "");
    assert_string_val(value_ok(a, "<value><string/></value>"), "");
    /* Whitespace around a typed child is layout, not content. */
    assert_string_val(value_ok(a, "<value>\n  <string>s</string>\n</value>"), "s");
    /* The XML declaration, comments, PIs and CDATA are ordinary XML. */
    assert_string_val(value_ok(a, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<!-- c --><value>a<!-- x -->b<?pi y?>c</value>\n<!-- d -->\n"),
                      "abc");
    assert_string_val(value_ok(a, "<value><![CDATA[<&>]]></value>"), "<&>");
    assert_string_val(value_ok(a, "<value>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#xe9;</value>"),
                      "&<>\"'AB\xc3\xa9");
    /* A UTF-8 BOM is allowed. */
    assert_string_val(value_ok(a, "\xef\xbb\xbf<value>bom</value>"), "bom");

    assert_roundtrip_text("<value>hello</value>");
    assert_roundtrip_text("<value></value>");
    assert_roundtrip_text("<value>OpaqueRef:74f1a19c-0000</value>");
    arena_free(a);
}

static void test_string_escaping(void **state)
{
    struct arena *a = arena_new();
    static const char raw[] = "a&b<c>d\"e'f]]>g\r\nh\ti\n"
                              "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    struct val *v = val_string_len(a, raw, sizeof(raw) - 1);
    const char *text = write_text(a, v);
    assert_string_equal(text, "<value>a&amp;b&lt;c&gt;d\"e'f]]&gt;g&#13;\nh\ti\n"
                              "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80</value>");
    struct val *back = value_ok(a, text);
    assert_int_equal(back->type, VAL_STRING);
    assert_int_equal(back->u.str.len, sizeof(raw) - 1);
    assert_memory_equal(back->u.str.ptr, raw, sizeof(raw) - 1);

    /* A bare CR in the input is line-end normalised, as XML requires. */
    assert_string_val(value_ok(a, "<value>a\r\nb\rc</value>"), "a\nb\nc");

    /* Long clean runs around escapes. */
    struct buf big = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_puts(&big, i % 100 ? "abcdefgh" : "a&<>\r");
    v = val_string_len(a, big.data, big.len);
    back = value_ok(a, write_text(a, v));
    assert_int_equal(back->u.str.len, big.len);
    assert_memory_equal(back->u.str.ptr, big.data, big.len);
    buf_free(&big);

    /* Member names and method names are escaped as well. */
    struct val *st = val_struct(a);
    val_struct_add(a, st, "a<&>\r", val_string(a, "x"));
    text = write_text(a, st);
    assert_string_equal(text, "<value><struct><member><name>a&lt;&amp;&gt;&#13;</name>"
                              "<value>x</value></member></struct></value>");
    back = value_ok(a, text);
    assert_string_equal(back->u.st.members[0].name, "a<&>\r");
    struct val *params = val_array(a);
    text = write_call_text(a, "a<&>", params);
    assert_string_equal(call_ok(a, text).method, "a<&>");
    arena_free(a);
}

static void test_ints(void **state)
{
    struct arena *a = arena_new();
    /* XenAPI ints are 64-bit and travel as decimal strings. */
    assert_string_equal(write_text(a, val_int(a, 42)), "<value><string>42</string></value>");
    assert_string_equal(write_text(a, val_int(a, 0)), "<value><string>0</string></value>");
    assert_string_equal(write_text(a, val_int(a, -10)), "<value><string>-10</string></value>");
    assert_string_equal(write_text(a, val_int(a, INT64_MAX)),
                        "<value><string>9223372036854775807</string></value>");
    assert_string_equal(write_text(a, val_int(a, INT64_MIN)),
                        "<value><string>-9223372036854775808</string></value>");
    /* ... so they read back as strings: the XenAPI layer knows the type. */
    assert_string_val(value_ok(a, write_text(a, val_int(a, -10))), "-10");

    static const char *const tags[] = {"i4", "int", "i8"};
    for (size_t t = 0; t < 3; t++) {
        char text[128];
        static const struct {
            const char *in;
            int64_t want;
        } cases[] = {
            {"0", 0},
            {"-0", 0},
            {"42", 42},
            {"+7", 7},
            {" \n 13\t ", 13},
            {"-2147483649", -2147483649LL},
            {"9223372036854775807", INT64_MAX},
            {"-9223372036854775808", INT64_MIN},
            {"007", 7},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            snprintf(text, sizeof(text), "<value><%s>%s</%s></value>", tags[t], cases[i].in,
                     tags[t]);
            struct val *v = value_ok(a, text);
            assert_int_equal(v->type, VAL_INT);
            assert_true(v->u.i == cases[i].want);
        }
    }
    arena_free(a);
}

static void test_huge_integers(void **state)
{
    struct arena *a = arena_new();
    static const char *const bad[] = {
        "<value><int>9223372036854775808</int></value>",
        "<value><i8>-9223372036854775809</i8></value>",
        "<value><i4>123456789012345678901234567890</i4></value>",
        "<value><int>-99999999999999999999999999999999999999999999999999</int></value>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        value_fail(a, bad[i]);
    assert_string_equal(value_fail(a, bad[0]), "XML-RPC: <int> is not a 64-bit decimal integer");
    assert_string_equal(value_fail(a, bad[1]), "XML-RPC: <i8> is not a 64-bit decimal integer");
    assert_string_equal(value_fail(a, "<value><double>1e400</double></value>"),
                        "XML-RPC: <double> is not a number in range");
    value_fail(a, "<value><double>-1e400</double></value>");
    /* As a string, a big number is just text. */
    assert_string_val(value_ok(a, "<value><string>99999999999999999999</string></value>"),
                      "99999999999999999999");
    arena_free(a);
}

static void assert_double_text(double f, const char *want)
{
    struct arena *a = arena_new();
    char expect[128];
    snprintf(expect, sizeof(expect), "<value><double>%s</double></value>", want);
    const char *text = write_text(a, val_float(a, f));
    assert_string_equal(text, expect);
    struct val *back = value_ok(a, text);
    assert_int_equal(back->type, VAL_FLOAT);
    if (isnan(f))
        assert_true(isnan(back->u.f));
    else
        assert_memory_equal(&back->u.f, &f, sizeof(f));
    arena_free(a);
}

static void test_doubles(void **state)
{
    assert_double_text(1.0, "1");
    assert_double_text(0.1, "0.1");
    assert_double_text(2.3, "2.3");
    assert_double_text(-2.5, "-2.5");
    assert_double_text(0.0, "0");
    assert_double_text(-0.0, "-0");
    assert_double_text(0.30000000000000004, "0.30000000000000004");
    assert_double_text(1e300, "1e+300");
    assert_double_text(-1.5e-7, "-1.5e-07");
    assert_double_text(1.7976931348623157e308, "1.7976931348623157e+308");
    assert_double_text(5e-324, "4.94065645841247e-324");
    assert_double_text(INFINITY, "inf");
    assert_double_text(-INFINITY, "-inf");
    assert_double_text(NAN, "nan");

    struct arena *a = arena_new();
    struct val *v = value_ok(a, "<value><double> 2.5 </double></value>");
    assert_int_equal(v->type, VAL_FLOAT);
    assert_true(v->u.f == 2.5);
    v = value_ok(a, "<value><double>-7</double></value>");
    assert_true(v->u.f == -7.0);
    v = value_ok(a, "<value><double>1e-400</double></value>"); /* underflow is fine */
    assert_true(v->u.f >= 0.0 && v->u.f < 1e-300);

    /* Any finite double goes out and comes back bit for bit. */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double f;
        memcpy(&f, &x, sizeof(f));
        if (!isfinite(f))
            continue;
        struct buf b = BUF_INIT;
        xmlrpc_write_value(&b, val_float(a, f));
        struct val *back = value_ok(a, b.data);
        if (back->type != VAL_FLOAT || memcmp(&back->u.f, &f, sizeof(f)) != 0)
            fail_msg("%a written as %s read back differently", f, b.data);
        buf_free(&b);
    }
    arena_free(a);
}

static void test_booleans(void **state)
{
    struct arena *a = arena_new();
    assert_string_equal(write_text(a, val_bool(a, true)), "<value><boolean>1</boolean></value>");
    assert_string_equal(write_text(a, val_bool(a, false)), "<value><boolean>0</boolean></value>");
    assert_roundtrip_text("<value><boolean>1</boolean></value>");
    assert_roundtrip_text("<value><boolean>0</boolean></value>");
    static const struct {
        const char *text;
        bool want;
    } cases[] = {
        {"<value><boolean>1</boolean></value>", true},
        {"<value><boolean>0</boolean></value>", false},
        {"<value><boolean>true</boolean></value>", true},
        {"<value><boolean>false</boolean></value>", false},
        {"<value><boolean> 1\n</boolean></value>", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct val *v = value_ok(a, cases[i].text);
        assert_int_equal(v->type, VAL_BOOL);
        assert_int_equal(v->u.b, cases[i].want);
    }
    arena_free(a);
}

static void test_datetime_base64_nil(void **state)
{
    struct arena *a = arena_new();
    const char *text = write_text(a, val_datetime(a, "20240131T12:00:00Z"));
    assert_string_equal(text, "<value><dateTime.iso8601>20240131T12:00:00Z</dateTime.iso8601>"
                              "</value>");
    struct val *v = value_ok(a, text);
    assert_int_equal(v->type, VAL_DATETIME);
    assert_string_equal(v->u.str.ptr, "20240131T12:00:00Z");
    assert_int_equal(v->u.str.len, 18);
    assert_true(val_equal(v, val_datetime(a, "20240131T12:00:00Z")));
    assert_roundtrip_text("<value><dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601>"
                          "</value>");
    v = value_ok(a, "<value><dateTime.iso8601/></value>");
    assert_int_equal(v->type, VAL_DATETIME);
    assert_int_equal(v->u.str.len, 0);

    /* base64 is kept as its text. */
    assert_string_val(value_ok(a, "<value><base64>aGVsbG8=</base64></value>"), "aGVsbG8=");

    /* <nil/> reads as nil; nil (the XenAPI void) goes out as "". */
    v = value_ok(a, "<value><nil/></value>");
    assert_int_equal(v->type, VAL_NIL);
    v = value_ok(a, "<value><nil></nil></value>");
    assert_int_equal(v->type, VAL_NIL);
    assert_string_equal(write_text(a, val_nil(a)), "<value></value>");
    assert_string_equal(write_text(a, NULL), "<value></value>");
    assert_string_val(value_ok(a, write_text(a, val_nil(a))), "");
    arena_free(a);
}

static void test_arrays_and_structs(void **state)
{
    assert_roundtrip_text("<value><array><data></data></array></value>");
    assert_roundtrip_text("<value><struct></struct></value>");
    assert_roundtrip_text("<value><array><data><value>a</value><value><boolean>1</boolean>"
                          "</value><value><array><data></data></array></value><value><struct>"
                          "</struct></value></data></array></value>");
    assert_roundtrip_text("<value><struct><member><name>z</name><value>1</value></member>"
                          "<member><name>a</name><value><struct><member><name></name><value>"
                          "</value></member></struct></value></member><member><name>m</name>"
                          "<value><double>0.5</double></value></member></struct></value>");

    struct arena *a = arena_new();
    struct val *v = value_ok(a, "<value><array><data/></array></value>");
    assert_int_equal(v->type, VAL_ARRAY);
    assert_int_equal(v->u.arr.n, 0);
    v = value_ok(a, "<value><struct/></value>");
    assert_int_equal(v->type, VAL_STRUCT);
    assert_int_equal(v->u.st.n, 0);

    /* Pretty-printed input, as in the wire protocol's own examples. */
    v = value_ok(a, "<value>\n"
                    "  <struct>\n"
                    "    <member>\n"
                    "      <name>Mike</name>\n"
                    "      <value><double>2.3</double></value>\n"
                    "    </member>\n"
                    "    <member>\n"
                    "      <name>John</name>\n"
                    "      <value><double>1.2</double></value>\n"
                    "    </member>\n"
                    "    <member>\n"
                    "      <name> sp ace </name>\n"
                    "      <value>\n"
                    "        <array>\n"
                    "          <data>\n"
                    "            <value><string>CX8</string></value>\n"
                    "            <value>PSE36</value>\n"
                    "          </data>\n"
                    "        </array>\n"
                    "      </value>\n"
                    "    </member>\n"
                    "  </struct>\n"
                    "</value>\n");
    assert_int_equal(v->type, VAL_STRUCT);
    assert_int_equal(v->u.st.n, 3);
    assert_string_equal(v->u.st.members[0].name, "Mike");
    assert_true(val_struct_get(v, "Mike")->u.f == 2.3);
    assert_string_equal(v->u.st.members[1].name, "John");
    assert_true(val_struct_get(v, "John")->u.f == 1.2);
    /* Names are content too. */
    struct val *arr = val_struct_get(v, " sp ace ");
    assert_non_null(arr);
    assert_int_equal(arr->type, VAL_ARRAY);
    assert_int_equal(arr->u.arr.n, 2);
    assert_string_val(arr->u.arr.items[0], "CX8");
    assert_string_val(arr->u.arr.items[1], "PSE36");

    /* Member order is kept, in both directions. */
    struct buf text = BUF_INIT;
    buf_puts(&text, "<value><struct>");
    for (int i = 99; i >= 0; i--)
        buf_printf(&text, "<member><name>k%d</name><value>%d</value></member>", i * 7 % 100, i);
    buf_puts(&text, "</struct></value>");
    v = value_ok(a, text.data);
    assert_int_equal(v->u.st.n, 100);
    for (int i = 99, k = 0; i >= 0; i--, k++) {
        char name[16], val[16];
        snprintf(name, sizeof(name), "k%d", i * 7 % 100);
        snprintf(val, sizeof(val), "%d", i);
        assert_string_equal(v->u.st.members[k].name, name);
        assert_string_val(v->u.st.members[k].value, val);
    }
    assert_string_equal(write_text(a, v), text.data);
    buf_free(&text);

    /* Big arrays grow. */
    struct buf big = BUF_INIT;
    buf_puts(&big, "<value><array><data>");
    for (int i = 0; i < 10000; i++)
        buf_puts(&big, "<value><i4>1</i4></value>");
    buf_puts(&big, "</data></array></value>");
    v = value_ok(a, big.data);
    assert_int_equal(v->u.arr.n, 10000);
    assert_int_equal(v->u.arr.items[9999]->u.i, 1);
    buf_free(&big);
    arena_free(a);
}

/* A tree holding every type, written and read back: ints come back as
 * their decimal strings and nil as "", everything else as it was. */
static void test_roundtrip_tree(void **state)
{
    struct arena *a = arena_new();
    struct val *root = val_struct(a);
    struct val *arr = val_array(a);
    val_array_push(a, arr, val_nil(a));
    val_array_push(a, arr, val_bool(a, true));
    val_array_push(a, arr, val_bool(a, false));
    val_array_push(a, arr, val_int(a, -3));
    val_array_push(a, arr, val_float(a, 0.5));
    val_array_push(a, arr, val_datetime(a, "20240131T12:00:00Z"));
    val_array_push(a, arr, val_string(a, "x&y"));
    val_array_push(a, arr, val_array(a));
    val_array_push(a, arr, val_struct(a));
    val_struct_add(a, root, "list", arr);
    struct val *inner = val_struct(a);
    val_struct_add(a, inner, "k", val_string(a, "v"));
    val_struct_add(a, inner, "n", val_int(a, INT64_MAX));
    val_struct_add(a, root, "other_config", inner);
    val_struct_add(a, root, "", val_string(a, ""));
    const char *text = write_text(a, root);
    assert_string_equal(
        text, "<value><struct><member><name>list</name><value><array><data><value></value>"
              "<value><boolean>1</boolean></value><value><boolean>0</boolean></value>"
              "<value><string>-3</string></value><value><double>0.5</double></value>"
              "<value><dateTime.iso8601>20240131T12:00:00Z</dateTime.iso8601></value>"
              "<value>x&amp;y</value><value><array><data></data></array></value>"
              "<value><struct></struct></value></data></array></value></member>"
              "<member><name>other_config</name><value><struct><member><name>k</name>"
              "<value>v</value></member><member><name>n</name><value><string>"
              "9223372036854775807</string></value></member></struct></value></member>"
              "<member><name></name><value></value></member></struct></value>");

    struct val *back = value_ok(a, text);
    struct val *want = val_struct(a);
    struct val *warr = val_array(a);
    val_array_push(a, warr, val_string(a, ""));
    val_array_push(a, warr, val_bool(a, true));
    val_array_push(a, warr, val_bool(a, false));
    val_array_push(a, warr, val_string(a, "-3"));
    val_array_push(a, warr, val_float(a, 0.5));
    val_array_push(a, warr, val_datetime(a, "20240131T12:00:00Z"));
    val_array_push(a, warr, val_string(a, "x&y"));
    val_array_push(a, warr, val_array(a));
    val_array_push(a, warr, val_struct(a));
    val_struct_add(a, want, "list", warr);
    struct val *winner = val_struct(a);
    val_struct_add(a, winner, "k", val_string(a, "v"));
    val_struct_add(a, winner, "n", val_string(a, "9223372036854775807"));
    val_struct_add(a, want, "other_config", winner);
    val_struct_add(a, want, "", val_string(a, ""));
    assert_true(val_equal(back, want));
    assert_true(val_equal(want, back));
    /* From then on the text is stable. */
    const char *again = write_text(a, back);
    assert_string_equal(again, write_text(a, want));
    assert_string_equal(write_text(a, value_ok(a, again)), again);
    arena_free(a);
}

static void test_write_appends(void **state)
{
    struct arena *a = arena_new();
    struct buf b = BUF_INIT;
    buf_puts(&b, "x=");
    xmlrpc_write_value(&b, val_string(a, "y"));
    xmlrpc_write_value(&b, val_bool(a, true));
    assert_string_equal(b.data, "x=<value>y</value><value><boolean>1</boolean></value>");
    assert_int_equal(b.len, strlen(b.data));
    buf_free(&b);
    arena_free(a);
}

static void test_reply_success(void **state)
{
    struct arena *a = arena_new();
    struct val *refs = val_array(a);
    val_array_push(a, refs, val_string(a, "OpaqueRef:1"));
    val_array_push(a, refs, val_string(a, "OpaqueRef:2"));
    struct rpc_reply r = rpc_reply_ok(refs);
    const char *text = write_reply_text(a, &r);
    assert_string_equal(text, "<methodResponse><params><param><value><struct>"
                              "<member><name>Status</name><value>Success</value></member>"
                              "<member><name>Value</name><value><array><data>"
                              "<value>OpaqueRef:1</value><value>OpaqueRef:2</value>"
                              "</data></array></value></member>"
                              "</struct></value></param></params></methodResponse>");
    struct rpc_reply back = reply_ok(a, text);
    assert_null(back.error);
    assert_true(val_equal(back.value, refs));

    /* void: nil goes out as the empty string. */
    r = rpc_reply_ok(val_nil(a));
    text = write_reply_text(a, &r);
    assert_non_null(strstr(text, "<name>Value</name><value></value>"));
    back = reply_ok(a, text);
    assert_string_val(back.value, "");

    /* The wire protocol's own example, as a server would send it. */
    back = reply_ok(a, "<?xml version=\"1.0\"?>\n"
                       "<methodResponse>\n<params>\n<param>\n<value>\n"
                       "<struct>\n"
                       "   <member>\n"
                       "     <name>Status</name>\n"
                       "     <value>Success</value>\n"
                       "   </member>\n"
                       "   <member>\n"
                       "      <name>Value</name>\n"
                       "      <value>\n"
                       "        <array>\n"
                       "           <data>\n"
                       "             <value>81547a35-205c-a551-c577-00b982c5fe00</value>\n"
                       "             <value>61c85a22-05da-b8a2-2e55-06b0847da503</value>\n"
                       "           </data>\n"
                       "        </array>\n"
                       "     </value>\n"
                       "   </member>\n"
                       "</struct>\n"
                       "</value>\n</param>\n</params>\n</methodResponse>\n");
    assert_int_equal(back.value->type, VAL_ARRAY);
    assert_int_equal(back.value->u.arr.n, 2);
    assert_string_val(back.value->u.arr.items[1], "61c85a22-05da-b8a2-2e55-06b0847da503");

    /* Status given as a typed <string>, Value before Status. */
    back = reply_ok(a, "<methodResponse><params><param><value><struct>"
                       "<member><name>Value</name><value><i4>5</i4></value></member>"
                       "<member><name>Status</name><value><string>Success</string></value>"
                       "</member></struct></value></param></params></methodResponse>");
    assert_int_equal(back.value->type, VAL_INT);
    assert_int_equal(back.value->u.i, 5);

    /* Success with no Value is void. */
    back = reply_ok(a, "<methodResponse><params><param><value><struct><member><name>Status"
                       "</name><value>Success</value></member></struct></value></param>"
                       "</params></methodResponse>");
    assert_string_val(back.value, "");

    /* Every value type survives the envelope. */
    struct val *st = val_struct(a);
    val_struct_add(a, st, "f", val_float(a, -0.25));
    val_struct_add(a, st, "b", val_bool(a, true));
    val_struct_add(a, st, "d", val_datetime(a, "20240101T00:00:00Z"));
    val_struct_add(a, st, "s", val_string(a, "<&>"));
    val_struct_add(a, st, "m", val_struct(a));
    r = rpc_reply_ok(st);
    back = reply_ok(a, write_reply_text(a, &r));
    assert_true(val_equal(back.value, st));
    arena_free(a);
}

static void test_reply_failure(void **state)
{
    struct arena *a = arena_new();
    struct rpc_reply r = rpc_reply_error(a, "HANDLE_INVALID", "VM", "OpaqueRef:<bad>", NULL);
    const char *text = write_reply_text(a, &r);
    assert_string_equal(text, "<methodResponse><params><param><value><struct>"
                              "<member><name>Status</name><value>Failure</value></member>"
                              "<member><name>ErrorDescription</name><value><array><data>"
                              "<value>HANDLE_INVALID</value><value>VM</value>"
                              "<value>OpaqueRef:&lt;bad&gt;</value>"
                              "</data></array></value></member>"
                              "</struct></value></param></params></methodResponse>");
    struct rpc_reply back = reply_ok(a, text);
    assert_null(back.value);
    assert_non_null(back.error);
    assert_true(val_equal(back.error, r.error));
    assert_string_val(back.error->u.arr.items[2], "OpaqueRef:<bad>");

    r = rpc_reply_error(a, "SESSION_INVALID", NULL);
    back = reply_ok(a, write_reply_text(a, &r));
    assert_int_equal(back.error->u.arr.n, 1);
    assert_string_val(back.error->u.arr.items[0], "SESSION_INVALID");

    /* A standard XML-RPC <fault> becomes an XMLRPC_FAULT error. */
    back = reply_ok(a, "<methodResponse><fault><value><struct>"
                       "<member><name>faultCode</name><value><int>4</int></value></member>"
                       "<member><name>faultString</name><value><string>Too many"
                       "</string></value></member></struct></value></fault></methodResponse>");
    assert_null(back.value);
    assert_int_equal(back.error->u.arr.n, 3);
    assert_string_val(back.error->u.arr.items[0], "XMLRPC_FAULT");
    assert_string_val(back.error->u.arr.items[1], "4");
    assert_string_val(back.error->u.arr.items[2], "Too many");
    back = reply_ok(a, "<methodResponse><fault><value><struct>"
                       "<member><name>faultString</name><value>boom</value></member>"
                       "<member><name>faultCode</name><value>-32700</value></member>"
                       "</struct></value></fault></methodResponse>");
    assert_string_val(back.error->u.arr.items[1], "-32700");
    assert_string_val(back.error->u.arr.items[2], "boom");
    arena_free(a);
}

static void test_reply_malformed(void **state)
{
    struct arena *a = arena_new();
#define MEMBER(n, v) "<member><name>" n "</name><value>" v "</value></member>"
#define PARAM(members) "<param><value><struct>" members "</struct></value></param>"
#define ENV(params) "<methodResponse><params>" params "</params></methodResponse>"
#define FAULT(members) "<fault><value><struct>" members "</struct></value></fault>"
#define FAILURE(desc) ENV(PARAM(MEMBER("Status", "Failure") MEMBER("ErrorDescription", desc)))
#define OK_PARAM PARAM(MEMBER("Status", "Success"))
    static const char *const bad[] = {
        "",
        "<methodResponse/>",
        "<methodResponse></methodResponse>",
        ENV(""),
        "<methodCall><methodName>x</methodName></methodCall>",
        "<value>x</value>",
        ENV("<param><value>Success</value></param>"),
        ENV(PARAM("")),
        ENV("<param><value><array><data><value>Success</value></data></array></value></param>"),
        ENV(PARAM(MEMBER("Value", "1"))),
        ENV(PARAM(MEMBER("Status", "<boolean>1</boolean>"))),
        ENV(PARAM(MEMBER("Status", "OK") MEMBER("Value", "1"))),
        ENV(PARAM(MEMBER("Status", "Failure"))),
        FAILURE("X"),
        FAILURE("<array><data></data></array>"),
        FAILURE("<array><data><value><i4>1</i4></value></data></array>"),
        ENV(OK_PARAM "<param><value/></param>"),
        "<methodResponse><params>" OK_PARAM
        "</params>" FAULT(MEMBER("faultCode", "1") MEMBER("faultString", "x")) "</methodResponse>",
        "<methodResponse><fault></fault></methodResponse>",
        "<methodResponse><fault><value>x</value></fault></methodResponse>",
        "<methodResponse>" FAULT(MEMBER("faultCode", "1")) "</methodResponse>",
        "<methodResponse>" FAULT(MEMBER("faultCode", "<boolean>1</boolean>")
                                     MEMBER("faultString", "x")) "</methodResponse>",
        "<methodResponse>" FAULT(MEMBER("faultCode", "1")
                                     MEMBER("faultString", "<i4>2</i4>")) "</methodResponse>",
    };
#undef MEMBER
#undef PARAM
#undef ENV
#undef FAULT
#undef FAILURE
#undef OK_PARAM
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        reply_fail(a, bad[i]);
    assert_string_equal(reply_fail(a, bad[2]),
                        "XML-RPC: <methodResponse> without <params> or <fault>");
    assert_string_equal(reply_fail(a, bad[3]), "XML-RPC: reply is not a struct with a Status");
    assert_string_equal(reply_fail(a, bad[12]), "XML-RPC: reply is neither Success nor Failure "
                                                "with an ErrorDescription");
    assert_string_equal(reply_fail(a, bad[20]), "XML-RPC: <fault> lacks faultCode or faultString");

    /* Every prefix of a reply is incomplete. */
    struct rpc_reply r = rpc_reply_error(a, "X", "y", NULL);
    const char *text = write_reply_text(a, &r);
    for (size_t n = 0; n < strlen(text); n++)
        reply_fail_len(a, text, n);
    reply_ok(a, text);
    arena_free(a);
}

static void test_call_parse(void **state)
{
    struct arena *a = arena_new();
    /* Zero params, every way a client may say so. */
    struct rpc_call c = call_ok(a, "<methodCall><methodName>session.logout</methodName>"
                                   "</methodCall>");
    assert_string_equal(c.method, "session.logout");
    assert_int_equal(c.params->u.arr.n, 0);
    c = call_ok(a, "<methodCall><methodName>m</methodName><params/></methodCall>");
    assert_int_equal(c.params->u.arr.n, 0);
    c = call_ok(a, "<methodCall><methodName>m</methodName><params></params></methodCall>");
    assert_int_equal(c.params->u.arr.n, 0);
    /* methodName is trimmed; the params may come first. */
    c = call_ok(a, "<?xml version=\"1.0\"?>\n<methodCall>\n  <params>\n"
                   "    <param><value>s</value></param>\n  </params>\n"
                   "  <methodName>\n VM.get_all \n</methodName>\n</methodCall>\n");
    assert_string_equal(c.method, "VM.get_all");
    assert_int_equal(c.params->u.arr.n, 1);

    /* Several params of different types. */
    c = call_ok(a, "<methodCall><methodName>VM.set_memory</methodName><params>"
                   "<param><value>OpaqueRef:s</value></param>"
                   "<param><value><string>OpaqueRef:vm</string></value></param>"
                   "<param><value><string>1073741824</string></value></param>"
                   "<param><value><i8>-5</i8></value></param>"
                   "<param><value><boolean>1</boolean></value></param>"
                   "<param><value><double>1.5</double></value></param>"
                   "<param><value><struct><member><name>k</name><value>v</value></member>"
                   "</struct></value></param>"
                   "<param><value><array><data><value>a</value></data></array></value></param>"
                   "<param><value><nil/></value></param>"
                   "<param><value/></param>"
                   "</params></methodCall>");
    assert_string_equal(c.method, "VM.set_memory");
    assert_int_equal(c.params->u.arr.n, 10);
    struct val **p = c.params->u.arr.items;
    assert_string_val(p[0], "OpaqueRef:s");
    assert_string_val(p[1], "OpaqueRef:vm");
    assert_string_val(p[2], "1073741824");
    assert_int_equal(p[3]->type, VAL_INT);
    assert_int_equal(p[3]->u.i, -5);
    assert_int_equal(p[4]->type, VAL_BOOL);
    assert_int_equal(p[5]->type, VAL_FLOAT);
    assert_string_val(val_struct_get(p[6], "k"), "v");
    assert_string_val(p[7]->u.arr.items[0], "a");
    assert_int_equal(p[8]->type, VAL_NIL);
    assert_string_val(p[9], "");

    /* What the client side writes, the server side reads. */
    struct val *params = val_array(a);
    val_array_push(a, params, val_string(a, "OpaqueRef:s"));
    val_array_push(a, params, val_bool(a, false));
    val_array_push(a, params, val_datetime(a, "20240131T12:00:00Z"));
    struct val *rec = val_struct(a);
    val_struct_add(a, rec, "name_label", val_string(a, "vm <1>"));
    val_array_push(a, params, rec);
    const char *text = write_call_text(a, "VM.create", params);
    assert_string_equal(text, "<?xml version=\"1.0\"?><methodCall><methodName>VM.create"
                              "</methodName><params><param><value>OpaqueRef:s</value></param>"
                              "<param><value><boolean>0</boolean></value></param><param><value>"
                              "<dateTime.iso8601>20240131T12:00:00Z</dateTime.iso8601></value>"
                              "</param><param><value><struct><member><name>name_label</name>"
                              "<value>vm &lt;1&gt;</value></member></struct></value></param>"
                              "</params></methodCall>");
    c = call_ok(a, text);
    assert_string_equal(c.method, "VM.create");
    assert_true(val_equal(c.params, params));
    assert_string_equal(write_call_text(a, "m", NULL),
                        "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params>"
                        "</params></methodCall>");
    assert_int_equal(call_ok(a, write_call_text(a, "m", NULL)).params->u.arr.n, 0);
    assert_int_equal(call_ok(a, write_call_text(a, "m", val_array(a))).params->u.arr.n, 0);
    arena_free(a);
}

static void test_call_malformed(void **state)
{
    struct arena *a = arena_new();
    static const char *const bad[] = {
        "",
        " ",
        "x",
        "<methodCall></methodCall>",
        "<methodCall/>",
        "<methodCall><params></params></methodCall>",
        "<methodCall><methodName></methodName></methodCall>",
        "<methodCall><methodName> \n </methodName></methodCall>",
        "<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
        "<methodCall><methodName>a<b/></methodName></methodCall>",
        "<methodCall><methodName>a</methodName><params/><params/></methodCall>",
        "<methodCall><methodName>a</methodName>junk</methodCall>",
        "<methodCall><methodName>a</methodName><params><value/></params></methodCall>",
        "<methodCall><methodName>a</methodName><params><param/></params></methodCall>",
        "<methodCall><methodName>a</methodName><params><param><value/><value/></param>"
        "</params></methodCall>",
        "<methodCall><methodName>a</methodName><params><param>x<value/></param>"
        "</params></methodCall>",
        "<methodCall><methodName>a</methodName><foo/></methodCall>",
        "<methodResponse><params/></methodResponse>",
        "<methodcall><methodName>a</methodName></methodcall>",
        "<methodCall><methodName>a</methodName></methodCall><methodCall/>",
        "<methodCall><methodName>a</methodName></methodCall>x",
        "<methodCall><methodName>a</methodName></methodCall",
        "<methodCall><methodName>a</methodname></methodCall>",
        "<methodCall><methodName>a</methodName></methodCall></methodCall>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        call_fail(a, bad[i]);
    assert_string_equal(call_fail(a, bad[3]), "XML-RPC: <methodCall> without <methodName>");
    assert_string_equal(call_fail(a, bad[5]), "XML-RPC: <methodCall> without <methodName>");
    assert_string_equal(call_fail(a, bad[6]), "XML-RPC: empty <methodName>");
    assert_string_equal(call_fail(a, bad[8]),
                        "XML-RPC: more than one <methodName> inside <methodCall>");
    assert_string_equal(call_fail(a, bad[16]),
                        "XML-RPC: unexpected element <foo> inside <methodCall>");
    assert_string_equal(call_fail(a, bad[17]),
                        "XML-RPC: expected <methodCall> but got <methodResponse>");
    assert_string_equal(call_fail(a, ""), "XML-RPC: no element found at line 1, column 0");
    assert_string_equal(call_fail(a, bad[20]),
                        "XML-RPC: junk after document element at line 1, column 51");
    /* A NUL byte inside the given length is input, not a terminator. */
    call_fail_len(a, "<methodCall><methodName>a</methodName></methodCall>\0", 52);
    call_fail_len(a, "<methodCall><methodName>a\0b</methodName></methodCall>", 53);
    arena_free(a);
}

static const char *full_call(struct arena *a)
{
    struct val *params = val_array(a);
    val_array_push(a, params, val_string(a, "OpaqueRef:s&<>\r\xc3\xa9"));
    val_array_push(a, params, val_int(a, -42));
    val_array_push(a, params, val_float(a, 2.5));
    val_array_push(a, params, val_bool(a, true));
    val_array_push(a, params, val_datetime(a, "20240131T12:00:00Z"));
    val_array_push(a, params, val_nil(a));
    struct val *arr = val_array(a);
    val_array_push(a, arr, val_string(a, ""));
    val_array_push(a, arr, val_struct(a));
    struct val *st = val_struct(a);
    val_struct_add(a, st, "list", arr);
    val_struct_add(a, st, "empty", val_array(a));
    val_array_push(a, params, st);
    return write_call_text(a, "VM.do_it", params);
}

/* Every proper prefix of a call is incomplete and must fail cleanly; so
 * must the call with any one byte dropped that makes it malformed. */
static void test_truncated_prefixes(void **state)
{
    struct arena *a = arena_new();
    const char *text = full_call(a);
    size_t len = strlen(text);
    for (size_t n = 0; n < len; n++)
        call_fail_len(a, text, n);
    struct rpc_call c = call_ok(a, text);
    assert_int_equal(c.params->u.arr.n, 7);

    /* The same prefixes as a bare value. */
    const char *v = write_text(a, c.params);
    for (size_t n = 0; n < strlen(v); n++)
        value_fail_len(a, v, n);
    value_ok(a, v);

    /* Cutting out any single byte never crashes (most cuts fail). */
    char *cut = malloc(len);
    for (size_t i = 0; i < len; i++) {
        memcpy(cut, text, i);
        memcpy(cut + i, text + i + 1, len - i - 1);
        struct rpc_call call;
        const char *err = NULL;
        if (xmlrpc_parse_call(a, cut, len - 1, &call, &err) != 0)
            assert_error_text(err);
    }
    free(cut);
    arena_free(a);
}

static void test_bad_utf8(void **state)
{
    static const char *const seqs[] = {
        "\xff",             /* never valid */
        "\xfe",             /* never valid */
        "\x80",             /* lone continuation byte */
        "\xc3",             /* truncated two-byte sequence */
        "\xc3x",            /* lead byte followed by ASCII */
        "\xe2\x82",         /* truncated three-byte sequence */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong '/' in three bytes */
        "\xf0\x80\x80\xaf", /* overlong in four bytes */
        "\xed\xa0\x80",     /* UTF-16 surrogate */
        "\xed\xbf\xbf",     /* UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf8\x88\x80\x80\x80",
        "\xef\xbf\xbe", /* U+FFFE, not an XML character */
        "\x01",         /* a control character is not an XML character */
        "&#1;",
        "&#xd800;",
        "&#x110000;",
        "&#0;",
    };
    struct arena *a = arena_new();
    char text[128];
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        snprintf(text, sizeof(text), "<value>a%sb</value>", seqs[i]);
        value_fail(a, text);
        snprintf(text, sizeof(text), "<value><string>%s</string></value>", seqs[i]);
        value_fail(a, text);
        snprintf(text, sizeof(text),
                 "<value><struct><member><name>%s</name><value/></member>"
                 "</struct></value>",
                 seqs[i]);
        value_fail(a, text);
        snprintf(text, sizeof(text), "<methodCall><methodName>m%s</methodName></methodCall>",
                 seqs[i]);
        call_fail(a, text);
        snprintf(text, sizeof(text), "<value><x%s/></value>", seqs[i]);
        value_fail(a, text);
    }
    /* An encoding declaration cannot turn bad bytes into Latin-1. */
    value_fail(a, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><value>caf\xe9</value>");
    value_fail(a, "\xff\xfe<\0v\0a\0l\0u\0e\0/\0>\0");
    /* The largest valid code points do pass. */
    assert_string_val(value_ok(a, "<value>\xf4\x8f\xbf\xbf\xef\xbf\xbd</value>"),
                      "\xf4\x8f\xbf\xbf\xef\xbf\xbd");
    assert_string_val(value_ok(a, "<value>&#x10FFFF;</value>"), "\xf4\x8f\xbf\xbf");
    arena_free(a);
}

static char *nested(const char *open, const char *inner, const char *close, int depth)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < depth; i++)
        buf_puts(&b, open);
    buf_puts(&b, inner);
    for (int i = 0; i < depth; i++)
        buf_puts(&b, close);
    return buf_detach(&b, NULL);
}

#define ARR_OPEN "<value><array><data>"
#define ARR_CLOSE "</data></array></value>"
#define ST_OPEN "<value><struct><member><name>a</name>"
#define ST_CLOSE "</member></struct></value>"

static void test_depth(void **state)
{
    struct arena *a = arena_new();
    char *ok = nested(ARR_OPEN, "<value><i4>1</i4></value>", ARR_CLOSE, VAL_MAX_DEPTH);
    struct val *v = value_ok(a, ok);
    free(ok);
    for (int i = 0; i < VAL_MAX_DEPTH - 1; i++)
        v = v->u.arr.items[0];
    assert_int_equal(v->type, VAL_ARRAY);
    assert_int_equal(v->u.arr.items[0]->u.i, 1);

    char *deep = nested(ARR_OPEN, "<value/>", ARR_CLOSE, VAL_MAX_DEPTH + 1);
    assert_string_equal(value_fail(a, deep), "XML-RPC: values nested deeper than 64");
    free(deep);

    ok = nested(ST_OPEN, "<value><struct/></value>", ST_CLOSE, VAL_MAX_DEPTH - 1);
    value_ok(a, ok);
    free(ok);
    deep = nested(ST_OPEN, "<value><struct/></value>", ST_CLOSE, VAL_MAX_DEPTH);
    assert_string_equal(value_fail(a, deep), "XML-RPC: values nested deeper than 64");
    free(deep);

    /* Alternating, and at full depth inside a call's params. */
    deep = nested(ARR_OPEN ST_OPEN, "<value/>", ST_CLOSE ARR_CLOSE, VAL_MAX_DEPTH / 2 + 1);
    value_fail(a, deep);
    free(deep);
    struct buf b = BUF_INIT;
    ok = nested(ST_OPEN, "<value>x</value>", ST_CLOSE, VAL_MAX_DEPTH);
    buf_printf(&b,
               "<methodCall><methodName>m</methodName><params><param>%s</param>"
               "<param>%s</param></params></methodCall>",
               ok, ok);
    struct rpc_call c = call_ok(a, b.data);
    assert_int_equal(c.params->u.arr.n, 2);
    free(ok);
    buf_reset(&b);
    deep = nested(ST_OPEN, "<value>x</value>", ST_CLOSE, VAL_MAX_DEPTH + 1);
    buf_printf(&b,
               "<methodCall><methodName>m</methodName><params><param>%s</param>"
               "</params></methodCall>",
               deep);
    call_fail(a, b.data);
    free(deep);
    buf_free(&b);

    /* Far past the limit, open-only or closed, in every element kind:
     * must fail, not exhaust the stack or the memory. */
    deep = nested("<value><array><data>", "", "", 100000);
    value_fail(a, deep);
    free(deep);
    deep = nested(ARR_OPEN, "<value/>", ARR_CLOSE, 100000);
    value_fail(a, deep);
    free(deep);
    deep = nested("<value>", "", "</value>", 100000);
    value_fail(a, deep);
    free(deep);
    deep = nested("<x>", "", "</x>", 100000);
    value_fail(a, deep);
    free(deep);
    arena_free(a);
}

static void test_wrong_types(void **state)
{
    struct arena *a = arena_new();
    static const char *const bad[] = {
        "<value><boolean>2</boolean></value>",
        "<value><boolean></boolean></value>",
        "<value><boolean/></value>",
        "<value><boolean>yes</boolean></value>",
        "<value><boolean>TRUE</boolean></value>",
        "<value><boolean>10</boolean></value>",
        "<value><boolean>1 1</boolean></value>",
        "<value><int>abc</int></value>",
        "<value><int></int></value>",
        "<value><int> </int></value>",
        "<value><int>1.5</int></value>",
        "<value><int>12abc</int></value>",
        "<value><int>0x10</int></value>",
        "<value><int>1 2</int></value>",
        "<value><int>-</int></value>",
        "<value><i4>--1</i4></value>",
        "<value><i8>1e3</i8></value>",
        "<value><double>abc</double></value>",
        "<value><double></double></value>",
        "<value><double>1.5x</double></value>",
        "<value><double>1,5</double></value>",
        "<value><nil>x</nil></value>",
        "<value><nil><value/></nil></value>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        value_fail(a, bad[i]);
    assert_string_equal(value_fail(a, bad[0]), "XML-RPC: <boolean> is not 0, 1, true or false");
    assert_string_equal(value_fail(a, bad[7]), "XML-RPC: <int> is not a 64-bit decimal integer");
    assert_string_equal(value_fail(a, bad[17]), "XML-RPC: <double> is not a number in range");
    assert_string_equal(value_fail(a, bad[21]), "XML-RPC: unexpected text inside <nil>");
    arena_free(a);
}

static void test_unknown_and_misplaced(void **state)
{
    struct arena *a = arena_new();
    static const char *const bad[] = {
        "<value><foo/></value>",
        "<value><String>x</String></value>",
        "<value><i2>1</i2></value>",
        "<value><string><b>x</b></string></value>",
        "<value><string>a</string><string>b</string></value>",
        "<value><string>a</string><int>1</int></value>",
        "<value>text<string>a</string></value>",
        "<value><string>a</string>text</value>",
        "<value><value/></value>",
        "<value><data/></value>",
        "<value><member/></value>",
        "<value><name>x</name></value>",
        "<value><array></array></value>",
        "<value><array/></value>",
        "<value><array><value/></array></value>",
        "<value><array><data/><data/></array></value>",
        "<value><array>x<data/></array></value>",
        "<value><array><data>x</data></array></value>",
        "<value><array><data><string>x</string></data></array></value>",
        "<value><struct><value/></struct></value>",
        "<value><struct>x</struct></value>",
        "<value><struct><member/></struct></value>",
        "<value><struct><member><name>a</name></member></struct></value>",
        "<value><struct><member><value/></member></struct></value>",
        "<value><struct><member><value/><name>a</name></member></struct></value>",
        "<value><struct><member><name>a</name><name>b</name><value/></member></struct></value>",
        "<value><struct><member><name>a</name><value/><value/></member></struct></value>",
        "<value><struct><member><name>a</name>x<value/></member></struct></value>",
        "<value><struct><member><name>a<b/></name><value/></member></struct></value>",
        "<value><params/></value>",
        "<value><methodCall/></value>",
        "<string>x</string>",
        "<array><data/></array>",
        "<foo/>",
        "<value>x</value>trailing",
        "<value>x</value><value>y</value>",
        "<value>x</value><",
        "<value>x</value>&amp;",
        "<value>x",
        "<value>&unknown;</value>",
        "<value>&amp</value>",
        "<value>a < b</value>",
        "<value>a & b</value>",
        "<value attr=\"1\" attr=\"2\"/>",
        "text only",
        "<!-- only a comment -->",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        value_fail(a, bad[i]);
    assert_string_equal(value_fail(a, bad[0]), "XML-RPC: unexpected element <foo> inside <value>");
    assert_string_equal(value_fail(a, bad[4]), "XML-RPC: <value> holds more than one element");
    assert_string_equal(value_fail(a, bad[6]), "XML-RPC: text mixed with <string> inside <value>");
    assert_string_equal(value_fail(a, bad[7]), "XML-RPC: unexpected text inside <value>");
    assert_string_equal(value_fail(a, bad[12]), "XML-RPC: <array> without <data>");
    assert_string_equal(value_fail(a, bad[22]), "XML-RPC: <member> without <value>");
    assert_string_equal(value_fail(a, bad[24]), "XML-RPC: <value> before <name> inside <member>");
    assert_string_equal(value_fail(a, bad[31]), "XML-RPC: expected <value> but got <string>");
    /* A long unknown name is cut short in the message. */
    struct buf b = BUF_INIT;
    buf_puts(&b, "<value><");
    for (int i = 0; i < 10000; i++)
        buf_putc(&b, 'x');
    buf_puts(&b, "/></value>");
    const char *err = value_fail(a, b.data);
    assert_true(strlen(err) < 200);
    buf_free(&b);

    /* Attributes are ignored and trailing whitespace, comments and PIs are fine. */
    assert_string_val(value_ok(a, "<value lang=\"en\"><string x='1'>s</string></value> \n"
                                  "<!-- end --><?pi?>\n"),
                      "s");
    /* NUL bytes inside the given length are input. */
    value_fail_len(a, "<value>x</value>\0", 17);
    value_fail_len(a, "<value>x\0y</value>", 18);
    arena_free(a);
}

/* Non-ASCII in a message (an element name, cut to length) never reaches
 * err as raw bytes: err goes into logs and into replies. */
static void test_error_is_ascii(void **state)
{
    struct arena *a = arena_new();
    assert_string_equal(value_fail(a, "<value><caf\xc3\xa9/></value>"),
                        "XML-RPC: unexpected element <caf?\?> inside <value>");
    struct buf b = BUF_INIT;
    buf_puts(&b, "<methodCall><");
    for (int i = 0; i < 100; i++)
        buf_puts(&b, "\xe2\x82\xac");
    buf_puts(&b, "/></methodCall>");
    call_fail(a, b.data);
    buf_reset(&b);
    buf_puts(&b, "<");
    for (int i = 0; i < 100; i++)
        buf_puts(&b, "\xe2\x82\xac");
    buf_puts(&b, "/>");
    call_fail(a, b.data);
    buf_free(&b);
    arena_free(a);
}

/* A DTD is never needed and is the door to entity expansion bombs and to
 * reading local files: any DOCTYPE is rejected before expat expands it. */
static void test_doctype_rejected(void **state)
{
    struct arena *a = arena_new();
    static const char laughs[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n";
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s<value>&lol9;</value>", laughs);
    assert_string_equal(value_fail(a, b.data), "XML-RPC: DOCTYPE declarations are not allowed");
    buf_reset(&b);
    buf_printf(&b, "%s<methodCall><methodName>&lol9;</methodName></methodCall>", laughs);
    assert_string_equal(call_fail(a, b.data), "XML-RPC: DOCTYPE declarations are not allowed");
    buf_reset(&b);
    buf_printf(&b,
               "%s<methodResponse><params><param><value>&lol9;</value></param></params>"
               "</methodResponse>",
               laughs);
    reply_fail(a, b.data);
    buf_free(&b);

    static const char *const bad[] = {
        "<!DOCTYPE value><value>x</value>",
        "<!DOCTYPE value [ <!ENTITY e \"x\"> ]><value>&e;</value>",
        "<!DOCTYPE value SYSTEM \"file:///etc/passwd\"><value>x</value>",
        "<!DOCTYPE value [ <!ENTITY e SYSTEM \"file:///etc/passwd\"> ]><value>&e;</value>",
        "<!DOCTYPE value [ <!ENTITY % p \"<!ENTITY e 'x'>\"> %p; ]><value>&e;</value>",
        "<value>x</value><!DOCTYPE value>",
        "<value><!DOCTYPE value>x</value>",
        /* Unclosed: the rejection must not wait for the end of the DTD. */
        "<!DOCTYPE value [ <!ENTITY a \"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        value_fail(a, bad[i]);
    arena_free(a);
}

static void test_long_strings(void **state)
{
    struct arena *a = arena_new();
    /* 8 MiB of text with escapes in it, in one value and as a name. */
    size_t n = 8u << 20;
    char *raw = malloc(n);
    for (size_t i = 0; i < n; i++)
        raw[i] = i % 4096 == 0 ? '&' : (char)('a' + i % 26);
    struct val *v = val_string_len(a, raw, n);
    const char *text = write_text(a, v);
    struct val *back = value_ok(a, text);
    assert_int_equal(back->u.str.len, n);
    assert_memory_equal(back->u.str.ptr, raw, n);
    assert_int_equal(back->u.str.ptr[n], '\0');
    free(raw);

    struct buf b = BUF_INIT;
    buf_puts(&b, "<methodCall><methodName>");
    for (int i = 0; i < 100000; i++)
        buf_puts(&b, "session.");
    buf_puts(&b, "x</methodName></methodCall>");
    struct rpc_call c = call_ok(a, b.data);
    assert_int_equal(strlen(c.method), 800001);
    buf_free(&b);
    arena_free(a);
}

/* The number of values one body may hold is bounded. */
static void test_too_many_values(void **state)
{
    struct arena *a = arena_new();
    struct buf b = BUF_INIT;
    buf_puts(&b, "<value><array><data>");
    for (int i = 0; i < 1000000; i++)
        buf_puts(&b, "<value/>");
    buf_puts(&b, "</data></array></value>");
    assert_string_equal(value_fail(a, b.data), "XML-RPC: more than 1000000 values");
    buf_free(&b);
    arena_free(a);
}

static void test_parsed_strings_are_c_strings(void **state)
{
    struct arena *a = arena_new();
    struct val *v = value_ok(a, "<value><array><data><value>abc</value><value/>"
                                "<value><dateTime.iso8601>x</dateTime.iso8601></value>"
                                "</data></array></value>");
    assert_int_equal(v->u.arr.items[0]->u.str.ptr[3], '\0');
    assert_int_equal(v->u.arr.items[0]->u.str.len, 3);
    assert_int_equal(v->u.arr.items[1]->u.str.ptr[0], '\0');
    assert_int_equal(v->u.arr.items[1]->u.str.len, 0);
    assert_int_equal(v->u.arr.items[2]->u.str.ptr[1], '\0');
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_string_escaping),
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_huge_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_datetime_base64_nil),
        cmocka_unit_test(test_arrays_and_structs),
        cmocka_unit_test(test_roundtrip_tree),
        cmocka_unit_test(test_write_appends),
        cmocka_unit_test(test_reply_success),
        cmocka_unit_test(test_reply_failure),
        cmocka_unit_test(test_reply_malformed),
        cmocka_unit_test(test_call_parse),
        cmocka_unit_test(test_call_malformed),
        cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_unknown_and_misplaced),
        cmocka_unit_test(test_error_is_ascii),
        cmocka_unit_test(test_doctype_rejected),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_too_many_values),
        cmocka_unit_test(test_parsed_strings_are_c_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
