/*
 * cli_class.c - the commands every CLI class has: <class>-list,
 * -param-list, -param-get, -param-set, -param-add, -param-remove and
 * -param-clear, made from cli_classes[] (tools/gen-cli), and the
 * selection of objects by field=value that the other commands share.
 *
 * Reading is done from the database under its read lock, after the
 * session's roles were checked as the API's get_record would; fields
 * shown by a message's result are computed afterwards, through the API.
 * Every change is a XenAPI call (cli_call).
 */
#include "cli/cli.h"
#include "api/where.h"
#include "db/db.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parameters that are never filters, as upstream's stdparams. */
static bool cli_reserved(const char *key)
{
    static const char *const names[] = {"server", "password", "port", "username",         "minimal",
                                        "force",  "multiple", "all",  "message-priority", "trace",
                                        "params", "progress", NULL};
    for (size_t i = 0; names[i]; i++)
        if (strcmp(key, names[i]) == 0)
            return true;
    return strncmp(key, "database:", 9) == 0;
}

const struct cli_class *cli_class_find(const char *name)
{
    for (int i = 0; i < cli_n_classes; i++)
        if (strcmp(cli_classes[i].name, name) == 0)
            return &cli_classes[i];
    return NULL;
}

static const struct cli_field *cli_field_find(const struct cli_class *cc, const char *name)
{
    for (size_t i = 0; i < cc->n_fields; i++)
        if (strcmp(cc->fields[i].name, name) == 0)
            return &cc->fields[i];
    return NULL;
}

/* The field a parameter names, and the key after it: "field",
 * "map:key" or "set:contains", or upstream's older "map-key" (the
 * longest map name that starts the parameter). NULL when none. */
static const struct cli_field *cli_param_field(struct cli_ctx *c, const struct cli_class *cc,
                                               const char *param, const char **key)
{
    char *name = arena_strdup(c->a, param);
    char *colon = strchr(name, ':');
    if (colon)
        *colon++ = '\0';
    *key = colon;
    const struct cli_field *f = cli_field_find(cc, name);
    if (f || colon)
        return f;
    size_t best = 0;
    for (size_t i = 0; i < cc->n_fields; i++) {
        size_t n = strlen(cc->fields[i].name);
        if ((cc->fields[i].flags & CLI_F_MAP) && n > best &&
            strncmp(param, cc->fields[i].name, n) == 0 && param[n] == '-' && param[n + 1]) {
            best = n;
            f = &cc->fields[i];
            *key = param + n + 1;
        }
    }
    return f;
}

/* Upstream's answer when a parameter names no field of the class. */
static int cli_no_such_field(struct cli_ctx *c, const char *name)
{
    struct val *e = val_array(c->a);
    val_array_push(c->a, e, val_string(c->a, "Missing parameter"));
    val_array_push(c->a, e, val_string(c->a, name));
    return cli_api_error(c, e);
}

/* One filter: field=value, map:key=value or set:contains=value. */
struct cli_filter {
    const struct cli_field *f;
    const char *key; /* a map's key; "contains" for a set; NULL */
    const char *value;
    bool negate; /* event-wait's field=/=value */
};

/* The filters of the command line (and the class's own, first). Returns
 * how many, or -1 after reporting a name that is no field. */
