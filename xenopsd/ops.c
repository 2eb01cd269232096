/*
 * ops.c - what each queued operation does, on a worker, with its VM to
 * itself (the queue guarantees it). The order inside each operation is
 * the crash-safety argument: the VM's file changes at the one point where
 * the operation takes effect, with the domain already made (start,
 * resume) or before it is torn down (shutdown, suspend). xenstore follows
 * the file: at start, xo_reconcile removes the trees of domains no file
 * owns and rewrites those of domains a file owns, so kill -9 anywhere
 * leaves each VM either as before the operation or as after it.
 */
#include "xenopsd.h"
#include "clock.h"
#include "guestinfo.h"
#include "buf.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define XO_BACKEND(x) ((x)->backend.ops)
#define XO_IMPL(x) ((x)->backend.impl)

/* A domain made for a VM, and the devices plugged into it. */
struct xo_made {
    int domid;
    size_t ndevs;
    const char **dev_ids;
};

static void op_progress(const struct xo_op *op, struct xenopsd *x, double p)
{
    if (op->task)
        xo_task_progress(x->tasks, op->task, p);
}

static bool op_cancelled(const struct xo_op *op)
{
    return op->task && xo_task_cancelled(op->task);
}

static int op_cancel_error(const struct xo_op *op, struct arena *a, struct val **err)
{
    return xo_fail(a, err, "TASK_CANCELLED", xo_task_id(op->task), NULL);
}

/* Checks the VM's power state for a; *domid gets its domain. */
static int op_check(struct xenopsd *x, struct xo_vm *vm, enum xo_action act, int *domid,
                    enum xo_power *power, struct arena *a, struct val **err)
{
    pthread_mutex_lock(&x->lock);
    int rc = xo_lifecycle_check(act, vm->id, vm->power, a, err);
    if (domid)
        *domid = vm->domid;
    if (power)
        *power = vm->power;
    pthread_mutex_unlock(&x->lock);
    return rc;
}

/* Takes a domain's tree out of xenstore and ends it. Best effort: what
 * is left over, xo_reconcile removes at the next start. */
static void op_domain_unmake(struct xo_worker *w, const char *vm_id, int domid)
{
    struct xenopsd *x = xo_worker_ctx(w);
    xo_guestinfo_unwatch(x->guestinfo, vm_id, domid);
    struct arena *a = arena_new();
    struct val *err = NULL;
    struct xs_client *xs = xo_worker_xs(w, a, &err);
    struct xs_error e;
    if (xs && xstree_domain_remove(xs, domid, vm_id, &e) < 0) {
        xo_worker_xs_fail(w, &e, a, &err);
        log_warn(vm_id, "cannot remove domain %d from xenstore: %s", domid, e.name);
    }
    XO_BACKEND(x)->domain_destroy(XO_IMPL(x), domid);
    arena_free(a);
}

static int op_plug_all(struct xo_worker *w, struct xs_client *xs, int domid,
                       const struct xstree_device *devs, size_t n, struct arena *a,
                       struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    for (size_t i = 0; i < n; i++) {
        struct xs_error e;
        if (xstree_device_write(xs, domid, &devs[i], &e) < 0)
            return xo_worker_xs_fail(w, &e, a, err);
        if (XO_BACKEND(x)->device_add(XO_IMPL(x), domid, devs[i].vif ? "vif" : "vbd", devs[i].devid,
                                      a, err) < 0)
            return -1;
    }
    return 0;
}

/* A new paused domain for vm, described in xenstore, its devices
 * plugged. On failure nothing is left behind. */
