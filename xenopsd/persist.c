/*
 * persist.c - xenopsd's state across its own restarts: one JSON file per
 * VM in STATE/xenopsd/ holding the VM's registration, its devices and the
 * state of its domain ({vm, state: {power_state, domid, start_time},
 * devices: [{kind, config, plugged}]}).
 *
 * A file is replaced whole (atomic_file.h), so kill -9 at any moment
 * leaves the old version or the new one, never a mix. Callers write
 * before they acknowledge. There is no fsync: like
 * upstream's files in /run, the state describes domains that a host
 * reboot ends anyway.
 */
#include "xenopsd.h"
#include "atomic_file.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XO_FILE_MAX (16 << 20)

/* Called with x->lock held. */
static void xo_persist_format(const struct xo_vm *vm, struct buf *out)
{
    buf_puts(out, "{\"vm\":");
    json_write(out, vm->config);
    buf_puts(out, ",\"state\":{\"power_state\":");
    json_write_string(out, xo_power_name(vm->power), strlen(xo_power_name(vm->power)));
    buf_printf(out, ",\"domid\":%d,\"start_time\":", vm->domid);
    buf_put_int64(out, vm->start_time);
    buf_puts(out, "},\"devices\":[");
    for (size_t i = 0; i < vm->ndevs; i++) {
        const struct xo_dev *d = vm->devs[i];
        buf_printf(out, "%s{\"kind\":\"%s\",\"plugged\":%s,\"config\":", i ? "," : "",
                   xo_dev_kind_name(d->kind), d->plugged ? "true" : "false");
        json_write(out, d->config);
        buf_putc(out, '}');
    }
    buf_puts(out, "]}\n");
}

static char *xo_vm_path(const struct xenopsd *x, const char *id, const char *suffix)
{
    size_t n = strlen(x->vm_dir) + strlen(id) + strlen(suffix) + 8;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s.json%s", x->vm_dir, id, suffix);
    return p;
}

int xo_persist_vm(struct xenopsd *x, struct xo_vm *vm)
{
    struct buf text = BUF_INIT;
    pthread_mutex_lock(&vm->persist_lock);
    pthread_mutex_lock(&x->lock);
    bool removed = vm->removed;
    if (!removed)
        xo_persist_format(vm, &text);
    pthread_mutex_unlock(&x->lock);
    int rc = 0;
    if (!removed) {
        char *path = xo_vm_path(x, vm->id, "");
        rc = atomic_file_write(path, text.data, text.len, false);
        if (rc < 0)
            log_error(vm->id, "cannot save %s: %s", path, strerror(errno));
        free(path);
    }
    pthread_mutex_unlock(&vm->persist_lock);
    buf_free(&text);
    return rc;
}

void xo_persist_remove(struct xenopsd *x, struct xo_vm *vm)
{
    char *path = xo_vm_path(x, vm->id, "");
    if (unlink(path) < 0 && errno != ENOENT)
        log_error(vm->id, "cannot remove %s: %s", path, strerror(errno));
    free(path);
}

static char *xo_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    struct buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < XO_FILE_MAX)
        buf_append(&b, chunk, n);
    fclose(f);
    buf_putc(&b, '\0');
    return buf_detach(&b, len);
}

static int xo_load_state(struct xo_vm *vm, const struct val *state)
{
    const struct val *domid = val_struct_get(state, "domid");
    const struct val *start = val_struct_get(state, "start_time");
    int power = xo_power_parse(val_str(val_struct_get(state, "power_state")));
    if (power < 0 || !domid || domid->type != VAL_INT || !start || start->type != VAL_INT)
        return -1;
    vm->power = (enum xo_power)power;
    vm->domid = (int)domid->u.i;
    vm->start_time = start->u.i;
    bool has_domain = vm->power == XO_RUNNING || vm->power == XO_PAUSED;
    if (has_domain != (vm->domid > 0 && vm->domid < XO_DOMID_LIMIT))
        return -1;
    return 0;
}

/* A device whose id another VM (or an earlier entry) already holds, or
 * that names another VM: a file edited by hand or a bug. Only the device
 * is dropped, not its VM, which may be running. */
