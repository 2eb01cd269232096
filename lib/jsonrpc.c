/*
 * jsonrpc.c - the XenAPI's JSON-RPC 1.0/2.0 envelope. A body is parsed
 * whole by json_parse and the envelope read off the value tree; replies and
 * calls are written straight into the buf around json_write, so the
 * envelope never becomes a tree of its own on the hot reply path.
 */
#include "jsonrpc.h"
#include "valout.h"
#include "json.h"

#include <assert.h>
#include <string.h>

static int jsonrpc_fail(const char **err, const char *msg)
{
    *err = msg;
    return -1;
}

static bool jsonrpc_is_string(const struct val *v, const char *s)
{
    size_t len = strlen(s);
    return v->type == VAL_STRING && v->u.str.len == len && memcmp(v->u.str.ptr, s, len) == 0;
}

/* Parses the body and insists on an object: both calls and replies are one. */
static int jsonrpc_parse_object(struct arena *a, const char *body, size_t len, const char *what,
                                struct val **out, const char **err)
{
    if (json_parse(a, body, len, out, err) < 0)
        return -1;
    if ((*out)->type != VAL_STRUCT) {
        *err = arena_printf(a, "JSON-RPC: the %s must be a JSON object, not %s", what,
                            val_type_name((*out)->type));
        return -1;
    }
    return 0;
}

static int jsonrpc_read_version(const struct val *body, int *version, const char **err)
{
    const struct val *v = val_struct_get(body, "jsonrpc");
    if (!v) {
        *version = 1;
        return 0;
    }
    if (!jsonrpc_is_string(v, "2.0"))
        return jsonrpc_fail(err, "JSON-RPC: \"jsonrpc\" must be \"2.0\"");
    *version = 2;
    return 0;
}

static int jsonrpc_read_id(const struct val *body, struct val **id, const char **err)
{
    struct val *v = val_struct_get(body, "id");
    if (!v)
        return jsonrpc_fail(err, "JSON-RPC: \"id\" is missing (notifications are not supported)");
    if (v->type == VAL_NIL)
        return jsonrpc_fail(err, "JSON-RPC: \"id\" must not be null (notifications are not "
                                 "supported)");
    if (v->type != VAL_STRING && v->type != VAL_INT)
        return jsonrpc_fail(err, "JSON-RPC: \"id\" must be a string or an integer");
    *id = v;
    return 0;
}

static int jsonrpc_read_method(const struct val *body, const char **method, const char **err)
{
    const struct val *v = val_struct_get(body, "method");
    if (!v)
        return jsonrpc_fail(err, "JSON-RPC: \"method\" is missing");
    if (v->type != VAL_STRING)
        return jsonrpc_fail(err, "JSON-RPC: \"method\" must be a string");
    *method = v->u.str.ptr;
    return 0;
}

static int jsonrpc_read_params(struct arena *a, const struct val *body, int version,
                               struct val **params, const char **err)
{
    struct val *v = val_struct_get(body, "params");
    if (!v && version == 2) {
        *params = val_array(a); /* 2.0 lets a call without arguments omit them */
        return 0;
    }
    if (!v)
        return jsonrpc_fail(err, "JSON-RPC: \"params\" is missing");
    if (v->type != VAL_ARRAY)
        return jsonrpc_fail(err, "JSON-RPC: \"params\" must be an array");
    *params = v;
    return 0;
}

/* Version and id are read first and left in *call even when a later check
 * fails, so that the error reply still reaches the client in a form it can
 * match to its request. */
int jsonrpc_parse_call(struct arena *a, const char *body, size_t len, struct rpc_call *call,
                       const char **err)
{
    memset(call, 0, sizeof(*call));
    struct val *req;
    if (jsonrpc_parse_object(a, body, len, "request", &req, err) < 0)
        return -1;
    if (jsonrpc_read_version(req, &call->jsonrpc_version, err) < 0)
        return -1;
    if (jsonrpc_read_id(req, &call->id, err) < 0)
        return -1;
    if (jsonrpc_read_method(req, &call->method, err) < 0)
        return -1;
    return jsonrpc_read_params(a, req, call->jsonrpc_version, &call->params, err);
}

/* The XenAPI's void goes out as "", as the wire spec says. */
static void jsonrpc_out_result(struct val_out *o, const struct val *value)
{
    if (!value || value->type == VAL_NIL)
        buf_append(o->buf, "\"\"", 2);
    else
        val_out_value(o, value);
}

static void jsonrpc_write_error_v2(struct buf *out, const struct val *error)
{
    assert(error->type == VAL_ARRAY && error->u.arr.n > 0);
    size_t n = error->type == VAL_ARRAY ? error->u.arr.n : 0;
    /* code is required by 2.0 but unused by the XenAPI, which always sends 1. */
    buf_puts(out, "{\"code\":1,\"message\":");
    if (n)
        json_write(out, error->u.arr.items[0]);
    else
        buf_append(out, "\"\"", 2);
    buf_puts(out, ",\"data\":[");
    for (size_t i = 1; i < n; i++) {
        if (i > 1)
            buf_putc(out, ',');
        json_write(out, error->u.arr.items[i]);
    }
    buf_puts(out, "]}");
}

/* With no call (the request could not be read at all) or no version the
 * reply is 2.0, the form JSON-RPC itself prescribes for such errors. */