static int op_domain_make(struct xo_worker *w, struct xo_vm *vm, struct xo_made *made,
                          struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_domain_spec spec;
    struct xstree_domain tree;
    pthread_mutex_lock(&x->lock);
    xo_vm_spec(vm, a, &spec, &tree);
    struct xstree_device *devs = arena_alloc(a, (vm->ndevs + 1) * sizeof(*devs));
    made->dev_ids = arena_alloc(a, (vm->ndevs + 1) * sizeof(*made->dev_ids));
    made->ndevs = vm->ndevs;
    for (size_t i = 0; i < vm->ndevs; i++) {
        xo_dev_tree(vm->devs[i], a, &devs[i]);
        made->dev_ids[i] = arena_strdup(a, vm->devs[i]->id);
    }
    pthread_mutex_unlock(&x->lock);
    struct xs_client *xs = xo_worker_xs(w, a, err);
    if (!xs || XO_BACKEND(x)->domain_create(XO_IMPL(x), &spec, &made->domid, a, err) < 0)
        return -1;
    tree.domid = made->domid;
    struct xs_error e;
    int rc = XO_BACKEND(x)->domain_build(XO_IMPL(x), made->domid, a, err);
    if (rc == 0 && xstree_domain_write(xs, &tree, &e) < 0)
        rc = xo_worker_xs_fail(w, &e, a, err);
    if (rc == 0)
        rc = op_plug_all(w, xs, made->domid, devs, made->ndevs, a, err);
    if (rc < 0)
        op_domain_unmake(w, spec.vm_id, made->domid);
    return rc;
}

/* A VM's state before op_commit changed it, to put back if its file
 * cannot be written. */
struct op_state {
    enum xo_power power;
    int domid;
    int64_t start_time;
};

/* Called with x->lock held: the VM takes its new state in memory; the
 * devices whose plugged flag changed go to changed as (id, kind) pairs. */
static struct op_state op_state_set(struct xo_vm *vm, enum xo_power power, int domid,
                                    const struct xo_made *made, struct val *changed,
                                    struct arena *a)
{
    struct op_state old = {vm->power, vm->domid, vm->start_time};
    vm->power = power;
    vm->domid = domid;
    if (domid < 0)
        vm->start_time = 0;
    else if (made)
        vm->start_time = (int64_t)time(NULL);
    for (size_t i = 0; i < vm->ndevs; i++) {
        struct xo_dev *d = vm->devs[i];
        bool plugged = d->plugged;
        if (domid < 0)
            plugged = false;
        for (size_t k = 0; made && k < made->ndevs; k++)
            if (strcmp(made->dev_ids[k], d->id) == 0)
                plugged = true;
        if (plugged != d->plugged) {
            d->plugged = plugged;
            val_array_push(a, changed, val_string(a, d->id));
            val_array_push(a, changed, val_string(a, xo_dev_kind_name(d->kind)));
        }
    }
    return old;
}

/* Called with x->lock held: undoes op_state_set. */
static void op_state_restore(struct xo_vm *vm, const struct op_state *old,
                             const struct val *changed)
{
    vm->power = old->power;
    vm->domid = old->domid;
    vm->start_time = old->start_time;
    for (size_t i = 0; i + 1 < changed->u.arr.n; i += 2)
        for (size_t k = 0; k < vm->ndevs; k++)
            if (strcmp(vm->devs[k]->id, val_str(changed->u.arr.items[i])) == 0)
                vm->devs[k]->plugged = !vm->devs[k]->plugged;
}

/*
 * The VM takes its new state: in memory, then in its file, then as
 * updates. made non-NULL: a new domain, with those devices plugged;
 * domid -1: no domain, nothing plugged. If the file cannot be written
 * the VM is left as it was (INTERNAL_ERROR): its file is what a restart
 * believes, so the caller must undo what it did to the domain.
 */
static int op_commit(struct xenopsd *x, struct xo_vm *vm, enum xo_power power, int domid,
                     const struct xo_made *made, struct arena *a, struct val **err)
{
    struct val *changed = val_array(a);
    pthread_mutex_lock(&x->lock);
    struct op_state old = op_state_set(vm, power, domid, made, changed, a);
    pthread_mutex_unlock(&x->lock);
    bool saved = xo_persist_vm(x, vm) == 0;
    pthread_mutex_lock(&x->lock);
    if (!saved) {
        op_state_restore(vm, &old, changed);
    } else if (old.domid != domid) {
        free(vm->guest_info);
        vm->guest_info = NULL;
        vm->guest_updated = 0;
    }
    pthread_mutex_unlock(&x->lock);
    if (!saved) /* the record is as it was; the caller undoes the domain */
        return xo_fail(a, err, "INTERNAL_ERROR", "cannot save the VM's state", NULL);
    xo_updates_post(x->updates, "VM", vm->id);
    for (size_t i = 0; i + 1 < changed->u.arr.n; i += 2)
        xo_updates_post(x->updates, val_str(changed->u.arr.items[i + 1]),
                        val_str(changed->u.arr.items[i]));
    return 0;
}

