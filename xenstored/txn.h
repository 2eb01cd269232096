/*
 * txn.h - transactions with optimistic concurrency, decided per node.
 *
 * A transaction reads the live tree, keeping its own changes aside in an
 * overlay, and records for each node it touches the generation it saw
 * (see store.h): of the value and permissions for a READ or a write, of
 * the set of children for a DIRECTORY, mere existence for a parent it
 * created children under. Commit compares each with the live tree: any
 * difference is EAGAIN, else the overlay is applied at once. (A node that
 * reads differently a second time dooms the transaction at once: commit
 * compares with the first reading only.) Two transactions that add
 * different children under /local/domain therefore both commit, and a
 * snapshot costs nothing to take.
 *
 * Implicit parents (and MKDIR) are "ensure" changes: if another commit
 * created the same node meanwhile, this one keeps it as it is.
 */
#ifndef XSD_TXN_H
#define XSD_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "store.h"
#include "view.h"

struct txn {
    uint32_t id;
    uint16_t dom;         /* the domain that started it, for its quota */
    struct hmap *entries; /* path -> struct txe */
    size_t nentries;
    size_t max_entries; /* the "transaction-nodes" quota */
    size_t nhide;       /* entries that hide the live tree below them */
    uint64_t seq;
    uint32_t created; /* nodes created, for the "nodes" quota at commit */
    bool doomed;      /* a node read differently twice: it cannot commit */
    struct txn *next; /* in its connection's list */
};

struct txn *txn_new(uint32_t id, uint16_t dom, size_t max_entries);
void txn_free(struct txn *t);

/* The view operations of view.h, on this transaction. */
int txn_get(struct txn *t, struct store *s, const char *path, enum view_obs obs,
            struct view_ref *out);
int txn_list(struct txn *t, struct store *s, const char *path, struct buf *names);
int txn_set(struct txn *t, struct store *s, const char *path, const char *value, uint32_t vlen,
            struct node_perms *perms, unsigned flags);
int txn_rm(struct txn *t, struct store *s, const char *path);

/* Checks every recorded generation against the live tree; returns EAGAIN
 * on any difference, else applies the changes (telling sink, in order:
 * removals, then writes parents first) and returns 0. The transaction is
 * spent either way. */
int txn_commit(struct txn *t, struct store *s, const struct store_sink *sink);

#endif
