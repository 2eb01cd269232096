/*
 * where.h - the filter language of <class>.get_all_records_where, after
 * upstream xapi's Db_filter.
 *
 *   expr  := 'true' | 'false' | 'not' expr | expr 'and' expr
 *          | expr 'or' expr | '(' expr ')' | value '=' value
 *          | value '<>' value
 *   value := 'field' STRING | STRING
 *
 * STRING is double-quoted; inside it \" and \\ are the only escapes. 'not'
 * binds tighter than 'and', which binds tighter than 'or'; keywords are
 * lower case; whitespace is free. An empty expression is an error.
 *
 * Every comparison is between strings. A field is looked up by its record
 * key as on the wire (name_label); failing that, a name holding "__" (the
 * database's column name, name__label) is retried with each "__" as "_".
 * A missing field reads as "". A field's value is rendered as:
 *   string, ref, enum, uuid   the text as is
 *   int                       decimal
 *   bool                      true / false
 *   float                     the wire form (fewest digits that read back)
 *   datetime                  the wire form, e.g. 20240131T12:00:00Z
 *   nil                       ""
 *   set                       ('a' 'b')     as upstream's database writes
 *   map                       (('k' 'v'))   sets and maps (S-expressions)
 * In a set or map each scalar is rendered as above, put in single quotes
 * with \ and ' escaped by a backslash, and separated by single spaces; the
 * empty set and the empty map are both "()".
 *
 * Parsing is linear in the input, which may be at most WHERE_MAX_LEN bytes
 * and nest ( and 'not' at most WHERE_MAX_DEPTH deep, so that neither the
 * parser nor where_match can recurse without bound.
 */
#ifndef CX_WHERE_H
#define CX_WHERE_H

#include <stdbool.h>

#include "arena.h"
#include "value.h"

#define WHERE_MAX_LEN 65536
#define WHERE_MAX_DEPTH 64

/* A compiled expression; it lives in the arena it was parsed into. */
struct where_expr;

/* Compiles text into *out. On a syntax error returns -1 with *out NULL and
 * *err a one-line printable message (in the arena) naming the offset. */
int where_parse(struct arena *a, const char *text, struct where_expr **out, const char **err);

/* Whether record (a VAL_STRUCT, as a get_record reply holds it) matches e.
 * Anything but a struct has no fields, so every field reads as "". */
bool where_match(const struct where_expr *e, const struct val *record);

#endif