/* The domain runs: guest information starts to flow. */
static int op_run(struct xo_worker *w, struct xo_vm *vm, int domid, struct arena *a,
                  struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    xo_guestinfo_watch(x->guestinfo, vm->id, domid);
    return XO_BACKEND(x)->domain_unpause(XO_IMPL(x), domid, a, err);
}

static int op_start(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    struct xo_made made;
    if (op_check(x, vm, XO_ACT_START, NULL, NULL, a, err) < 0)
        return -1;
    op_progress(op, x, 0.1);
    if (op_domain_make(w, vm, &made, a, err) < 0)
        return -1;
    op_progress(op, x, 0.7);
    if (op_cancelled(op)) {
        op_domain_unmake(w, vm->id, made.domid);
        return op_cancel_error(op, a, err);
    }
    if (op_commit(x, vm, op->paused ? XO_PAUSED : XO_RUNNING, made.domid, &made, a, err) < 0) {
        op_domain_unmake(w, vm->id, made.domid);
        return -1;
    }
    if (!op->paused)
        return op_run(w, vm, made.domid, a, err);
    xo_guestinfo_watch(x->guestinfo, vm->id, made.domid);
    return 0;
}

/* Asks the guest through control/shutdown and waits up to timeout_ms
 * for it to go. XO_SR_NONE if it did not (or the task was cancelled;
 * the request is then withdrawn). */
static enum xo_shutdown_reason op_ask_guest(struct xo_worker *w, struct xo_op *op, int domid,
                                            const char *request, int64_t timeout_ms,
                                            struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xs_client *xs = xo_worker_xs(w, a, err);
    struct xs_error e;
    if (!xs || xstree_shutdown_request(xs, domid, request, &e) < 0) {
        if (xs)
            xo_worker_xs_fail(w, &e, a, err);
        return XO_SR_NONE;
    }
    static const atomic_bool never = false;
    enum xo_shutdown_reason r =
        XO_BACKEND(x)->domain_wait_shutdown(XO_IMPL(x), domid, clock_now_ms() + timeout_ms,
                                            op->task ? xo_task_cancel_flag(op->task) : &never);
    if (r == XO_SR_NONE && (xs = xo_worker_xs(w, a, err)) != NULL)
        xstree_shutdown_request(xs, domid, "", &e);
    return r;
}

/* The domain is over (shut down, or about to be destroyed): the VM is
 * halted (or suspended) first on disk, then the domain goes. If the disk
 * says no, the domain stays, with the VM as it was. */
static int op_halt(struct xo_worker *w, struct xo_vm *vm, enum xo_power power, int domid,
                   struct arena *a, struct val **err)
{
    if (op_commit(xo_worker_ctx(w), vm, power, -1, NULL, a, err) < 0)
        return -1;
    op_domain_unmake(w, vm->id, domid);
    return 0;
}

static int op_shutdown(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    bool hard = op->timeout_s < 0;
    int domid;
    enum xo_power power;
    if (op_check(x, vm, hard ? XO_ACT_HARD_SHUTDOWN : XO_ACT_SHUTDOWN, &domid, &power, a, err) < 0)
        return -1;
    if (power == XO_SUSPENDED)
        return op_commit(x, vm, XO_HALTED, -1, NULL, a, err);
    if (!hard) {
        op_progress(op, x, 0.1);
        if (op_ask_guest(w, op, domid, "poweroff", op->timeout_s * 1000, a, err) == XO_SR_NONE) {
            if (op_cancelled(op))
                return op_cancel_error(op, a, err);
            log_info(vm->id, "the guest did not shut down within %llds: hard shutdown",
                     (long long)op->timeout_s);
        }
    }
    op_progress(op, x, 0.5);
    return op_halt(w, vm, XO_HALTED, domid, a, err);
}

/* The old domain is gone (or going): a new one takes its place. If none
 * can, the VM is halted (on disk if the disk lets it: a VM left
 * "Running" on a dead domain still takes a hard shutdown). */
