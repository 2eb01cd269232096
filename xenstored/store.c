/*
 * store.c - the live tree. A node's children form a doubly linked list in
 * creation order; past STORE_INDEX_MIN children a hash index (open
 * addressing, backward-shift deletion) finds them by name, so a directory
 * of a million entries costs O(1) per lookup, insert and removal.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "store.h"

#define STORE_INDEX_MIN 8

struct store_kids {
    uint32_t cap; /* a power of two */
    uint32_t count;
    struct store_node *slot[];
};

static uint32_t store_hash(const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    return h;
}

static struct store_node *store_node_new(const char *name, size_t len)
{
    struct store_node *n = xcalloc(1, sizeof(*n) + len + 1);
    memcpy(n->name, name, len);
    n->namelen = (uint16_t)len;
    n->hash = store_hash(name, len);
    list_init(&n->kids);
    return n;
}

static struct store_kids *store_kids_new(uint32_t cap)
{
    struct store_kids *k = xcalloc(1, sizeof(*k) + cap * sizeof(k->slot[0]));
    k->cap = cap;
    return k;
}

static void store_kids_put(struct store_kids *k, struct store_node *n)
{
    uint32_t i = n->hash & (k->cap - 1);
    while (k->slot[i])
        i = (i + 1) & (k->cap - 1);
    k->slot[i] = n;
    k->count++;
}

/* Rebuilt from the child list: used both to create and to grow. */
static void store_index_build(struct store_node *parent, uint32_t cap)
{
    free(parent->index);
    parent->index = store_kids_new(cap);
    for (struct store_node *c = store_first_kid(parent); c; c = store_next_kid(parent, c))
        store_kids_put(parent->index, c);
}

static void store_index_add(struct store_node *parent, struct store_node *n)
{
    if (!parent->index) {
        if (list_length(&parent->kids) > STORE_INDEX_MIN)
            store_index_build(parent, 32);
        return;
    }
    if ((parent->index->count + 1) * 4 > parent->index->cap * 3)
        store_index_build(parent, parent->index->cap * 2);
    else
        store_kids_put(parent->index, n);
}

static void store_index_del(struct store_node *parent, struct store_node *n)
{
    struct store_kids *k = parent->index;
    if (!k)
        return;
    uint32_t mask = k->cap - 1, i = n->hash & mask;
    while (k->slot[i] != n)
        i = (i + 1) & mask;
    k->slot[i] = NULL;
    k->count--;
    /* Backward shift: pull later entries of the probe run into the hole. */
    for (uint32_t j = (i + 1) & mask; k->slot[j]; j = (j + 1) & mask) {
        uint32_t home = k->slot[j]->hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            k->slot[i] = k->slot[j];
            k->slot[j] = NULL;
            i = j;
        }
    }
}

static bool store_name_is(const struct store_node *n, const char *name, size_t len, uint32_t h)
{
    return n->hash == h && n->namelen == len && memcmp(n->name, name, len) == 0;
}

struct store_node *store_child(const struct store_node *n, const char *name, size_t len)
{
    uint32_t h = store_hash(name, len);
    if (!n->index) {
        for (struct store_node *c = store_first_kid(n); c; c = store_next_kid(n, c))
            if (store_name_is(c, name, len, h))
                return c;
        return NULL;
    }
    uint32_t mask = n->index->cap - 1;
    for (uint32_t i = h & mask; n->index->slot[i]; i = (i + 1) & mask)
        if (store_name_is(n->index->slot[i], name, len, h))
            return n->index->slot[i];
    return NULL;
}

void store_count_add(struct store_counts *c, uint32_t dom, int32_t delta)
{
    uint32_t **p = &c->page[dom / STORE_DOM_PAGE];
    if (!*p)
        *p = xcalloc(STORE_DOM_PAGE, sizeof(**p));
    (*p)[dom % STORE_DOM_PAGE] += (uint32_t)delta;
}

bool store_counts_equal(const struct store_counts *a, const struct store_counts *b)
{
    for (uint32_t dom = 0; dom < STORE_DOMS; dom += STORE_DOM_PAGE) {
        if (!a->page[dom / STORE_DOM_PAGE] && !b->page[dom / STORE_DOM_PAGE])
            continue;
        for (uint32_t d = dom; d < dom + STORE_DOM_PAGE; d++)
            if (store_count(a, d) != store_count(b, d))
                return false;
    }
    return true;
}

void store_counts_free(struct store_counts *c)
{
    for (size_t i = 0; i < STORE_DOMS / STORE_DOM_PAGE; i++)
        free(c->page[i]);
}

struct store *store_new(void)
{
    struct store *s = xcalloc(1, sizeof(*s));
    s->root = store_node_new("", 0);
    s->root->perms = perms_new(1); /* "n0" */
    s->root->gen = s->root->cgen = ++s->gen;
    s->nnodes = 1;
    store_count_add(&s->owned, 0, 1);
    return s;
}

static void store_node_free(struct store *s, struct store_node *n)
{
    store_count_add(&s->owned, n->perms->e[0].dom, -1);
    s->nnodes--;
    perms_unref(n->perms);
    free(n->index);
    free(n->value);
    free(n);
}

/* Iterative, so that no depth of tree can exhaust the stack: top's list
 * of children serves as the list of what is left to free, each node
 * taken from it bringing its own children in before it goes. */
