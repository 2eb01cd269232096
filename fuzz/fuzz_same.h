/*
 * fuzz_same.h - the round-trip check the codec fuzz targets share.
 */
#ifndef CX_FUZZ_SAME_H
#define CX_FUZZ_SAME_H

#include <math.h>
#include <string.h>

#include "value.h"

/* Stricter than val_equal: member order, NUL termination and float bits
 * (any NaN matches any NaN: its payload is not written). */
static inline int fuzz_same(const struct val *a, const struct val *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case VAL_NIL:
        return 1;
    case VAL_STRING:
    case VAL_DATETIME:
        return a->u.str.len == b->u.str.len &&
               memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0 &&
               a->u.str.ptr[a->u.str.len] == '\0' && b->u.str.ptr[b->u.str.len] == '\0';
    case VAL_INT:
        return a->u.i == b->u.i;
    case VAL_FLOAT:
        if (isnan(a->u.f) || isnan(b->u.f))
            return isnan(a->u.f) && isnan(b->u.f);
        return memcmp(&a->u.f, &b->u.f, sizeof(a->u.f)) == 0;
    case VAL_BOOL:
        return a->u.b == b->u.b;
    case VAL_ARRAY:
        if (a->u.arr.n != b->u.arr.n)
            return 0;
        for (size_t i = 0; i < a->u.arr.n; i++)
            if (!fuzz_same(a->u.arr.items[i], b->u.arr.items[i]))
                return 0;
        return 1;
    case VAL_STRUCT:
        if (a->u.st.n != b->u.st.n)
            return 0;
        for (size_t i = 0; i < a->u.st.n; i++)
            if (strcmp(a->u.st.members[i].name, b->u.st.members[i].name) != 0 ||
                !fuzz_same(a->u.st.members[i].value, b->u.st.members[i].value))
                return 0;
        return 1;
    case VAL_STREAM: /* made by xapi's replies, never by a parser */
        return 0;
    }
    return 0;
}

#endif