static int op_rebuild(struct xo_worker *w, struct xo_vm *vm, int old_domid, struct arena *a,
                      struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_made made;
    struct val *ignored = NULL;
    op_domain_unmake(w, vm->id, old_domid);
    if (op_domain_make(w, vm, &made, a, err) < 0) {
        op_commit(x, vm, XO_HALTED, -1, NULL, a, &ignored);
        return -1;
    }
    if (op_commit(x, vm, XO_RUNNING, made.domid, &made, a, err) < 0) {
        op_domain_unmake(w, vm->id, made.domid);
        op_commit(x, vm, XO_HALTED, -1, NULL, a, &ignored);
        return -1;
    }
    return op_run(w, vm, made.domid, a, err);
}

/* The guest left on its own, or for another reason than it was asked:
 * do what Xen's on_reboot and on_poweroff (and on_crash) actions do. */
static int op_follow_guest(struct xo_worker *w, struct xo_vm *vm, int domid,
                           enum xo_shutdown_reason reason, struct arena *a, struct val **err)
{
    if (reason == XO_SR_REBOOT)
        return op_rebuild(w, vm, domid, a, err);
    return op_halt(w, vm, XO_HALTED, domid, a, err);
}

static int op_reboot(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    bool hard = op->timeout_s < 0;
    int domid;
    if (op_check(x, vm, hard ? XO_ACT_HARD_REBOOT : XO_ACT_REBOOT, &domid, NULL, a, err) < 0)
        return -1;
    if (!hard) {
        op_progress(op, x, 0.1);
        if (op_ask_guest(w, op, domid, "reboot", op->timeout_s * 1000, a, err) == XO_SR_NONE) {
            if (op_cancelled(op))
                return op_cancel_error(op, a, err);
            log_info(vm->id, "the guest did not reboot within %llds: hard reboot",
                     (long long)op->timeout_s);
        }
    }
    op_progress(op, x, 0.5);
    return op_rebuild(w, vm, domid, a, err);
}

/* What the suspend image carries besides the (simulated) memory. */
static const char *op_image_metadata(struct xenopsd *x, struct xo_vm *vm, struct arena *a)
{
    struct buf b = BUF_INIT;
    pthread_mutex_lock(&x->lock);
    json_write(&b, vm->config);
    pthread_mutex_unlock(&x->lock);
    const char *text = arena_strdup(a, b.data);
    buf_free(&b);
    return text;
}

static int op_suspend(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    int domid;
    if (op_check(x, vm, XO_ACT_SUSPEND, &domid, NULL, a, err) < 0)
        return -1;
    /* Refuse before the guest stops, not after: it could not come back. */
    char *dir = dirname(arena_strdup(a, op->path));
    if (access(dir, W_OK) != 0)
        return xo_fail(
            a, err, "INTERNAL_ERROR",
            arena_printf(a, "cannot write the suspend image in %s: %s", dir, strerror(errno)),
            NULL);
    op_progress(op, x, 0.1);
    enum xo_shutdown_reason r = op_ask_guest(w, op, domid, "suspend", x->suspend_ack_ms, a, err);
    if (r == XO_SR_NONE) {
        if (*err)
            return -1;
        if (op_cancelled(op))
            return op_cancel_error(op, a, err);
        return xo_fail(a, err, "VM_FAILED_SUSPEND_ACKNOWLEDGMENT", vm->id, NULL);
    }
    struct val *ignored = NULL;
    if (r != XO_SR_SUSPEND) {
        /* It powered off, rebooted or crashed instead: nobody else will
         * follow it (the worker was its waiter), and no image exists. */
        log_info(vm->id, "the guest left for another reason (%d) than suspend", (int)r);
        op_follow_guest(w, vm, domid, r, a, &ignored);
        return xo_fail(a, err, "VM_FAILED_SUSPEND_ACKNOWLEDGMENT", vm->id, NULL);
    }
    op_progress(op, x, 0.5);
    const char *meta = op_image_metadata(x, vm, a);
    if (XO_BACKEND(x)->suspend_image(XO_IMPL(x), domid, op->path, meta, a, err) < 0) {
        /* The guest has gone: without an image it is lost. */
        op_halt(w, vm, XO_HALTED, domid, a, &ignored);
        return -1;
    }
    return op_halt(w, vm, XO_SUSPENDED, domid, a, err);
}

