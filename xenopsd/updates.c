/*
 * updates.c - the coalesced update stream (see updates.h): a map from
 * "kind/id" to an entry, and the entries in a list ordered by generation,
 * so posting moves one entry to the tail and a poll walks back from the
 * tail only as far as the caller's token.
 */
#include "updates.h"
#include "clock.h"
#include "hmap.h"
#include "list.h"
#include "mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct xo_update {
    char *kind, *id;
    int64_t gen;
    struct list_node node; /* in xo_updates.entries */
};

#define XO_UPDATE(n) LIST_ENTRY(n, struct xo_update, node)

struct xo_updates {
    pthread_mutex_t lock;
    pthread_cond_t posted;
    struct hmap *by_key;
    struct list entries; /* oldest first */
    size_t cap;
    int64_t gen;   /* of the newest entry */
    int64_t floor; /* a token below this may have missed evicted entries */
    bool stopping;
};

struct xo_updates *xo_updates_new(size_t cap)
{
    struct xo_updates *u = xcalloc(1, sizeof(*u));
    pthread_mutex_init(&u->lock, NULL);
    clock_cond_init(&u->posted);
    u->by_key = hmap_new();
    list_init(&u->entries);
    u->cap = cap ? cap : 1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    u->gen = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    u->floor = u->gen + 1;
    return u;
}

void xo_updates_free(struct xo_updates *u)
{
    if (!u)
        return;
    for (struct list_node *n; (n = list_pop_front(&u->entries));)
        free(XO_UPDATE(n));
    hmap_free(u->by_key);
    pthread_cond_destroy(&u->posted);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

void xo_updates_post(struct xo_updates *u, const char *kind, const char *id)
{
    char key[160];
    snprintf(key, sizeof(key), "%s/%s", kind, id);
    pthread_mutex_lock(&u->lock);
    struct xo_update *e = hmap_get(u->by_key, key);
    if (e) {
        list_remove(&u->entries, &e->node);
    } else {
        /* One block: the entry, then kind and id. */
        size_t kl = strlen(kind) + 1, il = strlen(id) + 1;
        e = xcalloc(1, sizeof(*e) + kl + il);
        e->kind = (char *)(e + 1);
        e->id = e->kind + kl;
        memcpy(e->kind, kind, kl);
        memcpy(e->id, id, il);
        hmap_put(u->by_key, key, e);
    }
    e->gen = ++u->gen;
    list_push_back(&u->entries, &e->node);
    while (list_length(&u->entries) > u->cap) {
        struct xo_update *old = XO_UPDATE(list_pop_front(&u->entries));
        snprintf(key, sizeof(key), "%s/%s", old->kind, old->id);
        hmap_del(u->by_key, key);
        u->floor = old->gen + 1;
        free(old);
    }
    pthread_cond_broadcast(&u->posted);
    pthread_mutex_unlock(&u->lock);
}

static struct val *xo_updates_collect(struct xo_updates *u, int64_t last, struct arena *a)
{
    /* Back from the newest to the first after last, then forward. */
    struct list_node *first = NULL;
    for (struct list_node *n = list_last(&u->entries); n && XO_UPDATE(n)->gen > last;
         n = list_prev(&u->entries, n))
        first = n;
    struct val *list = val_array(a);
    for (struct list_node *n = first; n; n = list_next(&u->entries, n)) {
        const struct xo_update *e = XO_UPDATE(n);
        struct val *item = val_struct_sized(a, 2);
        val_struct_add_static(a, item, "kind", val_string(a, e->kind));
        val_struct_add_static(a, item, "id", val_string(a, e->id));
        val_array_push(a, list, item);
    }
    struct val *reply = val_struct_sized(a, 2);
    val_struct_add_static(a, reply, "updates", list);
    val_struct_add_static(a, reply, "last", val_int(a, u->gen));
    return reply;
}

struct val *xo_updates_get(struct xo_updates *u, int64_t last, int64_t timeout_ms, struct arena *a)
{
    int64_t deadline = clock_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&u->lock);
    /* A token from the future belongs to an earlier run: start over. */
    if (last < u->floor - 1 || last > u->gen)
        last = 0;
    while (!u->stopping && (list_empty(&u->entries) || u->gen <= last) && clock_now_ms() < deadline)
        clock_cond_wait_until(&u->posted, &u->lock, deadline);
    struct val *reply = xo_updates_collect(u, last, a);
    pthread_mutex_unlock(&u->lock);
    return reply;
}

void xo_updates_stop(struct xo_updates *u)
{
    pthread_mutex_lock(&u->lock);
    u->stopping = true;
    pthread_cond_broadcast(&u->posted);
    pthread_mutex_unlock(&u->lock);
}
