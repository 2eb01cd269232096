/*
 * value.h - the in-memory form of an RPC value, shared by the XML-RPC and
 * JSON-RPC codecs so that everything above them is wire-neutral.
 *
 * Values live in an arena and are never freed one by one. The types are
 * those the two wires can carry; XenAPI types map onto them (refs, enums
 * and uuids are strings; sets are arrays; maps are structs). Struct member
 * order is kept as received or built, because clients print records in
 * that order.
 */
#ifndef CX_VALUE_H
#define CX_VALUE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* Nesting deeper than this is rejected by every parser: XenAPI values are
 * at most a handful of levels deep (a record holding a map of maps). */
#define VAL_MAX_DEPTH 64

enum val_type {
    VAL_NIL,
    VAL_STRING,
    VAL_INT,
    VAL_FLOAT,
    VAL_BOOL,
    VAL_DATETIME, /* text as on the XML-RPC wire, e.g. 20240131T12:00:00Z */
    VAL_ARRAY,
    VAL_STRUCT,
    VAL_STREAM, /* written by a producer when it is encoded: lib/valout.h */
};

struct val;
struct val_out;

/* Writes a streamed value (exactly one) with the val_out calls. Returns 0,
 * or -1 when it cannot (the writer then says why: valout.h). */
typedef int (*val_produce_fn)(void *ctx, struct val_out *o);

struct val_member {
    const char *name;
    struct val *value;
};

struct val {
    enum val_type type;
    /* A container with a stream in it, at any depth (set as members and
     * items are added: add a stream before adding its container). */
    bool has_stream;
    union {
        struct {
            const char *ptr; /* NUL-terminated as well */
            size_t len;
        } str; /* VAL_STRING, VAL_DATETIME */
        int64_t i;
        double f;
        bool b;
        struct {
            struct val **items;
            size_t n, cap;
        } arr;
        struct {
            struct val_member *members;
            size_t n, cap;
        } st;
        struct {
            val_produce_fn produce;
            void *ctx;
        } stream;
    } u;
};

struct val *val_nil(struct arena *a);
struct val *val_string(struct arena *a, const char *s);
struct val *val_string_len(struct arena *a, const char *s, size_t len);
struct val *val_int(struct arena *a, int64_t i);
struct val *val_float(struct arena *a, double f);
struct val *val_bool(struct arena *a, bool b);
struct val *val_datetime(struct arena *a, const char *text);
struct val *val_array(struct arena *a);
struct val *val_struct(struct arena *a);
/* A value written by produce(ctx, ...) when it is encoded; ctx must live
 * until then. Only replies hold streams: they are not copied, compared or
 * stored. */
struct val *val_stream(struct arena *a, val_produce_fn produce, void *ctx);

void val_array_push(struct arena *a, struct val *arr, struct val *item);
/* An empty struct with room for n members. */
struct val *val_struct_sized(struct arena *a, size_t n);
/* Appends a member whose name outlives the value (a string constant):
 * not copied. */
void val_struct_add_static(struct arena *a, struct val *st, const char *name, struct val *value);
/* Appends a member; the name is copied. Does not look for duplicates. */
void val_struct_add(struct arena *a, struct val *st, const char *name, struct val *value);
/* A struct of strings from a NULL-terminated key, value, key, value list. */
struct val *val_struct_of_strings(struct arena *a, const char *const *kv);
/* First member with this name, or NULL (also when st is not a struct). */
struct val *val_struct_get(const struct val *st, const char *name);

/* A set (an array) edited: with item appended when add and no equal item
 * is there, or without every item equal to it when !add. The result is a
 * new array in a sharing set's items and item; set is left as it was.
 * *changed says whether the result differs from set. */
struct val *val_set_edit(struct arena *a, const struct val *set, struct val *item, bool add,
                         bool *changed);

/* String content, or NULL when v is not a VAL_STRING. */
const char *val_str(const struct val *v);
bool val_equal(const struct val *a, const struct val *b);
/* Deep copy into a. */
struct val *val_copy(struct arena *a, const struct val *v);
/* Deep copy into one malloc'd block, released with a single free(): how
 * long-lived values (database fields) are kept without an arena each. */
struct val *val_flatten(const struct val *v);
const char *val_type_name(enum val_type t);

/*
 * A decoded call, whichever wire it came on. id and jsonrpc_version matter
 * only to JSON-RPC (version 0 means the call came as XML-RPC).
 */
struct rpc_call {
    const char *method;
    struct val *params; /* VAL_ARRAY */
    struct val *id;     /* JSON-RPC: string or int, echoed in the reply */
    int jsonrpc_version;
};

/*
 * A XenAPI reply: exactly one of value and error is set. error is a
 * VAL_ARRAY of strings, the error code first and then its parameters, as
 * both wires carry it.
 */
struct rpc_reply {
    struct val *value;
    struct val *error;
    bool bare; /* XML-RPC: value without the Status envelope (system.*) */
};

struct rpc_reply rpc_reply_ok(struct val *value);
/* The error [code, params...] from a code and the rest of a
 * NULL-terminated list of string params. */
struct val *val_error_va(struct arena *a, const char *code, va_list ap);
/* Builds an error reply from a code and a NULL-terminated list of params. */
struct rpc_reply rpc_reply_error(struct arena *a, const char *code, ...) __attribute__((sentinel));

#endif
