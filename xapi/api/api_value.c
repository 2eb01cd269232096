/*
 * api_value.c - canonical XenAPI values; see api_value.h.
 */
#include "api/api_value.h"
#include "json.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int api_int_from_text(const char *s, int64_t *out)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* The datetimes clients send: 20240131T12:00:00Z as XML-RPC writes it,
 * with or without the Z, or ISO 8601's 2024-01-31T12:00:00Z; an offset or
 * fraction may follow the seconds. */
static bool api_datetime_ok(const char *s)
{
    const char *p = s;
    for (int part = 0; part < 6; part++) {
        int digits = part == 0 ? 4 : 2;
        for (int i = 0; i < digits; i++, p++)
            if (*p < '0' || *p > '9')
                return false;
        if (part < 2 && *p == '-')
            p++;
        else if (part == 2 && *p++ != 'T')
            return false;
        else if ((part == 3 || part == 4) && *p++ != ':')
            return false;
    }
    return *p == '\0' || *p == 'Z' || *p == '.' || *p == '+' || *p == '-';
}

/* Whether every character of s can be written in XML 1.0: no control
 * character but tab, newline and carriage return, no U+FFFE or U+FFFF.
 * Only JSON-RPC can carry others in; stored, they would make every
 * XML-RPC reply that includes them unreadable. */
static bool api_xml_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return false;
        if (p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
            return false;
    }
    return true;
}

static int api_scalar_in(struct arena *a, const struct api_type *t, const struct val *in,
                         struct val **out)
{
    const char *s = val_str(in);
    switch (t->kind) {
    case API_STRING:
    case API_REF:
        if (!s || !api_xml_safe(s))
            return -1;
        *out = (struct val *)in;
        return 0;
    case API_INT: {
        int64_t i;
        if (in->type == VAL_INT) {
            *out = (struct val *)in;
            return 0;
        }
        if (!s || api_int_from_text(s, &i) < 0)
            return -1;
        *out = val_int(a, i);
        return 0;
    }
    case API_FLOAT: {
        if (in->type == VAL_FLOAT) {
            *out = (struct val *)in;
            return 0;
        }
        if (in->type == VAL_INT) {
            *out = val_float(a, (double)in->u.i);
            return 0;
        }
        char *end;
        if (!s || !*s)
            return -1;
        double f = strtod(s, &end);
        if (*end)
            return -1;
        *out = val_float(a, f);
        return 0;
    }
    case API_BOOL:
        if (in->type == VAL_BOOL) {
            *out = (struct val *)in;
            return 0;
        }
        if (s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)) {
            *out = val_bool(a, strcasecmp(s, "true") == 0);
            return 0;
        }
        return -1;
    case API_DATETIME:
        if (in->type == VAL_DATETIME && api_datetime_ok(in->u.str.ptr)) {
            *out = (struct val *)in;
            return 0;
        }
        if (!s || !api_datetime_ok(s))
            return -1;
        *out = val_datetime(a, s);
        return 0;
    case API_ENUM:
        if (!s)
            return -1;
        for (int i = 0; i < t->en->n_values; i++) {
            if (strcasecmp(t->en->values[i], s) == 0) {
                *out = strcmp(t->en->values[i], s) == 0 ? (struct val *)in
                                                        : val_string(a, t->en->values[i]);
                return 0;
            }
        }
        return -1;
    default:
        return -1;
    }
}

int api_value_in(struct arena *a, const struct api_type *t, const struct val *in, struct val **out,
                 const char **why)
{
    switch (t->kind) {
    case API_SET: {
        if (in->type != VAL_ARRAY)
            break;
        struct val *arr = val_array(a);
        for (size_t i = 0; i < in->u.arr.n; i++) {
            struct val *item;
            if (api_value_in(a, t->elem, in->u.arr.items[i], &item, why) < 0)
                return -1;
            val_array_push(a, arr, item);
        }
        *out = arr;
        return 0;
    }
    case API_MAP: {
        if (in->type != VAL_STRUCT)
            break;
        struct val *st = val_struct(a);
        for (size_t i = 0; i < in->u.st.n; i++) {
            const struct val_member *m = &in->u.st.members[i];
            struct val *key, *value;
            if (api_value_in(a, t->key, val_string(a, m->name), &key, why) < 0 ||
                api_value_in(a, t->elem, m->value, &value, why) < 0)
                return -1;
            /* Keys travel as text whatever their type. */
            const char *name =
                key->type == VAL_INT ? arena_printf(a, "%" PRId64, key->u.i) : m->name;
            val_struct_add(a, st, name, value);
        }
        *out = st;
        return 0;
    }
    case API_OPTION:
        if (in->type == VAL_NIL) {
            *out = (struct val *)in;
            return 0;
        }
        return api_value_in(a, t->elem, in, out, why);
    case API_RECORD:
        if (in->type != VAL_STRUCT)
            break;
        *out = (struct val *)in;
        return 0;
    case API_ANY:
        *out = (struct val *)in;
        return 0;
    case API_VOID:
        break;
    default:
        if (api_scalar_in(a, t, in, out) == 0)
            return 0;
        break;
    }
    *why = arena_printf(a, "expected %s, got %s", t->text, val_type_name(in->type));
    return -1;
}

