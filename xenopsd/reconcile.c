/*
 * reconcile.c - xenopsd coming back up: the VMs' files say which domains
 * exist, and xenstore and the backend are brought to agree with them.
 * A running VM keeps its domid: the backend takes the domain back, and
 * its xenstore tree is rewritten if it is missing (xenstored restarted
 * too) or was left half-done. Trees of domains no file owns are what an
 * operation cut short by a crash left behind, and are removed.
 */
#include "xenopsd.h"
#include "guestinfo.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int xo_tree_restore(struct xs_client *xs, const char *vm_id, const struct xstree_domain *tree,
                    const struct xstree_device *devs, size_t n, struct xs_error *e)
{
    if (xstree_domain_intact(xs, tree->domid, vm_id))
        return 0;
    if (xstree_domain_write(xs, tree, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (xstree_device_write(xs, tree->domid, &devs[i], e) < 0)
            return -1;
    log_info(vm_id, "rewrote the xenstore tree of domain %d", tree->domid);
    return 1;
}

/* Rewrites a running VM's tree if it is not intact. Called with no lock:
 * nothing else runs yet. */
static int xo_restore_tree(struct xenopsd *x, struct xs_client *xs, struct xo_vm *vm,
                           struct arena *a)
{
    struct xo_domain_spec spec;
    struct xstree_domain tree;
    struct xstree_device *devs;
    xo_vm_spec(vm, a, &spec, &tree);
    size_t n = xo_vm_plugged_trees(vm, a, &devs);
    struct xs_error e = {0};
    if (xo_tree_restore(xs, vm->id, &tree, devs, n, &e) >= 0)
        return 0;
    log_error(vm->id, "cannot restore domain %d in xenstore: %s", vm->domid, e.name);
    return -1;
}

static void xo_restore_vm(struct xenopsd *x, struct xs_client *xs, struct xo_vm *vm)
{
    if (vm->power != XO_RUNNING && vm->power != XO_PAUSED)
        return;
    struct arena *a = arena_new();
    struct xo_domain_spec spec;
    struct xstree_domain tree;
    struct val *err = NULL;
    xo_vm_spec(vm, a, &spec, &tree);
    int rc = xo_restore_tree(x, xs, vm, a);
    if (rc == 0)
        rc = x->backend.ops->domain_adopt(x->backend.impl, &spec, vm->domid, vm->power == XO_PAUSED,
                                          a, &err);
    if (rc == 0) {
        for (size_t i = 0; i < vm->ndevs; i++)
            if (vm->devs[i]->plugged)
                x->backend.ops->device_add(x->backend.impl, vm->domid,
                                           vm->devs[i]->kind == XO_VIF ? "vif" : "vbd",
                                           vm->devs[i]->devid, a, &err);
        xo_guestinfo_watch(x->guestinfo, vm->id, vm->domid);
    } else {
        /* Its domain cannot come back: the VM is halted, not lost. */
        log_error(vm->id, "domain %d cannot be taken back: %s", vm->domid,
                  err ? val_str(err->u.arr.items[err->u.arr.n - 1]) : "xenstore");
        xstree_domain_remove(xs, vm->domid, vm->id, NULL);
        vm->power = XO_HALTED;
        vm->domid = -1;
        vm->start_time = 0;
        for (size_t i = 0; i < vm->ndevs; i++)
            vm->devs[i]->plugged = false;
        xo_persist_vm(x, vm);
    }
    arena_free(a);
}

static bool xo_owns_domid(struct xenopsd *x, int domid)
{
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(x->vms, &it, &key, &value);)
        if (((struct xo_vm *)value)->domid == domid)
            return true;
    return false;
}

static void xo_remove_orphans(struct xenopsd *x, struct xs_client *xs)
{
    int *domids = NULL;
    size_t n = 0;
    if (xstree_domids(xs, &domids, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (xo_owns_domid(x, domids[i]))
                continue;
            log_info(NULL, "removing domain %d, which no VM owns", domids[i]);
            xstree_domain_remove(xs, domids[i], NULL, NULL);
        }
    }
    free(domids);
    char **names = NULL;
    if (xstree_vm_ids(xs, &names, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            struct xo_vm *vm = hmap_get(x->vms, names[i]);
            if (vm && vm->domid > 0)
                continue;
            char path[96];
            snprintf(path, sizeof(path), "/vm/%s", names[i]);
            xs_rm(xs, 0, path, NULL);
        }
    }
    free(names);
}

int xo_reconcile(struct xenopsd *x, struct xs_client *xs)
{
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(x->vms, &it, &key, &value);)
        xo_restore_vm(x, xs, value);
    xo_remove_orphans(x, xs);
    for (size_t it = 0; hmap_next(x->vms, &it, &key, &value);)
        xo_updates_post(x->updates, "VM", key);
    return 0;
}
