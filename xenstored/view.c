/*
 * view.c - the view operations on the live tree, or handed to the
 * transaction. On the live tree a change tells the sink (the watches)
 * at once.
 */
#include <string.h>

#include "txn.h"
#include "view.h"

int view_get(struct view *v, const char *path, enum view_obs obs, struct view_ref *out)
{
    if (v->tx)
        return txn_get(v->tx, v->store, path, obs, out);
    const struct store_node *n = store_lookup(v->store, path);
    *out = (struct view_ref){.exists = n != NULL};
    if (n) {
        out->value = n->value;
        out->vlen = n->vlen;
        out->perms = n->perms;
        out->cgen = n->cgen;
    }
    return 0;
}

int view_list(struct view *v, const char *path, struct buf *names)
{
    if (v->tx)
        return txn_list(v->tx, v->store, path, names);
    const struct store_node *n = store_lookup(v->store, path);
    for (const struct store_node *c = n ? store_first_kid(n) : NULL; c; c = store_next_kid(n, c))
        buf_append(names, c->name, (size_t)c->namelen + 1);
    return 0;
}

int view_set(struct view *v, const char *path, const char *value, uint32_t vlen,
             struct node_perms *perms, unsigned flags)
{
    if (v->tx)
        return txn_set(v->tx, v->store, path, value, vlen, perms, flags);
    struct store_node *n = store_lookup(v->store, path);
    if (n && (flags & VIEW_ENSURE))
        return 0;
    if (n) {
        if (!(flags & VIEW_KEEP_VALUE))
            store_set_value(v->store, n, value, vlen);
        if (perms && !perms_equal(perms, n->perms))
            store_set_perms(v->store, n, perms);
    } else {
        size_t off;
        struct store_node *parent = store_lookup_parent(v->store, path, &off);
        n = store_create(v->store, parent, path + off, strlen(path + off), value, vlen, perms);
    }
    if ((flags & VIEW_FIRE) && v->sink)
        v->sink->changed(v->sink->ctx, path, n->perms, false);
    return 0;
}

int view_rm(struct view *v, const char *path)
{
    if (v->tx)
        return txn_rm(v->tx, v->store, path);
    struct store_node *n = store_lookup(v->store, path);
    size_t off;
    struct store_node *parent = store_lookup_parent(v->store, path, &off);
    if (n && parent)
        store_remove(v->store, parent, n, path, v->sink);
    return 0;
}
