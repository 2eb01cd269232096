/*
 * test_jsonrpc.c - the JSON-RPC envelope: requests of both versions as the
 * wire spec shows them, every way a request can be malformed, and replies
 * and calls compared byte for byte with what clients expect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jsonrpc.h"

static struct rpc_call call_ok(struct arena *a, const char *body)
{
    struct rpc_call call;
    const char *err = NULL;
    if (jsonrpc_parse_call(a, body, strlen(body), &call, &err) != 0)
        fail_msg("jsonrpc_parse_call(%s) failed: %s", body, err);
    return call;
}

static const char *call_fail(struct arena *a, const char *body, struct rpc_call *call)
{
    struct rpc_call scratch;
    const char *err = NULL;
    if (!call)
        call = &scratch;
    assert_int_equal(jsonrpc_parse_call(a, body, strlen(body), call, &err), -1);
    assert_non_null(err);
    return err;
}

static void test_v1_request(void **state)
{
    struct arena *a = arena_new();
    struct rpc_call c = call_ok(a, "{\n"
                                   "  \"method\": \"host.get_resident_VMs\",\n"
                                   "  \"params\": [\n"
                                   "    \"OpaqueRef:74f1a19cd-b660-41e3-a163-10f03e0eae67\",\n"
                                   "    \"OpaqueRef:08c34fc9-f418-4f09-8274-b9cb25cd8550\"\n"
                                   "  ],\n"
                                   "  \"id\": \"xyz\"\n"
                                   "}");
    assert_int_equal(c.jsonrpc_version, 1);
    assert_string_equal(c.method, "host.get_resident_VMs");
    assert_int_equal(c.params->type, VAL_ARRAY);
    assert_int_equal(c.params->u.arr.n, 2);
    assert_string_equal(val_str(c.params->u.arr.items[0]),
                        "OpaqueRef:74f1a19cd-b660-41e3-a163-10f03e0eae67");
    assert_string_equal(val_str(c.params->u.arr.items[1]),
                        "OpaqueRef:08c34fc9-f418-4f09-8274-b9cb25cd8550");
    assert_int_equal(c.id->type, VAL_STRING);
    assert_string_equal(val_str(c.id), "xyz");
    arena_free(a);
}

static void test_v2_request(void **state)
{
    struct arena *a = arena_new();
    struct rpc_call c = call_ok(a, "{\n"
                                   "  \"jsonrpc\": \"2.0\",\n"
                                   "  \"method\": \"host.get_resident_VMs\",\n"
                                   "  \"params\": [\n"
                                   "    \"OpaqueRef:c90cd28f-37ec-4dbf-88e6-f697ccb28b39\",\n"
                                   "    \"OpaqueRef:08c34fc9-f418-4f09-8274-b9cb25cd8550\"\n"
                                   "  ],\n"
                                   "  \"id\": 3\n"
                                   "}");
    assert_int_equal(c.jsonrpc_version, 2);
    assert_string_equal(c.method, "host.get_resident_VMs");
    assert_int_equal(c.params->u.arr.n, 2);
    assert_string_equal(val_str(c.params->u.arr.items[0]),
                        "OpaqueRef:c90cd28f-37ec-4dbf-88e6-f697ccb28b39");
    assert_int_equal(c.id->type, VAL_INT);
    assert_int_equal(c.id->u.i, 3);

    /* Member order does not matter; the id may come first (Xen Orchestra). */
    c = call_ok(a, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"session.login_with_password\","
                   "\"params\":[\"user\",\"pw\",\"1.0\",\"xo\"]}");
    assert_int_equal(c.jsonrpc_version, 2);
    assert_string_equal(c.method, "session.login_with_password");
    assert_int_equal(c.params->u.arr.n, 4);
    assert_int_equal(c.id->u.i, 0);
    arena_free(a);
}