static int op_resume(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    const char *meta;
    struct xo_made made;
    if (op_check(x, vm, XO_ACT_RESUME, NULL, NULL, a, err) < 0 ||
        XO_BACKEND(x)->resume_image(XO_IMPL(x), op->path, vm->id, &meta, a, err) < 0)
        return -1;
    op_progress(op, x, 0.3);
    if (op_domain_make(w, vm, &made, a, err) < 0)
        return -1;
    if (op_commit(x, vm, XO_RUNNING, made.domid, &made, a, err) < 0) {
        op_domain_unmake(w, vm->id, made.domid);
        return -1;
    }
    return op_run(w, vm, made.domid, a, err);
}

static int op_pause(struct xo_worker *w, struct xo_op *op, bool pause, struct arena *a,
                    struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    int domid;
    if (op_check(x, vm, pause ? XO_ACT_PAUSE : XO_ACT_UNPAUSE, &domid, NULL, a, err) < 0)
        return -1;
    int (*set)(void *, int, struct arena *, struct val **) =
        pause ? XO_BACKEND(x)->domain_pause : XO_BACKEND(x)->domain_unpause;
    int (*undo)(void *, int, struct arena *, struct val **) =
        pause ? XO_BACKEND(x)->domain_unpause : XO_BACKEND(x)->domain_pause;
    if (set(XO_IMPL(x), domid, a, err) < 0)
        return -1;
    if (op_commit(x, vm, pause ? XO_PAUSED : XO_RUNNING, domid, NULL, a, err) < 0) {
        struct val *ignored = NULL;
        undo(XO_IMPL(x), domid, a, &ignored);
        return -1;
    }
    return 0;
}

/* The domain's vCPUs and balloon target, as tree says, in xenstore and
 * the backend. */
static int op_live_apply(struct xo_worker *w, const struct xstree_domain *tree, struct arena *a,
                         struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xs_client *xs = xo_worker_xs(w, a, err);
    struct xs_error e;
    if (!xs)
        return -1;
    if (xstree_domain_live(xs, tree, &e) < 0)
        return xo_worker_xs_fail(w, &e, a, err);
    if (XO_BACKEND(x)->domain_set_vcpus(XO_IMPL(x), tree->domid, tree->vcpus, a, err) < 0 ||
        XO_BACKEND(x)->domain_set_target(XO_IMPL(x), tree->domid, tree->memory_target, a, err) < 0)
        return -1;
    return 0;
}

/* A running domain's new vCPUs or balloon target (upstream's balloon
 * aims at dynamic_max when the host has the memory, and the simulator
 * reserved static_max at the start). xenstore first, which the guest
 * follows, then the backend, then the VM's file: kill -9 before the file
 * leaves the old values, which xo_reconcile writes back; a failure on the
 * way puts the old values back. */
static int op_live(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    int domid;
    if (op_check(x, vm, XO_ACT_LIVE, &domid, NULL, a, err) < 0)
        return -1;
    struct xo_domain_spec spec;
    struct xstree_domain tree;
    bool cpus = op->kind == XO_OP_SET_VCPUS;
    pthread_mutex_lock(&x->lock);
    int vcpus = cpus ? op->vcpus : vm->vcpus;
    int64_t dmin = cpus ? vm->memory_dynamic_min : op->mem_min;
    int64_t dmax = cpus ? vm->memory_dynamic_max : op->mem_max;
    int rc = 0;
    if (vcpus < 1 || vcpus > vm->vcpus_max)
        rc = xo_fail(a, err, "INVALID_VALUE", "vcpus", arena_printf(a, "%d", vcpus), NULL);
    else if (dmin < 1 || dmin > dmax || dmax > vm->memory_static_max)
        rc = xo_fail(a, err, "MEMORY_CONSTRAINT_VIOLATION",
                     "0 < memory_dynamic_min <= memory_dynamic_max <= memory_static_max", NULL);
    xo_vm_spec(vm, a, &spec, &tree);
    int old_vcpus = vm->vcpus;
    int64_t old_min = vm->memory_dynamic_min, old_max = vm->memory_dynamic_max;
    pthread_mutex_unlock(&x->lock);
    if (rc < 0)
        return -1;
    tree.domid = domid;
    struct xstree_domain old = tree;
    tree.vcpus = vcpus;
    tree.memory_target = dmax;
    struct val *ignored = NULL;
    if (op_live_apply(w, &tree, a, err) < 0) {
        op_live_apply(w, &old, a, &ignored);
        return -1;
    }
    pthread_mutex_lock(&x->lock);
    xo_vm_set_live(vm, vcpus, dmin, dmax);
    pthread_mutex_unlock(&x->lock);
    if (xo_persist_vm(x, vm) < 0) { /* as before, or a restart would disagree */
        pthread_mutex_lock(&x->lock);
        xo_vm_set_live(vm, old_vcpus, old_min, old_max);
        pthread_mutex_unlock(&x->lock);
        op_live_apply(w, &old, a, &ignored);
        return xo_fail(a, err, "INTERNAL_ERROR", "cannot save the VM's state", NULL);
    }
    xo_updates_post(x->updates, "VM", vm->id);
    log_info(vm->id, "domain %d: %d vCPUs, memory target %lld", domid, vcpus, (long long)dmax);
    return 0;
}

