/*
 * api_value.h - XenAPI values in canonical form, whichever wire they came
 * on: ints as VAL_INT (XML-RPC sends them as strings), datetimes as
 * VAL_DATETIME (JSON-RPC sends strings), refs and enums as VAL_STRING
 * (enums in the schema's spelling), sets as arrays, maps as structs keyed
 * by the key's text. The database keeps, and the writers send, this form.
 */
#ifndef CX_API_VALUE_H
#define CX_API_VALUE_H

#include "api/api.h"
#include "arena.h"
#include "value.h"

/* Checks in against t and builds its canonical form in a. Returns 0, or
 * -1 with *why (a short reason, in a). */
int api_value_in(struct arena *a, const struct api_type *t, const struct val *in, struct val **out,
                 const char **why);
/* The empty value of a type: "", 0, false, OpaqueRef:NULL, [], {}, ... */
struct val *api_value_empty(struct arena *a, const struct api_type *t);
/* A field's default from the schema, or the empty value of its type. */
struct val *api_value_default(struct arena *a, const struct api_field *f);
/* Field i of class cls's default, flattened once for the whole process and
 * shared by every object that holds it: immutable, never to be freed (the
 * database frees a field's value only when it is not this one). */
const struct val *api_field_default(int cls, int i);
/* A datetime for a time_t, in the wire form 20261127T10:00:00Z. */
/* Fills given (n_fields slots of cls) with the members of st, a struct,
 * that name a field: given[i] is the first member named as field i, or
 * NULL. Other members are ignored. */
void api_struct_fields(int cls, const struct val *st, const struct val **given);
struct val *api_value_datetime(struct arena *a, int64_t t);

/* Room for the text of a datetime, as the two below write it. */
#define API_DATETIME_LEN 64
/* A time_t in the wire form 20261127T10:00:00Z, into buf; returns buf. */
const char *api_datetime_format(char *buf, size_t len, int64_t t);
/* The text of datetime v in the wire form whatever punctuation the client
 * used (the date's dashes dropped, a fraction or +offset cut), so that
 * datetimes compare as text in time order; "" when v holds no text. Into
 * buf, cut to len - 1 bytes; returns buf. */
const char *api_datetime_comparable(char *buf, size_t len, const struct val *v);

#define API_NULL_REF "OpaqueRef:NULL"

#endif