static void test_v2_params_optional(void **state)
{
    struct arena *a = arena_new();
    struct rpc_call c =
        call_ok(a, "{\"jsonrpc\":\"2.0\",\"method\":\"pool.get_all\",\"id\":\"a\"}");
    assert_int_equal(c.jsonrpc_version, 2);
    assert_non_null(c.params);
    assert_int_equal(c.params->type, VAL_ARRAY);
    assert_int_equal(c.params->u.arr.n, 0);

    /* 1.0 has no such leniency; version and id still come back for the reply. */
    struct rpc_call bad;
    assert_string_equal(call_fail(a, "{\"method\":\"pool.get_all\",\"id\":\"a\"}", &bad),
                        "JSON-RPC: \"params\" is missing");
    assert_int_equal(bad.jsonrpc_version, 1);
    assert_string_equal(val_str(bad.id), "a");
    arena_free(a);
}

static void test_bad_id(void **state)
{
    struct arena *a = arena_new();
    const char *missing = "JSON-RPC: \"id\" is missing (notifications are not supported)";
    const char *null = "JSON-RPC: \"id\" must not be null (notifications are not supported)";
    const char *type = "JSON-RPC: \"id\" must be a string or an integer";
    struct rpc_call c;
    assert_string_equal(call_fail(a, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[]}", &c),
                        missing);
    assert_int_equal(c.jsonrpc_version, 2);
    assert_null(c.id);
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":[]}", &c), missing);
    assert_int_equal(c.jsonrpc_version, 1);
    assert_string_equal(
        call_fail(a, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[],\"id\":null}", NULL),
        null);
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":[],\"id\":null}", NULL), null);
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":[],\"id\":1.5}", NULL), type);
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":[],\"id\":true}", NULL), type);
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":[],\"id\":[1]}", NULL), type);
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":[],\"id\":{}}", NULL), type);
    arena_free(a);
}

static void test_bad_params(void **state)
{
    struct arena *a = arena_new();
    const char *want = "JSON-RPC: \"params\" must be an array";
    assert_string_equal(
        call_fail(a, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":1},\"id\":1}", NULL),
        want);
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":\"x\",\"id\":1}", NULL), want);
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":null,\"id\":1}", NULL), want);
    assert_string_equal(
        call_fail(a, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":null,\"id\":1}", NULL),
        want);
    arena_free(a);
}

static void test_bad_method(void **state)
{
    struct arena *a = arena_new();
    assert_string_equal(call_fail(a, "{\"params\":[],\"id\":1}", NULL),
                        "JSON-RPC: \"method\" is missing");
    const char *want = "JSON-RPC: \"method\" must be a string";
    assert_string_equal(call_fail(a, "{\"method\":1,\"params\":[],\"id\":1}", NULL), want);
    assert_string_equal(call_fail(a, "{\"method\":null,\"params\":[],\"id\":1}", NULL), want);
    assert_string_equal(call_fail(a, "{\"method\":[\"m\"],\"params\":[],\"id\":1}", NULL), want);
    arena_free(a);
}

static void test_bad_version(void **state)
{
    struct arena *a = arena_new();
    const char *want = "JSON-RPC: \"jsonrpc\" must be \"2.0\"";
    struct rpc_call c;
    assert_string_equal(
        call_fail(a, "{\"jsonrpc\":\"3.0\",\"method\":\"m\",\"params\":[],\"id\":1}", &c), want);
    assert_int_equal(c.jsonrpc_version, 0);
    assert_string_equal(
        call_fail(a, "{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"params\":[],\"id\":1}", NULL), want);
    assert_string_equal(
        call_fail(a, "{\"jsonrpc\":2.0,\"method\":\"m\",\"params\":[],\"id\":1}", NULL), want);
    assert_string_equal(
        call_fail(a, "{\"jsonrpc\":null,\"method\":\"m\",\"params\":[],\"id\":1}", NULL), want);
    assert_string_equal(
        call_fail(a, "{\"jsonrpc\":\"2.00\",\"method\":\"m\",\"params\":[],\"id\":1}", NULL), want);
    arena_free(a);
}

static void test_not_a_request(void **state)
{
    struct arena *a = arena_new();
    struct rpc_call c;
    assert_string_equal(call_fail(a, "[1,2]", &c),
                        "JSON-RPC: the request must be a JSON object, not array");
    assert_null(c.id);
    assert_null(c.method);
    assert_int_equal(c.jsonrpc_version, 0);
    assert_string_equal(call_fail(a, "\"m\"", NULL),
                        "JSON-RPC: the request must be a JSON object, not string");
    assert_string_equal(call_fail(a, "", NULL),
                        "JSON: unexpected token near end of file at line 1 column 0");
    assert_string_equal(call_fail(a, "{\"method\":\"m\",\"params\":[],\"id\":1} x", NULL),
                        "JSON: end of file expected near 'x' at line 1 column 35");
    arena_free(a);
}