static long cli_filters(struct cli_ctx *c, const struct cli_class *cc, bool class_filters,
                        const char *const *extra, struct cli_filter **out)
{
    size_t n = 0, cap = c->n_params + 16;
    struct cli_filter *fs = arena_zalloc(c->a, cap * sizeof(*fs));
    const char *const *lists[] = {class_filters ? cc->filters : NULL, extra};
    for (size_t l = 0; l < 2; l++)
        for (const char *const *p = lists[l]; p && p[0] && n < cap; p += 2) {
            fs[n].f = cli_field_find(cc, p[0]);
            fs[n].value = p[1];
            if (fs[n].f)
                n++;
        }
    for (size_t i = 0; i < c->n_params && n < cap; i++) {
        struct cli_param *p = &c->params[i];
        if (p->used || cli_reserved(p->key))
            continue;
        const char *colon;
        const struct cli_field *f = cli_param_field(c, cc, p->key, &colon);
        if (!f) {
            db_read_lock(c->x->db);
            size_t objects = db_count(c->x->db, cc->cls);
            db_read_unlock(c->x->db);
            if (!objects) /* nothing to filter: nothing to say */
                continue;
            return cli_fail(c, "Unknown field '%s'", p->key);
        }
        if (colon && !(f->flags & CLI_F_MAP) &&
            !((f->flags & CLI_F_SET) && strcmp(colon, "contains") == 0))
            return cli_fail(c, "Field '%s' is not a set or map", f->name);
        bool negate = c->negations && strncmp(p->value, "/=", 2) == 0;
        fs[n++] = (struct cli_filter){f, colon, negate ? p->value + 2 : p->value, negate};
    }
    *out = fs;
    return (long)n;
}

/* Whether o passes filter f, negation aside (hold the read lock; a field
 * shown by a message passes here and is checked outside the lock). */
static bool cli_filter_test(struct cli_ctx *c, const struct db_obj *o, const struct cli_filter *f)
{
    if (f->key && (f->f->flags & CLI_F_MAP)) {
        const char *v = cli_field_map_get(c, o, f->f, f->key);
        return v && strcmp(v, f->value) == 0;
    }
    if (f->f->flags & CLI_F_NOCASE)
        return strcasecmp(cli_field_text(c, o, f->f), f->value) == 0;
    const char *text = cli_field_text(c, o, f->f);
    if (f->key) { /* set:contains */
        const char *sep = f->f->flags & CLI_F_COMMA ? ", " : "; ";
        size_t vl = strlen(f->value), sl = strlen(sep);
        for (const char *p = text; p && *p;) {
            const char *end = strstr(p, sep);
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len == vl && strncmp(p, f->value, vl) == 0)
                return true;
            p = end ? end + sl : NULL;
        }
        return false;
    }
    return strcmp(text, f->value) == 0;
}

static bool cli_filter_match(struct cli_ctx *c, const struct db_obj *o, const struct cli_filter *f)
{
    if (f->f->src == API_NO_FIELD)
        return true;
    return cli_filter_test(c, o, f) != f->negate;
}

/* The refs of the objects of cc that pass every filter. */
static long cli_find(struct cli_ctx *c, const struct cli_class *cc, const struct cli_filter *fs,
                     size_t n_fs, const char ***refs_out)
{
    struct where_expr *where = NULL;
    const char *err;
    if (cc->where && where_parse(c->a, cc->where, &where, &err) < 0)
        where = NULL;
    struct xapi_call see = {.x = c->x, .a = c->a, .roles = c->roles, .session = c->session};
    db_read_lock(c->x->db);
    size_t cap = db_count(c->x->db, cc->cls) + 1, n = 0;
    const char **refs = arena_alloc(c->a, cap * sizeof(*refs));
    for (struct db_obj *o = db_first(c->x->db, cc->cls); o && n < cap; o = db_next(c->x->db, o)) {
        if (!xapi_may_see(&see, cc->cls, o->ref))
            continue;
        if (where && !where_match(where, xapi_record(c->a, o)))
            continue;
        bool ok = true;
        for (size_t i = 0; ok && i < n_fs; i++)
            ok = cli_filter_match(c, o, &fs[i]);
        if (ok)
            refs[n++] = arena_strdup(c->a, o->ref);
    }
    db_read_unlock(c->x->db);
    /* filters on fields that a message computes, outside the lock */
    size_t kept = 0;
    for (size_t r = 0; r < n; r++) {
        bool ok = true;
        for (size_t i = 0; ok && i < n_fs; i++)
            if (fs[i].f->src == API_NO_FIELD)
                ok =
                    (strcmp(cli_field_call(c, refs[r], fs[i].f), fs[i].value) == 0) != fs[i].negate;
        if (ok)
            refs[kept++] = refs[r];
    }
    *refs_out = refs;
    return (long)kept;
}

