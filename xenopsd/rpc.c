/*
 * rpc.c - the JSON-RPC methods of xenopsd.sock (docs/xenopsd-interface.md):
 * each checks its params and hands over to the registry (answers at once)
 * or the queues (answers with a task id).
 */
#include "rpc.h"
#include "xenopsd.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define RPC_POLL_MAX_S 3600
#define RPC_STOP_MAX_S 86400
#define RPC_TASK_WAIT_MAX_MS 60000

static int rpc_count(const struct val *params, size_t n, const char *method, struct arena *a,
                     struct val **err)
{
    size_t got = params && params->type == VAL_ARRAY ? params->u.arr.n : 0;
    if (got == n)
        return 0;
    return xo_fail(a, err, "MESSAGE_PARAMETER_COUNT_MISMATCH", method, arena_printf(a, "%zu", n),
                   arena_printf(a, "%zu", got), NULL);
}

static const char *rpc_str(const struct val *params, size_t i, const char *name, struct arena *a,
                           struct val **err)
{
    const char *s = val_str(params->u.arr.items[i]);
    if (!s)
        xo_fail(a, err, "FIELD_TYPE_ERROR", name, NULL);
    return s;
}

/* An int >= 0, or null (-1) when nullable. */
static int rpc_int(const struct val *params, size_t i, const char *name, bool nullable,
                   int64_t *out, struct arena *a, struct val **err)
{
    const struct val *v = params->u.arr.items[i];
    if (nullable && v->type == VAL_NIL) {
        *out = -1;
        return 0;
    }
    if (v->type != VAL_INT)
        return xo_fail(a, err, "FIELD_TYPE_ERROR", name, NULL);
    if (v->u.i < 0)
        return xo_fail(a, err, "INVALID_VALUE", name, arena_printf(a, "%lld", (long long)v->u.i),
                       NULL);
    *out = v->u.i;
    return 0;
}

static struct rpc_reply rpc_answer(struct arena *a, struct val *value, struct val *err)
{
    if (err) {
        struct rpc_reply r = {.error = err};
        return r;
    }
    return rpc_reply_ok(value ? value : val_nil(a));
}

/* Most methods take one id first. */
static const char *rpc_id(const struct val *params, size_t n, const char *method, struct arena *a,
                          struct val **err)
{
    if (rpc_count(params, n, method, a, err) < 0)
        return NULL;
    return rpc_str(params, 0, "id", a, err);
}

static struct rpc_reply rpc_task(struct arena *a, const char *task, struct val *err)
{
    return rpc_answer(a, task ? val_string(a, task) : NULL, err);
}

/* --- VMs ------------------------------------------------------------------ */

static struct rpc_reply rpc_vm_add(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL;
    if (rpc_count(p, 1, "VM.add", a, &err) == 0)
        xo_vm_add(ctx, p->u.arr.items[0], a, &err);
    return rpc_answer(a, err ? NULL : val_copy(a, val_struct_get(p->u.arr.items[0], "id")), err);
}

static struct rpc_reply rpc_vm_remove(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 1, "VM.remove", a, &err);
    if (id)
        xo_vm_remove(ctx, id, a, &err);
    return rpc_answer(a, NULL, err);
}

static struct rpc_reply rpc_vm_list(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL;
    if (rpc_count(p, 0, "VM.list", a, &err) < 0)
        return rpc_answer(a, NULL, err);
    return rpc_answer(a, xo_vm_list(ctx, a), NULL);
}

static struct rpc_reply rpc_vm_stat(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL, *st = NULL;
    const char *id = rpc_id(p, 1, "VM.stat", a, &err);
    if (id)
        st = xo_vm_stat(ctx, id, a, &err);
    return rpc_answer(a, st, err);
}

static struct rpc_reply rpc_vm_start(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 2, "VM.start", a, &err), *task = NULL;
    const struct val *paused = id ? p->u.arr.items[1] : NULL;
    if (paused && paused->type != VAL_BOOL)
        xo_fail(a, &err, "FIELD_TYPE_ERROR", "paused", NULL);
    else if (paused)
        task = xo_submit(ctx, id, &(struct xo_op){.kind = XO_OP_START, .paused = paused->u.b}, a,
                         &err);
    return rpc_task(a, task, err);
}

