/*
 * path.c - path resolution and validation, with Xen's character set so
 * that any name Xen's daemon accepts is accepted here and nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "path.h"
#include "wire.h"

static const char path_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@";

void path_domain_home(uint16_t dom, struct buf *out)
{
    buf_puts(out, "/local/domain/");
    buf_put_int64(out, dom);
}

static bool path_well_formed(const char *p, size_t len)
{
    if (strspn(p, path_chars) != len || strstr(p, "//"))
        return false;
    return len == 1 || p[len - 1] != '/';
}

/* The length below "/local/domain/N/", or the whole length elsewhere. */
static size_t path_local_len(const char *p, size_t len)
{
    unsigned dom;
    int off = 0;
    if (sscanf(p, "/local/domain/%5u/%n", &dom, &off) == 1 && off > 0)
        return len - (size_t)off;
    return len;
}

int path_resolve(const char *in, uint16_t dom, bool allow_special, size_t rel_max, struct buf *out,
                 bool *relative)
{
    buf_reset(out);
    *relative = in[0] != '/' && in[0] != '@';
    if (in[0] == '@') {
        if (!allow_special)
            return EINVAL;
    } else if (*relative) {
        path_domain_home(dom, out);
        buf_putc(out, '/');
    }
    buf_puts(out, in);
    if (!out->data || !path_well_formed(out->data, out->len))
        return EINVAL;
    if (out->len > XENSTORE_ABS_PATH_MAX)
        return E2BIG;
    if (rel_max && path_local_len(out->data, out->len) > rel_max)
        return E2BIG;
    return 0;
}

bool path_at_or_below(const char *path, const char *top)
{
    size_t n = strlen(top);
    if (strncmp(path, top, n) != 0)
        return false;
    return path[n] == '\0' || path[n] == '/' || (n == 1 && top[0] == '/');
}

size_t path_parent_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash == path ? 1 : (size_t)(slash - path);
}
