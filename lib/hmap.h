/*
 * hmap.h - a string-keyed hash map (open addressing, linear probing,
 * FNV-1a), for the database's indexes and other lookups by name.
 *
 * The map copies its keys; values are the caller's pointers. Not
 * thread-safe: the owner's lock covers it.
 */
#ifndef CX_HMAP_H
#define CX_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap;

struct hmap *hmap_new(void);
/* Frees the map and its keys, not the values. */
void hmap_free(struct hmap *m);
/* The value for key, or NULL. */
void *hmap_get(const struct hmap *m, const char *key);
/* Sets key to value (replacing any); returns the previous value or NULL. */
void *hmap_put(struct hmap *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *hmap_del(struct hmap *m, const char *key);
size_t hmap_count(const struct hmap *m);

/* Iteration in no particular order; the map must not change meanwhile.
 * for (size_t it = 0; hmap_next(m, &it, &k, &v);) ... */
bool hmap_next(const struct hmap *m, size_t *it, const char **key, void **value);

#endif
