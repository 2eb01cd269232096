/*
 * json.h - JSON text <-> value tree. Parsing goes through jansson (strict
 * RFC 8259, UTF-8 checked); writing is done here straight into a buf, which
 * is faster than building a jansson tree only to dump it.
 *
 * Mapping: null <-> VAL_NIL, true/false <-> VAL_BOOL, integers <-> VAL_INT
 * (64-bit; larger is an error), other numbers <-> VAL_FLOAT, strings <->
 * VAL_STRING (VAL_DATETIME is written as a string), arrays <-> VAL_ARRAY,
 * objects <-> VAL_STRUCT. Nesting deeper than VAL_MAX_DEPTH is rejected.
 */
#ifndef CX_JSON_H
#define CX_JSON_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "value.h"

/* Parses one JSON document. Returns 0, or -1 with *err set (arena text). */
int json_parse(struct arena *a, const char *text, size_t len, struct val **out, const char **err);

/* Writes v as compact JSON. Non-finite floats are written as null. */
void json_write(struct buf *out, const struct val *v);
/* Writes a JSON string literal, escaping as needed. */
void json_write_string(struct buf *out, const char *s, size_t len);
/* The escaped text of a string, without the quotes (a string written in
 * pieces). */
void json_write_escaped(struct buf *out, const char *s, size_t len);

#endif
