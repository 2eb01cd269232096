/*
 * view.h - the store as one request sees it: the live tree (changes apply
 * and fire watches at once) or a transaction's view of it (changes are
 * kept aside until commit). The request handlers are written once against
 * this interface.
 */
#ifndef XSD_VIEW_H
#define XSD_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

struct txn;

struct view {
    struct store *store;
    struct txn *tx; /* NULL: the live tree */
    const struct store_sink *sink;
};

/* How a lookup counts for a transaction's conflict check: READ depends on
 * the node's value, permissions and existence; EXISTS on whether it exists
 * (DIRECTORY, RM's parent); ANCESTOR only on the existence of a node that
 * exists (finding where implicit parents start, MKDIR: a sibling
 * transaction creating the same parents must not conflict). */
enum view_obs { VIEW_READ, VIEW_EXISTS, VIEW_ANCESTOR };

struct view_ref {
    bool exists;
    const char *value; /* valid until the next change */
    uint32_t vlen;
    struct node_perms *perms;
    uint64_t cgen; /* of the live node; 0 for one only the transaction has */
};

/* view_set flags */
enum {
    VIEW_ENSURE = 1,     /* create if missing, else leave alone (mkdir, implicit parents) */
    VIEW_FIRE = 2,       /* the change fires watches */
    VIEW_KEEP_VALUE = 4, /* change only the permissions */
};

/* Each returns 0, or ENOSPC when a transaction has touched as many nodes
 * as its quota allows. */
int view_get(struct view *v, const char *path, enum view_obs obs, struct view_ref *out);
/* Appends the children's names, each NUL-terminated; path must exist. */
int view_list(struct view *v, const char *path, struct buf *names);
/* Sets path (whose parent must exist) to value (and perms, when not NULL;
 * required for a new node). */
int view_set(struct view *v, const char *path, const char *value, uint32_t vlen,
             struct node_perms *perms, unsigned flags);
/* Removes path, which must exist and not be "/", with everything below. */
int view_rm(struct view *v, const char *path);

#endif
