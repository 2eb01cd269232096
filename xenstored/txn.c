/*
 * txn.c - a transaction's overlay and access set, one entry per path it
 * touched (struct txe), and the commit that checks and applies them.
 *
 * An entry's state says what the transaction's view holds at that path:
 * TXE_LIVE defers to the live tree (the entry only records what was seen),
 * TXE_SET holds a value of its own, TXE_DEL a removal. A "fresh" entry
 * hides the live tree below it: the transaction removed that subtree, so
 * only what it wrote since is there. Entries are freed only with the
 * transaction, so what was seen is never forgotten.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "path.h"
#include "txn.h"

enum txe_state { TXE_LIVE, TXE_SET, TXE_DEL };

struct txe {
    char *path;
    struct txe *kids, *kids_last, *sib; /* overlay children, linked once */
    uint64_t seq;                       /* when it became TXE_SET */
    uint64_t seen_gen, seen_cgen;       /* 0: absent */
    char *value;
    struct node_perms *perms;
    uint32_t vlen;
    uint32_t depth;
    uint8_t state;
    bool linked, fresh, ensure, fire;
    bool obs_node, obs_kids, obs_exists;
};

struct txn *txn_new(uint32_t id, uint16_t dom, size_t max_entries)
{
    struct txn *t = xcalloc(1, sizeof(*t));
    t->id = id;
    t->dom = dom;
    t->entries = hmap_new();
    t->max_entries = max_entries;
    return t;
}

static void txe_clear(struct txe *e)
{
    free(e->value);
    e->value = NULL;
    e->vlen = 0;
    perms_unref(e->perms);
    e->perms = NULL;
}

void txn_free(struct txn *t)
{
    if (!t)
        return;
    const char *key;
    void *v;
    for (size_t it = 0; hmap_next(t->entries, &it, &key, &v);) {
        struct txe *e = v;
        txe_clear(e);
        free(e->path);
        free(e);
    }
    hmap_free(t->entries);
    free(t);
}

static uint32_t txn_depth(const char *path)
{
    uint32_t d = 0;
    for (const char *p = path + 1; *p; p++)
        d += *p == '/';
    return path[1] ? d + 1 : 0;
}

static struct txe *txn_entry(struct txn *t, const char *path)
{
    return hmap_get(t->entries, path);
}

/* The entry for path, made if needed; NULL when the quota is reached. */
static struct txe *txn_entry_make(struct txn *t, const char *path)
{
    struct txe *e = hmap_get(t->entries, path);
    if (e)
        return e;
    if (t->nentries >= t->max_entries)
        return NULL;
    e = xcalloc(1, sizeof(*e));
    e->path = xstrdup(path);
    e->depth = txn_depth(path);
    hmap_put(t->entries, path, e);
    t->nentries++;
    return e;
}

static bool txe_hides(const struct txe *e)
{
    return e->state == TXE_DEL || e->fresh;
}

/* Every state change goes through here, to keep nhide true. */
static void txe_mark(struct txn *t, struct txe *e, enum txe_state state, bool fresh)
{
    t->nhide -= txe_hides(e);
    e->state = (uint8_t)state;
    e->fresh = fresh;
    t->nhide += txe_hides(e);
}

/* Whether an entry above path hides the live tree at path. */
static bool txn_hidden(struct txn *t, const char *path)
{
    if (t->nhide == 0 || !path[1])
        return false;
    char *p = xstrdup(path);
    bool hidden = false;
    for (size_t len = path_parent_len(p); !hidden; len = path_parent_len(p)) {
        p[len] = '\0';
        struct txe *e = txn_entry(t, p);
        hidden = e && txe_hides(e);
        if (len == 1)
            break;
    }
    free(p);
    return hidden;
}

static void txn_ref_entry(const struct txe *e, struct view_ref *out)
{
    *out = (struct view_ref){.exists = true, .value = e->value, .vlen = e->vlen, .perms = e->perms};
}

static void txn_ref_node(const struct store_node *n, struct view_ref *out)
{
    *out = (struct view_ref){.exists = n != NULL};
    if (n) {
        out->value = n->value;
        out->vlen = n->vlen;
        out->perms = n->perms;
        out->cgen = n->cgen;
    }
}

/* What e's node was when first seen (gen, 0 for missing): a later look
 * that finds otherwise dooms the transaction, as what it read before and
 * after no longer holds together (even if the node changes back). */
static void txe_saw_node(struct txn *t, struct txe *e, uint64_t gen)
{
    if (!e->obs_node) {
        e->obs_node = true;
        e->seen_gen = gen;
    } else if (e->seen_gen != gen) {
        t->doomed = true;
    }
    if (gen == 0 && e->obs_exists)
        t->doomed = true;
}

static void txe_saw_kids(struct txn *t, struct txe *e, uint64_t cgen)
{
    if (!e->obs_kids) {
        e->obs_kids = true;
        e->seen_cgen = cgen;
    } else if (e->seen_cgen != cgen) {
        t->doomed = true;
    }
}

static void txe_saw_exists(struct txn *t, struct txe *e)
{
    e->obs_exists = true;
    if (e->obs_node && e->seen_gen == 0)
        t->doomed = true;
}