/* shutdown and reboot: [id, timeout_s or null]. */
static struct rpc_reply rpc_vm_stop(struct arena *a, const struct val *p, void *ctx,
                                    enum xo_op_kind kind, const char *method)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 2, method, a, &err), *task = NULL;
    int64_t timeout = 0; /* set by the parser below; gcc -O3 cannot tell */
    if (id && rpc_int(p, 1, "timeout", true, &timeout, a, &err) == 0) {
        /* A day is longer than any guest should take; a bound also keeps
         * the deadline arithmetic from overflowing. */
        if (timeout > RPC_STOP_MAX_S)
            timeout = RPC_STOP_MAX_S;
        task = xo_submit(ctx, id, &(struct xo_op){.kind = kind, .timeout_s = timeout}, a, &err);
    }
    return rpc_task(a, task, err);
}

static struct rpc_reply rpc_vm_shutdown(struct arena *a, const struct val *p, void *ctx)
{
    return rpc_vm_stop(a, p, ctx, XO_OP_SHUTDOWN, "VM.shutdown");
}

static struct rpc_reply rpc_vm_reboot(struct arena *a, const struct val *p, void *ctx)
{
    return rpc_vm_stop(a, p, ctx, XO_OP_REBOOT, "VM.reboot");
}

/* suspend and resume: [id, path]. */
static struct rpc_reply rpc_vm_image(struct arena *a, const struct val *p, void *ctx,
                                     enum xo_op_kind kind, const char *method)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 2, method, a, &err), *task = NULL;
    const char *path = id ? rpc_str(p, 1, "path", a, &err) : NULL;
    if (path && path[0] != '/')
        xo_fail(a, &err, "INVALID_VALUE", "path", path, NULL);
    else if (path)
        task = xo_submit(ctx, id, &(struct xo_op){.kind = kind, .path = (char *)path}, a, &err);
    return rpc_task(a, task, err);
}

static struct rpc_reply rpc_vm_suspend(struct arena *a, const struct val *p, void *ctx)
{
    return rpc_vm_image(a, p, ctx, XO_OP_SUSPEND, "VM.suspend");
}

static struct rpc_reply rpc_vm_resume(struct arena *a, const struct val *p, void *ctx)
{
    return rpc_vm_image(a, p, ctx, XO_OP_RESUME, "VM.resume");
}

static struct rpc_reply rpc_vm_simple(struct arena *a, const struct val *p, void *ctx,
                                      enum xo_op_kind kind, const char *method)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 1, method, a, &err), *task = NULL;
    if (id)
        task = xo_submit(ctx, id, &(struct xo_op){.kind = kind}, a, &err);
    return rpc_task(a, task, err);
}

static struct rpc_reply rpc_vm_pause(struct arena *a, const struct val *p, void *ctx)
{
    return rpc_vm_simple(a, p, ctx, XO_OP_PAUSE, "VM.pause");
}

static struct rpc_reply rpc_vm_unpause(struct arena *a, const struct val *p, void *ctx)
{
    return rpc_vm_simple(a, p, ctx, XO_OP_UNPAUSE, "VM.unpause");
}

/* VM.set_vcpus [id, n] */
static struct rpc_reply rpc_vm_set_vcpus(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 2, "VM.set_vcpus", a, &err), *task = NULL;
    int64_t n = 0;
    if (id && rpc_int(p, 1, "vcpus", false, &n, a, &err) == 0) {
        if (n > INT32_MAX)
            n = INT32_MAX; /* out of range all the same: the operation says so */
        task =
            xo_submit(ctx, id, &(struct xo_op){.kind = XO_OP_SET_VCPUS, .vcpus = (int)n}, a, &err);
    }
    return rpc_task(a, task, err);
}

/* VM.set_memory_dynamic_range [id, min, max] (bytes) */
static struct rpc_reply rpc_vm_set_memory(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 3, "VM.set_memory_dynamic_range", a, &err), *task = NULL;
    int64_t lo = 0, hi = 0;
    if (id && rpc_int(p, 1, "min", false, &lo, a, &err) == 0 &&
        rpc_int(p, 2, "max", false, &hi, a, &err) == 0)
        task = xo_submit(ctx, id,
                         &(struct xo_op){.kind = XO_OP_SET_MEMORY, .mem_min = lo, .mem_max = hi}, a,
                         &err);
    return rpc_task(a, task, err);
}

