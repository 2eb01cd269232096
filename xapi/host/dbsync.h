/*
 * firstboot.h - what firstboot.c (the host's own objects), roles.c (the
 * datamodel's roles) and templates.c (the built-in VM templates) share.
 * xapi_firstboot itself is declared in xapi.h.
 */
#ifndef CX_FIRSTBOOT_H
#define CX_FIRSTBOOT_H

#include <stdint.h>

#include "arena.h"
#include "value.h"

struct db;
struct db_obj;
struct db_txn;

/* Field values for a new object of cls, every entry NULL (the default). */
struct val **firstboot_values(struct arena *a, int cls);
/* Sets values[field] of cls; a field the schema lacks is ignored. */
void firstboot_set(struct val **values, int cls, const char *field, struct val *value);
/* A (string -> string) map from a NULL-terminated key, value list. */
struct val *firstboot_map(struct arena *a, const char *const *kv);
/* Sets field of o to value in t if it differs; a field the schema lacks
 * is ignored. */
void firstboot_refresh(struct db_txn *t, struct db_obj *o, const char *field, struct val *value);

/* roles.c: creates, in t, each role of the datamodel that is missing and
 * brings the description and subroles of every one up to date. */
void firstboot_roles(struct db *db, struct db_txn *t, struct arena *a);

/* templates.c: creates, in t, each built-in template of which no
 * template of the same name_label exists; existing ones are left as they
 * are (users may have edited them). now stamps the new templates'
 * metrics. Returns how many were created. */
int firstboot_templates(struct db *db, struct db_txn *t, struct arena *a, int64_t now);

#endif