static int txn_observe(struct txn *t, const char *path, const struct store_node *n,
                       enum view_obs obs)
{
    if (obs == VIEW_ANCESTOR && !n)
        return 0;
    struct txe *e = txn_entry_make(t, path);
    if (!e)
        return ENOSPC;
    if (obs != VIEW_READ && n)
        txe_saw_exists(t, e);
    else
        txe_saw_node(t, e, n ? n->gen : 0); /* a missing node must stay missing */
    return 0;
}

int txn_get(struct txn *t, struct store *s, const char *path, enum view_obs obs,
            struct view_ref *out)
{
    struct txe *e = txn_entry(t, path);
    if (e && e->state == TXE_SET) {
        txn_ref_entry(e, out);
        /* An ensured node keeps what another commit may create there
         * first: what was read holds only while the live node is missing,
         * as it was when the transaction made its own. */
        if (obs == VIEW_READ && e->ensure && !e->fresh && !e->obs_node && !txn_hidden(t, path))
            txe_saw_node(t, e, 0);
        return 0;
    }
    *out = (struct view_ref){0};
    if ((e && e->state == TXE_DEL) || txn_hidden(t, path))
        return 0;
    struct store_node *n = store_lookup(s, path);
    txn_ref_node(n, out);
    return txn_observe(t, path, n, obs);
}

static const char *txn_basename(const struct txe *e)
{
    return strrchr(e->path, '/') + 1;
}

/* Appends the live children of n that the transaction has not removed. */
static int txn_list_live(struct txn *t, struct txe *e, const char *path, const struct store_node *n,
                         struct buf *names)
{
    txe_saw_kids(t, e, n->cgen);
    struct buf child = BUF_INIT;
    for (const struct store_node *c = store_first_kid(n); c; c = store_next_kid(n, c)) {
        if (e->kids) {
            buf_reset(&child);
            buf_printf(&child, "%s/%s", path[1] ? path : "", c->name);
            struct txe *ce = txn_entry(t, child.data);
            if (ce && ce->state == TXE_DEL)
                continue;
        }
        buf_append(names, c->name, (size_t)c->namelen + 1);
    }
    buf_free(&child);
    return 0;
}

int txn_list(struct txn *t, struct store *s, const char *path, struct buf *names)
{
    struct txe *e = txn_entry_make(t, path);
    if (!e)
        return ENOSPC;
    bool hide = e->fresh || txn_hidden(t, path);
    const struct store_node *n = hide ? NULL : store_lookup(s, path);
    if (n) {
        txn_list_live(t, e, path, n, names);
    } else if (!hide) {
        txe_saw_kids(t, e, 0); /* the listing holds only while there is no live node */
    }
    for (struct txe *k = e->kids; k; k = k->sib) {
        const char *name = txn_basename(k);
        if (k->state == TXE_SET && (!n || !store_child(n, name, strlen(name))))
            buf_append(names, name, strlen(name) + 1);
    }
    return 0;
}

/* Links e under its parent's entry, so that listings and removals find it. */
static int txn_link(struct txn *t, struct txe *e)
{
    if (e->linked || !e->path[1])
        return 0;
    char *parent = xstrndup(e->path, path_parent_len(e->path));
    struct txe *pe = txn_entry_make(t, parent);
    free(parent);
    if (!pe)
        return ENOSPC;
    if (pe->kids_last)
        pe->kids_last->sib = e;
    else
        pe->kids = e;
    pe->kids_last = e;
    e->linked = true;
    return 0;
}

/* The value and permissions the view holds at e's path now. */
static void txn_current(struct txn *t, struct store *s, struct txe *e, struct view_ref *cur)
{
    if (e->state == TXE_SET) {
        txn_ref_entry(e, cur);
        return;
    }
    *cur = (struct view_ref){0};
    if (e->state == TXE_LIVE && !txn_hidden(t, e->path))
        txn_ref_node(store_lookup(s, e->path), cur);
}

int txn_set(struct txn *t, struct store *s, const char *path, const char *value, uint32_t vlen,
            struct node_perms *perms, unsigned flags)
{
    struct txe *e = txn_entry_make(t, path);
    if (!e || txn_link(t, e))
        return ENOSPC;
    struct view_ref cur;
    txn_current(t, s, e, &cur);
    if (!cur.exists)
        t->created++;
    if (flags & VIEW_KEEP_VALUE) {
        value = cur.value;
        vlen = cur.vlen;
    }
    char *copy = vlen ? xmalloc(vlen) : NULL;
    if (vlen)
        memcpy(copy, value, vlen);
    struct node_perms *p = perms_ref(perms ? perms : cur.perms);
    bool was_set = e->state == TXE_SET;
    txe_clear(e);
    e->value = copy;
    e->vlen = vlen;
    e->perms = p;
    e->ensure = (flags & VIEW_ENSURE) && (!was_set || e->ensure);
    e->fire = e->fire || (flags & VIEW_FIRE);
    if (!was_set) {
        e->seq = ++t->seq;
        txe_mark(t, e, TXE_SET, e->fresh);
    }
    return 0;
}

