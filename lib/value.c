/* value.c - constructors and helpers for the wire-neutral value tree. */
#include "value.h"
#include "mem.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static struct val *val_new(struct arena *a, enum val_type t)
{
    struct val *v = arena_zalloc(a, sizeof(*v));
    v->type = t;
    return v;
}

struct val *val_nil(struct arena *a)
{
    return val_new(a, VAL_NIL);
}

struct val *val_string_len(struct arena *a, const char *s, size_t len)
{
    struct val *v = val_new(a, VAL_STRING);
    v->u.str.ptr = arena_strndup(a, s, len);
    v->u.str.len = len;
    return v;
}

struct val *val_string(struct arena *a, const char *s)
{
    return val_string_len(a, s, strlen(s));
}

struct val *val_int(struct arena *a, int64_t i)
{
    struct val *v = val_new(a, VAL_INT);
    v->u.i = i;
    return v;
}

struct val *val_float(struct arena *a, double f)
{
    struct val *v = val_new(a, VAL_FLOAT);
    v->u.f = f;
    return v;
}

struct val *val_bool(struct arena *a, bool b)
{
    struct val *v = val_new(a, VAL_BOOL);
    v->u.b = b;
    return v;
}

struct val *val_datetime(struct arena *a, const char *text)
{
    struct val *v = val_string(a, text);
    v->type = VAL_DATETIME;
    return v;
}

struct val *val_array(struct arena *a)
{
    return val_new(a, VAL_ARRAY);
}

struct val *val_struct(struct arena *a)
{
    return val_new(a, VAL_STRUCT);
}

struct val *val_stream(struct arena *a, val_produce_fn produce, void *ctx)
{
    struct val *v = val_new(a, VAL_STREAM);
    v->u.stream.produce = produce;
    v->u.stream.ctx = ctx;
    return v;
}

void val_array_push(struct arena *a, struct val *arr, struct val *item)
{
    if (arr->u.arr.n == arr->u.arr.cap) {
        size_t cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
        arr->u.arr.items = arena_realloc(a, arr->u.arr.items, arr->u.arr.cap * sizeof(struct val *),
                                         cap * sizeof(struct val *));
        arr->u.arr.cap = cap;
    }
    arr->u.arr.items[arr->u.arr.n++] = item;
    if (item && (item->type == VAL_STREAM || item->has_stream))
        arr->has_stream = true;
}

struct val *val_struct_sized(struct arena *a, size_t n)
{
    struct val *v = val_struct(a);
    v->u.st.members = arena_alloc(a, (n ? n : 1) * sizeof(struct val_member));
    v->u.st.cap = n ? n : 1;
    return v;
}

void val_struct_add_static(struct arena *a, struct val *st, const char *name, struct val *value)
{
    if (st->u.st.n == st->u.st.cap) {
        size_t cap = st->u.st.cap ? st->u.st.cap * 2 : 4;
        st->u.st.members =
            arena_realloc(a, st->u.st.members, st->u.st.cap * sizeof(struct val_member),
                          cap * sizeof(struct val_member));
        st->u.st.cap = cap;
    }
    struct val_member *m = &st->u.st.members[st->u.st.n++];
    m->name = name;
    m->value = value;
    if (value && (value->type == VAL_STREAM || value->has_stream))
        st->has_stream = true;
}

void val_struct_add(struct arena *a, struct val *st, const char *name, struct val *value)
{
    val_struct_add_static(a, st, arena_strdup(a, name), value);
}

struct val *val_struct_of_strings(struct arena *a, const char *const *kv)
{
    struct val *m = val_struct(a);
    for (; kv[0]; kv += 2)
        val_struct_add(a, m, kv[0], val_string(a, kv[1]));
    return m;
}

struct val *val_struct_get(const struct val *st, const char *name)
{
    if (!st || st->type != VAL_STRUCT)
        return NULL;
    for (size_t i = 0; i < st->u.st.n; i++)
        if (strcmp(st->u.st.members[i].name, name) == 0)
            return st->u.st.members[i].value;
    return NULL;
}

const char *val_str(const struct val *v)
{
    return v && v->type == VAL_STRING ? v->u.str.ptr : NULL;
}

bool val_equal(const struct val *a, const struct val *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case VAL_NIL:
        return true;
    case VAL_STRING:
    case VAL_DATETIME:
        return a->u.str.len == b->u.str.len &&
               memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
    case VAL_INT:
        return a->u.i == b->u.i;
    case VAL_FLOAT:
        return a->u.f == b->u.f;
    case VAL_BOOL:
        return a->u.b == b->u.b;
    case VAL_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            return false;
        for (size_t i = 0; i < a->u.arr.n; i++)
            if (!val_equal(a->u.arr.items[i], b->u.arr.items[i]))
                return false;
        return true;
    case VAL_STRUCT:
        if (a->u.st.n != b->u.st.n)
            return false;
        for (size_t i = 0; i < a->u.st.n; i++) {
            const struct val *bv = val_struct_get(b, a->u.st.members[i].name);
            if (!bv || !val_equal(a->u.st.members[i].value, bv))
                return false;
        }
        return true;
    case VAL_STREAM:
        return a->u.stream.produce == b->u.stream.produce && a->u.stream.ctx == b->u.stream.ctx;
    }
    return false;
}

