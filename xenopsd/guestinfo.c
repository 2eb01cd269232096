/*
 * guestinfo.c - the guest-information watcher (see guestinfo.h). Events
 * are coalesced: a guest that writes twenty keys in a row is read once
 * per batch of events, not twenty times. If xenstored goes away the
 * thread reconnects and watches again.
 */
#include "guestinfo.h"
#include "buf.h"
#include "log.h"
#include "mailbox.h"
#include "mem.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GI_RECONNECT_MS 500
#define GI_XS_TIMEOUT_MS 10000

struct gi_guest {
    char vm_id[XO_ID_MAX];
    int domid;
    bool dirty;
    struct gi_guest *next;
};

struct gi_cmd {
    struct mail link;
    bool watch;
    struct gi_guest g;
};

struct xo_guestinfo {
    struct xenopsd *x;
    struct mailbox mail;
    pthread_t thread;
    bool started, usable;
    /* the thread's own */
    struct xs_client *xs;
    struct gi_guest *guests;
};

/* Which guest keys land in which VM.stat map, under which name. */
static const char *const gi_keys[][3] = {
    {"pv_drivers_version", "major", "attr/PVAddons/MajorVersion"},
    {"pv_drivers_version", "minor", "attr/PVAddons/MinorVersion"},
    {"pv_drivers_version", "micro", "attr/PVAddons/MicroVersion"},
    {"pv_drivers_version", "build", "attr/PVAddons/BuildVersion"},
    {"os_version", "name", "data/os_name"},
    {"os_version", "distro", "data/os_distro"},
    {"os_version", "major", "data/os_majorver"},
    {"os_version", "minor", "data/os_minorver"},
    {"os_version", "uname", "data/os_uname"},
    {"memory", "total", "data/meminfo_total"},
    {"memory", "free", "data/meminfo_free"},
};

struct xo_guestinfo *xo_guestinfo_new(struct xenopsd *x)
{
    struct xo_guestinfo *g = xcalloc(1, sizeof(*g));
    g->x = x;
    g->usable = mailbox_init(&g->mail) == 0;
    return g;
}

static void gi_push(struct xo_guestinfo *g, bool watch, const char *vm_id, int domid)
{
    struct gi_cmd *c = xcalloc(1, sizeof(*c));
    c->watch = watch;
    snprintf(c->g.vm_id, sizeof(c->g.vm_id), "%s", vm_id);
    c->g.domid = domid;
    mailbox_push(&g->mail, &c->link);
}

void xo_guestinfo_watch(struct xo_guestinfo *g, const char *vm_id, int domid)
{
    gi_push(g, true, vm_id, domid);
}

void xo_guestinfo_unwatch(struct xo_guestinfo *g, const char *vm_id, int domid)
{
    gi_push(g, false, vm_id, domid);
}

/* Watches (watch true) or unwatches what the guest writes to. */
static void gi_set_watches(struct xo_guestinfo *g, const struct gi_guest *q, bool watch)
{
    static const char *const dirs[] = {"data", "attr"};
    char path[64], token[96];
    snprintf(token, sizeof(token), "%s:%d", q->vm_id, q->domid);
    for (size_t i = 0; g->xs && i < 2; i++) {
        snprintf(path, sizeof(path), "/local/domain/%d/%s", q->domid, dirs[i]);
        struct xs_error err;
        int rc = watch ? xs_watch(g->xs, path, token, &err) : xs_unwatch(g->xs, path, token, &err);
        if (rc < 0 && err.errnum != ENOENT)
            log_warn("guestinfo", "%s %s: %s", watch ? "watch" : "unwatch", path, err.name);
    }
}

static void gi_take_commands(struct xo_guestinfo *g)
{
    struct gi_cmd *c = (struct gi_cmd *)mailbox_take(&g->mail);
    while (c) {
        struct gi_cmd *next = (struct gi_cmd *)c->link.next;
        struct gi_guest **pp = &g->guests;
        while (*pp && ((*pp)->domid != c->g.domid || strcmp((*pp)->vm_id, c->g.vm_id) != 0))
            pp = &(*pp)->next;
        if (c->watch && !*pp) {
            struct gi_guest *q = xmalloc(sizeof(*q));
            *q = c->g;
            q->next = g->guests;
            g->guests = q;
            gi_set_watches(g, q, true);
        } else if (!c->watch && *pp) {
            struct gi_guest *q = *pp;
            *pp = q->next;
            gi_set_watches(g, q, false);
            free(q);
        }
        free(c);
        c = next;
    }
}

static void gi_put(struct arena *a, struct val *info, const char *map, const char *key,
                   const char *value)
{
    struct val *m = val_struct_get(info, map);
    if (!m) {
        m = val_struct(a);
        val_struct_add(a, info, map, m);
    }
    val_struct_add(a, m, key, val_string(a, value));
}