/* --- devices -------------------------------------------------------------- */

static struct rpc_reply rpc_dev_add(struct arena *a, const struct val *p, void *ctx,
                                    enum xo_dev_kind kind, const char *method)
{
    struct val *err = NULL;
    if (rpc_count(p, 1, method, a, &err) == 0)
        xo_dev_add(ctx, kind, p->u.arr.items[0], a, &err);
    return rpc_answer(a, err ? NULL : val_copy(a, val_struct_get(p->u.arr.items[0], "id")), err);
}

static struct rpc_reply rpc_dev_plug(struct arena *a, const struct val *p, void *ctx,
                                     enum xo_dev_kind kind, bool plug, const char *method)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 1, method, a, &err), *task = NULL;
    if (id)
        task = xo_submit_device(ctx, kind, id,
                                &(struct xo_op){.kind = plug ? XO_OP_PLUG : XO_OP_UNPLUG}, a, &err);
    return rpc_task(a, task, err);
}

static struct rpc_reply rpc_dev_remove(struct arena *a, const struct val *p, void *ctx,
                                       enum xo_dev_kind kind, const char *method)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 1, method, a, &err);
    if (id)
        xo_dev_remove(ctx, kind, id, a, &err);
    return rpc_answer(a, NULL, err);
}

static struct rpc_reply rpc_dev_stat(struct arena *a, const struct val *p, void *ctx,
                                     enum xo_dev_kind kind, const char *method)
{
    struct val *err = NULL, *st = NULL;
    const char *id = rpc_id(p, 1, method, a, &err);
    if (id)
        st = xo_dev_stat(ctx, kind, id, a, &err);
    return rpc_answer(a, st, err);
}

/* One entry point per method: the table has no room for arguments. */
#define RPC_DEV(name, kind, class)                                                                 \
    static struct rpc_reply rpc_##name##_add(struct arena *a, const struct val *p, void *ctx)      \
    {                                                                                              \
        return rpc_dev_add(a, p, ctx, kind, class ".add");                                         \
    }                                                                                              \
    static struct rpc_reply rpc_##name##_plug(struct arena *a, const struct val *p, void *ctx)     \
    {                                                                                              \
        return rpc_dev_plug(a, p, ctx, kind, true, class ".plug");                                 \
    }                                                                                              \
    static struct rpc_reply rpc_##name##_unplug(struct arena *a, const struct val *p, void *ctx)   \
    {                                                                                              \
        return rpc_dev_plug(a, p, ctx, kind, false, class ".unplug");                              \
    }                                                                                              \
    static struct rpc_reply rpc_##name##_remove(struct arena *a, const struct val *p, void *ctx)   \
    {                                                                                              \
        return rpc_dev_remove(a, p, ctx, kind, class ".remove");                                   \
    }                                                                                              \
    static struct rpc_reply rpc_##name##_stat(struct arena *a, const struct val *p, void *ctx)     \
    {                                                                                              \
        return rpc_dev_stat(a, p, ctx, kind, class ".stat");                                       \
    }
RPC_DEV(vbd, XO_VBD, "VBD")
RPC_DEV(vif, XO_VIF, "VIF")

/* --- tasks, updates, host ------------------------------------------------- */

static struct rpc_reply rpc_task_stat(struct arena *a, const struct val *p, void *ctx)
{
    struct xenopsd *x = ctx;
    struct val *err = NULL, *st = NULL;
    const char *id = rpc_id(p, 1, "TASK.stat", a, &err);
    if (id && !(st = xo_task_stat(x->tasks, id, a)))
        xo_fail(a, &err, "HANDLE_INVALID", "task", id, NULL);
    return rpc_answer(a, st, err);
}

/* TASK.wait [task, timeout_ms]: TASK.stat once the task has finished or
 * moved on, or the timeout (at most RPC_TASK_WAIT_MAX_MS) passed. */