long cli_select(struct cli_ctx *c, const struct cli_class *cc, const char *const *extra,
                const char ***refs)
{
    return cli_select_from(c, cc, true, extra, refs);
}

long cli_select_from(struct cli_ctx *c, const struct cli_class *cc, bool class_filters,
                     const char *const *extra, const char ***refs)
{
    if (!cli_may_read(c, cc->cls)) {
        cli_fail(c, "the session's roles may not read %s objects", api_classes[cc->cls].name);
        return -1;
    }
    struct cli_filter *fs = NULL;
    long n_fs = cli_filters(c, cc, class_filters, extra, &fs);
    return n_fs < 0 ? -1 : cli_find(c, cc, fs, (size_t)n_fs, refs);
}

long cli_lookup(struct cli_ctx *c, const struct cli_class *cc, const char *field, const char *value,
                const char ***refs)
{
    if (!cli_may_read(c, cc->cls)) {
        cli_fail(c, "the session's roles may not read %s objects", api_classes[cc->cls].name);
        return -1;
    }
    size_t n = 0;
    struct cli_filter fs[16];
    for (const char *const *p = cc->filters; p && p[0] && n < 15; p += 2) {
        const struct cli_field *f = cli_field_find(cc, p[0]);
        if (f)
            fs[n++] = (struct cli_filter){f, NULL, p[1], false};
    }
    const struct cli_field *f = cli_field_find(cc, field);
    if (f)
        fs[n++] = (struct cli_filter){f, NULL, value, false};
    return cli_find(c, cc, fs, n, refs);
}

