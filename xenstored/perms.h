/*
 * perms.h - a node's permission list, as Xen keeps it: the first entry
 * names the owner and what every domain not listed may do, each later one
 * what one domain may do. Lists are immutable and reference-counted, so a
 * node created under a parent shares the parent's list (most of a big
 * store has a handful of distinct lists).
 */
#ifndef XSD_PERMS_H
#define XSD_PERMS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

enum {
    PERM_NONE = 0,
    PERM_READ = 1,
    PERM_WRITE = 2,
    PERM_BOTH = 3,
    PERM_OWNER = 4,
};

/* Domain ids are 16 bits in Xen; DOMID_FIRST_RESERVED and above are not
 * domains. */
#define PERMS_DOMID_LIMIT 0x7FF0u

struct node_perm {
    uint16_t dom;
    uint8_t mode; /* PERM_NONE .. PERM_BOTH */
};

struct node_perms {
    uint32_t ref;
    uint32_t n; /* >= 1 */
    struct node_perm e[];
};

/* Who asks: a connection's domain, the domain it may act for (SET_TARGET),
 * and whether it is privileged (dom0's socket). */
struct perms_who {
    uint16_t dom;
    int32_t target; /* -1: none */
    bool privileged;
};

/* A list of n entries, reference count 1, entries zeroed. */
struct node_perms *perms_new(uint32_t n);
struct node_perms *perms_ref(struct node_perms *p);
void perms_unref(struct node_perms *p);
bool perms_equal(const struct node_perms *a, const struct node_perms *b);

/* Parses Xen's text form, one entry per string: a letter (n, r, w, b)
 * then a decimal domain id below PERMS_DOMID_LIMIT. Returns the list, or
 * NULL for anything else. */
struct node_perms *perms_parse(const char *const *args, int n);
/* Appends each entry as a NUL-terminated string ("n0", "r5", ...). */
void perms_format(const struct node_perms *p, struct buf *out);

/* What who may do with a node carrying p: PERM_* bits, PERM_OWNER
 * included for owners and the privileged. As Xen: the owner (or the owner's
 * controller) gets everything, else the first entry naming the domain,
 * else the first entry's default. */
unsigned perms_for(const struct node_perms *p, const struct perms_who *who);

/* The list a node created by dom under a parent with p gets: the parent's,
 * owned by the creator unless that is dom0 (Xen's rule). A new reference. */
struct node_perms *perms_inherit(struct node_perms *parent, uint16_t dom);

#endif
