/*
 * cli_field.c - a field's value as xe shows it, and a value given on the
 * command line as the XenAPI value of a field's type.
 *
 * xe shows an object a ref points at by its uuid ("<not in database>"
 * for a null or dangling ref), or by its name-label where the field says
 * so; sets joined by "; " (a few by ", ", as upstream keeps them);
 * maps as "key: value; key: value"; enums in lower case; floats as
 * upstream's CLI prints them (three decimals).
 */
#include "cli/cli.h"
#include "db/db.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CLI_NOT_IN_DB "<not in database>"

/* The uuid (or with name, the name-label) of the object ref names. */
static void cli_ref_text(struct cli_ctx *c, struct buf *b, const char *ref, bool name)
{
    const struct db_obj *o = db_get_any(c->x->db, ref);
    const struct api_class *k = o ? &api_classes[o->cls] : NULL;
    int idx = !k ? -1 : name ? k->name_label_field : k->uuid_field;
    buf_puts(b, idx < 0 ? CLI_NOT_IN_DB : db_obj_str(o, API_FIELD_ID(o->cls, idx)));
}

/* A double as upstream's CLI prints one: three decimals. */
static void cli_float_text(struct buf *b, double f)
{
    if (isnan(f))
        buf_puts(b, "nan");
    else if (isinf(f))
        buf_puts(b, f < 0 ? "-inf" : "inf");
    else
        buf_printf(b, "%.3f", f);
}

/* An enum value as xe shows it (field f's own spelling, if it has one). */
static void cli_enum_text(struct buf *b, const char *s, const struct cli_field *f)
{
    for (const char *const *p = f ? f->shows : NULL; p && p[0]; p += 2)
        if (strcmp(p[0], s) == 0) {
            buf_puts(b, p[1]);
            return;
        }
    if (f && (f->flags & CLI_F_UNCAP) && *s) {
        buf_putc(b, (char)tolower((unsigned char)*s));
        s++;
    }
    buf_puts(b, s);
}

static void cli_value_text(struct cli_ctx *c, struct buf *b, const struct api_type *t,
                           const struct val *v, const struct cli_field *f)
{
    unsigned flags = f ? f->flags : 0;
    if (!v)
        return;
    switch (t->kind) {
    case API_INT:
        buf_put_int64(b, v->type == VAL_INT ? v->u.i : 0);
        break;
    case API_FLOAT:
        cli_float_text(b, v->type == VAL_FLOAT ? v->u.f : v->type == VAL_INT ? (double)v->u.i : 0);
        break;
    case API_BOOL:
        buf_puts(b, v->type == VAL_BOOL && v->u.b ? "true" : "false");
        break;
    case API_REF:
        cli_ref_text(c, b, val_str(v) ? val_str(v) : "", flags & CLI_F_NAME);
        break;
    case API_ENUM:
        cli_enum_text(b, val_str(v) ? val_str(v) : "", f);
        break;
    case API_SET:
        for (size_t i = 0; v->type == VAL_ARRAY && i < v->u.arr.n; i++) {
            if (i)
                buf_puts(b, flags & CLI_F_COMMA ? ", " : "; ");
            cli_value_text(c, b, t->elem, v->u.arr.items[i], f);
        }
        break;
    case API_MAP:
        for (size_t i = 0; v->type == VAL_STRUCT && i < v->u.st.n; i++) {
            if (i)
                buf_puts(b, "; ");
            if (t->key && t->key->kind == API_ENUM)
                cli_enum_text(b, v->u.st.members[i].name, f);
            else
                buf_puts(b, v->u.st.members[i].name);
            buf_puts(b, ": ");
            cli_value_text(c, b, t->elem, v->u.st.members[i].value, f);
        }
        break;
    case API_OPTION:
        cli_value_text(c, b, t->elem, v, f);
        break;
    default: /* strings and datetimes, as they are on the wire */
        if (v->type == VAL_STRING || v->type == VAL_DATETIME)
            buf_append(b, v->u.str.ptr, v->u.str.len);
        break;
    }
}

/* The object and field a CLI field reads: o itself, or the object its
 * via field points at (NULL when there is none). */
static const struct db_obj *cli_field_obj(struct cli_ctx *c, const struct db_obj *o,
                                          const struct cli_field *f)
{
    return f->via == API_NO_FIELD ? o : db_obj_follow(c->x->db, o, f->via);
}

const char *cli_field_text(struct cli_ctx *c, const struct db_obj *o, const struct cli_field *f)
{
    if (f->src == API_NO_FIELD)
        return NULL;
    const struct db_obj *from = cli_field_obj(c, o, f);
    if (!from)
        return CLI_NOT_IN_DB;
    struct buf b = BUF_INIT;
    cli_value_text(c, &b, api_field(f->src)->type, db_obj_field(from, f->src), f);
    const char *s = arena_strdup(c->a, b.data ? b.data : "");
    buf_free(&b);
    return s;
}

const char *cli_field_map_get(struct cli_ctx *c, const struct db_obj *o, const struct cli_field *f,
                              const char *key)
{
    if (f->src == API_NO_FIELD || api_field(f->src)->type->kind != API_MAP)
        return NULL;
    const struct db_obj *from = cli_field_obj(c, o, f);
    const struct val *m = from ? db_obj_field(from, f->src) : NULL;
    for (size_t i = 0; m && m->type == VAL_STRUCT && i < m->u.st.n; i++)
        if (strcmp(m->u.st.members[i].name, key) == 0) {
            struct buf b = BUF_INIT;
            cli_value_text(c, &b, api_field(f->src)->type->elem, m->u.st.members[i].value, f);
            const char *s = arena_strdup(c->a, b.data ? b.data : "");
            buf_free(&b);
            return s;
        }
    return NULL;
}

