/*
 * xstree.c - the per-domain xenstore layout (see xstree.h). Writers carry
 * a sticky error (struct xt): after the first failure every later step is
 * skipped, so a tree is one straight list of writes with one check at
 * the end.
 */
#include "xstree.h"
#include "buf.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XT_TXN_TRIES 32

struct xt {
    struct xs_client *xs;
    uint32_t tx;
    struct xs_error *err;
    int rc;
    struct buf path;
};

enum xt_op { XT_WRITE, XT_DIR, XT_RM };

/* One step: the path is formatted from fmt; value is XT_WRITE's, owner
 * and reader (-1: none) XT_DIR's permissions. */
static void xt_apply(struct xt *t, enum xt_op op, const char *value, uint32_t owner, int reader,
                     const char *fmt, va_list ap)
{
    if (t->rc < 0)
        return;
    buf_reset(&t->path);
    buf_vprintf(&t->path, fmt, ap);
    const char *p = t->path.data;
    struct xs_perm perms[2] = {{owner, 'n'}, {(uint32_t)reader, 'r'}};
    struct xs_error e;
    switch (op) {
    case XT_WRITE:
        t->rc = xs_write(t->xs, t->tx, p, value, strlen(value), t->err);
        break;
    case XT_DIR:
        t->rc = xs_mkdir(t->xs, t->tx, p, t->err);
        if (t->rc == 0)
            t->rc = xs_set_perms(t->xs, t->tx, p, perms, reader >= 0 ? 2 : 1, t->err);
        break;
    case XT_RM:
        /* Removing what is not there is fine. */
        if (xs_rm(t->xs, t->tx, p, &e) < 0 && e.errnum != ENOENT) {
            if (t->err)
                *t->err = e;
            t->rc = -1;
        }
        break;
    }
}

