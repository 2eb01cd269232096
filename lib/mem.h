/*
 * mem.h - allocation that cannot fail.
 *
 * A daemon that runs out of memory cannot answer anyone sensibly, so
 * allocation failure aborts (as git and redis do) instead of threading a
 * NULL check through every caller.
 */
#ifndef CX_MEM_H
#define CX_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
