/*
 * arena.c - chunked region allocator. Small requests are carved from 8 KiB
 * chunks (doubling as the arena grows); a request larger than a quarter of
 * the chunk size gets a chunk of its own so it wastes nothing.
 */
#include "arena.h"
#include "mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_FIRST_CHUNK 8192
#define ARENA_MAX_CHUNK (1024 * 1024)

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char mem[];
};

struct arena {
    struct arena_chunk *head; /* chunk currently carved from */
    struct arena_chunk *big;  /* dedicated chunks for large blocks */
    size_t next_size;
    size_t used;
};

static struct arena_chunk *arena_chunk_new(size_t size)
{
    struct arena_chunk *c = xmalloc(sizeof(*c) + size);
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

struct arena *arena_new(void)
{
    struct arena *a = xcalloc(1, sizeof(*a));
    a->next_size = ARENA_FIRST_CHUNK;
    return a;
}

static void arena_chunks_free(struct arena_chunk *c)
{
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    arena_chunks_free(a->head);
    arena_chunks_free(a->big);
    free(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    a->used += n;
    if (n > a->next_size / 4) {
        struct arena_chunk *c = arena_chunk_new(n);
        c->used = n;
        c->next = a->big;
        a->big = c;
        return c->mem;
    }
    if (!a->head || a->head->size - a->head->used < n) {
        struct arena_chunk *c = arena_chunk_new(a->next_size);
        c->next = a->head;
        a->head = c;
        if (a->next_size < ARENA_MAX_CHUNK)
            a->next_size *= 2;
    }
    void *p = a->head->mem + a->head->used;
    a->head->used += n;
    return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *arena_realloc(struct arena *a, void *old, size_t old_n, size_t new_n)
{
    if (new_n <= old_n)
        return old;
    void *p = arena_alloc(a, new_n);
    if (old && old_n)
        memcpy(p, old, old_n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    if (!fmt) /* never; tells gcc's sanitizer-instrumented flow analysis so */
        return arena_strdup(a, "");
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t arena_used(const struct arena *a)
{
    return a->used;
}