static void xt_write(struct xt *t, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xt_write(struct xt *t, const char *value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xt_apply(t, XT_WRITE, value, 0, -1, fmt, ap);
    va_end(ap);
}

static void xt_writei(struct xt *t, int64_t value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xt_writei(struct xt *t, int64_t value, const char *fmt, ...)
{
    char text[24];
    snprintf(text, sizeof(text), "%" PRId64, value);
    va_list ap;
    va_start(ap, fmt);
    xt_apply(t, XT_WRITE, text, 0, -1, fmt, ap);
    va_end(ap);
}

/* A directory with its permissions: owner first, then one reader. */
static void xt_dir(struct xt *t, uint32_t owner, int reader, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void xt_dir(struct xt *t, uint32_t owner, int reader, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xt_apply(t, XT_DIR, NULL, owner, reader, fmt, ap);
    va_end(ap);
}

static void xt_rm(struct xt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xt_rm(struct xt *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xt_apply(t, XT_RM, NULL, 0, -1, fmt, ap);
    va_end(ap);
}

typedef void (*xt_body_fn)(struct xt *t, const void *arg);

/* Runs body in a transaction, again while commits conflict. */
static int xt_transaction(struct xs_client *xs, xt_body_fn body, const void *arg,
                          struct xs_error *err)
{
    struct xt t = {.xs = xs, .err = err};
    int rc = -1;
    for (int i = 0; i < XT_TXN_TRIES; i++) {
        if (xs_transaction_start(xs, &t.tx, err) < 0)
            break;
        t.rc = 0;
        body(&t, arg);
        if (t.rc < 0) {
            xs_transaction_end(xs, t.tx, false, NULL);
            break;
        }
        if (xs_transaction_end(xs, t.tx, true, err) == 0) {
            rc = 0;
            break;
        }
        if (err && err->errnum != EAGAIN)
            break;
    }
    buf_free(&t.path);
    return rc;
}

/* What the guest follows while it runs: its balloon target and which
 * vCPUs are online. */
static void xt_live_keys(struct xt *t, const struct xstree_domain *d, const char *dom)
{
    xt_writei(t, d->memory_target / 1024, "%s/memory/target", dom);
    for (int n = 0; n < d->vcpus_max; n++)
        xt_write(t, n < d->vcpus ? "online" : "offline", "%s/cpu/%d/availability", dom, n);
}

/* A running domain's vCPUs and balloon target change. */
static void xt_live_body(struct xt *t, const void *arg)
{
    const struct xstree_domain *d = arg;
    char dom[40];
    snprintf(dom, sizeof(dom), "/local/domain/%d", d->domid);
    xt_live_keys(t, d, dom);
}

static void xt_domain_body(struct xt *t, const void *arg)
{
    const struct xstree_domain *d = arg;
    int id = d->domid;
    char dom[40], vm[96];
    snprintf(dom, sizeof(dom), "/local/domain/%d", id);
    snprintf(vm, sizeof(vm), "/vm/%s", d->vm_id);
    xt_rm(t, "%s", dom);
    xt_rm(t, "%s", vm);
    xt_dir(t, 0, id, "%s", dom);
    xt_write(t, d->name, "%s/name", dom);
    xt_writei(t, id, "%s/domid", dom);
    xt_write(t, vm, "%s/vm", dom);
    xt_dir(t, 0, id, "%s", vm);
    xt_write(t, d->vm_id, "%s/uuid", vm);
    xt_write(t, d->name, "%s/name", vm);
    xt_write(t, dom, "%s/domains/%d", vm, id);
    xt_writei(t, d->memory_static_max / 1024, "%s/memory/static-max", dom);
    xt_live_keys(t, d, dom);
    /* The guest owns what it writes to: requests it answers, its data. */
    xt_dir(t, (uint32_t)id, -1, "%s/control", dom);
    xt_write(t, "", "%s/control/shutdown", dom);
    xt_write(t, "1", "%s/control/platform-feature-multiprocessor-suspend", dom);
    xt_write(t, "1", "%s/control/platform-feature-xs_reset_watches", dom);
    xt_dir(t, (uint32_t)id, -1, "%s/data", dom);
    xt_dir(t, (uint32_t)id, -1, "%s/attr", dom);
    xt_dir(t, 0, id, "%s/device", dom);
    xt_write(t, "xenconsoled", "%s/console/type", dom);
    xt_write(t, "1048576", "%s/console/limit", dom);
}

int xstree_domain_write(struct xs_client *xs, const struct xstree_domain *d, struct xs_error *err)
{
    /* Introduced last: the guest's socket appears once its tree is whole. */
    if (xt_transaction(xs, xt_domain_body, d, err) < 0)
        return -1;
    return xs_introduce(xs, (uint32_t)d->domid, 0, 0, err);
}

int xstree_domain_live(struct xs_client *xs, const struct xstree_domain *d, struct xs_error *err)
{
    return xt_transaction(xs, xt_live_body, d, err);
}

bool xstree_domain_intact(struct xs_client *xs, int domid, const char *vm_id)
{
    char path[48], want[96];
    snprintf(path, sizeof(path), "/local/domain/%d/vm", domid);
    snprintf(want, sizeof(want), "/vm/%s", vm_id);
    char *value = NULL;
    size_t len = 0;
    bool ok = xs_read(xs, 0, path, &value, &len, NULL) == 0 && strcmp(value, want) == 0;
    free(value);
    bool introduced = false;
    return ok && xs_is_domain_introduced(xs, (uint32_t)domid, &introduced, NULL) == 0 && introduced;
}

struct xt_remove {
    int domid;
    const char *vm_id;
};

static void xt_remove_body(struct xt *t, const void *arg)
{
    const struct xt_remove *r = arg;
    xt_rm(t, "/local/domain/%d", r->domid);
    xt_rm(t, "/local/domain/0/backend/vbd/%d", r->domid);
    xt_rm(t, "/local/domain/0/backend/vif/%d", r->domid);
    if (r->vm_id)
        xt_rm(t, "/vm/%s", r->vm_id);
}

int xstree_domain_remove(struct xs_client *xs, int domid, const char *vm_id, struct xs_error *err)
{
    struct xt_remove r = {domid, vm_id};
    if (xt_transaction(xs, xt_remove_body, &r, err) < 0)
        return -1;
    struct xs_error e;
    if (xs_release(xs, (uint32_t)domid, &e) < 0 && e.errnum != ENOENT) {
        if (err)
            *err = e;
        return -1;
    }
    return 0;
}

int xstree_vbd_devid(const char *device, int position)
{
    if (device && strncmp(device, "xvd", 3) == 0 && device[3] >= 'a' && device[3] <= 'z' &&
        device[4] == '\0')
        return 202 << 8 | (device[3] - 'a') << 4;
    return 202 << 8 | (position & 0xf) << 4;
}

struct xt_device {
    int domid;
    const struct xstree_device *dev;
};

static void xt_vbd_body(struct xt *t, const struct xstree_device *v, const char *fe, const char *be)
{
    bool cd = v->type && strcmp(v->type, "CD") == 0;
    xt_write(t, cd ? "cdrom" : "disk", "%s/device-type", fe);
    xt_writei(t, v->devid, "%s/virtual-device", fe);
    xt_write(t, v->params ? v->params : "", "%s/params", be);
    xt_write(t, v->mode && strcmp(v->mode, "RO") == 0 ? "r" : "w", "%s/mode", be);
    xt_write(t, "phy", "%s/type", be);
    xt_write(t, v->device ? v->device : "", "%s/dev", be);
    xt_write(t, cd ? "cdrom" : "disk", "%s/device-type", be);
    xt_write(t, cd ? "1" : "0", "%s/removable", be);
}

static void xt_vif_body(struct xt *t, const struct xstree_device *v, const char *fe, const char *be)
{
    xt_writei(t, v->devid, "%s/handle", fe);
    xt_write(t, v->mac ? v->mac : "", "%s/mac", fe);
    xt_writei(t, v->devid, "%s/handle", be);
    xt_write(t, v->mac ? v->mac : "", "%s/mac", be);
    xt_writei(t, v->mtu, "%s/mtu", be);
    xt_write(t, v->bridge ? v->bridge : "", "%s/bridge", be);
}

/* Frontend under the guest (owned by it, readable by the backend, dom0);
 * backend under dom0 (readable by the guest); each points at the other. */
static void xt_device_body(struct xt *t, const void *arg)
{
    const struct xt_device *d = arg;
    const struct xstree_device *v = d->dev;
    const char *kind = v->vif ? "vif" : "vbd";
    int id = d->domid;
    char fe[64], be[80];
    snprintf(fe, sizeof(fe), "/local/domain/%d/device/%s/%d", id, kind, v->devid);
    snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%d/%d", kind, id, v->devid);
    xt_rm(t, "%s", fe);
    xt_rm(t, "%s", be);
    xt_dir(t, (uint32_t)id, 0, "%s", fe);
    xt_write(t, be, "%s/backend", fe);
    xt_write(t, "0", "%s/backend-id", fe);
    xt_write(t, "4", "%s/state", fe);
    xt_dir(t, 0, id, "%s", be);
    xt_write(t, fe, "%s/frontend", be);
    xt_writei(t, id, "%s/frontend-id", be);
    xt_write(t, "1", "%s/online", be);
    xt_write(t, "4", "%s/state", be);
    if (v->vif)
        xt_vif_body(t, v, fe, be);
    else
        xt_vbd_body(t, v, fe, be);
}

int xstree_device_write(struct xs_client *xs, int domid, const struct xstree_device *dev,
                        struct xs_error *err)
{
    struct xt_device d = {domid, dev};
    return xt_transaction(xs, xt_device_body, &d, err);
}

struct xt_device_rm {
    int domid;
    bool vif;
    int devid;
};

static void xt_device_rm_body(struct xt *t, const void *arg)
{
    const struct xt_device_rm *d = arg;
    const char *kind = d->vif ? "vif" : "vbd";
    xt_rm(t, "/local/domain/%d/device/%s/%d", d->domid, kind, d->devid);
    xt_rm(t, "/local/domain/0/backend/%s/%d/%d", kind, d->domid, d->devid);
}

int xstree_device_remove(struct xs_client *xs, int domid, bool vif, int devid, struct xs_error *err)
{
    struct xt_device_rm d = {domid, vif, devid};
    return xt_transaction(xs, xt_device_rm_body, &d, err);
}

int xstree_shutdown_request(struct xs_client *xs, int domid, const char *reason,
                            struct xs_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/local/domain/%d/control/shutdown", domid);
    return xs_write(xs, 0, path, reason, strlen(reason), err);
}

int xstree_domids(struct xs_client *xs, int **domids, size_t *n, struct xs_error *err)
{
    char **names = NULL;
    size_t count = 0;
    *domids = NULL;
    *n = 0;
    struct xs_error e;
    if (xs_directory(xs, 0, "/local/domain", &names, &count, &e) < 0) {
        if (e.errnum == ENOENT)
            return 0;
        if (err)
            *err = e;
        return -1;
    }
    *domids = xcalloc(count ? count : 1, sizeof(int));
    for (size_t i = 0; i < count; i++) {
        char *end;
        long id = strtol(names[i], &end, 10);
        if (*end == '\0' && id > 0)
            (*domids)[(*n)++] = (int)id;
    }
    free(names);
    return 0;
}

int xstree_vm_ids(struct xs_client *xs, char ***names, size_t *n, struct xs_error *err)
{
    struct xs_error e;
    *names = NULL;
    *n = 0;
    if (xs_directory(xs, 0, "/vm", names, n, &e) == 0 || e.errnum == ENOENT)
        return 0;
    if (err)
        *err = e;
    return -1;
}
