/*
 * path.h - xenstore path names: relative names resolved against the
 * asking domain's home (/local/domain/N), and the checks Xen makes on
 * every name (characters, no empty component, length).
 */
#ifndef XSD_PATH_H
#define XSD_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Resolves in for domain dom into out (canonical, absolute, or a special
 * "@name" when allow_special). *relative tells whether in was relative.
 * rel_max bounds the length below a /local/domain/N/ prefix (the
 * "path-max" quota; 0 = no bound). Returns 0, EINVAL for a malformed name
 * or E2BIG for a too long one. */
int path_resolve(const char *in, uint16_t dom, bool allow_special, size_t rel_max, struct buf *out,
                 bool *relative);
/* "/local/domain/N". */
void path_domain_home(uint16_t dom, struct buf *out);
/* Whether path is top or below it ("/a/b" is below "/a", "/ab" is not). */
bool path_at_or_below(const char *path, const char *top);
/* The length of path's parent ("/" for "/a"); path is canonical, not "/". */
size_t path_parent_len(const char *path);

#endif
