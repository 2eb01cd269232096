/*
 * throttle.c - the failed-login table; see throttle.h. One mutex guards
 * it: it is touched once per login, never on the hot path of other calls.
 */
#include "core/throttle.h"
#include "hmap.h"
#include "mem.h"

#include <pthread.h>
#include <stdlib.h>

struct throttle_entry {
    unsigned failures;
    int64_t last_ms;  /* of the last failure */
    int64_t until_ms; /* barred until then */
};

struct throttle {
    pthread_mutex_t lock;
    struct hmap *keys; /* key -> struct throttle_entry */
};

struct throttle *throttle_new(void)
{
    struct throttle *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->keys = hmap_new();
    return t;
}

void throttle_free(struct throttle *t)
{
    if (!t)
        return;
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(t->keys, &it, &key, &value);)
        free(value);
    hmap_free(t->keys);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* The entry of key, forgotten first if it went stale. Hold the lock. */
static struct throttle_entry *throttle_entry(struct throttle *t, const char *key, int64_t now)
{
    struct throttle_entry *e = hmap_get(t->keys, key);
    if (e && now - e->last_ms >= THROTTLE_FORGET_MS) {
        free(hmap_del(t->keys, key));
        e = NULL;
    }
    return e;
}

int64_t throttle_barred_ms(struct throttle *t, const char *key, int64_t now)
{
    pthread_mutex_lock(&t->lock);
    struct throttle_entry *e = throttle_entry(t, key, now);
    int64_t left = e && e->until_ms > now ? e->until_ms - now : 0;
    pthread_mutex_unlock(&t->lock);
    return left;
}

/* Makes room for one more key: the stale ones go, and if none is, the
 * one whose last failure is oldest. Hold the lock. */
static void throttle_make_room(struct throttle *t, int64_t now)
{
    const char *key, *oldest = NULL;
    void *value;
    int64_t oldest_ms = INT64_MAX;
    for (size_t it = 0; hmap_next(t->keys, &it, &key, &value);) {
        const struct throttle_entry *e = value;
        if (e->last_ms < oldest_ms) {
            oldest_ms = e->last_ms;
            oldest = key;
        }
    }
    if (oldest && (hmap_count(t->keys) >= THROTTLE_KEYS || now - oldest_ms >= THROTTLE_FORGET_MS)) {
        char *copy = xstrdup(oldest); /* oldest is the map's, freed by the delete */
        free(hmap_del(t->keys, copy));
        free(copy);
    }
}

unsigned throttle_failed(struct throttle *t, const char *key, int64_t now)
{
    pthread_mutex_lock(&t->lock);
    struct throttle_entry *e = throttle_entry(t, key, now);
    if (!e) {
        if (hmap_count(t->keys) >= THROTTLE_KEYS)
            throttle_make_room(t, now);
        e = xcalloc(1, sizeof(*e));
        hmap_put(t->keys, key, e);
    }
    e->failures++;
    e->last_ms = now;
    if (e->failures > THROTTLE_FREE) {
        unsigned shift = e->failures - THROTTLE_FREE - 1;
        int64_t delay = shift >= 16 ? THROTTLE_MAX_MS : (int64_t)1000 << shift;
        e->until_ms = now + (delay < THROTTLE_MAX_MS ? delay : THROTTLE_MAX_MS);
    }
    unsigned n = e->failures;
    pthread_mutex_unlock(&t->lock);
    return n;
}

void throttle_forget(struct throttle *t, const char *key)
{
    pthread_mutex_lock(&t->lock);
    free(hmap_del(t->keys, key));
    pthread_mutex_unlock(&t->lock);
}
