/*
 * test_xmlrpc.c - the XML-RPC codec: every value type both ways, the exact
 * text written, the XenAPI Status/Value/ErrorDescription envelope and
 * calls. Hostile input is in test_xmlrpc_malformed.c; the shared helpers
 * in xmlrpc_harness.c.
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
    assert_string_written(a, xmlrpc_write_value, value_ok, raw, sizeof(raw) - 1,
                          "<value>a&amp;b&lt;c&gt;d\"e'f]]&gt;g&#13;\nh\ti\n"
                          "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80</value>");

    /* A bare CR in the input is line-end normalised, as XML requires. */
    assert_string_val(value_ok(a, "<value>a\r\nb\rc</value>"), "a\nb\nc");

    /* Long clean runs around escapes. */
    struct buf big = BUF_INIT;
    for (int i = 0; i < 1000; i++)
        buf_puts(&big, i % 100 ? "abcdefgh" : "a&<>\r");
    assert_string_written(a, xmlrpc_write_value, value_ok, big.data, big.len, NULL);
    buf_free(&big);

    /* Member names and method names are escaped as well. */
    struct val *st = val_struct(a);
    val_struct_add(a, st, "a<&>\r", val_string(a, "x"));
    const char *text = write_text(a, st);
    assert_string_equal(text, "<value><struct><member><name>a&lt;&amp;&gt;&#13;</name>"
                              "<value>x</value></member></struct></value>");
    struct val *back = value_ok(a, text);
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

static void test_doubles(void **state)
{
    assert_doubles_written(CODEC_XMLRPC, xmlrpc_write_value, value_ok);

    struct arena *a = arena_new();
    struct val *v = value_ok(a, "<value><double> 2.5 </double></value>");
    assert_int_equal(v->type, VAL_FLOAT);
    assert_true(v->u.f == 2.5);
    v = value_ok(a, "<value><double>-7</double></value>");
    assert_true(v->u.f == -7.0);
    v = value_ok(a, "<value><double>1e-400</double></value>"); /* underflow is fine */
    assert_true(v->u.f >= 0.0 && v->u.f < 1e-300);

    /* Any finite double goes out and comes back bit for bit. */
    assert_doubles_roundtrip(xmlrpc_write_value, value_ok);
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

/* A tree holding every type; as read back, ints are their decimal strings
 * and nil is "". */
static struct val *every_type(struct arena *a, bool read_back)
{
    struct val *root = val_struct(a);
    struct val *arr = val_array(a);
    val_array_push(a, arr, read_back ? val_string(a, "") : val_nil(a));
    val_array_push(a, arr, val_bool(a, true));
    val_array_push(a, arr, val_bool(a, false));
    val_array_push(a, arr, read_back ? val_string(a, "-3") : val_int(a, -3));
    val_array_push(a, arr, val_float(a, 0.5));
    val_array_push(a, arr, val_datetime(a, "20240131T12:00:00Z"));
    val_array_push(a, arr, val_string(a, "x&y"));
    val_array_push(a, arr, val_array(a));
    val_array_push(a, arr, val_struct(a));
    val_struct_add(a, root, "list", arr);
    struct val *inner = val_struct(a);
    val_struct_add(a, inner, "k", val_string(a, "v"));
    val_struct_add(a, inner, "n",
                   read_back ? val_string(a, "9223372036854775807") : val_int(a, INT64_MAX));
    val_struct_add(a, root, "other_config", inner);
    val_struct_add(a, root, "", val_string(a, ""));
    return root;
}

/* The tree of every type written and read back: everything else comes
 * back as it was. */
static void test_roundtrip_tree(void **state)
{
    struct arena *a = arena_new();
    struct val *root = every_type(a, false);
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
    struct val *want = every_type(a, true);
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
    back = reply_ok(a, XR_RESPONSE(XR_PARAM(XR_MEMBER("Value", "<i4>5</i4>")
                                                XR_MEMBER("Status", "<string>Success</string>"))));
    assert_int_equal(back.value->type, VAL_INT);
    assert_int_equal(back.value->u.i, 5);

    /* Success with no Value is void. */
    back = reply_ok(a, XR_RESPONSE(XR_PARAM(XR_MEMBER("Status", "Success"))));
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

    /* Every field of the reply is set, whatever the caller's struct held
     * (the fuzz target's replay found bare left as stack garbage). */
    struct rpc_reply dirty;
    memset(&dirty, 0xa0, sizeof(dirty));
    const char *perr = NULL;
    assert_int_equal(xmlrpc_parse_reply(a, text, strlen(text), &dirty, &perr), 0);
    assert_false(dirty.bare);
    assert_null(dirty.value);
    memset(&dirty, 0xa0, sizeof(dirty));
    const char *ok_text = "<methodResponse><params><param><value><struct><member><name>Status"
                          "</name><value>Success</value></member></struct></value></param>"
                          "</params></methodResponse>";
    assert_int_equal(xmlrpc_parse_reply(a, ok_text, strlen(ok_text), &dirty, &perr), 0);
    assert_false(dirty.bare);
    assert_null(dirty.error);

    r = rpc_reply_error(a, "SESSION_INVALID", NULL);
    back = reply_ok(a, write_reply_text(a, &r));
    assert_int_equal(back.error->u.arr.n, 1);
    assert_string_val(back.error->u.arr.items[0], "SESSION_INVALID");

    /* A standard XML-RPC <fault> becomes an XMLRPC_FAULT error. */
    back = reply_ok(a, XR_FAULT_RESPONSE(XR_MEMBER("faultCode", "<int>4</int>") XR_MEMBER(
                           "faultString", "<string>Too many</string>")));
    assert_null(back.value);
    assert_int_equal(back.error->u.arr.n, 3);
    assert_string_val(back.error->u.arr.items[0], "XMLRPC_FAULT");
    assert_string_val(back.error->u.arr.items[1], "4");
    assert_string_val(back.error->u.arr.items[2], "Too many");
    back = reply_ok(
        a, XR_FAULT_RESPONSE(XR_MEMBER("faultString", "boom") XR_MEMBER("faultCode", "-32700")));
    assert_string_val(back.error->u.arr.items[1], "-32700");
    assert_string_val(back.error->u.arr.items[2], "boom");
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

static void test_long_strings(void **state)
{
    struct arena *a = arena_new();
    /* 8 MiB of text with escapes in it, in one value and as a name. */
    size_t n = 8u << 20;
    char *raw = malloc(n);
    for (size_t i = 0; i < n; i++)
        raw[i] = i % 4096 == 0 ? '&' : (char)('a' + i % 26);
    assert_string_written(a, xmlrpc_write_value, value_ok, raw, n, NULL);
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
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_datetime_base64_nil),
        cmocka_unit_test(test_arrays_and_structs),
        cmocka_unit_test(test_roundtrip_tree),
        cmocka_unit_test(test_write_appends),
        cmocka_unit_test(test_reply_success),
        cmocka_unit_test(test_reply_failure),
        cmocka_unit_test(test_call_parse),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_parsed_strings_are_c_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
