/*
 * perms.c - permission lists: parsing Xen's text form, the access rule
 * for a domain, and inheritance by new nodes.
 */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "perms.h"

struct node_perms *perms_new(uint32_t n)
{
    struct node_perms *p = xcalloc(1, sizeof(*p) + n * sizeof(p->e[0]));
    p->ref = 1;
    p->n = n;
    return p;
}

struct node_perms *perms_ref(struct node_perms *p)
{
    p->ref++;
    return p;
}

void perms_unref(struct node_perms *p)
{
    if (p && --p->ref == 0)
        free(p);
}

bool perms_equal(const struct node_perms *a, const struct node_perms *b)
{
    if (a == b)
        return true;
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->e[i].dom != b->e[i].dom || a->e[i].mode != b->e[i].mode)
            return false;
    return true;
}

static int perms_mode_of(char c)
{
    switch (c) {
    case 'n':
        return PERM_NONE;
    case 'r':
        return PERM_READ;
    case 'w':
        return PERM_WRITE;
    case 'b':
        return PERM_BOTH;
    default:
        return -1;
    }
}

static int perms_parse_one(const char *s, struct node_perm *out)
{
    int mode = perms_mode_of(s[0]);
    if (mode < 0 || s[1] < '0' || s[1] > '9')
        return -1;
    unsigned long dom = 0;
    for (const char *d = s + 1; *d; d++) {
        if (*d < '0' || *d > '9')
            return -1;
        dom = dom * 10 + (unsigned long)(*d - '0');
        if (dom >= PERMS_DOMID_LIMIT)
            return -1;
    }
    out->dom = (uint16_t)dom;
    out->mode = (uint8_t)mode;
    return 0;
}

struct node_perms *perms_parse(const char *const *args, int n)
{
    if (n < 1)
        return NULL;
    struct node_perms *p = perms_new((uint32_t)n);
    for (int i = 0; i < n; i++) {
        if (perms_parse_one(args[i], &p->e[i]) < 0) {
            perms_unref(p);
            return NULL;
        }
    }
    return p;
}

void perms_format(const struct node_perms *p, struct buf *out)
{
    static const char letters[] = "nrwb";
    for (uint32_t i = 0; i < p->n; i++) {
        buf_putc(out, letters[p->e[i].mode & PERM_BOTH]);
        buf_put_int64(out, p->e[i].dom);
        buf_append(out, "", 1);
    }
}

static bool perms_names(const struct perms_who *who, uint16_t dom)
{
    return dom == who->dom || (who->target >= 0 && dom == (uint16_t)who->target);
}

unsigned perms_for(const struct node_perms *p, const struct perms_who *who)
{
    if (who->privileged || perms_names(who, p->e[0].dom))
        return PERM_BOTH | PERM_OWNER;
    for (uint32_t i = 1; i < p->n; i++)
        if (perms_names(who, p->e[i].dom))
            return p->e[i].mode;
    return p->e[0].mode;
}

struct node_perms *perms_inherit(struct node_perms *parent, uint16_t dom)
{
    if (dom == 0 || parent->e[0].dom == dom)
        return perms_ref(parent);
    struct node_perms *p = perms_new(parent->n);
    memcpy(p->e, parent->e, parent->n * sizeof(p->e[0]));
    p->e[0].dom = dom;
    return p;
}
