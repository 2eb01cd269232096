/*
 * store.h - the live tree: nodes with a value, a permission list and
 * children kept in creation order (the order DIRECTORY answers in, as
 * Xen's daemon).
 *
 * Every change stamps the node with the next generation number: gen for
 * its value and permissions, cgen for its set of children. Transactions
 * record the numbers they saw and compare them at commit, so a snapshot
 * costs nothing and a conflict is decided per node (see txn.h). Keeping
 * the two numbers apart is what lets two transactions add different
 * children under one parent and both commit.
 *
 * Paths given here are canonical and absolute ("/", "/a/b"); checking
 * them is the caller's job (path.h).
 */
#ifndef XSD_STORE_H
#define XSD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "perms.h"

/* About 90 bytes plus the name, and the value in its own block: a million
 * nodes of short names and values stay well under 250 MiB. */
struct store_node {
    struct list_node sibling; /* in the parent's kids */
    struct list kids;         /* children, in creation order */
    struct store_kids *index; /* children by name, once there are many */
    struct node_perms *perms; /* shared, never NULL */
    char *value;              /* NULL when empty; may hold NULs */
    uint64_t gen;             /* last change of value or perms (or creation) */
    uint64_t cgen;            /* last change of the set of children */
    uint32_t vlen;
    uint32_t hash; /* of the name, for the parent's index */
    uint16_t namelen;
    char name[]; /* NUL-terminated; "" for the root */
};

/* The children of n, in creation order:
 * for (c = store_first_kid(n); c; c = store_next_kid(n, c)) */
static inline struct store_node *store_first_kid(const struct store_node *n)
{
    struct list_node *c = list_first(&n->kids);
    return c ? LIST_ENTRY(c, struct store_node, sibling) : NULL;
}

static inline struct store_node *store_next_kid(const struct store_node *n,
                                                const struct store_node *c)
{
    struct list_node *next = list_next(&n->kids, &c->sibling);
    return next ? LIST_ENTRY(next, struct store_node, sibling) : NULL;
}

#define STORE_DOMS 65536
#define STORE_DOM_PAGE 256

/* A count per domain id: a page of STORE_DOM_PAGE counts is made when a
 * domain in it is first counted, so a store with a few domains costs a
 * few KiB here, not a quarter MiB (a fresh one per fuzz input, too). */
struct store_counts {
    uint32_t *page[STORE_DOMS / STORE_DOM_PAGE];
};

static inline uint32_t store_count(const struct store_counts *c, uint32_t dom)
{
    const uint32_t *p = c->page[dom / STORE_DOM_PAGE];
    return p ? p[dom % STORE_DOM_PAGE] : 0;
}
void store_count_add(struct store_counts *c, uint32_t dom, int32_t delta);
bool store_counts_equal(const struct store_counts *a, const struct store_counts *b);
void store_counts_free(struct store_counts *c);

struct store {
    struct store_node *root;
    uint64_t gen; /* the last generation handed out */
    size_t nnodes;
    struct store_counts owned; /* nodes per owning domain (quota "nodes") */
};

/* Told of every removed node, with the permissions it had: a watch may
 * only see what its domain could read. exact is false for the node the
 * removal was asked for (watches at or above it fire) and true for each
 * node below it (only a watch on that very path fires), as Xen. */
struct store_sink {
    void (*changed)(void *ctx, const char *path, const struct node_perms *perms, bool exact);
    void *ctx;
};

/* A store holding only "/", owned by dom0 with no access for others. */
struct store *store_new(void);
void store_free(struct store *s);

struct store_node *store_lookup(const struct store *s, const char *path);
struct store_node *store_child(const struct store_node *n, const char *name, size_t len);

/* Adds child name (which must not exist) under parent. Takes its own
 * reference on perms. */
struct store_node *store_create(struct store *s, struct store_node *parent, const char *name,
                                size_t len, const char *value, uint32_t vlen,
                                struct node_perms *perms);
void store_set_value(struct store *s, struct store_node *n, const char *value, uint32_t vlen);
/* Takes its own reference on perms; moves the node's count to a new owner. */
void store_set_perms(struct store *s, struct store_node *n, struct node_perms *perms);
/* Removes n (not the root), found at path under parent, with everything
 * below it, telling sink (which may be NULL) of each node. */
void store_remove(struct store *s, struct store_node *parent, struct store_node *n,
                  const char *path, const struct store_sink *sink);

/* Walks the whole tree checking its invariants (links, counts, index,
 * owners). Returns 0, or -1 at the first broken one. */
int store_check(const struct store *s);

/* The parent of a canonical path, and the last component's offset in it. */
struct store_node *store_lookup_parent(const struct store *s, const char *path, size_t *name_off);

#endif