static struct rpc_reply rpc_task_wait(struct arena *a, const struct val *p, void *ctx)
{
    struct xenopsd *x = ctx;
    struct val *err = NULL, *st = NULL;
    const char *id = rpc_id(p, 2, "TASK.wait", a, &err);
    int64_t ms = 0;
    if (id && rpc_int(p, 1, "timeout_ms", false, &ms, a, &err) == 0) {
        if (ms > RPC_TASK_WAIT_MAX_MS)
            ms = RPC_TASK_WAIT_MAX_MS;
        if (!(st = xo_task_wait(x->tasks, id, ms, a)))
            xo_fail(a, &err, "HANDLE_INVALID", "task", id, NULL);
    }
    return rpc_answer(a, st, err);
}

static struct rpc_reply rpc_task_list(struct arena *a, const struct val *p, void *ctx)
{
    struct xenopsd *x = ctx;
    struct val *err = NULL;
    if (rpc_count(p, 0, "TASK.list", a, &err) < 0)
        return rpc_answer(a, NULL, err);
    return rpc_answer(a, xo_task_list(x->tasks, a), NULL);
}

static struct rpc_reply rpc_task_cancel(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL;
    const char *id = rpc_id(p, 1, "TASK.cancel", a, &err);
    if (id)
        xo_task_cancel(ctx, id, a, &err);
    return rpc_answer(a, NULL, err);
}

static struct rpc_reply rpc_task_destroy(struct arena *a, const struct val *p, void *ctx)
{
    struct xenopsd *x = ctx;
    struct val *err = NULL;
    const char *id = rpc_id(p, 1, "TASK.destroy", a, &err);
    if (id)
        xo_task_destroy(x->tasks, id, a, &err);
    return rpc_answer(a, NULL, err);
}

static struct rpc_reply rpc_updates_get(struct arena *a, const struct val *p, void *ctx)
{
    struct xenopsd *x = ctx;
    struct val *err = NULL;
    int64_t last = 0, timeout = 0; /* set by the parser below; gcc -O3 cannot tell */
    if (rpc_count(p, 2, "UPDATES.get", a, &err) < 0 ||
        rpc_int(p, 0, "last", false, &last, a, &err) < 0 ||
        rpc_int(p, 1, "timeout", false, &timeout, a, &err) < 0)
        return rpc_answer(a, NULL, err);
    if (timeout > RPC_POLL_MAX_S)
        timeout = RPC_POLL_MAX_S;
    return rpc_answer(a, xo_updates_get(x->updates, last, timeout * 1000, a), NULL);
}

static struct rpc_reply rpc_host_stat(struct arena *a, const struct val *p, void *ctx)
{
    struct val *err = NULL;
    if (rpc_count(p, 0, "HOST.stat", a, &err) < 0)
        return rpc_answer(a, NULL, err);
    return rpc_answer(a, xo_host_stat(ctx, a), NULL);
}

const struct ipc_method xo_rpc_methods[] = {
    {"VM.add", rpc_vm_add},
    {"VM.remove", rpc_vm_remove},
    {"VM.list", rpc_vm_list},
    {"VM.stat", rpc_vm_stat},
    {"VM.start", rpc_vm_start},
    {"VM.shutdown", rpc_vm_shutdown},
    {"VM.reboot", rpc_vm_reboot},
    {"VM.suspend", rpc_vm_suspend},
    {"VM.resume", rpc_vm_resume},
    {"VM.pause", rpc_vm_pause},
    {"VM.unpause", rpc_vm_unpause},
    {"VM.set_vcpus", rpc_vm_set_vcpus},
    {"VM.set_memory_dynamic_range", rpc_vm_set_memory},
    {"VBD.add", rpc_vbd_add},
    {"VBD.plug", rpc_vbd_plug},
    {"VBD.unplug", rpc_vbd_unplug},
    {"VBD.remove", rpc_vbd_remove},
    {"VBD.stat", rpc_vbd_stat},
    {"VIF.add", rpc_vif_add},
    {"VIF.plug", rpc_vif_plug},
    {"VIF.unplug", rpc_vif_unplug},
    {"VIF.remove", rpc_vif_remove},
    {"VIF.stat", rpc_vif_stat},
    {"TASK.stat", rpc_task_stat},
    {"TASK.wait", rpc_task_wait},
    {"TASK.list", rpc_task_list},
    {"TASK.cancel", rpc_task_cancel},
    {"TASK.destroy", rpc_task_destroy},
    {"UPDATES.get", rpc_updates_get},
    {"HOST.stat", rpc_host_stat},
    {NULL, NULL},
};