/* Whether field f is one of params=a,b,c (all: every field). */
static bool cli_wanted(const char *params, const struct cli_field *f)
{
    size_t len = strlen(f->name);
    for (const char *p = params; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, f->name, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static bool cli_wanted_list(const char *const *list, const struct cli_field *f)
{
    for (; list && *list; list++)
        if (strcmp(*list, f->name) == 0)
            return true;
    return !list;
}

/* The fields of records: for each ref, the chosen fields in record order
 * (list: a -list, where expensive fields are not computed). */
static void cli_show(struct cli_ctx *c, const struct cli_class *cc, const char **refs, size_t n,
                     const char *params, bool list)
{
    struct cli_kv **recs = arena_alloc(c->a, (n + 1) * sizeof(*recs));
    const struct cli_field ***later = arena_alloc(c->a, (n + 1) * sizeof(*later));
    size_t *counts = arena_zalloc(c->a, (n + 1) * sizeof(*counts));
    bool all = params && strcmp(params, "all") == 0;
    db_read_lock(c->x->db);
    for (size_t r = 0; r < n; r++) {
        recs[r] = arena_alloc(c->a, (cc->n_fields + 1) * sizeof(**recs));
        later[r] = arena_zalloc(c->a, (cc->n_fields + 1) * sizeof(**later));
        const struct db_obj *o = db_get(c->x->db, cc->cls, refs[r]);
        for (size_t i = 0; o && i < cc->n_fields; i++) {
            const struct cli_field *f = &cc->fields[i];
            if (f->flags & CLI_F_HIDDEN)
                continue;
            if (list && !all && !(params ? cli_wanted(params, f) : cli_wanted_list(cc->list, f)))
                continue;
            const char *v = list && (f->flags & CLI_F_EXPENSIVE) ? "<expensive field>"
                                                                 : cli_field_text(c, o, f);
            if (!v) /* a message computes it, once the lock is let go */
                later[r][counts[r]] = f;
            recs[r][counts[r]++] = (struct cli_kv){cli_field_key(c, f), v};
        }
    }
    db_read_unlock(c->x->db);
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < counts[r]; k++)
            if (later[r][k])
                recs[r][k].value = cli_field_call(c, refs[r], later[r][k]);
    cli_print_records(c, recs, counts, n);
}

static int cli_class_list(struct cli_ctx *c)
{
    const struct cli_class *cc = c->cc;
    const char *params = cli_param(c, "params");
    const char **refs;
    long n = cli_select(c, cc, NULL, &refs);
    if (n < 0)
        return -1;
    cli_show(c, cc, refs, (size_t)n, params, true);
    return 0;
}

/* The object uuid= names, of the class (not only those -list shows), as
 * the API's get_by_uuid; NULL after reporting UUID_INVALID. */
static const char *cli_by_uuid(struct cli_ctx *c, const struct cli_class *cc)
{
    const char *uuid = cli_param(c, "uuid");
    if (!cli_may_read(c, cc->cls)) {
        cli_fail(c, "the session's roles may not read %s objects", api_classes[cc->cls].name);
        return NULL;
    }
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get_by_uuid(c->x->db, cc->cls, uuid);
    const char *ref = o ? arena_strdup(c->a, o->ref) : NULL;
    db_read_unlock(c->x->db);
    if (!ref) {
        struct val *e = val_array(c->a);
        val_array_push(c->a, e, val_string(c->a, "UUID_INVALID"));
        val_array_push(c->a, e, val_string(c->a, api_classes[cc->cls].name));
        val_array_push(c->a, e, val_string(c->a, uuid));
        cli_api_error(c, e);
    }
    return ref;
}

/* The object uuid= names (*ref) and its field that param-name= names;
 * NULL after reporting why not. */
static const struct cli_field *cli_named_field(struct cli_ctx *c, const char **ref)
{
    const char *name = cli_param(c, "param-name");
    if (!(*ref = cli_by_uuid(c, c->cc)))
        return NULL;
    const struct cli_field *f = cli_field_find(c->cc, name);
    if (!f)
        cli_no_such_field(c, name);
    return f;
}

/* That field, when it is a set or map whose members can be added
 * (add) or removed; NULL after reporting why not. */
static const struct cli_field *cli_collection(struct cli_ctx *c, const char **ref, bool add)
{
    const struct cli_field *f = cli_named_field(c, ref);
    if (f && !(f->flags & (CLI_F_SET | CLI_F_MAP))) {
        cli_fail(c, "%s is neither a set nor a map", f->name);
        return NULL;
    }
    if (f && (!(f->flags & CLI_F_ADD) || (add ? f->add_msg : f->remove_msg) < 0)) {
        cli_fail(c, "%s is read-only", f->name);
        return NULL;
    }
    return f;
}

static int cli_class_param_list(struct cli_ctx *c)
{
    const struct cli_class *cc = c->cc;
    const char *ref = cli_by_uuid(c, cc);
    if (!ref)
        return -1;
    cli_show(c, cc, &ref, 1, NULL, false);
    return 0;
}

static int cli_class_param_get(struct cli_ctx *c)
{
    const struct cli_class *cc = c->cc;
    const char *key = cli_param(c, "param-key"), *ref;
    const struct cli_field *f = cli_named_field(c, &ref);
    if (!f)
        return -1;
    const char *name = f->name;
    const char *v;
    if (f->src == API_NO_FIELD) {
        v = cli_field_call(c, ref, f);
    } else {
        db_read_lock(c->x->db);
        const struct db_obj *o = db_get(c->x->db, cc->cls, ref);
        bool map = key && (f->flags & CLI_F_MAP);
        v = !o ? "" : map ? cli_field_map_get(c, o, f, key) : cli_field_text(c, o, f);
        db_read_unlock(c->x->db);
        if (map && !v)
            return cli_fail(c, "the map %s has no key %s", name, key);
    }
    cli_print_list(c, &v, 1);
    return 0;
}

/* The current value of a field, for param-add and friends. */
static const struct val *cli_current(struct cli_ctx *c, const struct cli_class *cc, const char *ref,
                                     const struct cli_field *f)
{
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get(c->x->db, cc->cls, ref);
    const struct val *v = o ? val_copy(c->a, db_obj_field(o, f->src)) : NULL;
    db_read_unlock(c->x->db);
    return v;
}

static bool cli_map_has(const struct val *m, const char *key)
{
    for (size_t i = 0; m && m->type == VAL_STRUCT && i < m->u.st.n; i++)
        if (strcmp(m->u.st.members[i].name, key) == 0)
            return true;
    return false;
}

static bool cli_set_has(const struct val *s, const char *item)
{
    for (size_t i = 0; s && s->type == VAL_ARRAY && i < s->u.arr.n; i++)
        if (strcmp(val_str(s->u.arr.items[i]), item) == 0)
            return true;
    return false;
}

/* Sets key of the map f of ref to value: out with the old, in with the new. */
static int cli_map_put(struct cli_ctx *c, const struct cli_class *cc, const char *ref,
                       const struct cli_field *f, const char *key, const char *value)
{
    if (f->add_msg < 0 || f->remove_msg < 0)
        return cli_fail(c, "the map %s cannot be changed", f->name);
    struct val *r = val_string(c->a, ref), *k = val_string(c->a, key);
    if (cli_map_has(cli_current(c, cc, ref, f), key) && !cli_call(c, f->remove_msg, r, k, NULL))
        return -1;
    return cli_call(c, f->add_msg, r, k, val_string(c->a, value), NULL) ? 0 : -1;
}

static int cli_class_param_set(struct cli_ctx *c)
{
    const struct cli_class *cc = c->cc;
    const char *ref = cli_by_uuid(c, cc);
    if (!ref)
        return -1;
    for (size_t i = 0; i < c->n_params; i++) {
        struct cli_param *p = &c->params[i];
        if (p->used || cli_reserved(p->key))
            continue;
        const char *key;
        const struct cli_field *f = cli_param_field(c, cc, p->key, &key);
        if (!f)
            return cli_fail(c, "Unknown field '%s'", p->key);
        if (key && (f->flags & CLI_F_MAP)) {
            if (cli_map_put(c, cc, ref, f, key, p->value) < 0)
                return -1;
            continue;
        }
        if (f->flags & CLI_F_SET)
            return cli_fail(c, "%s is a set: use %s-param-add and -param-remove", f->name,
                            cc->name);
        if (f->set_msg < 0 || f->src == API_NO_FIELD)
            return cli_fail(c,
                            f->flags & CLI_F_MAP ? "%s is a map: set its keys with %s:KEY=VALUE"
                                                 : "%s is read-only",
                            f->name, f->name);
        const char *given = p->value; /* as xe shows it ("pv-in-pvh"), or as the schema has it */
        for (const char *const *sh = f->shows; sh && sh[0]; sh += 2)
            if (strcasecmp(sh[1], given) == 0)
                given = sh[0];
        struct val *v = cli_value_of(c, api_field(f->src)->type, given, f->name);
        if (!v || !cli_call(c, f->set_msg, val_string(c->a, ref), v, NULL))
            return -1;
    }
    return 0;
}

static int cli_class_param_add(struct cli_ctx *c)
{
    const char *key = cli_param(c, "param-key"), *ref;
    const struct cli_field *f = cli_collection(c, &ref, true);
    if (!f)
        return -1;
    if (f->flags & CLI_F_SET) {
        if (!key)
            return cli_fail(c, "name the member to add to the set %s with param-key=", f->name);
        return cli_call(c, f->add_msg, val_string(c->a, ref), val_string(c->a, key), NULL) ? 0 : -1;
    }
    for (size_t i = 0; i < c->n_params; i++) { /* a key already there: MAP_DUPLICATE_KEY */
        struct cli_param *p = &c->params[i];
        if (!p->used && !cli_reserved(p->key) && strcmp(p->key, "uuid") != 0 &&
            !cli_call(c, f->add_msg, val_string(c->a, ref), val_string(c->a, p->key),
                      val_string(c->a, p->value), NULL))
            return -1;
    }
    return 0;
}

static int cli_class_param_remove(struct cli_ctx *c)
{
    const char *key = cli_param(c, "param-key"), *ref;
    const struct cli_field *f = cli_collection(c, &ref, false);
    if (!f)
        return -1;
    const struct val *now = cli_current(c, c->cc, ref, f);
    if (f->flags & CLI_F_SET ? !cli_set_has(now, key) : !cli_map_has(now, key))
        return cli_fail(c, "%s is not in %s", key, f->name);
    return cli_call(c, f->remove_msg, val_string(c->a, ref), val_string(c->a, key), NULL) ? 0 : -1;
}

static int cli_class_param_clear(struct cli_ctx *c)
{
    const struct cli_class *cc = c->cc;
    const char *ref;
    const struct cli_field *f = cli_named_field(c, &ref);
    if (!f)
        return -1;
    const char *name = f->name;
    struct val *r = val_string(c->a, ref);
    if ((f->flags & (CLI_F_SET | CLI_F_MAP)) && f->remove_msg >= 0) {
        const struct val *now = cli_current(c, cc, ref, f);
        bool set = f->flags & CLI_F_SET;
        size_t n = !now ? 0 : set ? now->u.arr.n : now->u.st.n;
        for (size_t i = 0; i < n; i++) {
            const char *k = set ? val_str(now->u.arr.items[i]) : now->u.st.members[i].name;
            if (!cli_call(c, f->remove_msg, r, val_string(c->a, k), NULL))
                return -1;
        }
        return 0;
    }
    if (f->set_msg < 0 || f->src == API_NO_FIELD)
        return cli_fail(c, "%s cannot be cleared", name);
    const struct api_type *t = api_field(f->src)->type;
    struct val *empty = t->kind == API_STRING ? val_string(c->a, "")
                        : t->kind == API_REF  ? val_string(c->a, "OpaqueRef:NULL")
                                              : NULL;
    if (!empty)
        return cli_fail(c, "%s cannot be cleared", name);
    return cli_call(c, f->set_msg, r, empty, NULL) ? 0 : -1;
}

/* --- the command table --- */

/* The per-class commands, as suffixes of the class's name. */
static const struct {
    const char *suffix, *reqd, *optn, *help;
    cli_fn fn;
} cli_class_ops[] = {
    {"-list", "", "params",
     "Lists the %ss, filtered by field=value, map:key=value or set:contains=value.",
     cli_class_list},
    {"-param-list", "uuid", "", "Lists every parameter of the %s with that uuid.",
     cli_class_param_list},
    {"-param-get", "uuid,param-name", "param-key",
     "Prints one parameter of the %s with that uuid; param-key= picks one key of a map.",
     cli_class_param_get},
    {"-param-set", "uuid", "", "Sets parameters of the %s: field=value, and map:key=value.",
     cli_class_param_set},
    {"-param-add", "uuid,param-name", "param-key",
     "Adds to a set (param-key=) or a map (key=value ...) of the %s.", cli_class_param_add},
    {"-param-remove", "uuid,param-name,param-key", "",
     "Removes a member of a set, or a key of a map, of the %s.", cli_class_param_remove},
    {"-param-clear", "uuid,param-name", "", "Empties a set or map, or a field, of the %s.",
     cli_class_param_clear},
};
#define CLI_N_CLASS_OPS (sizeof(cli_class_ops) / sizeof(cli_class_ops[0]))

/* Whether class cc has op: -param-set only with a field that can be set,
 * -param-add and -remove with a set or map that takes members,
 * -param-clear with something to clear (as upstream makes them). */
static bool cli_class_has_op(const struct cli_class *cc, size_t op)
{
    const char *suffix = cli_class_ops[op].suffix;
    for (size_t i = 0; i < cc->n_fields; i++) {
        const struct cli_field *f = &cc->fields[i];
        if (f->flags & CLI_F_HIDDEN)
            continue;
        bool settable = f->set_msg >= 0 || ((f->flags & CLI_F_MAP) && (f->flags & CLI_F_ADD));
        if (strcmp(suffix, "-param-set") == 0 ? settable
            : strcmp(suffix, "-param-add") == 0 || strcmp(suffix, "-param-remove") == 0
                ? (f->flags & CLI_F_ADD) != 0
            : strcmp(suffix, "-param-clear") == 0 ? settable || (f->flags & (CLI_F_SET | CLI_F_MAP))
                                                  : true)
            return true;
    }
    return false;
}

/* The optional parameters of -list: params and the fields. */
static const char *cli_list_optn(struct arena *a, const struct cli_class *cc)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "params,database:");
    for (size_t i = 0; i < cc->n_fields; i++)
        if (!(cc->fields[i].flags & CLI_F_HIDDEN))
            buf_printf(&b, ",%s", cc->fields[i].name);
    for (size_t i = 0; i < cc->n_fields; i++)
        if (!(cc->fields[i].flags & CLI_F_HIDDEN) && (cc->fields[i].flags & CLI_F_SET))
            buf_printf(&b, ",%s:contains", cc->fields[i].name);
    const char *s = arena_strdup(a, b.data);
    buf_free(&b);
    return s;
}

