/*
 * arena.h - region allocation for one request or one RPC call (after
 * nginx's pools).
 *
 * Everything a call allocates comes from its arena and is released at once
 * by arena_free, so error paths have nothing to clean up. Allocations are
 * 16-byte aligned. Not thread-safe: one arena belongs to one thread.
 */
#ifndef CX_ARENA_H
#define CX_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
/* Grows a block obtained from this arena; the old block is abandoned. */
void *arena_realloc(struct arena *a, void *old, size_t old_n, size_t new_n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes handed out so far: lets parsers bound what one input may cost. */
size_t arena_used(const struct arena *a);

#endif