/* xenstored lost every tree (it restarted): the domain's and its plugged
 * devices' are written again and the domain introduced, as xo_reconcile
 * does at xenopsd's own start. Queued like any operation, so it never
 * races one on the same VM. */
static int op_rewrite(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    struct xo_domain_spec spec;
    struct xstree_domain tree;
    struct xstree_device *devs;
    pthread_mutex_lock(&x->lock);
    bool live = vm->power == XO_RUNNING || vm->power == XO_PAUSED;
    xo_vm_spec(vm, a, &spec, &tree);
    size_t n = xo_vm_plugged_trees(vm, a, &devs);
    pthread_mutex_unlock(&x->lock);
    if (!live)
        return 0;
    struct xs_client *xs = xo_worker_xs(w, a, err);
    struct xs_error e;
    if (!xs)
        return -1;
    if (xo_tree_restore(xs, vm->id, &tree, devs, n, &e) < 0)
        return xo_worker_xs_fail(w, &e, a, err);
    return 0;
}

/* Looks up the operation's device and checks it may change as asked;
 * fills *tree and *domid. */
static int op_dev_check(struct xenopsd *x, struct xo_op *op, bool plug, struct xstree_device *tree,
                        int *domid, struct arena *a, struct val **err)
{
    pthread_mutex_lock(&x->lock);
    struct xo_dev *d = hmap_get(x->devs, op->dev_id);
    int rc = 0;
    if (!d || d->kind != op->dev_kind || strcmp(d->vm_id, op->vm->id) != 0)
        rc = xo_fail(a, err, "HANDLE_INVALID", xo_dev_kind_name(op->dev_kind), op->dev_id, NULL);
    else if (xo_lifecycle_check(XO_ACT_DEVICE, op->vm->id, op->vm->power, a, err) < 0)
        rc = -1;
    else if (d->plugged == plug)
        rc = xo_fail(a, err, plug ? "DEVICE_ALREADY_ATTACHED" : "DEVICE_ALREADY_DETACHED",
                     op->dev_id, NULL);
    if (d && rc == 0)
        xo_dev_tree(d, a, tree);
    *domid = op->vm->domid;
    pthread_mutex_unlock(&x->lock);
    return rc;
}

/* Called with x->lock held: sets the device's plugged flag; false if it
 * was removed meanwhile. */
static bool op_dev_set(struct xenopsd *x, struct xo_op *op, bool plugged)
{
    struct xo_dev *d = hmap_get(x->devs, op->dev_id);
    if (d)
        d->plugged = plugged;
    return d != NULL;
}

/* The device's new state, in memory and then in the VM's file; -1 if it
 * was removed meanwhile (HANDLE_INVALID) or the file cannot be written
 * (INTERNAL_ERROR, the device left as it was). */