static void cli_class_cmd(struct arena *a, const struct cli_class *cc, size_t op,
                          struct cli_cmd *out)
{
    *out = (struct cli_cmd){
        .name = arena_printf(a, "%s%s", cc->name, cli_class_ops[op].suffix),
        .reqd = cli_class_ops[op].reqd,
        .optn = op == 0 ? cli_list_optn(a, cc) : cli_class_ops[op].optn,
        .help = arena_printf(a, cli_class_ops[op].help, cc->name),
        .fn = cli_class_ops[op].fn,
        .cc = cc,
    };
}

bool cli_cmd_find(struct arena *a, const char *name, struct cli_cmd *out)
{
    for (const struct cli_cmd *e = cli_explicit_cmds; e->name; e++)
        if (strcmp(e->name, name) == 0) {
            *out = *e;
            return true;
        }
    for (int i = 0; i < cli_n_classes; i++) {
        size_t len = strlen(cli_classes[i].name);
        if (strncmp(name, cli_classes[i].name, len) != 0)
            continue;
        for (size_t op = 0; op < CLI_N_CLASS_OPS; op++)
            if (strcmp(name + len, cli_class_ops[op].suffix) == 0 &&
                cli_class_has_op(&cli_classes[i], op)) {
                cli_class_cmd(a, &cli_classes[i], op, out);
                return true;
            }
    }
    return false;
}

