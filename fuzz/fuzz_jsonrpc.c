/*
 * fuzz_jsonrpc.c - libFuzzer target for the JSON codec and the JSON-RPC
 * envelope. Besides not crashing, whatever parses must survive a write and
 * a second parse unchanged; the comparison is stricter than val_equal (float
 * bits, so -0.0 stays -0.0, and member order), which it also checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "fuzz_same.h"
#include "jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
    if (!ok)
        abort();
}

/* Writes v, parses it back and writes that again: the values must match
 * exactly and the second text must equal the first. */
static void fuzz_json_roundtrip(struct arena *a, const struct val *v)
{
    struct buf first = BUF_INIT, second = BUF_INIT;
    json_write(&first, v);
    struct val *back = NULL;
    const char *err = NULL;
    fuzz_check(json_parse(a, first.data, first.len, &back, &err) == 0);
    fuzz_check(fuzz_same(v, back));
    fuzz_check(val_equal(v, back) && val_equal(back, v));
    json_write(&second, back);
    fuzz_check(first.len == second.len && memcmp(first.data, second.data, first.len) == 0);
    buf_free(&first);
    buf_free(&second);
}

static int fuzz_is_error_array(const struct val *e)
{
    if (e->type != VAL_ARRAY || e->u.arr.n == 0)
        return 0;
    for (size_t i = 0; i < e->u.arr.n; i++)
        if (e->u.arr.items[i]->type != VAL_STRING)
            return 0;
    return 1;
}

/* A reply to call, read back by the client side, must carry the same id
 * and outcome. The XenAPI void (nil) goes out as "" and is left out. */
static void fuzz_reply_roundtrip(struct arena *a, const struct rpc_call *call,
                                 const struct rpc_reply *reply)
{
    if (reply->value && reply->value->type == VAL_NIL)
        return;
    struct buf out = BUF_INIT;
    jsonrpc_write_reply(&out, call, reply);
    struct rpc_reply back;
    struct val *id = NULL;
    const char *err = NULL;
    fuzz_check(jsonrpc_parse_reply(a, out.data, out.len, &back, &id, &err) == 0);
    fuzz_check(id && fuzz_same(id, call->id));
    if (reply->error)
        fuzz_check(!back.value && back.error && fuzz_same(back.error, reply->error));
    else
        fuzz_check(!back.error && back.value && fuzz_same(back.value, reply->value));
    buf_free(&out);
}

static void fuzz_call(struct arena *a, const char *text, size_t size)
{
    struct rpc_call call;
    const char *err = NULL;
    if (jsonrpc_parse_call(a, text, size, &call, &err) != 0) {
        fuzz_check(err != NULL);
        /* The server still answers; that must not trip over a half-read call. */
        struct rpc_reply r = rpc_reply_error(a, "JSONRPC_PARSE_ERROR", err, NULL);
        struct buf out = BUF_INIT;
        jsonrpc_write_reply(&out, &call, &r);
        buf_free(&out);
        return;
    }
    fuzz_check(call.jsonrpc_version == 1 || call.jsonrpc_version == 2);
    fuzz_check(call.method && call.params && call.params->type == VAL_ARRAY);
    fuzz_check(call.id && (call.id->type == VAL_STRING || call.id->type == VAL_INT));
    struct rpc_reply ok = rpc_reply_ok(call.params);
    fuzz_reply_roundtrip(a, &call, &ok);
    struct rpc_reply fail = rpc_reply_error(a, call.method, call.method, NULL);
    fuzz_reply_roundtrip(a, &call, &fail);

    /* The same call written by the client side reads back the same. */
    struct buf out = BUF_INIT;
    jsonrpc_write_call(&out, call.jsonrpc_version, call.method, call.params, 1);
    struct rpc_call again;
    fuzz_check(jsonrpc_parse_call(a, out.data, out.len, &again, &err) == 0);
    fuzz_check(strcmp(again.method, call.method) == 0 && fuzz_same(again.params, call.params));
    fuzz_check(again.jsonrpc_version == call.jsonrpc_version);
    buf_free(&out);
}

static void fuzz_reply(struct arena *a, const char *text, size_t size)
{
    struct rpc_reply reply;
    struct val *id = NULL;
    const char *err = NULL;
    if (jsonrpc_parse_reply(a, text, size, &reply, &id, &err) != 0) {
        fuzz_check(err != NULL);
        return;
    }
    fuzz_check(!reply.value != !reply.error);
    fuzz_check(!reply.error || fuzz_is_error_array(reply.error));
    if (!id || (id->type != VAL_STRING && id->type != VAL_INT))
        return;
    for (int version = 1; version <= 2; version++) {
        struct rpc_call call = {"m", NULL, id, version};
        fuzz_reply_roundtrip(a, &call, &reply);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct arena *a = arena_new();
    fuzz_call(a, text, size);
    fuzz_reply(a, text, size);
    struct val *v = NULL;
    const char *err = NULL;
    if (json_parse(a, text, size, &v, &err) == 0)
        fuzz_json_roundtrip(a, v);
    else
        fuzz_check(err && strncmp(err, "JSON: ", 6) == 0 && !strchr(err, '\n'));
    arena_free(a);
    return 0;
}