/* Records what the removal depends on: every live node below path. */
static int txn_observe_subtree(struct txn *t, const struct store_node *n, struct buf *path)
{
    size_t len = path->len;
    for (const struct store_node *c = store_first_kid(n); c; c = store_next_kid(n, c)) {
        path->len = len;
        if (len > 1)
            buf_putc(path, '/');
        buf_append(path, c->name, c->namelen);
        struct txe *ce = txn_entry_make(t, path->data);
        if (!ce)
            return ENOSPC;
        if (txe_hides(ce))
            continue;
        txe_saw_node(t, ce, c->gen);
        txe_saw_kids(t, ce, c->cgen);
        if (txn_observe_subtree(t, c, path))
            return ENOSPC;
    }
    path->len = len;
    path->data[len] = '\0';
    return 0;
}

/* The overlay below path goes: the transaction removed it. Found by a scan
 * rather than the links, which reach only an entry's direct children. */
static void txn_drop_overlay(struct txn *t, const char *path)
{
    const char *key;
    void *v;
    for (size_t it = 0; hmap_next(t->entries, &it, &key, &v);) {
        struct txe *k = v;
        if (k->state == TXE_LIVE && !k->fresh)
            continue;
        if (strcmp(k->path, path) == 0 || !path_at_or_below(k->path, path))
            continue;
        txe_clear(k);
        k->ensure = k->fire = false;
        txe_mark(t, k, TXE_LIVE, false);
    }
}

int txn_rm(struct txn *t, struct store *s, const char *path)
{
    struct txe *e = txn_entry_make(t, path);
    if (!e || txn_link(t, e))
        return ENOSPC;
    if (!e->fresh && !txn_hidden(t, path)) {
        struct store_node *n = store_lookup(s, path);
        if (txn_observe(t, path, n, VIEW_READ))
            return ENOSPC;
        if (n) {
            txe_saw_kids(t, e, n->cgen);
            struct buf p = BUF_INIT;
            buf_puts(&p, path);
            int rc = txn_observe_subtree(t, n, &p);
            buf_free(&p);
            if (rc)
                return rc;
        }
    }
    txn_drop_overlay(t, path);
    txe_clear(e);
    e->ensure = e->fire = false;
    txe_mark(t, e, TXE_DEL, true);
    return 0;
}

/* Whether the live tree still holds what e saw. */
static bool txn_still_valid(const struct txe *e, const struct store *s)
{
    if (!e->obs_node && !e->obs_kids && !e->obs_exists)
        return true;
    const struct store_node *n = store_lookup(s, e->path);
    if (e->obs_node && (n ? n->gen : 0) != e->seen_gen)
        return false;
    if (e->obs_kids && (n ? n->cgen : 0) != e->seen_cgen)
        return false;
    return !e->obs_exists || n;
}

static int txn_cmp_order(const void *a, const void *b)
{
    const struct txe *x = *(struct txe *const *)a, *y = *(struct txe *const *)b;
    if (x->depth != y->depth)
        return x->depth < y->depth ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void txn_apply_removal(const struct txe *e, struct store *s, const struct store_sink *sink)
{
    struct store_node *n = store_lookup(s, e->path);
    if (!n || !e->path[1])
        return;
    size_t off;
    struct store_node *parent = store_lookup_parent(s, e->path, &off);
    store_remove(s, parent, n, e->path, sink);
}

static void txn_apply_set(const struct txe *e, struct store *s, const struct store_sink *sink)
{
    struct store_node *n = store_lookup(s, e->path);
    if (n && e->ensure)
        return;
    if (n) {
        store_set_value(s, n, e->value, e->vlen);
        if (!perms_equal(n->perms, e->perms))
            store_set_perms(s, n, e->perms);
    } else {
        size_t off;
        struct store_node *parent = store_lookup_parent(s, e->path, &off);
        if (!parent) /* cannot happen: parents sort first, and were checked */
            return;
        n = store_create(s, parent, e->path + off, strlen(e->path + off), e->value, e->vlen,
                         e->perms);
    }
    if (e->fire && sink)
        sink->changed(sink->ctx, e->path, n->perms, false);
}

int txn_commit(struct txn *t, struct store *s, const struct store_sink *sink)
{
    if (t->doomed)
        return EAGAIN;
    const char *key;
    void *v;
    for (size_t it = 0; hmap_next(t->entries, &it, &key, &v);)
        if (!txn_still_valid(v, s))
            return EAGAIN;
    struct txe **order = xmalloc((t->nentries + 1) * sizeof(*order));
    size_t n = 0;
    for (size_t it = 0; hmap_next(t->entries, &it, &key, &v);)
        if (((struct txe *)v)->state != TXE_LIVE || ((struct txe *)v)->fresh)
            order[n++] = v;
    qsort(order, n, sizeof(*order), txn_cmp_order);
    for (size_t i = 0; i < n; i++)
        if (txe_hides(order[i]))
            txn_apply_removal(order[i], s, sink);
    for (size_t i = 0; i < n; i++)
        if (order[i]->state == TXE_SET)
            txn_apply_set(order[i], s, sink);
    free(order);
    return 0;
}
