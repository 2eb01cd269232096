/*
 * json.c - JSON text <-> value tree. jansson does the parsing (it checks
 * RFC 8259 and UTF-8 for us) and its tree is copied into the arena at once,
 * so nothing outlives the call but arena memory. Writing skips jansson and
 * goes straight into a buf: escaping in runs and formatting numbers by hand
 * is what keeps the API server's reply path cheap.
 */
#include "json.h"
#include "valout.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parsing: jansson tree -> arena value tree. */

static struct val *json_to_val(struct arena *a, json_t *j, int depth);

static struct val *json_array_to_val(struct arena *a, json_t *j, int depth)
{
    struct val *v = val_array(a);
    size_t n = json_array_size(j);
    if (n == 0)
        return v;
    /* The size is known up front, so one allocation instead of doublings. */
    v->u.arr.items = arena_alloc(a, n * sizeof(*v->u.arr.items));
    v->u.arr.cap = n;
    for (size_t i = 0; i < n; i++) {
        struct val *item = json_to_val(a, json_array_get(j, i), depth);
        if (!item)
            return NULL;
        v->u.arr.items[v->u.arr.n++] = item;
    }
    return v;
}

static struct val *json_object_to_val(struct arena *a, json_t *j, int depth)
{
    struct val *v = val_struct(a);
    size_t n = json_object_size(j);
    if (n == 0)
        return v;
    v->u.st.members = arena_alloc(a, n * sizeof(*v->u.st.members));
    v->u.st.cap = n;
    const char *key;
    size_t key_len;
    json_t *member;
    /* jansson iterates in insertion order, which is the order we must keep. */
    json_object_keylen_foreach(j, key, key_len, member)
    {
        struct val *mv = json_to_val(a, member, depth);
        if (!mv)
            return NULL;
        struct val_member *m = &v->u.st.members[v->u.st.n++];
        m->name = arena_strndup(a, key, key_len);
        m->value = mv;
    }
    return v;
}

/* depth counts the containers around j; NULL means too deep. */
static struct val *json_to_val(struct arena *a, json_t *j, int depth)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return depth < VAL_MAX_DEPTH ? json_object_to_val(a, j, depth + 1) : NULL;
    case JSON_ARRAY:
        return depth < VAL_MAX_DEPTH ? json_array_to_val(a, j, depth + 1) : NULL;
    case JSON_STRING:
        return val_string_len(a, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return val_int(a, (int64_t)json_integer_value(j));
    case JSON_REAL:
        return val_float(a, json_real_value(j));
    case JSON_TRUE:
        return val_bool(a, true);
    case JSON_FALSE:
        return val_bool(a, false);
    case JSON_NULL:
        return val_nil(a);
    }
    return val_nil(a);
}

/* jansson quotes the offending input, which may hold control bytes or a
 * UTF-8 sequence cut at its 160-byte limit: keep the message one clean
 * ASCII line, since it ends up in logs and in error replies. */
static const char *json_error_text(struct arena *a, const json_error_t *e)
{
    const char *what = json_error_code(e) == json_error_numeric_overflow
                           ? "number out of range (integers must fit in 64 bits): "
                           : "";
    char *msg =
        arena_printf(a, "JSON: %s%s at line %d column %d", what, e->text, e->line, e->column);
    for (unsigned char *p = (unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            *p = '?';
    return msg;
}

int json_parse(struct arena *a, const char *text, size_t len, struct val **out, const char **err)
{
    json_error_t e;
    /* No JSON_ALLOW_NUL: strings in the tree are also C strings. An object
     * naming a key twice is refused: which one counts would otherwise be
     * the parser's choice, and two readers may choose differently. */
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        *err = json_error_text(a, &e);
        return -1;
    }
    struct val *v = json_to_val(a, j, 0);
    json_decref(j);
    if (!v) {
        *err = arena_printf(a, "JSON: nesting deeper than %d levels", VAL_MAX_DEPTH);
        return -1;
    }
    *out = v;
    return 0;
}

/* Writing. */

/* For each byte: 0 when it goes out as is, else the letter after the
 * backslash ('u' meaning \u00XX). Bytes from 0x80 up are UTF-8 and pass. */
/* clang-format off */
static const char json_escape_tab[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    ['"'] = '"',
    ['\\'] = '\\',
};
/* clang-format on */

static void json_write_escape(struct buf *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char esc = json_escape_tab[c];
    if (esc != 'u') {
        char two[2] = {'\\', esc};
        buf_append(out, two, 2);
        return;
    }
    char six[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
    buf_append(out, six, 6);
}

void json_write_escaped(struct buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;
    buf_reserve(out, len);
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && !json_escape_tab[*p])
            p++;
        if (p > run)
            buf_append(out, run, (size_t)(p - run));
        if (p < end)
            json_write_escape(out, *p++);
    }
}

void json_write_string(struct buf *out, const char *s, size_t len)
{
    buf_reserve(out, len + 2);
    buf_putc(out, '"');
    json_write_escaped(out, s, len);
    buf_putc(out, '"');
}

static void json_write_float(struct buf *out, double f)
{
    if (!isfinite(f)) {
        buf_append(out, "null", 4);
        return;
    }
    char tmp[40];
    int n = buf_format_double(tmp, sizeof(tmp) - 2, f);
    bool is_real = false;
    for (int k = 0; k < n; k++) {
        if (tmp[k] == 'e') {
            is_real = true;
        } else if ((tmp[k] < '0' || tmp[k] > '9') && tmp[k] != '-' && tmp[k] != '+') {
            tmp[k] = '.'; /* a locale may have put ',' there */
            is_real = true;
        }
    }
    /* Without a point or exponent the reader would take it for an int. */
    if (!is_real) {
        memcpy(tmp + n, ".0", 2);
        n += 2;
    }
    buf_append(out, tmp, (size_t)n);
}

static void json_write_array(struct buf *out, const struct val *v)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < v->u.arr.n; i++) {
        if (i)
            buf_putc(out, ',');
        json_write(out, v->u.arr.items[i]);
    }
    buf_putc(out, ']');
}

static void json_write_struct(struct buf *out, const struct val *v)
{
    buf_putc(out, '{');
    for (size_t i = 0; i < v->u.st.n; i++) {
        const struct val_member *m = &v->u.st.members[i];
        if (i)
            buf_putc(out, ',');
        json_write_string(out, m->name, strlen(m->name));
        buf_putc(out, ':');
        json_write(out, m->value);
    }
    buf_putc(out, '}');
}

void json_write(struct buf *out, const struct val *v)
{
    switch (v->type) {
    case VAL_NIL:
        buf_append(out, "null", 4);
        return;
    case VAL_STRING:
    case VAL_DATETIME:
        json_write_string(out, v->u.str.ptr, v->u.str.len);
        return;
    case VAL_INT:
        buf_put_int64(out, v->u.i);
        return;
    case VAL_FLOAT:
        json_write_float(out, v->u.f);
        return;
    case VAL_BOOL:
        if (v->u.b)
            buf_append(out, "true", 4);
        else
            buf_append(out, "false", 5);
        return;
    case VAL_ARRAY:
        json_write_array(out, v);
        return;
    case VAL_STRUCT:
        json_write_struct(out, v);
        return;
    case VAL_STREAM: {
        struct val_out o;
        val_out_init(&o, VAL_WIRE_JSON, out);
        val_out_value(&o, v);
        return;
    }
    }
    assert(!"json_write: unknown value type");
    buf_append(out, "null", 4);
}
