/*
 * fuzz_xmlrpc.c - libFuzzer target for the XML-RPC codec: the same bytes go
 * to xmlrpc_parse_call, xmlrpc_parse_reply and xmlrpc_parse_value. Besides
 * not crashing, a failure must carry a one-line ASCII message, and whatever
 * parses must survive a write and a second parse: equal to what was read,
 * once the wire's own conversions are applied (ints travel as strings and
 * nil as ""), and from then on the written text must not change.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_same.h"
#include "xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

static void fuzz_check_err(const char *err)
{
    fuzz_check(err && strncmp(err, "XML-RPC: ", 9) == 0);
    for (const unsigned char *p = (const unsigned char *)err; *p; p++)
        fuzz_check(*p >= 0x20 && *p < 0x7f);
}

/* What v reads back as once written: a copy with VAL_INT turned into its
 * decimal string and VAL_NIL into "". */
static struct val *fuzz_on_wire(struct arena *a, const struct val *v)
{
    char tmp[32];
    struct val *out;
    switch (v->type) {
    case VAL_NIL:
        return val_string(a, "");
    case VAL_INT:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)v->u.i);
        return val_string(a, tmp);
    case VAL_ARRAY:
        out = val_array(a);
        for (size_t i = 0; i < v->u.arr.n; i++)
            val_array_push(a, out, fuzz_on_wire(a, v->u.arr.items[i]));
        return out;
    case VAL_STRUCT:
        out = val_struct(a);
        for (size_t i = 0; i < v->u.st.n; i++)
            val_struct_add(a, out, v->u.st.members[i].name,
                           fuzz_on_wire(a, v->u.st.members[i].value));
        return out;
    default:
        return (struct val *)v;
    }
}

/* val_equal is defined only where it can answer: no NaN (never equal to
 * itself) and no repeated member name (it looks members up by name). */
static int fuzz_val_equal_applies(const struct val *v)
{
    switch (v->type) {
    case VAL_FLOAT:
        return !isnan(v->u.f);
    case VAL_ARRAY:
        for (size_t i = 0; i < v->u.arr.n; i++)
            if (!fuzz_val_equal_applies(v->u.arr.items[i]))
                return 0;
        return 1;
    case VAL_STRUCT:
        for (size_t i = 0; i < v->u.st.n; i++) {
            if (val_struct_get(v, v->u.st.members[i].name) != v->u.st.members[i].value ||
                !fuzz_val_equal_applies(v->u.st.members[i].value))
                return 0;
        }
        return 1;
    default:
        return 1;
    }
}

static void fuzz_check_equal(struct arena *a, const struct val *read, const struct val *back)
{
    const struct val *want = fuzz_on_wire(a, read);
    fuzz_check(fuzz_same(want, back));
    if (fuzz_val_equal_applies(want))
        fuzz_check(val_equal(want, back) && val_equal(back, want));
}

static int fuzz_same_text(const struct buf *x, const struct buf *y)
{
    return x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
}

static void fuzz_value(struct arena *a, const char *text, size_t size)
{
    struct val *v = NULL;
    const char *err = NULL;
    if (xmlrpc_parse_value(a, text, size, &v, &err) != 0) {
        fuzz_check_err(err);
        return;
    }
    fuzz_check(v != NULL);
    struct buf first = BUF_INIT, second = BUF_INIT;
    xmlrpc_write_value(&first, v);
    struct val *back = NULL;
    fuzz_check(xmlrpc_parse_value(a, first.data, first.len, &back, &err) == 0);
    fuzz_check_equal(a, v, back);
    xmlrpc_write_value(&second, back);
    struct val *again = NULL;
    fuzz_check(xmlrpc_parse_value(a, second.data, second.len, &again, &err) == 0);
    fuzz_check(fuzz_same(back, again));
    struct buf third = BUF_INIT;
    xmlrpc_write_value(&third, again);
    fuzz_check(fuzz_same_text(&second, &third));
    buf_free(&first);
    buf_free(&second);
    buf_free(&third);
}

static void fuzz_call(struct arena *a, const char *text, size_t size)
{
    struct rpc_call call;
    const char *err = NULL;
    if (xmlrpc_parse_call(a, text, size, &call, &err) != 0) {
        fuzz_check_err(err);
        /* The server answers with err in a Failure: that must read back. */
        struct rpc_reply r = rpc_reply_error(a, "XMLRPC_PARSE_ERROR", err, NULL);
        struct buf out = BUF_INIT;
        xmlrpc_write_reply(&out, &r);
        struct rpc_reply back;
        fuzz_check(xmlrpc_parse_reply(a, out.data, out.len, &back, &err) == 0);
        fuzz_check(back.error && fuzz_same(back.error, r.error));
        buf_free(&out);
        return;
    }
    fuzz_check(call.method && call.method[0] != '\0');
    fuzz_check(call.params && call.params->type == VAL_ARRAY);
    fuzz_check(!call.id && call.jsonrpc_version == 0);

    struct buf out = BUF_INIT;
    xmlrpc_write_call(&out, call.method, call.params);
    struct rpc_call again;
    fuzz_check(xmlrpc_parse_call(a, out.data, out.len, &again, &err) == 0);
    fuzz_check(strcmp(again.method, call.method) == 0);
    fuzz_check_equal(a, call.params, again.params);
    buf_free(&out);

    /* The server's answer, with the params as its value, reads back. */
    struct rpc_reply ok = rpc_reply_ok(call.params);
    xmlrpc_write_reply(&out, &ok);
    struct rpc_reply back;
    fuzz_check(xmlrpc_parse_reply(a, out.data, out.len, &back, &err) == 0);
    fuzz_check(!back.error && back.value);
    fuzz_check_equal(a, call.params, back.value);
    buf_free(&out);
}

static void fuzz_reply(struct arena *a, const char *text, size_t size)
{
    struct rpc_reply reply;
    const char *err = NULL;
    if (xmlrpc_parse_reply(a, text, size, &reply, &err) != 0) {
        fuzz_check_err(err);
        return;
    }
    fuzz_check(!reply.value != !reply.error);
    if (reply.error) {
        fuzz_check(reply.error->type == VAL_ARRAY && reply.error->u.arr.n > 0);
        for (size_t i = 0; i < reply.error->u.arr.n; i++)
            fuzz_check(reply.error->u.arr.items[i]->type == VAL_STRING);
    }
    struct buf out = BUF_INIT;
    xmlrpc_write_reply(&out, &reply);
    struct rpc_reply back;
    fuzz_check(xmlrpc_parse_reply(a, out.data, out.len, &back, &err) == 0);
    if (reply.error) {
        fuzz_check(!back.value && back.error && fuzz_same(back.error, reply.error));
    } else {
        fuzz_check(!back.error && back.value);
        fuzz_check_equal(a, reply.value, back.value);
    }
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct arena *a = arena_new();
    fuzz_call(a, text, size);
    fuzz_reply(a, text, size);
    fuzz_value(a, text, size);
    arena_free(a);
    return 0;
}
