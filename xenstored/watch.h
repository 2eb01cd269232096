/*
 * watch.h - watches: a connection's (path, token) pairs, found by path so
 * that a change costs one lookup per ancestor of the changed node, however
 * many watches there are.
 *
 * A change at P fires every watch at P or above it; removing a subtree
 * also fires each watch on a node inside it (store.h). An event goes only
 * to a connection that may read the node, and is queued on the connection
 * at once, so events leave in commit order. Special paths (@introduceDomain,
 * @releaseDomain) fire only by name, and only for privileged connections.
 */
#ifndef XSD_WATCH_H
#define XSD_WATCH_H

#include <stdbool.h>

#include "xsd.h"

struct watch_table *watch_table_new(void);
void watch_table_free(struct watch_table *t);

/* Adds a watch on path (absolute, or special), reported relative to the
 * connection's home when relative. Returns 0 or EEXIST. */
int watch_add(struct xsd *x, struct xsd_conn *c, const char *path, bool relative,
              const char *token);
/* Returns 0 or ENOENT. */
int watch_del(struct xsd *x, struct xsd_conn *c, const char *path, const char *token);
void watch_del_all(struct xsd *x, struct xsd_conn *c);

/* A store_sink callback (ctx is the struct xsd). */
void watch_changed(void *ctx, const char *path, const struct node_perms *perms, bool exact);
/* Fires the watches on a special path. */
void watch_fire_special(struct xsd *x, const char *name);

#endif
