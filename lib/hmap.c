/*
 * hmap.c - open addressing with linear probing; deletion shifts the
 * following entries back (no tombstones), so lookups stay short however
 * many keys come and go.
 */
#include "hmap.h"
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hmap_slot {
    char *key; /* NULL: empty */
    void *value;
    uint32_t hash;
};

struct hmap {
    struct hmap_slot *slots;
    size_t cap; /* a power of two */
    size_t count;
};

static uint32_t hmap_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

struct hmap *hmap_new(void)
{
    struct hmap *m = xcalloc(1, sizeof(*m));
    m->cap = 16;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    return m;
}

void hmap_free(struct hmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static size_t hmap_find(const struct hmap *m, const char *key, uint32_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void hmap_grow(struct hmap *m)
{
    struct hmap_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->cap *= 2;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].key)
            continue;
        size_t j = old[i].hash & (m->cap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *hmap_get(const struct hmap *m, const char *key)
{
    size_t i = hmap_find(m, key, hmap_hash(key));
    return m->slots[i].key ? m->slots[i].value : NULL;
}

void *hmap_put(struct hmap *m, const char *key, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        hmap_grow(m);
    uint32_t h = hmap_hash(key);
    size_t i = hmap_find(m, key, h);
    if (m->slots[i].key) {
        void *prev = m->slots[i].value;
        m->slots[i].value = value;
        return prev;
    }
    m->slots[i].key = xstrdup(key);
    m->slots[i].hash = h;
    m->slots[i].value = value;
    m->count++;
    return NULL;
}

void *hmap_del(struct hmap *m, const char *key)
{
    size_t i = hmap_find(m, key, hmap_hash(key));
    if (!m->slots[i].key)
        return NULL;
    void *value = m->slots[i].value;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->count--;
    /* Move back every following entry whose home is at or before the hole. */
    size_t hole = i;
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
        size_t home = m->slots[j].hash & (m->cap - 1);
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->slots[hole] = m->slots[j];
            m->slots[j].key = NULL;
            hole = j;
        }
    }
    return value;
}

size_t hmap_count(const struct hmap *m)
{
    return m->count;
}

bool hmap_next(const struct hmap *m, size_t *it, const char **key, void **value)
{
    for (; *it < m->cap; (*it)++) {
        if (m->slots[*it].key) {
            *key = m->slots[*it].key;
            *value = m->slots[*it].value;
            (*it)++;
            return true;
        }
    }
    return false;
}