static int op_dev_commit(struct xenopsd *x, struct xo_op *op, bool plugged, struct arena *a,
                         struct val **err)
{
    pthread_mutex_lock(&x->lock);
    bool found = op_dev_set(x, op, plugged);
    pthread_mutex_unlock(&x->lock);
    if (!found)
        return xo_fail(a, err, "HANDLE_INVALID", xo_dev_kind_name(op->dev_kind), op->dev_id, NULL);
    if (xo_persist_vm(x, op->vm) < 0) {
        pthread_mutex_lock(&x->lock);
        op_dev_set(x, op, !plugged);
        pthread_mutex_unlock(&x->lock);
        return xo_fail(a, err, "INTERNAL_ERROR", "cannot save the device's state", NULL);
    }
    xo_updates_post(x->updates, xo_dev_kind_name(op->dev_kind), op->dev_id);
    return 0;
}

/* Takes a device out of the domain: both ends in xenstore, then the
 * backend's. */
static int op_dev_detach(struct xo_worker *w, struct xs_client *xs, int domid,
                         const struct xstree_device *tree, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xs_error e;
    if (xstree_device_remove(xs, domid, tree->vif, tree->devid, &e) < 0)
        return xo_worker_xs_fail(w, &e, a, err);
    XO_BACKEND(x)->device_remove(XO_IMPL(x), domid, tree->vif ? "vif" : "vbd", tree->devid);
    return 0;
}

static int op_plug(struct xo_worker *w, struct xo_op *op, bool plug, struct arena *a,
                   struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xstree_device tree;
    int domid;
    if (op_dev_check(x, op, plug, &tree, &domid, a, err) < 0)
        return -1;
    struct xs_client *xs = xo_worker_xs(w, a, err);
    if (!xs)
        return -1;
    /* Either way, a change the VM's file does not take is undone, so
     * that the domain matches what a restart will believe. */
    struct val *ignored = NULL;
    if (!plug) {
        if (op_dev_detach(w, xs, domid, &tree, a, err) < 0)
            return -1;
        if (op_dev_commit(x, op, false, a, err) < 0) {
            op_plug_all(w, xs, domid, &tree, 1, a, &ignored);
            return -1;
        }
        return 0;
    }
    if (op_plug_all(w, xs, domid, &tree, 1, a, err) < 0)
        return -1;
    if (op_dev_commit(x, op, true, a, err) < 0) {
        op_dev_detach(w, xs, domid, &tree, a, &ignored);
        return -1;
    }
    return 0;
}

/* A guest left without being asked: follow it, as Xen's on_poweroff and
 * on_reboot actions would. */
static int op_reap(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    struct xenopsd *x = xo_worker_ctx(w);
    struct xo_vm *vm = op->vm;
    struct xo_domain_stat ds = {0};
    pthread_mutex_lock(&x->lock);
    bool ours = vm->domid == op->domid && vm->domid > 0;
    pthread_mutex_unlock(&x->lock);
    if (!ours || XO_BACKEND(x)->domain_stat(XO_IMPL(x), op->domid, &ds) < 0 ||
        ds.shutdown == XO_SR_NONE)
        return 0;
    return op_follow_guest(w, vm, op->domid, ds.shutdown, a, err);
}

int xo_op_run(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err)
{
    switch (op->kind) {
    case XO_OP_START:
        return op_start(w, op, a, err);
    case XO_OP_SHUTDOWN:
        return op_shutdown(w, op, a, err);
    case XO_OP_REBOOT:
        return op_reboot(w, op, a, err);
    case XO_OP_SUSPEND:
        return op_suspend(w, op, a, err);
    case XO_OP_RESUME:
        return op_resume(w, op, a, err);
    case XO_OP_PAUSE:
        return op_pause(w, op, true, a, err);
    case XO_OP_UNPAUSE:
        return op_pause(w, op, false, a, err);
    case XO_OP_PLUG:
        return op_plug(w, op, true, a, err);
    case XO_OP_UNPLUG:
        return op_plug(w, op, false, a, err);
    case XO_OP_REAP:
        return op_reap(w, op, a, err);
    case XO_OP_SET_VCPUS:
    case XO_OP_SET_MEMORY:
        return op_live(w, op, a, err);
    case XO_OP_REWRITE:
        return op_rewrite(w, op, a, err);
    }
    return xo_fail(a, err, "INTERNAL_ERROR", "unknown operation", NULL);
}