static void test_truncated_request(void **state)
{
    static const char body[] = "{\"jsonrpc\":\"2.0\",\"method\":\"VM.start\",\"params\":"
                               "[\"OpaqueRef:s\",\"OpaqueRef:v\",false,true],\"id\":17}";
    struct arena *a = arena_new();
    for (size_t n = 0; n < sizeof(body) - 1; n++) {
        char *copy = malloc(n ? n : 1);
        memcpy(copy, body, n);
        struct rpc_call c;
        const char *err = NULL;
        assert_int_equal(jsonrpc_parse_call(a, copy, n, &c, &err), -1);
        assert_non_null(err);
        assert_true(strncmp(err, "JSON: ", 6) == 0);
        free(copy);
    }
    struct rpc_call c = call_ok(a, body);
    assert_int_equal(c.params->u.arr.n, 4);
    assert_int_equal(c.id->u.i, 17);
    arena_free(a);
}

/* jsonrpc_write_reply into a fresh buf; the text lives in the arena. */
static const char *reply_text(struct arena *a, const struct rpc_call *call,
                              const struct rpc_reply *reply)
{
    struct buf b = BUF_INIT;
    jsonrpc_write_reply(&b, call, reply);
    char *s = arena_strndup(a, b.data, b.len);
    buf_free(&b);
    return s;
}

static struct val *two_refs(struct arena *a)
{
    struct val *v = val_array(a);
    val_array_push(a, v, val_string(a, "OpaqueRef:604f51e7-630f-4412-83fa-b11c6cf008ab"));
    val_array_push(a, v, val_string(a, "OpaqueRef:670d08f5-cbeb-4336-8420-ccd56390a65f"));
    return v;
}

static void test_reply_v1(void **state)
{
    struct arena *a = arena_new();
    struct rpc_call c = {"host.get_resident_VMs", val_array(a), val_string(a, "xyz"), 1};
    struct rpc_reply ok = rpc_reply_ok(two_refs(a));
    assert_string_equal(reply_text(a, &c, &ok),
                        "{\"result\":[\"OpaqueRef:604f51e7-630f-4412-83fa-b11c6cf008ab\","
                        "\"OpaqueRef:670d08f5-cbeb-4336-8420-ccd56390a65f\"],"
                        "\"error\":null,\"id\":\"xyz\"}");
    struct rpc_reply err = rpc_reply_error(a, "SESSION_INVALID", "OpaqueRef:93f1a23c", NULL);
    assert_string_equal(reply_text(a, &c, &err), "{\"result\":null,\"error\":[\"SESSION_INVALID\","
                                                 "\"OpaqueRef:93f1a23c\"],\"id\":\"xyz\"}");
    struct rpc_reply void_reply = rpc_reply_ok(val_nil(a));
    assert_string_equal(reply_text(a, &c, &void_reply),
                        "{\"result\":\"\",\"error\":null,\"id\":\"xyz\"}");
    c.id = val_int(a, -5);
    struct rpc_reply num = rpc_reply_ok(val_int(a, 42));
    assert_string_equal(reply_text(a, &c, &num), "{\"result\":42,\"error\":null,\"id\":-5}");
    c.id = NULL;
    assert_string_equal(reply_text(a, &c, &num), "{\"result\":42,\"error\":null,\"id\":null}");
    arena_free(a);
}

