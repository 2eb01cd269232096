/*
 * xmlrpc_harness.c - the parse and write helpers of the XML-RPC codec
 * tests (see xmlrpc_harness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "testutil.h"
#include "xmlrpc_harness.h"

void assert_error_text(const char *err)
{
    assert_error_line(err, "XML-RPC: ");
    assert_true(strlen(err) < 400);
}

union xr_out {
    struct val *value;
    struct rpc_call call;
    struct rpc_reply reply;
};

static const char *const xr_parser[] = {"xmlrpc_parse_value", "xmlrpc_parse_call",
                                        "xmlrpc_parse_reply"};

/* Parses from a heap copy of exactly len bytes. */
static int xr_parse(struct arena *a, enum xr_kind kind, const char *text, size_t len,
                    union xr_out *out, const char **err)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    memset(out, 0, sizeof(*out));
    *err = NULL;
    int rc = -1;
    switch (kind) {
    case XR_VALUE:
        rc = xmlrpc_parse_value(a, copy, len, &out->value, err);
        break;
    case XR_CALL:
        rc = xmlrpc_parse_call(a, copy, len, &out->call, err);
        break;
    case XR_REPLY:
        rc = xmlrpc_parse_reply(a, copy, len, &out->reply, err);
        break;
    }
    free(copy);
    return rc;
}

const char *xr_fail_len(struct arena *a, enum xr_kind kind, const char *text, size_t len)
{
    union xr_out out;
    const char *err;
    if (xr_parse(a, kind, text, len, &out, &err) != -1)
        fail_msg("%s(%.*s) did not fail", xr_parser[kind], (int)len, text);
    assert_error_text(err);
    return err;
}

const char *xr_fail(struct arena *a, enum xr_kind kind, const char *text)
{
    return xr_fail_len(a, kind, text, strlen(text));
}

void xr_fail_all(struct arena *a, enum xr_kind kind, const char *const *bad, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xr_fail(a, kind, bad[i]);
}

static union xr_out xr_ok(struct arena *a, enum xr_kind kind, const char *text)
{
    union xr_out out;
    const char *err;
    if (xr_parse(a, kind, text, strlen(text), &out, &err) != 0)
        fail_msg("%s(%s) failed: %s", xr_parser[kind], text, err);
    return out;
}

struct val *value_ok(struct arena *a, const char *text)
{
    struct val *v = xr_ok(a, XR_VALUE, text).value;
    assert_non_null(v);
    return v;
}

struct rpc_call call_ok(struct arena *a, const char *text)
{
    struct rpc_call call = xr_ok(a, XR_CALL, text).call;
    assert_non_null(call.method);
    assert_non_null(call.params);
    assert_int_equal(call.params->type, VAL_ARRAY);
    assert_null(call.id);
    assert_int_equal(call.jsonrpc_version, 0);
    return call;
}

struct rpc_reply reply_ok(struct arena *a, const char *text)
{
    struct rpc_reply reply = xr_ok(a, XR_REPLY, text).reply;
    assert_true(!reply.value != !reply.error);
    return reply;
}

const char *write_text(struct arena *a, const struct val *v)
{
    return text_of(a, xmlrpc_write_value, v);
}

const char *write_reply_text(struct arena *a, const struct rpc_reply *r)
{
    struct buf b = BUF_INIT;
    xmlrpc_write_reply(&b, r);
    return arena_text(a, &b);
}

const char *write_call_text(struct arena *a, const char *method, const struct val *params)
{
    struct buf b = BUF_INIT;
    xmlrpc_write_call(&b, method, params);
    return arena_text(a, &b);
}

void assert_roundtrip_text(const char *text)
{
    assert_text_roundtrip(text, xmlrpc_write_value, value_ok);
}

void assert_string_val(const struct val *v, const char *want)
{
    assert_non_null(v);
    assert_int_equal(v->type, VAL_STRING);
    assert_int_equal(v->u.str.len, strlen(want));
    assert_string_equal(v->u.str.ptr, want);
}