struct val *api_value_empty(struct arena *a, const struct api_type *t)
{
    switch (t->kind) {
    case API_INT:
        return val_int(a, 0);
    case API_FLOAT:
        return val_float(a, 0.0);
    case API_BOOL:
        return val_bool(a, false);
    case API_DATETIME:
        return val_datetime(a, "19700101T00:00:00Z");
    case API_REF:
        return val_string(a, API_NULL_REF);
    case API_ENUM:
        return val_string(a, t->en->n_values ? t->en->values[0] : "");
    case API_SET:
        return val_array(a);
    case API_MAP:
    case API_RECORD:
        return val_struct(a);
    case API_OPTION:
    case API_VOID:
    case API_ANY:
        return val_nil(a);
    default:
        return val_string(a, "");
    }
}

struct val *api_value_default(struct arena *a, const struct api_field *f)
{
    if (f->default_json) {
        struct val *v, *out;
        const char *err;
        if (json_parse(a, f->default_json, strlen(f->default_json), &v, &err) == 0 &&
            api_value_in(a, f->type, v, &out, &err) == 0)
            return out;
    }
    return api_value_empty(a, f->type);
}

static struct val ***api_defaults; /* per class, per field */
static pthread_once_t api_defaults_once = PTHREAD_ONCE_INIT;

static void api_defaults_init(void)
{
    struct arena *a = arena_new();
    api_defaults = xcalloc((size_t)api_n_classes, sizeof(*api_defaults));
    for (int c = 0; c < api_n_classes; c++) {
        api_defaults[c] = xcalloc((size_t)api_classes[c].n_fields, sizeof(**api_defaults));
        for (int i = 0; i < api_classes[c].n_fields; i++)
            api_defaults[c][i] = val_flatten(api_value_default(a, &api_classes[c].fields[i]));
    }
    arena_free(a);
}

const struct val *api_field_default(int cls, int i)
{
    pthread_once(&api_defaults_once, api_defaults_init);
    return api_defaults[cls][i];
}

const char *api_datetime_format(char *buf, size_t len, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    /* Beyond struct tm's years: no text rather than an uninitialised one. */
    if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y%m%dT%H:%M:%SZ", &tm))
        buf[0] = '\0';
    return buf;
}

struct val *api_value_datetime(struct arena *a, int64_t t)
{
    char text[API_DATETIME_LEN];
    return val_datetime(a, api_datetime_format(text, sizeof(text), t));
}

const char *api_datetime_comparable(char *buf, size_t len, const struct val *v)
{
    const char *s = v->type == VAL_DATETIME || v->type == VAL_STRING ? v->u.str.ptr : "";
    size_t n = 0;
    for (bool date = true; *s && *s != '.' && *s != '+' && n + 1 < len; s++) {
        if (*s == 'T')
            date = false;
        if (!(date && *s == '-'))
            buf[n++] = *s;
    }
    buf[n] = '\0';
    return buf;
}

void api_struct_fields(int cls, const struct val *st, const struct val **given)
{
    memset(given, 0, (size_t)api_classes[cls].n_fields * sizeof(*given));
    if (!st || st->type != VAL_STRUCT)
        return;
    for (size_t m = 0; m < st->u.st.n; m++) {
        int i = api_field_index(cls, st->u.st.members[m].name);
        if (i >= 0 && !given[i])
            given[i] = st->u.st.members[m].value;
    }
}