static void test_reply_v2(void **state)
{
    struct arena *a = arena_new();
    struct rpc_call c = {"host.get_resident_VMs", val_array(a), val_int(a, 3), 2};
    struct rpc_reply ok = rpc_reply_ok(two_refs(a));
    assert_string_equal(reply_text(a, &c, &ok),
                        "{\"jsonrpc\":\"2.0\",\"result\":["
                        "\"OpaqueRef:604f51e7-630f-4412-83fa-b11c6cf008ab\","
                        "\"OpaqueRef:670d08f5-cbeb-4336-8420-ccd56390a65f\"],\"id\":3}");
    struct rpc_reply err = rpc_reply_error(a, "MAP_DUPLICATE_KEY", "Customer", "eSpiel Inc.",
                                           "eSpiel Incorporated", NULL);
    assert_string_equal(reply_text(a, &c, &err),
                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
                        "\"MAP_DUPLICATE_KEY\",\"data\":[\"Customer\",\"eSpiel Inc.\","
                        "\"eSpiel Incorporated\"]},\"id\":3}");
    struct rpc_reply bare = rpc_reply_error(a, "SESSION_NOT_REGISTERED", NULL);
    assert_string_equal(reply_text(a, &c, &bare),
                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
                        "\"SESSION_NOT_REGISTERED\",\"data\":[]},\"id\":3}");
    struct rpc_reply void_reply = rpc_reply_ok(val_nil(a));
    assert_string_equal(reply_text(a, &c, &void_reply),
                        "{\"jsonrpc\":\"2.0\",\"result\":\"\",\"id\":3}");
    /* A nil inside a value is an ordinary null; only a void result is "". */
    struct val *rec = val_struct(a);
    val_struct_add(a, rec, "x", val_nil(a));
    struct rpc_reply with_nil = rpc_reply_ok(rec);
    assert_string_equal(reply_text(a, &c, &with_nil),
                        "{\"jsonrpc\":\"2.0\",\"result\":{\"x\":null},\"id\":3}");
    c.id = val_string(a, "q\"");
    struct rpc_reply s = rpc_reply_ok(val_string(a, "line\n"));
    assert_string_equal(reply_text(a, &c, &s),
                        "{\"jsonrpc\":\"2.0\",\"result\":\"line\\n\",\"id\":\"q\\\"\"}");
    arena_free(a);
}

static void test_reply_without_call(void **state)
{
    struct arena *a = arena_new();
    struct rpc_reply err = rpc_reply_error(a, "JSON_PARSE_ERROR", "bad", NULL);
    assert_string_equal(reply_text(a, NULL, &err),
                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
                        "\"JSON_PARSE_ERROR\",\"data\":[\"bad\"]},\"id\":null}");
    /* What a failed parse leaves behind is good enough to reply to. */
    struct rpc_call c;
    call_fail(a, "{\"method\":\"m\",\"params\":7,\"id\":9}", &c);
    assert_string_equal(reply_text(a, &c, &err),
                        "{\"result\":null,\"error\":[\"JSON_PARSE_ERROR\",\"bad\"],\"id\":9}");
    call_fail(a, "{", &c);
    assert_string_equal(reply_text(a, &c, &err),
                        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
                        "\"JSON_PARSE_ERROR\",\"data\":[\"bad\"]},\"id\":null}");
    arena_free(a);
}

static void test_write_call(void **state)
{
    struct arena *a = arena_new();
    struct val *params = val_array(a);
    val_array_push(a, params, val_string(a, "root"));
    val_array_push(a, params, val_float(a, 60.1));
    struct buf b = BUF_INIT;
    jsonrpc_write_call(&b, 2, "event.from", params, 7);
    assert_string_equal(b.data, "{\"jsonrpc\":\"2.0\",\"method\":\"event.from\","
                                "\"params\":[\"root\",60.1],\"id\":7}");
    buf_reset(&b);
    jsonrpc_write_call(&b, 1, "event.from", params, INT64_MAX);
    assert_string_equal(b.data, "{\"method\":\"event.from\",\"params\":[\"root\",60.1],"
                                "\"id\":9223372036854775807}");
    buf_reset(&b);
    jsonrpc_write_call(&b, 2, "pool.get_all", NULL, 0);
    assert_string_equal(b.data, "{\"jsonrpc\":\"2.0\",\"method\":\"pool.get_all\",\"params\":[],"
                                "\"id\":0}");

    /* What the client writes, the server reads. */
    for (int version = 1; version <= 2; version++) {
        buf_reset(&b);
        jsonrpc_write_call(&b, version, "VM.start", params, 12);
        struct rpc_call c = call_ok(a, b.data);
        assert_int_equal(c.jsonrpc_version, version);
        assert_string_equal(c.method, "VM.start");
        assert_true(val_equal(c.params, params));
        assert_int_equal(c.id->type, VAL_INT);
        assert_int_equal(c.id->u.i, 12);
    }
    buf_free(&b);
    arena_free(a);
}

