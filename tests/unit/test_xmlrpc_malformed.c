/*
 * test_xmlrpc_malformed.c - the XML-RPC codec on hostile input: truncation
 * at every byte, bad UTF-8, deep nesting, out-of-range numbers, wrong and
 * unknown elements, DTDs. Every one must fail with a one-line message and
 * never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "xmlrpc_harness.h"

static void test_huge_integers(void **state)
{
    struct arena *a = arena_new();
    static const char *const bad[] = {
        "<value><int>9223372036854775808</int></value>",
        "<value><i8>-9223372036854775809</i8></value>",
        "<value><i4>123456789012345678901234567890</i4></value>",
        "<value><int>-99999999999999999999999999999999999999999999999999</int></value>",
    };
    XR_FAIL_ALL(a, XR_VALUE, bad);
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

static void test_reply_malformed(void **state)
{
    struct arena *a = arena_new();
#define FAILURE(desc)                                                                              \
    XR_RESPONSE(XR_PARAM(XR_MEMBER("Status", "Failure") XR_MEMBER("ErrorDescription", desc)))
#define OK_PARAM XR_PARAM(XR_MEMBER("Status", "Success"))
    static const char *const bad[] = {
        "",
        "<methodResponse/>",
        "<methodResponse></methodResponse>",
        XR_RESPONSE(""),
        "<methodCall><methodName>x</methodName></methodCall>",
        "<value>x</value>",
        XR_RESPONSE("<param><value>Success</value></param>"),
        XR_RESPONSE(XR_PARAM("")),
        XR_RESPONSE(
            "<param><value><array><data><value>Success</value></data></array></value></param>"),
        XR_RESPONSE(XR_PARAM(XR_MEMBER("Value", "1"))),
        XR_RESPONSE(XR_PARAM(XR_MEMBER("Status", "<boolean>1</boolean>"))),
        XR_RESPONSE(XR_PARAM(XR_MEMBER("Status", "OK") XR_MEMBER("Value", "1"))),
        XR_RESPONSE(XR_PARAM(XR_MEMBER("Status", "Failure"))),
        FAILURE("X"),
        FAILURE("<array><data></data></array>"),
        FAILURE("<array><data><value><i4>1</i4></value></data></array>"),
        XR_RESPONSE(OK_PARAM "<param><value/></param>"),
        "<methodResponse><params>" OK_PARAM "</params>" XR_FAULT(
            XR_MEMBER("faultCode", "1") XR_MEMBER("faultString", "x")) "</methodResponse>",
        "<methodResponse><fault></fault></methodResponse>",
        "<methodResponse><fault><value>x</value></fault></methodResponse>",
        XR_FAULT_RESPONSE(XR_MEMBER("faultCode", "1")),
        XR_FAULT_RESPONSE(XR_MEMBER("faultCode", "<boolean>1</boolean>")
                              XR_MEMBER("faultString", "x")),
        XR_FAULT_RESPONSE(XR_MEMBER("faultCode", "1") XR_MEMBER("faultString", "<i4>2</i4>")),
    };
#undef FAILURE
#undef OK_PARAM
    XR_FAIL_ALL(a, XR_REPLY, bad);
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
    XR_FAIL_ALL(a, XR_CALL, bad);
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

#define ARR_OPEN "<value><array><data>"
#define ARR_CLOSE "</data></array></value>"
#define ST_OPEN "<value><struct><member><name>a</name>"
#define ST_CLOSE "</member></struct></value>"

static void test_depth(void **state)
{
    struct arena *a = arena_new();
    struct val *v =
        value_ok(a, nested(a, ARR_OPEN, "<value><i4>1</i4></value>", ARR_CLOSE, VAL_MAX_DEPTH));
    for (int i = 0; i < VAL_MAX_DEPTH - 1; i++)
        v = v->u.arr.items[0];
    assert_int_equal(v->type, VAL_ARRAY);
    assert_int_equal(v->u.arr.items[0]->u.i, 1);
    assert_string_equal(
        value_fail(a, nested(a, ARR_OPEN, "<value/>", ARR_CLOSE, VAL_MAX_DEPTH + 1)),
        "XML-RPC: values nested deeper than 64");

    value_ok(a, nested(a, ST_OPEN, "<value><struct/></value>", ST_CLOSE, VAL_MAX_DEPTH - 1));
    assert_string_equal(
        value_fail(a, nested(a, ST_OPEN, "<value><struct/></value>", ST_CLOSE, VAL_MAX_DEPTH)),
        "XML-RPC: values nested deeper than 64");

    /* Alternating, and at full depth inside a call's params. */
    value_fail(a,
               nested(a, ARR_OPEN ST_OPEN, "<value/>", ST_CLOSE ARR_CLOSE, VAL_MAX_DEPTH / 2 + 1));
    const char *ok = nested(a, ST_OPEN, "<value>x</value>", ST_CLOSE, VAL_MAX_DEPTH);
    struct buf b = BUF_INIT;
    buf_printf(&b,
               "<methodCall><methodName>m</methodName><params><param>%s</param>"
               "<param>%s</param></params></methodCall>",
               ok, ok);
    struct rpc_call c = call_ok(a, b.data);
    assert_int_equal(c.params->u.arr.n, 2);
    buf_reset(&b);
    buf_printf(&b,
               "<methodCall><methodName>m</methodName><params><param>%s</param>"
               "</params></methodCall>",
               nested(a, ST_OPEN, "<value>x</value>", ST_CLOSE, VAL_MAX_DEPTH + 1));
    call_fail(a, b.data);
    buf_free(&b);

    /* Far past the limit, open-only or closed, in every element kind:
     * must fail, not exhaust the stack or the memory. */
    value_fail(a, nested(a, "<value><array><data>", "", "", 100000));
    value_fail(a, nested(a, ARR_OPEN, "<value/>", ARR_CLOSE, 100000));
    value_fail(a, nested(a, "<value>", "", "</value>", 100000));
    value_fail(a, nested(a, "<x>", "", "</x>", 100000));
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
    XR_FAIL_ALL(a, XR_VALUE, bad);
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
    XR_FAIL_ALL(a, XR_VALUE, bad);
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
    XR_FAIL_ALL(a, XR_VALUE, bad);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_integers),   cmocka_unit_test(test_reply_malformed),
        cmocka_unit_test(test_call_malformed),  cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_bad_utf8),        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_wrong_types),     cmocka_unit_test(test_unknown_and_misplaced),
        cmocka_unit_test(test_error_is_ascii),  cmocka_unit_test(test_doctype_rejected),
        cmocka_unit_test(test_too_many_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