static bool xo_load_dev_conflicts(struct xenopsd *x, const struct xo_vm *vm, const struct xo_dev *d)
{
    if (!hmap_get(x->devs, d->id) && strcmp(d->vm_id, vm->id) == 0)
        return false;
    log_error(vm->id, "%s %s (%s) is another VM's or a duplicate: dropped from this VM",
              xo_dev_kind_name(d->kind), d->id, d->device);
    return true;
}

static int xo_load_devices(struct xenopsd *x, struct xo_vm *vm, const struct val *devs,
                           struct arena *a)
{
    if (!devs || devs->type != VAL_ARRAY)
        return -1;
    for (size_t i = 0; i < devs->u.arr.n; i++) {
        const struct val *e = devs->u.arr.items[i];
        const char *kind = val_str(val_struct_get(e, "kind"));
        const struct val *plugged = val_struct_get(e, "plugged");
        struct val *err = NULL;
        struct xo_dev *d = kind ? xo_dev_from_config(strcmp(kind, "VIF") == 0 ? XO_VIF : XO_VBD,
                                                     val_struct_get(e, "config"), a, &err)
                                : NULL;
        if (!d || !plugged || plugged->type != VAL_BOOL) {
            xo_dev_free(d);
            return -1;
        }
        if (xo_load_dev_conflicts(x, vm, d)) {
            xo_dev_free(d);
            continue;
        }
        d->plugged = plugged->u.b && vm->domid > 0;
        xo_vm_attach_dev(vm, d);
        hmap_put(x->devs, d->id, d);
    }
    return 0;
}

static void xo_drop_devices(struct xenopsd *x, struct xo_vm *vm)
{
    for (size_t i = 0; i < vm->ndevs; i++)
        hmap_del(x->devs, vm->devs[i]->id);
}

/* One file; a bad one is renamed <id>.json.bad and left for a human. */
static void xo_load_one(struct xenopsd *x, const char *name)
{
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/%s", x->vm_dir, name);
    size_t len = 0;
    char *text = xo_read_file(path.data, &len);
    struct arena *a = arena_new();
    struct val *doc = NULL, *err = NULL;
    const char *perr = NULL;
    struct xo_vm *vm = NULL;
    if (text && json_parse(a, text, len ? len - 1 : 0, &doc, &perr) == 0)
        vm = xo_vm_from_config(val_struct_get(doc, "vm"), a, &err);
    bool ok = vm && !hmap_get(x->vms, vm->id) && strncmp(name, vm->id, strlen(vm->id)) == 0 &&
              xo_load_state(vm, val_struct_get(doc, "state")) == 0 &&
              xo_load_devices(x, vm, val_struct_get(doc, "devices"), a) == 0;
    if (ok) {
        hmap_put(x->vms, vm->id, vm);
    } else {
        log_error(NULL, "%s is not a VM's state; moved to %s.bad", path.data, name);
        if (vm)
            xo_drop_devices(x, vm);
        xo_vm_free(vm);
        struct buf bad = BUF_INIT;
        buf_printf(&bad, "%s.bad", path.data);
        rename(path.data, bad.data);
        buf_free(&bad);
    }
    arena_free(a);
    free(text);
    buf_free(&path);
}

static bool xo_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

int xo_persist_load(struct xenopsd *x)
{
    DIR *d = opendir(x->vm_dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (xo_has_suffix(e->d_name, ".json")) {
            xo_load_one(x, e->d_name);
        } else if (strstr(e->d_name, ".json" ATOMIC_FILE_TMP) ||
                   xo_has_suffix(e->d_name, ".json.tmp")) {
            /* A write that a crash cut short; the .json beside it holds. */
            struct buf p = BUF_INIT;
            buf_printf(&p, "%s/%s", x->vm_dir, e->d_name);
            unlink(p.data);
            buf_free(&p);
        }
    }
    closedir(d);
    log_info(NULL, "%zu VMs loaded from %s", hmap_count(x->vms), x->vm_dir);
    return 0;
}