static int reply_parse(struct arena *a, const char *body, struct rpc_reply *r, struct val **id,
                       const char **err)
{
    return jsonrpc_parse_reply(a, body, strlen(body), r, id, err);
}

static void assert_error_is(const struct val *error, const char *const *want, size_t n)
{
    assert_non_null(error);
    assert_int_equal(error->type, VAL_ARRAY);
    assert_int_equal(error->u.arr.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(val_str(error->u.arr.items[i]), want[i]);
}

static void test_parse_reply_v1(void **state)
{
    struct arena *a = arena_new();
    struct rpc_reply r;
    struct val *id;
    const char *err;
    assert_int_equal(reply_parse(a,
                                 "{\"result\":[\"OpaqueRef:1\",\"OpaqueRef:2\"],\"error\":null,"
                                 "\"id\":\"xyz\"}",
                                 &r, &id, &err),
                     0);
    assert_null(r.error);
    assert_int_equal(r.value->type, VAL_ARRAY);
    assert_string_equal(val_str(r.value->u.arr.items[1]), "OpaqueRef:2");
    assert_string_equal(val_str(id), "xyz");

    assert_int_equal(reply_parse(a,
                                 "{\"result\":null,\"error\":[\"SESSION_INVALID\","
                                 "\"OpaqueRef:93f1\"],\"id\":\"xyz\"}",
                                 &r, &id, &err),
                     0);
    assert_null(r.value);
    static const char *const want[] = {"SESSION_INVALID", "OpaqueRef:93f1"};
    assert_error_is(r.error, want, 2);

    /* A null result with a null error is a result (null), not a failure. */
    assert_int_equal(reply_parse(a, "{\"result\":null,\"error\":null,\"id\":1}", &r, NULL, &err),
                     0);
    assert_int_equal(r.value->type, VAL_NIL);
    assert_null(r.error);
    arena_free(a);
}

static void test_parse_reply_v2(void **state)
{
    struct arena *a = arena_new();
    struct rpc_reply r;
    struct val *id;
    const char *err;
    assert_int_equal(
        reply_parse(a, "{\"jsonrpc\":\"2.0\",\"result\":\"\",\"id\":3}", &r, &id, &err), 0);
    assert_string_equal(val_str(r.value), "");
    assert_null(r.error);
    assert_int_equal(id->u.i, 3);

    assert_int_equal(reply_parse(a,
                                 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
                                 "\"MAP_DUPLICATE_KEY\",\"data\":[\"Customer\",\"eSpiel Inc.\","
                                 "\"eSpiel Incorporated\"]},\"id\":3}",
                                 &r, &id, &err),
                     0);
    assert_null(r.value);
    static const char *const dup[] = {"MAP_DUPLICATE_KEY", "Customer", "eSpiel Inc.",
                                      "eSpiel Incorporated"};
    assert_error_is(r.error, dup, 4);

    static const char *const bare[] = {"SESSION_INVALID"};
    assert_int_equal(reply_parse(a,
                                 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
                                 "\"SESSION_INVALID\"},\"id\":3}",
                                 &r, NULL, &err),
                     0);
    assert_error_is(r.error, bare, 1);
    assert_int_equal(reply_parse(a,
                                 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":"
                                 "\"SESSION_INVALID\",\"data\":null},\"id\":3}",
                                 &r, NULL, &err),
                     0);
    assert_error_is(r.error, bare, 1);

    /* The 1.0 array inside a 2.0 reply, as older servers sent it. */
    assert_int_equal(reply_parse(a,
                                 "{\"jsonrpc\":\"2.0\",\"error\":[\"SESSION_INVALID\"],\"id\":3}",
                                 &r, NULL, &err),
                     0);
    assert_error_is(r.error, bare, 1);
    arena_free(a);
}

static void test_parse_reply_bad(void **state)
{
    static const struct {
        const char *body, *err;
    } cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":3}", "JSON-RPC: reply has neither \"result\" nor \"error\""},
        {"{\"error\":null,\"id\":3}", "JSON-RPC: reply has neither \"result\" nor \"error\""},
        {"{\"result\":1,\"error\":[\"X\"],\"id\":3}",
         "JSON-RPC: reply has both \"result\" and \"error\""},
        {"{\"result\":null,\"error\":[],\"id\":3}", "JSON-RPC: \"error\" has no error code"},
        {"{\"result\":null,\"error\":[\"X\",1],\"id\":3}",
         "JSON-RPC: error code and parameters must be strings"},
        {"{\"result\":null,\"error\":[1],\"id\":3}",
         "JSON-RPC: error code and parameters must be strings"},
        {"{\"result\":null,\"error\":\"X\",\"id\":3}",
         "JSON-RPC: \"error\" must be an array or an object"},
        {"{\"error\":{\"code\":1},\"id\":3}", "JSON-RPC: error \"message\" must be a string"},
        {"{\"error\":{\"code\":1,\"message\":2},\"id\":3}",
         "JSON-RPC: error \"message\" must be a string"},
        {"{\"error\":{\"message\":\"X\",\"data\":\"y\"},\"id\":3}",
         "JSON-RPC: error \"data\" must be an array"},
        {"{\"error\":{\"message\":\"X\",\"data\":[null]},\"id\":3}",
         "JSON-RPC: error code and parameters must be strings"},
        {"[]", "JSON-RPC: the reply must be a JSON object, not array"},
        {"{\"result\":", "JSON: unexpected token near end of file at line 1 column 10"},
    };
    struct arena *a = arena_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rpc_reply r;
        const char *err = NULL;
        assert_int_equal(reply_parse(a, cases[i].body, &r, NULL, &err), -1);
        assert_string_equal(err, cases[i].err);
        assert_null(r.value);
        assert_null(r.error);
    }
    arena_free(a);
}