/* networks: "<vif>/ip" (the first IPv4 address) and "<vif>/ipv4/<n>". */
static void gi_read_networks(struct xs_client *xs, int domid, struct arena *a, struct val *info)
{
    char path[96], **vifs = NULL, **addrs = NULL;
    size_t nv = 0, na = 0;
    snprintf(path, sizeof(path), "/local/domain/%d/attr/vif", domid);
    if (xs_directory(xs, 0, path, &vifs, &nv, NULL) < 0)
        return;
    for (size_t i = 0; i < nv; i++) {
        snprintf(path, sizeof(path), "/local/domain/%d/attr/vif/%s/ipv4", domid, vifs[i]);
        if (xs_directory(xs, 0, path, &addrs, &na, NULL) < 0)
            continue;
        for (size_t k = 0; k < na; k++) {
            char *value = NULL, apath[128];
            size_t len;
            snprintf(apath, sizeof(apath), "%s/%s", path, addrs[k]);
            if (xs_read(xs, 0, apath, &value, &len, NULL) < 0)
                continue;
            if (k == 0)
                gi_put(a, info, "networks", arena_printf(a, "%s/ip", vifs[i]), value);
            gi_put(a, info, "networks", arena_printf(a, "%s/ipv4/%s", vifs[i], addrs[k]), value);
            free(value);
        }
        free(addrs);
    }
    free(vifs);
}

static struct val *gi_read(struct xs_client *xs, int domid, struct arena *a)
{
    struct val *info = val_struct(a);
    for (size_t i = 0; i < sizeof(gi_keys) / sizeof(gi_keys[0]); i++) {
        char path[96], *value = NULL;
        size_t len;
        snprintf(path, sizeof(path), "/local/domain/%d/%s", domid, gi_keys[i][2]);
        if (xs_read(xs, 0, path, &value, &len, NULL) == 0)
            gi_put(a, info, gi_keys[i][0], gi_keys[i][1], value);
        free(value);
    }
    gi_read_networks(xs, domid, a, info);
    return info;
}

static void gi_refresh(struct xo_guestinfo *g, const struct gi_guest *q)
{
    struct arena *a = arena_new();
    struct val *info = gi_read(g->xs, q->domid, a);
    struct xenopsd *x = g->x;
    bool changed = false;
    pthread_mutex_lock(&x->lock);
    struct xo_vm *vm = hmap_get(x->vms, q->vm_id);
    if (vm && vm->domid == q->domid && info->u.st.n > 0 &&
        (!vm->guest_info || !val_equal(vm->guest_info, info))) {
        free(vm->guest_info);
        vm->guest_info = val_flatten(info);
        vm->guest_updated = (int64_t)time(NULL);
        changed = true;
    }
    pthread_mutex_unlock(&x->lock);
    if (changed)
        xo_updates_post(x->updates, "VM", q->vm_id);
    arena_free(a);
}

/* Reads events until none is left, then the guests they name, and again
 * until a read finds nothing: a reply may carry events behind it into
 * the client's buffer, where poll() cannot see them. False if the
 * connection broke. */
static bool gi_drain(struct xo_guestinfo *g)
{
    for (;;) {
        struct xs_watch_event ev;
        struct xs_error err;
        int rc = xs_watch_next(g->xs, &ev, 0, &err);
        if (rc < 0)
            return false;
        if (rc == 1) {
            for (struct gi_guest *q = g->guests; q; q = q->next) {
                char token[96];
                snprintf(token, sizeof(token), "%s:%d", q->vm_id, q->domid);
                if (strcmp(token, ev.token) == 0)
                    q->dirty = true;
            }
            xs_watch_event_free(&ev);
            continue;
        }
        bool read_any = false;
        for (struct gi_guest *q = g->guests; q; q = q->next) {
            if (q->dirty) {
                q->dirty = false;
                read_any = true;
                gi_refresh(g, q);
            }
        }
        if (!read_any)
            return true;
    }
}

static void gi_connect(struct xo_guestinfo *g)
{
    struct xs_error err = {0};
    g->xs = xs_client_open(g->x->xs_path, &err);
    if (!g->xs)
        return;
    xs_client_set_timeout(g->xs, GI_XS_TIMEOUT_MS);
    for (struct gi_guest *q = g->guests; q; q = q->next)
        gi_set_watches(g, q, true);
}

static void *gi_main(void *arg)
{
    struct xo_guestinfo *g = arg;
    bool lost = false;
    for (;;) {
        if (!g->xs) {
            gi_connect(g);
            /* a new xenstored knows no domain: they are written again */
            if (g->xs && lost)
                xo_on_xenstored_restart(g->x);
            lost = lost && !g->xs;
        }
        gi_take_commands(g);
        if (mailbox_stopped(&g->mail))
            break;
        if (g->xs && !gi_drain(g)) {
            log_warn("guestinfo", "lost xenstored; reconnecting");
            xs_client_close(g->xs);
            g->xs = NULL;
            lost = true;
        }
        struct pollfd fds[2] = {{.fd = g->mail.wake, .events = POLLIN}, {.fd = -1}};
        if (g->xs)
            fds[1] = (struct pollfd){.fd = xs_client_fd(g->xs), .events = POLLIN};
        if (poll(fds, 2, g->xs ? -1 : GI_RECONNECT_MS) < 0 && errno != EINTR)
            break;
    }
    return NULL;
}

int xo_guestinfo_start(struct xo_guestinfo *g)
{
    if (!g->usable || pthread_create(&g->thread, NULL, gi_main, g) != 0)
        return -1;
    g->started = true;
    return 0;
}

void xo_guestinfo_free(struct xo_guestinfo *g)
{
    if (!g)
        return;
    if (g->started) {
        mailbox_stop(&g->mail);
        pthread_join(g->thread, NULL);
    }
    for (struct gi_guest *q = g->guests, *next; q; q = next) {
        next = q->next;
        free(q);
    }
    xs_client_close(g->xs);
    mailbox_destroy(&g->mail);
    free(g);
}
