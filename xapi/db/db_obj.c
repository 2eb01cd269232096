/*
 * db_obj.c - reading and naming fields by their generated ids (see db.h):
 * the typed accessors assert that a field id is of the object's class and
 * of the type read, so that a wrong name fails in the test build instead
 * of reading another field; and the values of a new object.
 */
#include "db/db.h"

#include <assert.h>

const struct val *db_obj_field(const struct db_obj *o, api_field_id f)
{
    assert(API_FIELD_CLASS(f) == o->cls);
    assert(API_FIELD_INDEX(f) < api_classes[o->cls].n_fields);
    return o->f[API_FIELD_INDEX(f)];
}

/* The field's kind is one of the two given (asserted). */
static const struct val *db_obj_typed(const struct db_obj *o, api_field_id f, enum api_kind k1,
                                      enum api_kind k2)
{
    const struct val *v = db_obj_field(o, f);
    enum api_kind kind = api_field(f)->type->kind;
    assert(kind == k1 || kind == k2);
    (void)kind;
    return v;
}

const char *db_obj_str(const struct db_obj *o, api_field_id f)
{
    enum api_kind kind = api_field(f)->type->kind;
    assert(kind == API_STRING || kind == API_REF || kind == API_ENUM || kind == API_DATETIME);
    (void)kind;
    const char *s = val_str(db_obj_field(o, f));
    return s ? s : "";
}

int64_t db_obj_int(const struct db_obj *o, api_field_id f)
{
    const struct val *v = db_obj_typed(o, f, API_INT, API_INT);
    return v->type == VAL_INT ? v->u.i : 0;
}

bool db_obj_bool(const struct db_obj *o, api_field_id f)
{
    const struct val *v = db_obj_typed(o, f, API_BOOL, API_BOOL);
    return v->type == VAL_BOOL && v->u.b;
}

double db_obj_float(const struct db_obj *o, api_field_id f)
{
    const struct val *v = db_obj_typed(o, f, API_FLOAT, API_INT);
    return v->type == VAL_FLOAT ? v->u.f : v->type == VAL_INT ? (double)v->u.i : 0.0;
}

struct db_obj *db_obj_follow(struct db *db, const struct db_obj *o, api_field_id f)
{
    const struct api_type *t = api_field(f)->type;
    assert(t->kind == API_REF && t->cls >= 0);
    return db_get(db, t->cls, db_obj_str(o, f));
}

struct db_obj *db_obj_next(struct db *db, const struct db_obj *o, api_field_id f, size_t *i)
{
    const struct api_type *t = api_field(f)->type;
    assert(t->kind == API_SET && t->elem->kind == API_REF && t->elem->cls >= 0);
    const struct val *refs = db_obj_field(o, f);
    while (*i < refs->u.arr.n) {
        struct db_obj *d = db_get(db, t->elem->cls, val_str(refs->u.arr.items[(*i)++]));
        if (d)
            return d;
    }
    return NULL;
}

struct db_values db_values_new(struct arena *a, int cls)
{
    return (struct db_values){
        cls, arena_zalloc(a, (size_t)api_classes[cls].n_fields * sizeof(struct val *))};
}

void db_values_set(struct db_values *vs, api_field_id f, const struct val *value)
{
    assert(API_FIELD_CLASS(f) == vs->cls);
    assert(API_FIELD_INDEX(f) < api_classes[vs->cls].n_fields);
    vs->v[API_FIELD_INDEX(f)] = value;
}