/* What the server writes, the client reads back, for both versions. */
static void test_reply_roundtrip(void **state)
{
    struct arena *a = arena_new();
    struct val *rec = val_struct(a);
    val_struct_add(a, rec, "name_label", val_string(a, "vm \"one\""));
    val_struct_add(a, rec, "memory", val_int(a, INT64_MIN));
    val_struct_add(a, rec, "ratio", val_float(a, 1.0));
    struct rpc_reply replies[] = {
        rpc_reply_ok(rec),
        rpc_reply_error(a, "VM_BAD_POWER_STATE", "OpaqueRef:v", "halted", "running", NULL),
        rpc_reply_error(a, "SESSION_INVALID", NULL),
    };
    for (int version = 1; version <= 2; version++) {
        struct rpc_call c = {"VM.get_record", val_array(a), val_int(a, 44 + version), version};
        for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
            const char *text = reply_text(a, &c, &replies[i]);
            struct rpc_reply back;
            struct val *id;
            const char *err;
            if (reply_parse(a, text, &back, &id, &err) != 0)
                fail_msg("%s: %s", text, err);
            assert_true(val_equal(id, c.id));
            if (replies[i].value) {
                assert_null(back.error);
                assert_true(val_equal(back.value, replies[i].value));
            } else {
                assert_null(back.value);
                assert_true(val_equal(back.error, replies[i].error));
            }
        }
    }
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_request),         cmocka_unit_test(test_v2_request),
        cmocka_unit_test(test_v2_params_optional), cmocka_unit_test(test_bad_id),
        cmocka_unit_test(test_bad_params),         cmocka_unit_test(test_bad_method),
        cmocka_unit_test(test_bad_version),        cmocka_unit_test(test_not_a_request),
        cmocka_unit_test(test_truncated_request),  cmocka_unit_test(test_reply_v1),
        cmocka_unit_test(test_reply_v2),           cmocka_unit_test(test_reply_without_call),
        cmocka_unit_test(test_write_call),         cmocka_unit_test(test_parse_reply_v1),
        cmocka_unit_test(test_parse_reply_v2),     cmocka_unit_test(test_parse_reply_bad),
        cmocka_unit_test(test_reply_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