void jsonrpc_out_reply(struct val_out *o, const struct rpc_call *call,
                       const struct rpc_reply *reply)
{
    struct buf *out = o->buf;
    size_t start = out->len;
    bool v1 = call && call->jsonrpc_version == 1;
    if (reply->error && v1) {
        buf_puts(out, "{\"result\":null,\"error\":");
        json_write(out, reply->error);
    } else if (reply->error) {
        buf_puts(out, "{\"jsonrpc\":\"2.0\",\"error\":");
        jsonrpc_write_error_v2(out, reply->error);
    } else {
        buf_puts(out, v1 ? "{\"result\":" : "{\"jsonrpc\":\"2.0\",\"result\":");
        jsonrpc_out_result(o, reply->value);
        if (o->error && !o->sent) {
            struct rpc_reply failed = {.error = o->error};
            buf_truncate(out, start);
            o->error = NULL;
            o->failed = false;
            jsonrpc_out_reply(o, call, &failed);
            return;
        }
        if (v1)
            buf_puts(out, ",\"error\":null");
    }
    buf_puts(out, ",\"id\":");
    if (call && call->id)
        json_write(out, call->id);
    else
        buf_append(out, "null", 4);
    buf_putc(out, '}');
}

void jsonrpc_write_reply(struct buf *out, const struct rpc_call *call,
                         const struct rpc_reply *reply)
{
    struct val_out o;
    val_out_init(&o, VAL_WIRE_JSON, out);
    jsonrpc_out_reply(&o, call, reply);
}

void jsonrpc_write_call(struct buf *out, int version, const char *method, const struct val *params,
                        int64_t id)
{
    struct val id_val = {.type = VAL_INT, .u.i = id};
    buf_puts(out, version == 2 ? "{\"jsonrpc\":\"2.0\",\"method\":" : "{\"method\":");
    json_write_string(out, method, strlen(method));
    buf_puts(out, ",\"params\":");
    if (params)
        json_write(out, params);
    else
        buf_append(out, "[]", 2);
    buf_puts(out, ",\"id\":");
    json_write(out, &id_val);
    buf_putc(out, '}');
}

static int jsonrpc_check_strings(const struct val *arr, size_t from, const char **err)
{
    for (size_t i = from; i < arr->u.arr.n; i++)
        if (arr->u.arr.items[i]->type != VAL_STRING)
            return jsonrpc_fail(err, "JSON-RPC: error code and parameters must be strings");
    return 0;
}

/* 2.0's {"code","message","data"} becomes [message, data...]. */
static int jsonrpc_read_error_object(struct arena *a, const struct val *e, struct val **out,
                                     const char **err)
{
    struct val *message = val_struct_get(e, "message");
    struct val *data = val_struct_get(e, "data");
    if (!message || message->type != VAL_STRING)
        return jsonrpc_fail(err, "JSON-RPC: error \"message\" must be a string");
    if (data && data->type != VAL_NIL && data->type != VAL_ARRAY)
        return jsonrpc_fail(err, "JSON-RPC: error \"data\" must be an array");
    size_t n = data && data->type == VAL_ARRAY ? data->u.arr.n : 0;
    if (n && jsonrpc_check_strings(data, 0, err) < 0)
        return -1;
    struct val *arr = val_array(a);
    arr->u.arr.items = arena_alloc(a, (n + 1) * sizeof(*arr->u.arr.items));
    arr->u.arr.cap = n + 1;
    arr->u.arr.items[arr->u.arr.n++] = message;
    for (size_t i = 0; i < n; i++)
        arr->u.arr.items[arr->u.arr.n++] = data->u.arr.items[i];
    *out = arr;
    return 0;
}

/* The error's shape, not the "jsonrpc" member, decides how it is read:
 * Xen Orchestra accepts the 1.0 array in any reply (older xapi sent it
 * so), and a client of ours should be no stricter. */
static int jsonrpc_read_error(struct arena *a, struct val *e, struct val **out, const char **err)
{
    if (e->type == VAL_STRUCT)
        return jsonrpc_read_error_object(a, e, out, err);
    if (e->type != VAL_ARRAY)
        return jsonrpc_fail(err, "JSON-RPC: \"error\" must be an array or an object");
    if (e->u.arr.n == 0)
        return jsonrpc_fail(err, "JSON-RPC: \"error\" has no error code");
    if (jsonrpc_check_strings(e, 0, err) < 0)
        return -1;
    *out = e;
    return 0;
}

int jsonrpc_parse_reply(struct arena *a, const char *body, size_t len, struct rpc_reply *reply,
                        struct val **id, const char **err)
{
    *reply = (struct rpc_reply){0};
    if (id)
        *id = NULL;
    struct val *rep;
    if (jsonrpc_parse_object(a, body, len, "reply", &rep, err) < 0)
        return -1;
    if (id)
        *id = val_struct_get(rep, "id");
    struct val *result = val_struct_get(rep, "result");
    struct val *error = val_struct_get(rep, "error");
    /* 1.0 sends both members with the unused one null; 2.0 sends one. */
    if (error && error->type != VAL_NIL) {
        if (result && result->type != VAL_NIL)
            return jsonrpc_fail(err, "JSON-RPC: reply has both \"result\" and \"error\"");
        return jsonrpc_read_error(a, error, &reply->error, err);
    }
    if (!result)
        return jsonrpc_fail(err, "JSON-RPC: reply has neither \"result\" nor \"error\"");
    reply->value = result;
    return 0;
}
