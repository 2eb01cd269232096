/*
 * watch.c - the watch table: a map from path to the list of watches on it,
 * each watch also linked into its connection's list for cleanup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "mem.h"
#include "path.h"
#include "watch.h"

struct watch {
    struct watch *next_path; /* the others on the same path */
    struct watch *next_conn;
    struct xsd_conn *conn;
    char *token;
    bool relative;
    char path[];
};

struct watch_table {
    struct hmap *by_path; /* path -> first struct watch */
    size_t count;
};

struct watch_table *watch_table_new(void)
{
    struct watch_table *t = xcalloc(1, sizeof(*t));
    t->by_path = hmap_new();
    return t;
}

void watch_table_free(struct watch_table *t)
{
    if (!t)
        return;
    hmap_free(t->by_path); /* the watches went with their connections */
    free(t);
}

static struct xsd_domain *watch_domain(struct xsd *x, const struct xsd_conn *c)
{
    return c->privileged ? NULL : xsd_domain(x, c->dom);
}

int watch_add(struct xsd *x, struct xsd_conn *c, const char *path, bool relative, const char *token)
{
    struct watch *first = hmap_get(x->watches->by_path, path), *last = NULL;
    for (struct watch *w = first; w; last = w, w = w->next_path)
        if (w->conn == c && strcmp(w->token, token) == 0)
            return EEXIST;
    size_t len = strlen(path);
    struct watch *w = xcalloc(1, sizeof(*w) + len + 1);
    memcpy(w->path, path, len + 1);
    w->token = xstrdup(token);
    w->relative = relative;
    w->conn = c;
    if (last)
        last->next_path = w;
    else
        hmap_put(x->watches->by_path, path, w);
    w->next_conn = c->watches;
    c->watches = w;
    c->nwatches++;
    x->watches->count++;
    struct xsd_domain *d = watch_domain(x, c);
    if (d)
        d->watches++;
    return 0;
}

/* Takes w out of its path's list and frees it (not out of the conn's). */
static void watch_unlink_free(struct xsd *x, struct watch *w)
{
    struct watch *first = hmap_get(x->watches->by_path, w->path);
    if (first == w) {
        if (w->next_path)
            hmap_put(x->watches->by_path, w->path, w->next_path);
        else
            hmap_del(x->watches->by_path, w->path);
    } else {
        struct watch *p = first;
        while (p->next_path != w)
            p = p->next_path;
        p->next_path = w->next_path;
    }
    struct xsd_domain *d = watch_domain(x, w->conn);
    if (d)
        d->watches--;
    w->conn->nwatches--;
    x->watches->count--;
    free(w->token);
    free(w);
}

int watch_del(struct xsd *x, struct xsd_conn *c, const char *path, const char *token)
{
    for (struct watch **pp = &c->watches; *pp; pp = &(*pp)->next_conn) {
        struct watch *w = *pp;
        if (strcmp(w->path, path) == 0 && strcmp(w->token, token) == 0) {
            *pp = w->next_conn;
            watch_unlink_free(x, w);
            return 0;
        }
    }
    return ENOENT;
}

void watch_del_all(struct xsd *x, struct xsd_conn *c)
{
    while (c->watches) {
        struct watch *w = c->watches;
        c->watches = w->next_conn;
        watch_unlink_free(x, w);
    }
}

static void watch_deliver(struct xsd *x, struct watch *w, const char *path,
                          const struct node_perms *perms)
{
    struct xsd_conn *c = w->conn;
    if (c->closing)
        return;
    if (perms) {
        struct perms_who who = xsd_conn_who(x, c);
        if (!(perms_for(perms, &who) & PERM_READ))
            return;
    } else if (!c->privileged) {
        return;
    }
    if (w->relative) {
        /* The event is at or below the watch, itself below the home. */
        struct buf home = BUF_INIT;
        path_domain_home(c->dom, &home);
        if (path_at_or_below(path, home.data) && path[home.len] == '/')
            path += home.len + 1;
        buf_free(&home);
    }
    xsd_conn_send_event(x, c, path, w->token);
}

/* Each watch's next is read before delivering: a delivery may doom a
 * connection, but never frees a watch. */
static void watch_fire_at(struct xsd *x, const char *key, const char *path,
                          const struct node_perms *perms)
{
    for (struct watch *w = hmap_get(x->watches->by_path, key); w; w = w->next_path)
        watch_deliver(x, w, path, perms);
}

void watch_changed(void *ctx, const char *path, const struct node_perms *perms, bool exact)
{
    struct xsd *x = ctx;
    if (x->watches->count == 0)
        return;
    if (exact) {
        watch_fire_at(x, path, path, perms);
        return;
    }
    watch_fire_at(x, "/", path, perms);
    char *prefix = xstrdup(path);
    for (char *p = prefix + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        watch_fire_at(x, prefix, path, perms);
        *p = '/';
    }
    if (path[1])
        watch_fire_at(x, prefix, path, perms);
    free(prefix);
}

void watch_fire_special(struct xsd *x, const char *name)
{
    watch_fire_at(x, name, name, NULL);
}