struct val *val_set_edit(struct arena *a, const struct val *set, struct val *item, bool add,
                         bool *changed)
{
    struct val *next = val_array(a);
    bool present = false;
    for (size_t i = 0; i < set->u.arr.n; i++) {
        bool same = val_equal(set->u.arr.items[i], item);
        present |= same;
        if (!same || add)
            val_array_push(a, next, set->u.arr.items[i]);
    }
    if (add && !present)
        val_array_push(a, next, item);
    *changed = add != present;
    return next;
}

const char *val_type_name(enum val_type t)
{
    static const char *const names[] = {"nil",      "string", "int",    "float", "bool",
                                        "datetime", "array",  "struct", "stream"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

struct rpc_reply rpc_reply_ok(struct val *value)
{
    struct rpc_reply r = {.value = value};
    return r;
}

struct val *val_error_va(struct arena *a, const char *code, va_list ap)
{
    struct val *err = val_array(a);
    val_array_push(a, err, val_string(a, code));
    const char *p;
    while ((p = va_arg(ap, const char *)) != NULL)
        val_array_push(a, err, val_string(a, p));
    return err;
}

struct rpc_reply rpc_reply_error(struct arena *a, const char *code, ...)
{
    va_list ap;
    va_start(ap, code);
    struct rpc_reply r = {.error = val_error_va(a, code, ap)};
    va_end(ap);
    return r;
}

struct val *val_copy(struct arena *a, const struct val *v)
{
    switch (v->type) {
    case VAL_STRING:
    case VAL_DATETIME: {
        struct val *c = val_string_len(a, v->u.str.ptr, v->u.str.len);
        c->type = v->type;
        return c;
    }
    case VAL_ARRAY: {
        struct val *c = val_array(a);
        for (size_t i = 0; i < v->u.arr.n; i++)
            val_array_push(a, c, val_copy(a, v->u.arr.items[i]));
        return c;
    }
    case VAL_STRUCT: {
        struct val *c = val_struct(a);
        for (size_t i = 0; i < v->u.st.n; i++)
            val_struct_add(a, c, v->u.st.members[i].name, val_copy(a, v->u.st.members[i].value));
        return c;
    }
    default: {
        struct val *c = val_new(a, v->type);
        c->u = v->u;
        return c;
    }
    }
}

#define VAL_ROUND(n) (((n) + 7) & ~(size_t)7)

static size_t val_flat_size(const struct val *v)
{
    size_t n = VAL_ROUND(sizeof(struct val));
    switch (v->type) {
    case VAL_STRING:
    case VAL_DATETIME:
        return n + VAL_ROUND(v->u.str.len + 1);
    case VAL_ARRAY:
        n += VAL_ROUND(v->u.arr.n * sizeof(struct val *));
        for (size_t i = 0; i < v->u.arr.n; i++)
            n += val_flat_size(v->u.arr.items[i]);
        return n;
    case VAL_STRUCT:
        n += VAL_ROUND(v->u.st.n * sizeof(struct val_member));
        for (size_t i = 0; i < v->u.st.n; i++)
            n += VAL_ROUND(strlen(v->u.st.members[i].name) + 1) +
                 val_flat_size(v->u.st.members[i].value);
        return n;
    default:
        return n;
    }
}

static void *val_flat_take(char **p, size_t n)
{
    void *r = *p;
    *p += VAL_ROUND(n);
    return r;
}

static struct val *val_flat_copy(char **p, const struct val *v)
{
    struct val *c = val_flat_take(p, sizeof(*c));
    *c = *v;
    switch (v->type) {
    case VAL_STRING:
    case VAL_DATETIME: {
        char *s = val_flat_take(p, v->u.str.len + 1);
        memcpy(s, v->u.str.ptr, v->u.str.len);
        s[v->u.str.len] = '\0';
        c->u.str.ptr = s;
        break;
    }
    case VAL_ARRAY:
        c->u.arr.items = val_flat_take(p, v->u.arr.n * sizeof(struct val *));
        c->u.arr.cap = v->u.arr.n;
        for (size_t i = 0; i < v->u.arr.n; i++)
            c->u.arr.items[i] = val_flat_copy(p, v->u.arr.items[i]);
        break;
    case VAL_STRUCT:
        c->u.st.members = val_flat_take(p, v->u.st.n * sizeof(struct val_member));
        c->u.st.cap = v->u.st.n;
        for (size_t i = 0; i < v->u.st.n; i++) {
            size_t len = strlen(v->u.st.members[i].name);
            char *name = val_flat_take(p, len + 1);
            memcpy(name, v->u.st.members[i].name, len + 1);
            c->u.st.members[i].name = name;
            c->u.st.members[i].value = val_flat_copy(p, v->u.st.members[i].value);
        }
        break;
    default:
        break;
    }
    return c;
}

struct val *val_flatten(const struct val *v)
{
    assert(v->type != VAL_STREAM && !v->has_stream); /* streams live in replies only */
    char *block = xmalloc(val_flat_size(v));
    char *p = block;
    return val_flat_copy(&p, v);
}