const char *cli_field_call(struct cli_ctx *c, const char *ref, const struct cli_field *f)
{
    const struct api_message *m = &api_messages[f->call];
    struct rpc_call call = {.method = m->wire_name, .params = val_array(c->a)};
    val_array_push(c->a, call.params, val_string(c->a, c->session));
    val_array_push(c->a, call.params, val_string(c->a, ref));
    struct rpc_reply r = xapi_dispatch(c->x, c->a, &call, c->log_ctx, &c->client);
    if (r.error)
        return "<unknown>"; /* as upstream shows a field it could not compute */
    struct buf b = BUF_INIT;
    struct val *v =
        r.value->has_stream || r.value->type == VAL_STREAM ? val_flatten(r.value) : r.value;
    db_read_lock(c->x->db);
    cli_value_text(c, &b, m->result, v, f);
    db_read_unlock(c->x->db);
    const char *s = arena_strdup(c->a, b.data ? b.data : "");
    buf_free(&b);
    return s;
}

const char *cli_field_key(struct cli_ctx *c, const struct cli_field *f)
{
    const char *tag;
    if (f->flags & CLI_F_SET)
        tag = f->flags & CLI_F_ADD ? " (SRW)" : " (SRO)";
    else if (f->flags & CLI_F_MAP)
        tag = f->flags & CLI_F_ADD ? " (MRW)" : " (MRO)";
    else
        tag = f->flags & CLI_F_RW ? " ( RW)" : " ( RO)";
    return arena_printf(c->a, "%s%s%s", f->name, tag,
                        f->flags & CLI_F_DEPRECATED ? " [DEPRECATED]" : "");
}

/* An integer, with an optional size suffix as upstream reads sizes:
 * b or bytes, k/kb/kib, m/mb/mib, g/gb/gib, t/tb/tib, any case, with or
 * without a space (memory-static-max=2GiB); no negative size with one. */
static bool cli_parse_int(const char *s, int64_t *out)
{
    static const struct {
        const char *names[3];
        int shift;
    } units[] = {{{"b", "bytes", ""}, 0},
                 {{"k", "kb", "kib"}, 10},
                 {{"m", "mb", "mib"}, 20},
                 {{"g", "gb", "gib"}, 30},
                 {{"t", "tb", "tib"}, 40}};
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno)
        return false;
    while (*end == ' ')
        end++;
    if (!*end) {
        *out = v;
        return true;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        for (size_t k = 0; k < 3; k++)
            if (*units[i].names[k] && strcasecmp(end, units[i].names[k]) == 0) {
                int shift = units[i].shift;
                if (v < 0 || v > (INT64_MAX >> shift))
                    return false;
                *out = (int64_t)v * ((int64_t)1 << shift);
                return true;
            }
    return false;
}

struct val *cli_value_of(struct cli_ctx *c, const struct api_type *t, const char *text,
                         const char *what)
{
    switch (t->kind) {
    case API_STRING:
        return val_string(c->a, text);
    case API_INT: {
        int64_t i;
        if (!cli_parse_int(text, &i)) {
            cli_fail(c,
                     "parameter '%s' must be an integer (a size may end in KiB, MiB, GiB or "
                     "TiB), not '%s'",
                     what, text);
            return NULL;
        }
        return val_int(c->a, i);
    }
    case API_FLOAT: {
        char *end;
        errno = 0;
        double f = strtod(text, &end);
        if (end == text || *end || errno) {
            cli_fail(c, "parameter '%s' must be a number, not '%s'", what, text);
            return NULL;
        }
        return val_float(c->a, f);
    }
    case API_BOOL:
        if (strcasecmp(text, "true") == 0 || strcasecmp(text, "false") == 0)
            return val_bool(c->a, strcasecmp(text, "true") == 0);
        cli_fail(c, "parameter '%s' must be true or false, not '%s'", what, text);
        return NULL;
    case API_ENUM:
        for (int i = 0; i < t->en->n_values; i++)
            if (strcasecmp(t->en->values[i], text) == 0)
                return val_string(c->a, t->en->values[i]);
        cli_fail(c, "parameter '%s' must be one of the values of %s, not '%s'", what, t->en->name,
                 text);
        return NULL;
    case API_REF: {
        if (!*text)
            return val_string(c->a, "OpaqueRef:NULL");
        db_read_lock(c->x->db);
        const struct db_obj *o = t->cls >= 0 ? db_get_by_uuid(c->x->db, t->cls, text) : NULL;
        const char *ref = o ? arena_strdup(c->a, o->ref) : NULL;
        db_read_unlock(c->x->db);
        if (!ref) {
            cli_fail(c, "parameter '%s': no %s has the uuid '%s'", what,
                     t->cls >= 0 ? api_classes[t->cls].name : "object", text);
            return NULL;
        }
        return val_string(c->a, ref);
    }
    default:
        cli_fail(c, "parameter '%s' cannot be given on the command line", what);
        return NULL;
    }
}