static void store_free_subtree(struct store *s, struct store_node *top)
{
    for (struct list_node *x; (x = list_pop_front(&top->kids));) {
        struct store_node *n = LIST_ENTRY(x, struct store_node, sibling);
        list_splice_back(&top->kids, &n->kids);
        store_node_free(s, n);
    }
    store_node_free(s, top);
}

void store_free(struct store *s)
{
    if (!s)
        return;
    store_free_subtree(s, s->root);
    store_counts_free(&s->owned);
    free(s);
}

struct store_node *store_lookup(const struct store *s, const char *path)
{
    assert(path[0] == '/');
    struct store_node *n = s->root;
    for (const char *p = path + 1; *p && n;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        n = store_child(n, p, len);
        p += len + (end ? 1 : 0);
    }
    return n;
}

struct store_node *store_lookup_parent(const struct store *s, const char *path, size_t *name_off)
{
    const char *slash = strrchr(path, '/');
    assert(slash && slash[1]);
    *name_off = (size_t)(slash - path) + 1;
    if (slash == path)
        return s->root;
    char *parent = xstrndup(path, (size_t)(slash - path));
    struct store_node *n = store_lookup(s, parent);
    free(parent);
    return n;
}

static void store_put_value(struct store_node *n, const char *value, uint32_t vlen)
{
    free(n->value);
    n->value = NULL;
    if (vlen) {
        n->value = xmalloc(vlen);
        memcpy(n->value, value, vlen);
    }
    n->vlen = vlen;
}

struct store_node *store_create(struct store *s, struct store_node *parent, const char *name,
                                size_t len, const char *value, uint32_t vlen,
                                struct node_perms *perms)
{
    assert(len > 0 && len <= UINT16_MAX && !store_child(parent, name, len));
    struct store_node *n = store_node_new(name, len);
    store_put_value(n, value, vlen);
    n->perms = perms_ref(perms);
    n->gen = n->cgen = ++s->gen;
    list_push_back(&parent->kids, &n->sibling);
    parent->cgen = s->gen;
    store_index_add(parent, n);
    store_count_add(&s->owned, perms->e[0].dom, 1);
    s->nnodes++;
    return n;
}

void store_set_value(struct store *s, struct store_node *n, const char *value, uint32_t vlen)
{
    store_put_value(n, value, vlen);
    n->gen = ++s->gen;
}

void store_set_perms(struct store *s, struct store_node *n, struct node_perms *perms)
{
    store_count_add(&s->owned, n->perms->e[0].dom, -1);
    store_count_add(&s->owned, perms->e[0].dom, 1);
    perms_ref(perms);
    perms_unref(n->perms);
    n->perms = perms;
    n->gen = ++s->gen;
}

/* Tells sink of each node below n, then frees them; path holds n's. */
static void store_drop_below(struct store *s, struct store_node *n, struct buf *path,
                             const struct store_sink *sink)
{
    size_t len = path->len;
    for (struct store_node *c = store_first_kid(n), *next; c; c = next) {
        next = store_next_kid(n, c);
        path->len = len;
        buf_putc(path, '/');
        buf_append(path, c->name, c->namelen);
        sink->changed(sink->ctx, path->data, c->perms, true);
        store_drop_below(s, c, path, sink);
        store_node_free(s, c);
    }
    path->len = len;
    if (path->data)
        path->data[len] = '\0';
}

void store_remove(struct store *s, struct store_node *parent, struct store_node *n,
                  const char *path, const struct store_sink *sink)
{
    assert(n != s->root);
    list_remove(&parent->kids, &n->sibling);
    store_index_del(parent, n);
    parent->cgen = ++s->gen;
    if (sink) {
        sink->changed(sink->ctx, path, n->perms, false);
        struct buf p = BUF_INIT;
        buf_puts(&p, path);
        store_drop_below(s, n, &p, sink);
        buf_free(&p);
        list_init(&n->kids); /* freed below it already */
    }
    store_free_subtree(s, n);
}

static int store_check_node(const struct store_node *n, const struct store *s, size_t *count,
                            struct store_counts *owned)
{
    uint32_t kids = 0;
    const struct store_node *prev = NULL;
    (*count)++;
    store_count_add(owned, n->perms->e[0].dom, 1);
    if ((n->vlen == 0) != (n->value == NULL) || n->gen > s->gen || n->cgen > s->gen)
        return -1;
    for (const struct store_node *c = store_first_kid(n); c; prev = c, c = store_next_kid(n, c)) {
        kids++;
        if (c->sibling.prev != (prev ? &prev->sibling : &n->kids.head) ||
            store_child(n, c->name, c->namelen) != c || c->hash != store_hash(c->name, c->namelen))
            return -1;
        if (store_check_node(c, s, count, owned) < 0)
            return -1;
    }
    if (kids != list_length(&n->kids) || list_last(&n->kids) != (prev ? &prev->sibling : NULL))
        return -1;
    return n->index && n->index->count != kids ? -1 : 0;
}

int store_check(const struct store *s)
{
    struct store_counts owned = {0};
    size_t count = 0;
    int rc = store_check_node(s->root, s, &count, &owned);
    if (rc == 0 && (count != s->nnodes || !store_counts_equal(&owned, &s->owned)))
        rc = -1;
    store_counts_free(&owned);
    return rc;
}
