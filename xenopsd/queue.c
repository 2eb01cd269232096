/*
 * queue.c - operations on one VM run one after another, in the order
 * they were submitted; operations on different VMs run in parallel on a
 * pool of workers. A VM with work waits on the ready list; a worker takes
 * it, runs its first operation, and puts it back if more are queued, so
 * no VM is served by two workers at once and none starves.
 *
 * An operation finishes (its task completed or failed) under x->lock, in
 * the same step that frees its VM for the next one: a client that sees
 * the task finish can never find the VM still busy.
 */
#include "xenopsd.h"
#include "log.h"
#include "mem.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XO_XS_TIMEOUT_MS 30000

struct xo_worker {
    struct xenopsd *x;
    struct xs_client *xs;
    pthread_t thread;
    struct xo_op *current;
};

struct xenopsd *xo_worker_ctx(struct xo_worker *w)
{
    return w->x;
}

/* A worker's connection carries no watches: anything to read on it is
 * the end of the stream, xenstored gone (or restarted). */
static bool xo_xs_dead(struct xs_client *xs)
{
    struct pollfd p = {.fd = xs_client_fd(xs), .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

struct xs_client *xo_worker_xs(struct xo_worker *w, struct arena *a, struct val **err)
{
    if (w->xs && xo_xs_dead(w->xs)) {
        xs_client_close(w->xs);
        w->xs = NULL;
    }
    if (w->xs)
        return w->xs;
    struct xs_error e = {0};
    w->xs = xs_client_open(w->x->xs_path, &e);
    if (!w->xs) {
        xo_fail(a, err, "INTERNAL_ERROR", arena_printf(a, "cannot reach xenstored: %s", e.name),
                NULL);
        return NULL;
    }
    xs_client_set_timeout(w->xs, XO_XS_TIMEOUT_MS);
    return w->xs;
}

int xo_worker_xs_fail(struct xo_worker *w, const struct xs_error *e, struct arena *a,
                      struct val **err)
{
    static const int broken[] = {EIO, ENOTCONN, ETIMEDOUT, EPROTO, EPIPE, ECONNRESET};
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        if (e->errnum == broken[i]) {
            xs_client_close(w->xs);
            w->xs = NULL;
        }
    }
    return xo_fail(a, err, "INTERNAL_ERROR", arena_printf(a, "xenstore: %s", e->name), NULL);
}

/* Called with x->lock held. */
static void xo_ready_push(struct xenopsd *x, struct xo_vm *vm)
{
    if (vm->ready || vm->busy || !vm->q_head)
        return;
    vm->ready = true;
    vm->ready_next = NULL;
    if (x->ready_tail)
        x->ready_tail->ready_next = vm;
    else
        x->ready_head = vm;
    x->ready_tail = vm;
    pthread_cond_signal(&x->work);
}

/* Called with x->lock held; op takes a reference to vm. */
static void xo_enqueue(struct xenopsd *x, struct xo_vm *vm, struct xo_op *op)
{
    assert(vm->refs > 0 && !vm->removed);
    assert((vm->q_head == NULL) == (vm->q_tail == NULL));
    op->vm = vm;
    op->next = NULL;
    vm->refs++;
    if (vm->q_tail)
        vm->q_tail->next = op;
    else
        vm->q_head = op;
    vm->q_tail = op;
    if (op->task)
        hmap_put(x->queued, xo_task_id(op->task), op);
    xo_ready_push(x, vm);
}

static void xo_op_free(struct xenopsd *x, struct xo_op *op)
{
    if (op->vm)
        xo_vm_put(x, op->vm);
    free(op->path);
    free(op);
}

/* Queued operations are bounded, or a client flooding one stuck VM with
 * requests would grow its queue without end. The bound is per VM, so
 * that one stuck VM does not hold every other back; the host-wide one
 * only caps the memory of many VMs' queues. */
#define XO_MAX_QUEUED_PER_VM 100
#define XO_MAX_QUEUED 100000

/* Called with x->lock held. */
static bool xo_queue_full(struct xenopsd *x, const struct xo_vm *vm)
{
    if (hmap_count(x->queued) >= XO_MAX_QUEUED)
        return true;
    size_t n = 0;
    for (const struct xo_op *op = vm->q_head; op; op = op->next)
        n += op->task != NULL; /* internal operations are not the client's */
    return n >= XO_MAX_QUEUED_PER_VM;
}

const char *xo_submit(struct xenopsd *x, const char *vm_id, const struct xo_op *tmpl,
                      struct arena *a, struct val **err)
{
    if (xo_refuse_diverged(x, a, err) < 0)
        return NULL;
    struct xo_op *op = xmalloc(sizeof(*op));
    *op = *tmpl;
    op->vm = NULL;
    op->path = tmpl->path ? xstrdup(tmpl->path) : NULL;
    pthread_mutex_lock(&x->lock);
    struct xo_vm *vm = hmap_get(x->vms, vm_id);
    const char *id = NULL;
    if (vm && xo_queue_full(x, vm)) {
        pthread_mutex_unlock(&x->lock);
        xo_op_free(x, op);
        xo_fail(a, err, "TOO_MANY_PENDING_TASKS", NULL);
        return NULL;
    }
    if (vm) {
        op->task = xo_task_new(x->tasks);
        id = arena_strdup(a, xo_task_id(op->task));
        xo_enqueue(x, vm, op);
    }
    pthread_mutex_unlock(&x->lock);
    if (!vm) {
        xo_op_free(x, op);
        xo_fail(a, err, "HANDLE_INVALID", "VM", vm_id, NULL);
    }
    return id;
}

const char *xo_submit_device(struct xenopsd *x, enum xo_dev_kind kind, const char *dev_id,
                             const struct xo_op *op, struct arena *a, struct val **err)
{
    if (xo_refuse_diverged(x, a, err) < 0)
        return NULL;
    pthread_mutex_lock(&x->lock);
    struct xo_dev *d = hmap_get(x->devs, dev_id);
    char vm_id[XO_ID_MAX] = "";
    if (d && d->kind == kind)
        memcpy(vm_id, d->vm_id, sizeof(vm_id));
    pthread_mutex_unlock(&x->lock);
    if (!*vm_id) {
        xo_fail(a, err, "HANDLE_INVALID", xo_dev_kind_name(kind), dev_id, NULL);
        return NULL;
    }
    struct xo_op dev_op = *op;
    snprintf(dev_op.dev_id, sizeof(dev_op.dev_id), "%s", dev_id);
    dev_op.dev_kind = kind;
    return xo_submit(x, vm_id, &dev_op, a, err);
}

void xo_on_xenstored_restart(struct xenopsd *x)
{
    size_t queued = 0;
    pthread_mutex_lock(&x->lock);
    const char *key;
    void *value;
    for (size_t it = 0; !x->stopping && hmap_next(x->vms, &it, &key, &value);) {
        struct xo_vm *vm = value;
        if (vm->power != XO_RUNNING && vm->power != XO_PAUSED)
            continue;
        struct xo_op *op = xcalloc(1, sizeof(*op));
        op->kind = XO_OP_REWRITE;
        xo_enqueue(x, vm, op);
        queued++;
    }
    pthread_mutex_unlock(&x->lock);
    log_info(NULL, "xenstored came back: checking the trees of %zu domains", queued);
}

void xo_on_unsolicited_shutdown(void *ctx, int domid)
{
    struct xenopsd *x = ctx;
    struct xo_op *op = xcalloc(1, sizeof(*op));
    op->kind = XO_OP_REAP;
    op->domid = domid;
    pthread_mutex_lock(&x->lock);
    struct xo_vm *vm = NULL;
    const char *key;
    void *value;
    /* Stopping: nobody would run it, and xo_workers_stop may have
     * dropped the queues already. */
    for (size_t it = 0; !vm && !x->stopping && hmap_next(x->vms, &it, &key, &value);)
        if (((struct xo_vm *)value)->domid == domid)
            vm = value;
    if (vm)
        xo_enqueue(x, vm, op);
    pthread_mutex_unlock(&x->lock);
    if (!vm)
        free(op);
    else
        log_info(vm->id, "domain %d shut down by itself", domid);
}

/* Called with x->lock held: takes op out of its VM's queue. */
static void xo_unqueue(struct xenopsd *x, struct xo_op *op)
{
    struct xo_vm *vm = op->vm;
    struct xo_op **pp = &vm->q_head, *prev = NULL;
    while (*pp && *pp != op) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = op->next;
    if (vm->q_tail == op)
        vm->q_tail = prev;
    if (op->task)
        hmap_del(x->queued, xo_task_id(op->task));
}

int xo_task_cancel(struct xenopsd *x, const char *id, struct arena *a, struct val **err)
{
    pthread_mutex_lock(&x->lock);
    bool exists = false;
    struct xo_task *task = xo_task_find_pending(x->tasks, id, &exists);
    struct xo_op *op = task ? hmap_get(x->queued, id) : NULL;
    if (op) {
        /* Not started: it never will. Its VM stays on the ready list
         * until a worker finds the queue empty (or shorter). */
        xo_unqueue(x, op);
        struct val *e = NULL;
        xo_fail(a, &e, "TASK_CANCELLED", id, NULL);
        xo_task_fail(x->tasks, task, e);
    } else if (task) {
        xo_task_request_cancel(task);
    }
    pthread_mutex_unlock(&x->lock);
    if (op)
        xo_op_free(x, op);
    else if (task)
        x->backend.ops->kick(x->backend.impl);
    return exists ? 0 : xo_fail(a, err, "HANDLE_INVALID", "task", id, NULL);
}

/* Frees the VM's queued operations, workers stopped; the last reference
 * to a removed VM frees it, so vm is not touched after. */
static void xo_queue_drop(struct xenopsd *x, struct xo_vm *vm)
{
    struct xo_op *op = vm->q_head;
    vm->q_head = vm->q_tail = NULL;
    while (op) {
        struct xo_op *next = op->next;
        if (op->task)
            hmap_del(x->queued, xo_task_id(op->task));
        xo_op_free(x, op);
        op = next;
    }
}

/* Called with x->lock held: the next operation, or NULL when stopping. */
static struct xo_op *xo_take(struct xenopsd *x, struct xo_worker *w)
{
    for (;;) {
        while (!x->stopping && !x->ready_head)
            pthread_cond_wait(&x->work, &x->lock);
        if (x->stopping)
            return NULL;
        struct xo_vm *vm = x->ready_head;
        /* A VM is on the ready list only while no operation of its runs:
         * that is what keeps its operations in order. */
        assert(vm->ready && !vm->busy);
        x->ready_head = vm->ready_next;
        if (!x->ready_head)
            x->ready_tail = NULL;
        vm->ready = false;
        struct xo_op *op = vm->q_head;
        if (!op)
            continue; /* its only operation was cancelled */
        vm->q_head = op->next;
        if (!vm->q_head)
            vm->q_tail = NULL;
        if (op->task)
            hmap_del(x->queued, xo_task_id(op->task));
        vm->busy = true;
        w->current = op;
        return op;
    }
}

static void xo_run_one(struct xo_worker *w, struct xo_op *op)
{
    struct xenopsd *x = w->x;
    struct arena *a = arena_new();
    struct val *err = NULL;
    int rc = xo_op_run(w, op, a, &err);
    if (rc < 0 && err)
        log_warn(op->vm->id, "operation %d failed: %s", (int)op->kind,
                 val_str(err->u.arr.items[0]));
    pthread_mutex_lock(&x->lock);
    assert(op->vm->busy && w->current == op && !op->vm->ready);
    if (op->task && rc == 0)
        xo_task_complete(x->tasks, op->task, NULL);
    else if (op->task)
        xo_task_fail(x->tasks, op->task, err ? err : val_nil(a));
    op->vm->busy = false;
    w->current = NULL;
    xo_ready_push(x, op->vm);
    pthread_mutex_unlock(&x->lock);
    xo_op_free(x, op);
    arena_free(a);
}

static void *xo_worker_main(void *arg)
{
    struct xo_worker *w = arg;
    struct xenopsd *x = w->x;
    for (;;) {
        pthread_mutex_lock(&x->lock);
        struct xo_op *op = xo_take(x, w);
        pthread_mutex_unlock(&x->lock);
        if (!op)
            break;
        xo_run_one(w, op);
    }
    xs_client_close(w->xs);
    w->xs = NULL;
    return NULL;
}

int xo_workers_start(struct xenopsd *x, int n)
{
    x->workers = xcalloc((size_t)n, sizeof(*x->workers));
    for (int i = 0; i < n; i++) {
        x->workers[i].x = x;
        if (pthread_create(&x->workers[i].thread, NULL, xo_worker_main, &x->workers[i]) != 0) {
            xo_workers_stop(x);
            return -1;
        }
        x->nworkers = i + 1;
    }
    return 0;
}

/* Operations in progress are told to stop where they can (as by a
 * cancel); queued ones are dropped: their tasks die with the process, and
 * the state on disk is what the last finished operation left. */
void xo_workers_stop(struct xenopsd *x)
{
    pthread_mutex_lock(&x->lock);
    x->stopping = true;
    for (int i = 0; i < x->nworkers; i++)
        if (x->workers[i].current && x->workers[i].current->task)
            xo_task_request_cancel(x->workers[i].current->task);
    pthread_cond_broadcast(&x->work);
    pthread_mutex_unlock(&x->lock);
    x->backend.ops->kick(x->backend.impl);
    for (int i = 0; i < x->nworkers; i++)
        pthread_join(x->workers[i].thread, NULL);
    free(x->workers);
    x->workers = NULL;
    x->nworkers = 0;
    /* What is still queued goes with its references. With no worker
     * left, every VM with a queue is on the ready list, removed VMs (a
     * REAP queued after VM.remove) too, which the map no longer finds. */
    pthread_mutex_lock(&x->lock);
    struct xo_vm *ready = x->ready_head;
    x->ready_head = x->ready_tail = NULL;
    for (struct xo_vm *vm = ready; vm; vm = vm->ready_next)
        vm->ready = false;
    pthread_mutex_unlock(&x->lock);
    while (ready) {
        struct xo_vm *vm = ready;
        ready = vm->ready_next;
        xo_queue_drop(x, vm);
    }
}