static int cli_cmd_cmp(const void *x, const void *y)
{
    return strcmp(((const struct cli_cmd *)x)->name, ((const struct cli_cmd *)y)->name);
}

void cli_cmd_each(struct arena *a, void (*fn)(void *ctx, const struct cli_cmd *cmd), void *ctx)
{
    size_t n = 0, cap = (size_t)cli_n_classes * CLI_N_CLASS_OPS;
    for (const struct cli_cmd *e = cli_explicit_cmds; e->name; e++)
        cap++;
    struct cli_cmd *all = arena_alloc(a, cap * sizeof(*all));
    for (const struct cli_cmd *e = cli_explicit_cmds; e->name; e++)
        all[n++] = *e;
    for (int i = 0; i < cli_n_classes; i++)
        for (size_t op = 0; op < CLI_N_CLASS_OPS; op++) {
            struct cli_cmd probe;
            /* an explicit command of the same name wins */
            const char *name =
                arena_printf(a, "%s%s", cli_classes[i].name, cli_class_ops[op].suffix);
            if (cli_cmd_find(a, name, &probe) && probe.cc)
                cli_class_cmd(a, &cli_classes[i], op, &all[n++]);
        }
    qsort(all, n, sizeof(*all), cli_cmd_cmp);
    for (size_t i = 0; i < n; i++)
        fn(ctx, &all[i]);
}
